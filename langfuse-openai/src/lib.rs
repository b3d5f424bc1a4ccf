//! OpenAI-compatible client for a LiteLLM proxy that records every call as a Langfuse generation.
//!
//! This crate is a placeholder in the workspace: the client is built in its own issue. Until then,
//! record model calls by hand with [`langfuse_sdk::Langfuse::generation`].
pub use langfuse_sdk;
