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
//! When the proxy logs to Langfuse itself, set [`Recording::Proxy`]: the client then records
//! nothing and sends the current trace context (W3C `traceparent` and LiteLLM's `metadata`
//! keys) so the proxy's generation lands in your trace under the calling observation.

#![warn(missing_docs)]

mod chat;
mod client;
mod embeddings;
mod error;
#[doc(hidden)]
pub mod fuzz;
mod gateway;
mod proxy;
mod record;
mod retry_after;
mod sse;
mod stream;
mod types;

pub use client::{Client, ClientBuilder};
pub use error::Error;
pub use proxy::Recording;
pub use stream::ChatStream;
pub use types::{
    ChatChunk, ChatRequest, ChatResponse, Choice, ChunkChoice, Content, Delta, Embedding,
    EmbeddingRequest, EmbeddingResponse, FunctionCall, FunctionDelta, GatewayInfo, Message, Model,
    Tool, ToolCall, ToolCallDelta, Usage,
};
