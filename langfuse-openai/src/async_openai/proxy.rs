//! Proxy mode for async-openai requests: the trace context as LiteLLM reads it, in the
//! request's `metadata` (chat) or in its `langfuse_*` request headers (embeddings).

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::options::Call;
use crate::proxy::add_trace_keys;

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

#[cfg(test)]
mod tests {
    use langfuse_sdk::Context;

    use super::*;
    use crate::options::CallOptions;
    use serde_json::json;

    const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    fn opts() -> CallOptions {
        CallOptions::new()
            .name("summarise")
            .parent(Context::from_traceparent(TP).unwrap())
            .user_id("user-1")
            .tags(["a", "b"])
            .version("v7")
    }

    #[test]
    fn chat_metadata_gets_the_trace_keys_and_keeps_the_callers() {
        let o = opts();
        let call = Call::new(&o, None, "chat-completion");
        let m = merged_metadata(
            &call,
            Some(json!({"generation_name": "mine", "spend": "x"})),
        );
        assert_eq!(
            m,
            json!({
                "generation_name": "mine",
                "spend": "x",
                "existing_trace_id": "0af7651916cd43dd8448eb211c80319c",
                "parent_observation_id": "b7ad6b7169203331",
                "trace_user_id": "user-1",
                "tags": ["a", "b"],
                "version": "v7",
            })
        );
        assert_eq!(merged_metadata(&call, Some(json!("odd"))), json!("odd"));
    }

    #[test]
    fn embeddings_headers_carry_the_string_keys() {
        let o = opts();
        let call = Call::new(&o, None, "embedding");
        let h = headers(&call, true);
        let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok());
        assert_eq!(get("traceparent").map(|t| &t[..35]), Some(&TP[..35]));
        assert_eq!(
            get("langfuse_existing_trace_id"),
            Some("0af7651916cd43dd8448eb211c80319c")
        );
        assert_eq!(
            get("langfuse_parent_observation_id"),
            Some("b7ad6b7169203331")
        );
        assert_eq!(get("langfuse_generation_name"), Some("summarise"));
        assert_eq!(get("langfuse_trace_user_id"), Some("user-1"));
        assert_eq!(get("langfuse_version"), Some("v7"));
        assert_eq!(get("langfuse_tags"), None, "a list is no header value");
        let chat = headers(&call, false);
        assert_eq!(chat.len(), 1, "{chat:?}");
    }
}
