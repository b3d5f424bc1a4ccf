//! Proxy mode for async-openai requests: the trace context as LiteLLM reads it, in the
//! request's `metadata` (chat) or in its `langfuse_*` request headers (embeddings).

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Map, Value};

use crate::options::Call;

/// The keys LiteLLM's Langfuse callback reads from a request's `metadata`, added to `meta`
/// where the caller did not set them (the keys [`crate::Client`] sends).
pub(super) fn add_trace_keys(call: &Call<'_>, meta: &mut Map<String, Value>) {
    let ctx = &call.ctx;
    if let Some(t) = ctx.trace_id() {
        meta.entry("existing_trace_id")
            .or_insert(json!(t.to_string()));
        if let Some(o) = ctx.observation_id() {
            meta.entry("parent_observation_id")
                .or_insert(json!(o.to_string()));
        }
    }
    meta.entry("generation_name")
        .or_insert(json!(call.name.as_ref()));
    if let Some(s) = &call.session_id {
        meta.entry("session_id").or_insert(json!(s));
    }
    if let Some(u) = &call.user_id {
        meta.entry("trace_user_id").or_insert(json!(u));
    }
    if !call.tags.is_empty() {
        meta.entry("tags").or_insert(json!(call.tags));
    }
    if let Some(v) = &call.opts.version {
        meta.entry("version").or_insert(json!(v));
    }
    for (k, v) in &call.opts.metadata {
        meta.entry(k.clone()).or_insert(v.clone());
    }
}

/// `metadata` of a request with the trace keys added; an existing value that is not an
/// object is kept as it is (the caller's).
pub(super) fn merged_metadata(call: &Call<'_>, existing: Option<Value>) -> Value {
    match existing {
        Some(Value::Object(mut m)) => {
            add_trace_keys(call, &mut m);
            Value::Object(m)
        }
        None | Some(Value::Null) => {
            let mut m = Map::new();
            add_trace_keys(call, &mut m);
            Value::Object(m)
        }
        Some(other) => other,
    }
}

/// The W3C `traceparent` header, and with `langfuse_headers` the trace keys as LiteLLM's
/// `langfuse_*` headers (string values only; one that is not a valid header value is left out).
pub(super) fn headers(call: &Call<'_>, langfuse_headers: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(tp) = call.ctx.traceparent() {
        if let Ok(v) = HeaderValue::from_str(&tp) {
            h.insert("traceparent", v);
        }
    }
    if !langfuse_headers {
        return h;
    }
    let mut meta = Map::new();
    add_trace_keys(call, &mut meta);
    for (k, v) in meta {
        let Value::String(s) = v else { continue };
        let name = HeaderName::from_bytes(format!("langfuse_{k}").as_bytes());
        if let (Ok(n), Ok(v)) = (name, HeaderValue::from_str(&s)) {
            h.insert(n, v);
        }
    }
    h
}
