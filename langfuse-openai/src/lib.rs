//! An OpenAI-compatible client aimed at the LiteLLM proxy that records every call in Langfuse.
//!
//! Each chat completion becomes a `generation` (each embeddings call an `embedding`) under the
//! current observation — or a new trace when there is none — with the prompt, the answer, model
//! parameters, token usage (cached and reasoning tokens too), cost from LiteLLM, time to first
//! token for streams, and errors.
//!
//! ```no_run
//! use langfuse_openai::{ChatRequest, Client, Message};
//!
//! # async fn run() -> Result<(), langfuse_openai::Error> {
//! let _langfuse = langfuse_sdk::init();
//! let llm = Client::from_env()?; // OPENAI_BASE_URL, OPENAI_API_KEY
//! let answer = llm
//!     .chat(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]).temperature(0.2))
//!     .await?;
//! println!("{}", answer.text().unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! The Responses API (`POST /v1/responses`) is served by [`Client::responses`] and
//! [`Client::responses_stream`] (its events as a [`ResponseStream`]), recorded the same way.
//!
//! Each call can say how it is recorded, as the official `langfuse.openai` integration's extra
//! arguments do: its name, Langfuse metadata (kept apart from LiteLLM's own request `metadata`),
//! the managed prompt it used, an explicit parent, the trace's user, session and tags, and a
//! version ([`CallOptions`]):
//!
//! ```no_run
//! use langfuse_openai::{CallOptions, ChatRequest, Client, Message};
//!
//! # async fn run(llm: Client, parent: langfuse_sdk::Context) -> Result<(), langfuse_openai::Error> {
//! let req = ChatRequest::new("gpt-4o-mini", vec![Message::user("Summarise: …")])
//!     .extra("metadata", serde_json::json!({"tags": ["team-search"]})) // LiteLLM's spend tags
//!     .langfuse(
//!         CallOptions::new()
//!             .name("summarise")
//!             .metadata("feature", "digest")
//!             .prompt("summary-prompt", 3) // links the generation to prompt version 3
//!             .parent(parent)              // e.g. from Context::from_traceparent
//!             .user_id("user-1")
//!             .session_id("session-1")
//!             .tags(["nightly"])
//!             .version("v7"),
//!     );
//! let answer = llm.chat(req).await?;
//! # drop(answer); Ok(()) }
//! ```
//!
//! When the proxy logs to Langfuse itself, set [`Recording::Proxy`]: the client then records
//! nothing and sends the current trace context (W3C `traceparent` and LiteLLM's `metadata`
//! keys) so the proxy's generation lands in your trace under the calling observation.
//!
//! With the `async-openai` feature, code that uses the `async-openai` crate keeps its client
//! and its calls and gets the same generations: one line wraps the client
//! (`async_openai::Traced`; its module says what is recorded and what is not):
//!
//! ```ignore
//! use langfuse_openai::async_openai::TracedExt;
//! let client = async_openai::Client::new().traced(); // was: async_openai::Client::new()
//! let answer = client.chat().create(request).await?; // unchanged, now recorded
//! ```

#![warn(missing_docs)]

mod accumulate;
#[cfg(feature = "async-openai")]
pub mod async_openai;
mod body;
mod chat;
mod client;
mod embeddings;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
mod gateway;
mod observed_stream;
mod options;
mod proxy;
mod record;
mod responses;
mod retry_after;
mod send;
mod sse;
mod stream;
mod types;

pub use client::{Client, ClientBuilder};
pub use error::Error;
pub use options::CallOptions;
pub use proxy::Recording;
pub use responses::ResponseStream;
pub use stream::ChatStream;
pub use types::{
    ChatChunk, ChatRequest, ChatResponse, Choice, ChunkChoice, Content, Delta, Embedding,
    EmbeddingRequest, EmbeddingResponse, FunctionCall, FunctionDelta, GatewayInfo, Message, Model,
    Response, ResponseEvent, ResponseUsage, ResponsesRequest, Tool, ToolCall, ToolCallDelta, Usage,
};
