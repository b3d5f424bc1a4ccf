//! Embeddings.

use langfuse_sdk::ObservationType;
use serde_json::json;

use crate::client::Client;
use crate::error::Error;
use crate::proxy::Recording;
use crate::record::{record_error, record_gateway, InFlight};
use crate::types::{EmbeddingRequest, EmbeddingResponse};

impl Client {
    /// Embeddings, recorded as an `embedding` observation.
    pub async fn embeddings(&self, req: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        let call = InFlight::new((self.inner.recording != Recording::Proxy).then(|| {
            let o = self.start(
                ObservationType::Embedding,
                req.observation_name
                    .clone()
                    .unwrap_or_else(|| "embedding".into()),
            );
            if o.is_recording() {
                o.set_input(&req.input).set_model(&req.model);
            }
            o
        }));
        let rb = self.request(reqwest::Method::POST, "embeddings");
        let result = self
            .send_json::<EmbeddingResponse>(rb, &req, "embeddings response")
            .await
            .map(|(mut r, gateway)| {
                r.gateway = gateway;
                r
            });
        if let Some(obs) = &call.into_inner() {
            match &result {
                Ok(r) => {
                    if !r.model.is_empty() {
                        obs.set_model(&r.model);
                    }
                    obs.set_output(&json!({
                        "embeddings": r.data.len(),
                        "dimensions": r.data.first().map_or(0, |e| e.embedding.len()),
                    }));
                    if let Some(u) = &r.usage {
                        obs.set_usage_details(u.to_details());
                    }
                    record_gateway(obs, &r.gateway, None);
                }
                Err(e) => record_error(obs, e),
            }
        }
        result
    }
}
