//! Chat completions of an async-openai client, plain and streamed, each recorded as a
//! generation.

use ::async_openai::config::Config;
use ::async_openai::error::OpenAIError;
use ::async_openai::traits::RequestOptionsBuilder;
use ::async_openai::types::chat::{
    ChatCompletionResponseStream, ChatCompletionStreamOptions, CreateChatCompletionRequest,
    CreateChatCompletionResponse,
};
use ::async_openai::Chat;
use langfuse_sdk::{Observation, ObservationType};
use serde_json::Value;

use super::stream::TracedStream;
use super::{convert, proxy, Traced};
use crate::options::{Call, CallOptions};
use crate::proxy::Recording;
use crate::record::{record_error, record_request, record_response, InFlight};
use crate::types::{ChatRequest, ChatResponse};

/// Chat completions of a [`Traced`] client: [`async_openai::Chat`]'s
/// `create` and `create_stream`, recorded.
#[derive(Debug)]
#[must_use]
pub struct TracedChat<'c, C: Config> {
    traced: &'c Traced<C>,
    opts: CallOptions,
}

impl<'c, C: Config> TracedChat<'c, C> {
    pub(super) fn new(traced: &'c Traced<C>) -> Self {
        TracedChat {
            traced,
            opts: CallOptions::new(),
        }
    }

    /// How the next call is recorded: its name, metadata, prompt, parent, trace attributes.
    pub fn langfuse(mut self, opts: CallOptions) -> Self {
        self.opts = opts;
        self
    }

    /// A chat completion, recorded as a generation (as `Chat::create`).
    pub async fn create(
        self,
        mut request: CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, OpenAIError> {
        let call = Call::new(&self.opts, None, "chat-completion");
        let chat = self.prepare(&call, &mut request);
        let pending = InFlight::new(self.observe(&call, &request));
        let result = chat.create(request).await;
        if let Some(obs) = pending.into_inner() {
            match &result {
                Ok(r) => record_answer(&obs, r),
                Err(e) => record_error(&obs, e),
            }
            obs.end();
        }
        result
    }

    /// A streamed chat completion, recorded as one generation that ends with the stream (as
    /// `Chat::create_stream`). Asks for a final usage chunk unless `stream_options` is set.
    pub async fn create_stream(
        self,
        mut request: CreateChatCompletionRequest,
    ) -> Result<ChatCompletionResponseStream, OpenAIError> {
        // `stream: false` is left for async-openai to refuse, as it does.
        if request.stream != Some(false) {
            request.stream = Some(true);
        }
        if request.stream_options.is_none() && request.stream == Some(true) {
            request.stream_options = Some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                ..Default::default()
            });
        }
        let call = Call::new(&self.opts, None, "chat-completion");
        let chat = self.prepare(&call, &mut request);
        let pending = InFlight::new(self.observe(&call, &request));
        match chat.create_stream(request).await {
            Ok(inner) => Ok(Box::pin(TracedStream::new(inner, pending.into_inner()))),
            Err(e) => {
                if let Some(obs) = pending.into_inner() {
                    record_error(&obs, &e);
                    obs.end();
                }
                Err(e)
            }
        }
    }

    /// The async-openai call, with the trace's user as the OpenAI `user` when unset, and in
    /// proxy mode the trace context for LiteLLM.
    fn prepare(&self, call: &Call<'_>, req: &mut CreateChatCompletionRequest) -> Chat<'c, C> {
        #[allow(deprecated)]
        if req.user.is_none() {
            req.user.clone_from(&call.user_id);
        }
        let chat = self.traced.client.chat();
        if self.traced.recording != Recording::Proxy {
            return chat;
        }
        let existing = req
            .metadata
            .take()
            .and_then(|m| serde_json::to_value(m).ok());
        req.metadata = Some(proxy::merged_metadata(call, existing).into());
        chat.headers(proxy::headers(call, false))
    }

    fn observe(&self, call: &Call<'_>, req: &CreateChatCompletionRequest) -> Option<Observation> {
        let obs = self.traced.start(ObservationType::Generation, call)?;
        if obs.is_recording() {
            match convert::<_, ChatRequest>(req) {
                Some(ours) => record_request(&obs, &ours),
                None => {
                    obs.set_input(&req.messages);
                    obs.set_model(&req.model);
                }
            }
        }
        Some(obs)
    }
}

fn record_answer(obs: &Observation, r: &CreateChatCompletionResponse) {
    match convert::<_, ChatResponse>(r) {
        Some(ours) => record_response(obs, &ours),
        None => {
            obs.set_model(&r.model);
            obs.set_output(&serde_json::to_value(&r.choices).unwrap_or(Value::Null));
        }
    }
}
