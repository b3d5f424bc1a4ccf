//! Recording for users of the `async-openai` crate: [`Traced`] wraps an
//! [`async_openai::Client`] and records a generation for each chat
//! completion (plain or streamed) and an `embedding` observation for each embeddings call, with
//! the fields [`Client`](crate::Client) records, without changing the calls.
//!
//! ```no_run
//! use async_openai::types::chat::{
//!     ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
//! };
//! use langfuse_openai::async_openai::TracedExt;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let _langfuse = langfuse_sdk::init();
//! let client = async_openai::Client::new().traced(); // the one line that changes
//! let req = CreateChatCompletionRequestArgs::default()
//!     .model("gpt-4o-mini")
//!     .messages([ChatCompletionRequestUserMessage::from("hi").into()])
//!     .build()?;
//! let answer = client.chat().create(req).await?; // recorded as a generation
//! # drop(answer); Ok(()) }
//! ```
//!
//! What is recorded, and what is not: the request's messages (and tools), model and parameters;
//! the answer's messages, model, finish reasons and id; usage, netted as
//! [`Client`](crate::Client) nets it (cached, audio and reasoning tokens counted once); level
//! ERROR and the error's text for a failed call; time to first token for streams.
//! `async-openai` keeps neither the response headers nor unknown usage fields, so LiteLLM's
//! cost (its `x-litellm-response-cost` headers and the `cost` of a stream's usage chunk) and its
//! call and model ids are **not** recorded: Langfuse then prices the generation from its model
//! and usage. Streams ask for a final usage chunk (`stream_options.include_usage`) unless the
//! request sets `stream_options`; that chunk has no choices.
//!
//! The feature needs `async-openai` 0.43 (the version whose types [`Traced`] takes) and turns
//! on only its `chat-completion` and `embedding` APIs, no TLS: your own `async-openai`
//! dependency chooses it (its default is `rustls`).
//!
//! In [`Recording::Proxy`] mode nothing is recorded here and the trace context goes to
//! LiteLLM instead, as [`Client`](crate::Client) sends it: the W3C `traceparent` header and, for
//! chat, LiteLLM's keys in the request's `metadata` (keys the caller set win); embeddings
//! requests have no `metadata` field, so they carry the same keys as LiteLLM's `langfuse_*`
//! request headers (tags are left out there: a header holds one string).

mod chat;
mod embeddings;
mod proxy;
mod stream;

use std::fmt;
use std::ops::Deref;

use ::async_openai::config::Config;
use ::async_openai::Client as OpenAiClient;
use langfuse_sdk::{Langfuse, Observation, ObservationType};

use crate::options::Call;
use crate::proxy::Recording;

pub use chat::TracedChat;
pub use embeddings::TracedEmbeddings;

/// An [`async_openai::Client`] whose chat and embeddings calls are
/// recorded in Langfuse. Every other API of the client is reached through [`Deref`].
#[derive(Clone)]
pub struct Traced<C: Config> {
    client: OpenAiClient<C>,
    recording: Recording,
    langfuse: Option<Langfuse>,
}

impl<C: Config> fmt::Debug for Traced<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traced")
            .field("recording", &self.recording)
            .finish_non_exhaustive()
    }
}

/// `.traced()` on an [`async_openai::Client`].
pub trait TracedExt<C: Config> {
    /// The client, recording its chat and embeddings calls in Langfuse.
    fn traced(self) -> Traced<C>;
}

impl<C: Config> TracedExt<C> for OpenAiClient<C> {
    fn traced(self) -> Traced<C> {
        Traced::new(self)
    }
}

impl<C: Config> Traced<C> {
    /// Records the calls of `client` with the global Langfuse client (see
    /// [`langfuse_sdk::init`]), under the current observation.
    pub fn new(client: OpenAiClient<C>) -> Self {
        Traced {
            client,
            recording: Recording::Client,
            langfuse: None,
        }
    }

    /// Who records each call (default [`Recording::Client`]).
    #[must_use]
    pub fn recording(mut self, recording: Recording) -> Self {
        self.recording = recording;
        self
    }

    /// Records with this Langfuse client instead of the global one.
    #[must_use]
    pub fn langfuse(mut self, langfuse: Langfuse) -> Self {
        self.langfuse = Some(langfuse);
        self
    }

    /// The wrapped client.
    pub fn inner(&self) -> &OpenAiClient<C> {
        &self.client
    }

    /// The wrapped client, no longer recorded.
    pub fn into_inner(self) -> OpenAiClient<C> {
        self.client
    }

    /// Chat completions, as [`async_openai::Client::chat`].
    pub fn chat(&self) -> TracedChat<'_, C> {
        TracedChat::new(self)
    }

    /// Embeddings, as [`async_openai::Client::embeddings`].
    pub fn embeddings(&self) -> TracedEmbeddings<'_, C> {
        TracedEmbeddings::new(self)
    }

    /// The observation of `call`, or `None` in proxy mode.
    fn start(&self, ty: ObservationType, call: &Call<'_>) -> Option<Observation> {
        if self.recording == Recording::Proxy {
            return None;
        }
        Some(crate::options::start_observation(
            self.langfuse.as_ref(),
            ty,
            call,
        ))
    }
}

impl<C: Config> Deref for Traced<C> {
    type Target = OpenAiClient<C>;
    fn deref(&self) -> &OpenAiClient<C> {
        &self.client
    }
}

/// `value` as another type with the same JSON shape (async-openai's types as ours), through
/// the JSON text that is sent: async-openai's `f32` parameters then read as written (`0.2`,
/// not `0.20000000298023224`).
fn convert<T: serde::Serialize, U: serde::de::DeserializeOwned>(value: &T) -> Option<U> {
    serde_json::to_vec(value)
        .ok()
        .and_then(|v| serde_json::from_slice(&v).ok())
}
