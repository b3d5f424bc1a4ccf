//! The client's error: opaque, with predicates, never showing the API key.

use std::fmt;
use std::time::Duration;

use crate::gateway::{Class, GatewayError};

/// An error from the OpenAI-compatible client.
///
/// Ask it what happened with the predicates. `Display` says what went wrong in a sentence that
/// names the HTTP status, the gateway's error type and message where there is one, and what to
/// do about it.
///
/// Refusals of the gateway (an error status, or an error event in a stream) answer
/// [`is_gateway`](Self::is_gateway), with [`error_type`](Self::error_type),
/// [`code`](Self::code) and [`message`](Self::message), and one of [`is_rate_limited`],
/// [`is_budget_exceeded`], [`is_auth`], [`is_model_not_found`],
/// [`is_context_window_exceeded`] or [`is_content_policy_violation`] when the gateway says
/// which (LiteLLM's answers and OpenAI's codes are both read).
///
/// [`is_rate_limited`]: Self::is_rate_limited
/// [`is_budget_exceeded`]: Self::is_budget_exceeded
/// [`is_auth`]: Self::is_auth
/// [`is_model_not_found`]: Self::is_model_not_found
/// [`is_context_window_exceeded`]: Self::is_context_window_exceeded
/// [`is_content_policy_violation`]: Self::is_content_policy_violation
pub struct Error {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Config(String),
    Gateway(Box<GatewayError>),
    Timeout(String),
    Connect(String),
    Request(String),
    Decode { what: &'static str, detail: String },
    Stream(String),
}

impl Error {
    pub(crate) fn config(m: impl Into<String>) -> Self {
        Error {
            kind: Kind::Config(m.into()),
        }
    }
    pub(crate) fn gateway(g: GatewayError) -> Self {
        Error {
            kind: Kind::Gateway(Box::new(g)),
        }
    }
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        // reqwest's messages name the URL, never headers: no key can leak.
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        let kind = if e.is_timeout() {
            Kind::Timeout(msg)
        } else if e.is_connect() {
            Kind::Connect(msg)
        } else if e.is_decode() {
            Kind::Decode {
                what: "response body",
                detail: msg,
            }
        } else {
            Kind::Request(msg)
        };
        Error { kind }
    }
    pub(crate) fn decode(what: &'static str, detail: impl Into<String>) -> Self {
        Error {
            kind: Kind::Decode {
                what,
                detail: detail.into(),
            },
        }
    }
    pub(crate) fn stream(m: impl Into<String>) -> Self {
        Error {
            kind: Kind::Stream(m.into()),
        }
    }
    pub(crate) fn timeout(m: impl Into<String>) -> Self {
        Error {
            kind: Kind::Timeout(m.into()),
        }
    }

    fn gw(&self) -> Option<&GatewayError> {
        match &self.kind {
            Kind::Gateway(g) => Some(g),
            _ => None,
        }
    }
    fn class(&self) -> Option<Class> {
        self.gw().map(|g| g.class)
    }

    /// The gateway refused the call: an error status, or an error event in a stream.
    pub fn is_gateway(&self) -> bool {
        self.gw().is_some()
    }
    /// The gateway answered with a non-success HTTP status.
    pub fn is_status(&self) -> bool {
        self.status().is_some()
    }
    /// The HTTP status, for a status error (`None` for an error event in a stream).
    pub fn status(&self) -> Option<u16> {
        self.gw().and_then(|g| g.status)
    }
    /// A rate limit of the gateway or the provider (HTTP 429, `throttling_error`): retry
    /// later, after [`retry_after`](Self::retry_after) when given. A spent budget is
    /// [`is_budget_exceeded`](Self::is_budget_exceeded) instead, even when answered with 429.
    pub fn is_rate_limited(&self) -> bool {
        self.class() == Some(Class::RateLimit)
    }
    /// The key's, user's, team's or proxy's budget is spent (LiteLLM `BudgetExceededError`):
    /// retrying does not help until the budget is raised or resets.
    pub fn is_budget_exceeded(&self) -> bool {
        self.class() == Some(Class::Budget)
    }
    /// A missing, wrong or unauthorised key (HTTP 401/403, `auth_error`).
    pub fn is_auth(&self) -> bool {
        self.class() == Some(Class::Auth)
    }
    /// The gateway does not serve the model asked for.
    pub fn is_model_not_found(&self) -> bool {
        self.class() == Some(Class::ModelNotFound)
    }
    /// The prompt (and the tokens asked for) do not fit the model's context window.
    pub fn is_context_window_exceeded(&self) -> bool {
        self.class() == Some(Class::ContextWindow)
    }
    /// The provider refused the content (its safety system, a content filter).
    pub fn is_content_policy_violation(&self) -> bool {
        self.class() == Some(Class::ContentPolicy)
    }
    /// How long the gateway asked to wait (`Retry-After`, capped at an hour).
    pub fn retry_after(&self) -> Option<Duration> {
        self.gw().and_then(|g| g.retry_after)
    }
    /// The gateway's error type (`invalid_request_error`, `throttling_error`, …).
    pub fn error_type(&self) -> Option<&str> {
        self.gw().and_then(|g| g.error_type.as_deref())
    }
    /// The gateway's error code, as a string whatever its JSON type (LiteLLM sends its HTTP
    /// status as a string: `"400"`).
    pub fn code(&self) -> Option<&str> {
        self.gw().and_then(|g| g.code.as_deref())
    }
    /// The gateway's error message.
    pub fn message(&self) -> Option<&str> {
        self.gw().map(|g| g.message.as_str())
    }
    /// The request timed out, or a stream sent nothing for longer than the client's timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout(_))
    }
    /// The gateway could not be reached.
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect(_))
    }
    /// A response (or stream chunk) could not be decoded.
    pub fn is_decode(&self) -> bool {
        matches!(self.kind, Kind::Decode { .. })
    }
    /// The event stream was malformed or ended badly.
    pub fn is_stream(&self) -> bool {
        matches!(self.kind, Kind::Stream(_))
    }
    /// The client's configuration is invalid.
    pub fn is_config(&self) -> bool {
        matches!(self.kind, Kind::Config(_))
    }
}

