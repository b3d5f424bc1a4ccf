//! Proxy mode: when the proxy records the generation, the client sends the trace context
//! (W3C `traceparent` and LiteLLM's `metadata` keys) so it joins the caller's trace.

use langfuse_sdk::Context;
use serde_json::{json, Map, Value};

use crate::types::ChatRequest;

/// Who records the generation of each call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recording {
    /// The client records a generation per call (the default).
    #[default]
    Client,
    /// The proxy records (its `langfuse` / `langfuse_otel` callback): the client records nothing
    /// and sends the trace context so the proxy's generation joins the caller's trace.
    Proxy,
}

/// Fills the OpenAI `user` field from the trace's user id, and in proxy mode adds the trace
/// context for the proxy's own Langfuse logging.
pub(crate) fn prepare(
    recording: Recording,
    req: &mut ChatRequest,
    rb: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    let ctx = Context::current();
    let attrs = ctx.trace_attributes();
    if req.user.is_none() {
        req.user = attrs.get_user_id().map(str::to_string);
    }
    if recording != Recording::Proxy {
        return rb;
    }
    let mut rb = rb;
    if let Some(tp) = ctx.traceparent() {
        rb = rb.header("traceparent", tp);
    }
    let mut meta = match req.extra.remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(t) = ctx.trace_id() {
        meta.entry("existing_trace_id")
            .or_insert(json!(t.to_string()));
        if let Some(o) = ctx.observation_id() {
            meta.entry("parent_observation_id")
                .or_insert(json!(o.to_string()));
        }
    }
    meta.entry("generation_name").or_insert(json!(req
        .observation_name
        .clone()
        .unwrap_or_else(|| "chat-completion".into())));
    if let Some(s) = attrs.get_session_id() {
        meta.entry("session_id").or_insert(json!(s));
    }
    if let Some(u) = attrs.get_user_id() {
        meta.entry("trace_user_id").or_insert(json!(u));
    }
    if !attrs.get_tags().is_empty() {
        meta.entry("tags").or_insert(json!(attrs.get_tags()));
    }
    req.extra.insert("metadata".into(), Value::Object(meta));
    rb
}
