//! Embeddings.

use langfuse_sdk::{Observation, ObservationType};
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::Error;
use crate::options::CallOptions;
use crate::record::record_gateway;
use crate::send::Endpoint;
use crate::types::{EmbeddingRequest, EmbeddingResponse, GatewayInfo};

impl Client {
    /// Embeddings, recorded as an `embedding` observation.
    ///
    /// In [`Recording::Proxy`](crate::Recording::Proxy) mode nothing is recorded here and the
    /// trace context is sent, as for chat completions.
    pub async fn embeddings(&self, req: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        self.call(req).await
    }
}

impl Endpoint for EmbeddingRequest {
    const PATH: &'static str = "embeddings";
    const TYPE: ObservationType = ObservationType::Embedding;
    const DEFAULT_NAME: &'static str = "embedding";
    const ANSWER: &'static str = "embeddings response";
    type Answer = EmbeddingResponse;

    fn take_options(&mut self) -> (CallOptions, Option<String>) {
        (
            std::mem::take(&mut self.langfuse),
            self.observation_name.take(),
        )
    }
    fn trace_fields(&mut self) -> (&mut Map<String, Value>, &mut Option<String>) {
        (&mut self.extra, &mut self.user)
    }
    fn record_request(&self, obs: &Observation) {
        if obs.is_recording() {
            obs.set_input(&self.input).set_model(&self.model);
        }
    }
    fn set_gateway(answer: &mut EmbeddingResponse, gateway: GatewayInfo) {
        answer.gateway = gateway;
    }
    fn record_answer(obs: &Observation, r: &EmbeddingResponse) {
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
}
