//! Proxy mode: when the proxy records the generation, the client sends the trace context
//! (W3C `traceparent` and LiteLLM's `metadata` keys) so it joins the caller's trace.

use serde_json::{json, Map, Value};

use crate::options::Call;

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
/// context for the proxy's own Langfuse logging: the W3C `traceparent` header and the keys
/// LiteLLM's Langfuse callback reads from the request's `metadata` (`existing_trace_id`,
/// `parent_observation_id`, `generation_name`, `session_id`, `trace_user_id`, `tags`,
/// `version`, and the call's Langfuse metadata). Keys the caller set in `metadata` win.
pub(crate) fn prepare(
    recording: Recording,
    call: &Call<'_>,
    extra: &mut Map<String, Value>,
    user: &mut Option<String>,
    rb: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    if user.is_none() {
        user.clone_from(&call.user_id);
    }
    if recording != Recording::Proxy {
        return rb;
    }
    let ctx = &call.ctx;
    let mut rb = rb;
    if let Some(tp) = ctx.traceparent() {
        rb = rb.header("traceparent", tp);
    }
    let mut meta = match extra.remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    add_trace_keys(call, &mut meta);
    extra.insert("metadata".into(), Value::Object(meta));
    rb
}

/// The keys LiteLLM's Langfuse callback reads from a request's `metadata` — trace and parent
/// ids, generation name, session, user, tags, version and the call's Langfuse metadata — added
/// to `meta` where the caller did not set them.
pub(crate) fn add_trace_keys(call: &Call<'_>, meta: &mut Map<String, Value>) {
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
