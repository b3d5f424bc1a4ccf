//! What a gateway says when it refuses a call: the OpenAI error object (`{"error": {"message",
//! "type", "code", "param"}}`), in an error response or as an event of a stream, and what kind
//! of refusal it is.
//!
//! LiteLLM answers most refusals with `type: invalid_request_error` and its HTTP status as a
//! string `code` (`"400"`), naming the kind only in the message (`litellm.ContextWindowExceededError:
//! …`); OpenAI itself sends a specific `code` (`context_length_exceeded`). Both are read.

use std::time::Duration;

use serde_json::Value;

use crate::types::ErrorBody;

/// What kind of refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    RateLimit,
    Budget,
    Auth,
    ModelNotFound,
    ContextWindow,
    ContentPolicy,
    Other,
}

/// An error the gateway reported.
#[derive(Debug)]
pub(crate) struct GatewayError {
    /// The HTTP status; `None` for an error event in a stream (answered 200).
    pub status: Option<u16>,
    pub error_type: Option<String>,
    pub code: Option<String>,
    pub message: String,
    pub retry_after: Option<Duration>,
    pub class: Class,
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl GatewayError {
    /// From an error response's status, `Retry-After` and body (JSON or not).
    pub(crate) fn from_response(status: u16, retry_after: Option<Duration>, text: &str) -> Self {
        let body: ErrorBody = serde_json::from_str(text).unwrap_or_default();
        let (message, error_type, code) = match body.error {
            Some(d) => (
                d.message.as_ref().and_then(as_text),
                d.kind,
                d.code.as_ref().and_then(as_text),
            ),
            None => (body.detail.as_ref().and_then(as_text), None, None),
        };
        let message = message.unwrap_or_else(|| {
            let t = text.trim();
            if t.is_empty() {
                "(empty body)".to_string()
            } else {
                t.chars().take(500).collect()
            }
        });
        Self::new(Some(status), error_type, code, message, retry_after)
    }

    /// From the `error` object of a stream event.
    pub(crate) fn from_event(err: &Value) -> Self {
        let field = |k: &str| err.get(k).and_then(as_text);
        let message = field("message").unwrap_or_else(|| err.to_string());
        Self::new(None, field("type"), field("code"), message, None)
    }

    fn new(
        status: Option<u16>,
        error_type: Option<String>,
        code: Option<String>,
        message: String,
        retry_after: Option<Duration>,
    ) -> Self {
        let class = classify(status, error_type.as_deref(), code.as_deref(), &message);
        GatewayError {
            status,
            error_type,
            code,
            message,
            retry_after,
            class,
        }
    }
}

/// The kind of refusal, from the most specific sign to the least: a budget before a rate limit
/// (LiteLLM answered spent budgets with 429 before 1.7x, 422 or 400 since), the kind LiteLLM
/// names in its message, OpenAI's codes, then the HTTP status (or a numeric code in a stream).
fn classify(status: Option<u16>, ty: Option<&str>, code: Option<&str>, message: &str) -> Class {
    let m = message.to_ascii_lowercase();
    let ty = ty.unwrap_or_default();
    let code = code.unwrap_or_default();
    let status = status.or_else(|| code.parse().ok());
    if ty == "budget_exceeded"
        || m.contains("budgetexceedederror")
        || m.contains("budget has been exceeded")
        || m.contains("exceeded budget")
    {
        Class::Budget
    } else if m.contains("contextwindowexceedederror")
        || code == "context_length_exceeded"
        || m.contains("maximum context length")
    {
        Class::ContextWindow
    } else if m.contains("contentpolicyviolationerror")
        || code == "content_policy_violation"
        || code == "content_filter"
    {
        Class::ContentPolicy
    } else if code == "model_not_found"
        || m.contains("invalid model name passed in")
        || (status == Some(404) && m.contains("model"))
    {
        Class::ModelNotFound
    } else if matches!(status, Some(401) | Some(403))
        || matches!(
            ty,
            "auth_error" | "authentication_error" | "permission_error"
        )
        || code == "invalid_api_key"
    {
        Class::Auth
    } else if status == Some(429) || ty == "throttling_error" || code == "rate_limit_exceeded" {
        Class::RateLimit
    } else {
        Class::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A captured answer of the real proxy: status, `Retry-After`, body.
    fn captured(name: &str) -> GatewayError {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let read = |ext: &str| std::fs::read_to_string(format!("{dir}/{name}.{ext}")).unwrap();
        let headers = read("headers");
        let status = headers
            .lines()
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap();
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers.lines().skip(1).filter_map(|l| l.split_once(": ")) {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.trim().parse().unwrap(),
            );
        }
        let retry_after = crate::retry_after::from_headers(&map);
        GatewayError::from_response(status, retry_after, &read("body"))
    }

    #[test]
    fn litellm_refusals_are_classified() {
        for (name, status, class) in [
            ("key-chat-ratelimit", 429, Class::RateLimit),
            ("key-chat-upstream-ratelimit", 429, Class::RateLimit),
            ("key-chat-budget", 422, Class::Budget),
            ("auth-none-prisma", 401, Class::Auth),
            ("key-chat-unknown-model", 400, Class::ModelNotFound),
            ("key-chat-context-window", 400, Class::ContextWindow),
            ("key-chat-content-policy", 400, Class::ContentPolicy),
            ("key-chat-wrong-key", 400, Class::Other),
        ] {
            let e = captured(name);
            assert_eq!((e.status, e.class), (Some(status), class), "{name}: {e:?}");
            assert_eq!(
                e.code.as_deref(),
                Some(status.to_string().as_str()),
                "{name}"
            );
            assert!(!e.message.is_empty());
        }
        assert_eq!(
            captured("key-chat-upstream-ratelimit").retry_after,
            Some(Duration::from_secs(7)),
            "the provider's Retry-After, relayed by LiteLLM"
        );
        assert_eq!(captured("key-chat-ratelimit").retry_after, None);
    }

    #[test]
    fn openai_codes_and_stream_events_are_classified() {
        let ev = |v: Value| GatewayError::from_event(&v);
        let e = ev(serde_json::json!({"message": "m", "type": null, "code": "500"}));
        assert_eq!(
            (e.status, e.error_type, e.class),
            (None, None, Class::Other)
        );
        assert_eq!(e.code.as_deref(), Some("500"));
        for (code, class) in [
            ("429", Class::RateLimit),
            ("rate_limit_exceeded", Class::RateLimit),
            ("context_length_exceeded", Class::ContextWindow),
            ("content_policy_violation", Class::ContentPolicy),
            ("model_not_found", Class::ModelNotFound),
            ("invalid_api_key", Class::Auth),
        ] {
            assert_eq!(
                ev(serde_json::json!({"message": "m", "code": code})).class,
                class
            );
        }
        let e = GatewayError::from_response(
            429,
            None,
            r#"{"error": {"message": "m", "type": "budget_exceeded"}}"#,
        );
        assert_eq!(
            e.class,
            Class::Budget,
            "a spent budget is not a rate limit to retry"
        );
        let e = GatewayError::from_response(503, None, "upstream connect error");
        assert_eq!(
            (e.message.as_str(), e.class),
            ("upstream connect error", Class::Other)
        );
        assert_eq!(
            GatewayError::from_response(502, None, " ").message,
            "(empty body)"
        );
    }
}