fn hint(g: &GatewayError) -> &'static str {
    match g.class {
        Class::Auth => " — check OPENAI_API_KEY (the proxy's virtual key)",
        Class::Budget => " — the budget is spent: raise it or wait for its reset",
        Class::ModelNotFound => {
            " — check the model name against Client::models() (the proxy's model groups)"
        }
        Class::ContextWindow => {
            " — shorten the prompt or max_tokens, or use a model with a longer context"
        }
        Class::ContentPolicy => " — the provider refused the content",
        Class::RateLimit => " — retry later",
        Class::Other if g.status == Some(404) => " — check OPENAI_BASE_URL",
        Class::Other => "",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Config(m) => write!(f, "invalid client configuration: {m}"),
            Kind::Gateway(g) => {
                match g.status {
                    Some(s) => write!(f, "HTTP {s}")?,
                    None => write!(f, "the gateway sent an error mid-stream")?,
                }
                if let Some(t) = &g.error_type {
                    write!(f, " {t}")?;
                }
                if let (None, Some(c)) = (g.status, &g.code) {
                    write!(f, " (code {c})")?;
                }
                write!(f, ": {}", g.message)?;
                if let Some(r) = g.retry_after {
                    write!(f, " (retry after {:.1}s)", r.as_secs_f64())?;
                }
                f.write_str(hint(g))
            }
            Kind::Timeout(m) => write!(f, "the request timed out: {m}"),
            Kind::Connect(m) => write!(
                f,
                "could not connect to the gateway (is OPENAI_BASE_URL right and the proxy up?): {m}"
            ),
            Kind::Request(m) => write!(f, "the request failed: {m}"),
            Kind::Decode { what, detail } => write!(f, "could not decode the {what}: {detail}"),
            Kind::Stream(m) => write!(f, "malformed event stream: {m}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("langfuse_openai::Error")
            .field("kind", &self.kind)
            .finish()
    }
}

impl std::error::Error for Error {}

/// Turns a non-success response into the typed error.
pub(crate) async fn status_error(resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let retry_after = crate::retry_after::from_headers(resp.headers());
    let text = resp.text().await.unwrap_or_default();
    Error::gateway(GatewayError::from_response(status, retry_after, &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_and_messages_of_gateway_errors() {
        let e = Error::gateway(GatewayError::from_response(
            429,
            Some(Duration::from_secs(3)),
            r#"{"error":{"message":"slow down","type":"throttling_error","code":"429"}}"#,
        ));
        assert!(e.is_gateway() && e.is_status() && e.is_rate_limited());
        assert!(!e.is_budget_exceeded() && !e.is_auth());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            e.to_string(),
            "HTTP 429 throttling_error: slow down (retry after 3.0s) — retry later"
        );
        let e = Error::gateway(GatewayError::from_event(
            &serde_json::json!({"message": "overloaded", "type": null, "code": "500"}),
        ));
        assert!(e.is_gateway() && !e.is_status() && !e.is_stream());
        assert_eq!((e.status(), e.code()), (None, Some("500")));
        assert_eq!(
            e.to_string(),
            "the gateway sent an error mid-stream (code 500): overloaded"
        );
        assert!(Error::timeout("no data for 3s").is_timeout());
    }
}
