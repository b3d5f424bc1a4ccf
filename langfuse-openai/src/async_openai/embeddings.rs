//! Embeddings of an async-openai client, each recorded as an `embedding` observation.

use ::async_openai::config::Config;
use ::async_openai::error::OpenAIError;
use ::async_openai::traits::RequestOptionsBuilder;
use ::async_openai::types::embeddings::{CreateEmbeddingRequest, CreateEmbeddingResponse};
use langfuse_sdk::ObservationType;
use serde_json::json;

use super::{convert, proxy, Traced};
use crate::options::{Call, CallOptions};
use crate::proxy::Recording;
use crate::record::{record_error, InFlight};
use crate::types::Usage;

/// Embeddings of a [`Traced`] client: [`async_openai::Embeddings`]'s
/// `create`, recorded.
#[derive(Debug)]
#[must_use]
pub struct TracedEmbeddings<'c, C: Config> {
    traced: &'c Traced<C>,
    opts: CallOptions,
}

impl<'c, C: Config> TracedEmbeddings<'c, C> {
    pub(super) fn new(traced: &'c Traced<C>) -> Self {
        TracedEmbeddings {
            traced,
            opts: CallOptions::new(),
        }
    }

    /// How the next call is recorded: its name, metadata, prompt, parent, trace attributes.
    pub fn langfuse(mut self, opts: CallOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Embeddings, recorded as an `embedding` observation (as `Embeddings::create`).
    pub async fn create(
        self,
        mut request: CreateEmbeddingRequest,
    ) -> Result<CreateEmbeddingResponse, OpenAIError> {
        let call = Call::new(&self.opts, None, "embedding");
        if request.user.is_none() {
            request.user.clone_from(&call.user_id);
        }
        let mut api = self.traced.client.embeddings();
        if self.traced.recording == Recording::Proxy {
            api = api.headers(proxy::headers(&call, true));
        }
        let obs = self.traced.start(ObservationType::Embedding, &call);
        if let Some(o) = obs.as_ref().filter(|o| o.is_recording()) {
            o.set_input(&request.input).set_model(&request.model);
        }
        let pending = InFlight::new(obs);
        let result = api.create(request).await;
        if let Some(obs) = pending.into_inner() {
            match &result {
                Ok(r) => {
                    if !r.model.is_empty() {
                        obs.set_model(&r.model);
                    }
                    obs.set_output(&json!({
                        "embeddings": r.data.len(),
                        "dimensions": r.data.first().map_or(0, |e| e.embedding.len()),
                    }));
                    if let Some(u) = convert::<_, Usage>(&r.usage) {
                        obs.set_usage_details(u.to_details());
                    }
                }
                Err(e) => record_error(&obs, e),
            }
            obs.end();
        }
        result
    }
}
