//! Embeddings.

use langfuse_sdk::ObservationType;
use serde_json::json;

use crate::client::Client;
use crate::error::Error;
use crate::options::Call;
use crate::proxy::{prepare, Recording};
use crate::record::{record_error, record_gateway, InFlight};
use crate::types::{EmbeddingRequest, EmbeddingResponse};

impl Client {
    /// Embeddings, recorded as an `embedding` observation.
    ///
    /// In [`Recording::Proxy`] mode nothing is recorded here and the trace context is sent, as
    /// for chat completions.
    pub async fn embeddings(&self, mut req: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        let opts = std::mem::take(&mut req.langfuse);
        let name = req.observation_name.take();
        let call = Call::new(&opts, name.as_deref(), "embedding");
        let rb = self.request(reqwest::Method::POST, "embeddings");
        let rb = prepare(
            self.inner.recording,
            &call,
            &mut req.extra,
            &mut req.user,
            rb,
        );
        let pending = InFlight::new((self.inner.recording != Recording::Proxy).then(|| {
            let o = self.start(ObservationType::Embedding, &call);
            if o.is_recording() {
                o.set_input(&req.input).set_model(&req.model);
            }
            o
        }));
        let result = self
            .send_json::<EmbeddingResponse>(rb, &req, "embeddings response")
            .await
            .map(|(mut r, gateway)| {
                r.gateway = gateway;
                r
            });
        if let Some(obs) = &pending.into_inner() {
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
