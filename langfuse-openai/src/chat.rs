//! Chat completions, plain and streamed.

use langfuse_sdk::{Observation, ObservationType};
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::Error;
use crate::options::CallOptions;
use crate::record::{record_request, record_response};
use crate::send::Endpoint;
use crate::stream::ChatStream;
use crate::types::{ChatRequest, ChatResponse, GatewayInfo};

impl Client {
    /// A chat completion, recorded as a generation.
    pub async fn chat(&self, mut req: ChatRequest) -> Result<ChatResponse, Error> {
        req.stream = None;
        req.stream_options = None;
        self.call(req).await
    }

    /// A streamed chat completion, recorded as one generation that ends with the stream.
    ///
    /// The client asks for a final usage chunk unless built with `include_usage(false)`.
    pub async fn chat_stream(&self, mut req: ChatRequest) -> Result<ChatStream, Error> {
        req.stream = Some(true);
        if self.inner.include_usage && req.stream_options.is_none() {
            req.stream_options = Some(json!({ "include_usage": true }));
        }
        let opened = self.open(req).await?;
        Ok(ChatStream::new(opened, self.inner.timeout))
    }
}

impl Endpoint for ChatRequest {
    const PATH: &'static str = "chat/completions";
    const TYPE: ObservationType = ObservationType::Generation;
    const DEFAULT_NAME: &'static str = "chat-completion";
    const ANSWER: &'static str = "chat completion";
    type Answer = ChatResponse;

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
        record_request(obs, self);
    }
    fn set_gateway(answer: &mut ChatResponse, gateway: GatewayInfo) {
        answer.gateway = gateway;
    }
    fn record_answer(obs: &Observation, answer: &ChatResponse) {
        record_response(obs, answer);
    }
}
