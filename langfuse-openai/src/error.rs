//! The client's error: opaque, with predicates, never showing the API key.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::types;

/// An error from the OpenAI-compatible client.
///
/// Ask it what happened with the predicates. `Display` says what went wrong in a sentence that
/// names the HTTP status, the gateway's error type and message where there is one.
pub struct Error {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Config(String),
    Status {
        status: u16,
        error_type: Option<String>,
        code: Option<String>,
        message: String,
        retry_after: Option<Duration>,
    },
    Timeout(String),
    Connect(String),
    Request(String),
    Decode {
        what: &'static str,
        detail: String,
    },
    Stream(String),
}

impl Error {
    pub(crate) fn config(m: impl Into<String>) -> Self {
        Error {
            kind: Kind::Config(m.into()),
        }
    }
    pub(crate) fn from_status(
        status: u16,
        error_type: Option<String>,
        code: Option<String>,
        message: String,
        retry_after: Option<Duration>,
    ) -> Self {
        Error {
            kind: Kind::Status {
                status,
                error_type,
                code,
                message,
                retry_after,
            },
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

    /// The gateway answered with a non-success HTTP status.
    pub fn is_status(&self) -> bool {
        matches!(self.kind, Kind::Status { .. })
    }
    /// The HTTP status, for a status error.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            Kind::Status { status, .. } => Some(status),
            _ => None,
        }
    }
    /// HTTP 429: a rate limit or budget of the gateway (see [`retry_after`](Self::retry_after)).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }
    /// HTTP 401/403: a missing, wrong or unauthorised key.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401) | Some(403))
    }
    /// How long the gateway asked to wait (`Retry-After`), on a 429.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            Kind::Status { retry_after, .. } => retry_after,
            _ => None,
        }
    }
    /// The gateway's error type (`invalid_request_error`, `throttling_error`, …).
    pub fn error_type(&self) -> Option<&str> {
        match &self.kind {
            Kind::Status { error_type, .. } => error_type.as_deref(),
            _ => None,
        }
    }
    /// The gateway's error code, as a string whatever its JSON type.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            Kind::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }
    /// The gateway's error message, for a status error.
    pub fn message(&self) -> Option<&str> {
        match &self.kind {
            Kind::Status { message, .. } => Some(message),
            _ => None,
        }
    }
    /// The request timed out.
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Config(m) => write!(f, "invalid client configuration: {m}"),
            Kind::Status {
                status,
                error_type,
                message,
                retry_after,
                ..
            } => {
                write!(f, "HTTP {status}")?;
                if let Some(t) = error_type {
                    write!(f, " {t}")?;
                }
                write!(f, ": {message}")?;
                if let Some(r) = retry_after {
                    write!(f, " (retry after {:.1}s)", r.as_secs_f64())?;
                }
                match status {
                    401 | 403 => write!(f, " — check OPENAI_API_KEY (the proxy's virtual key)"),
                    404 => write!(f, " — check OPENAI_BASE_URL"),
                    _ => Ok(()),
                }
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
    let body: types::ErrorBody = serde_json::from_str(&text).unwrap_or_default();
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (message, kind, code) = match body.error {
        Some(d) => (
            d.message.as_ref().map(as_text),
            d.kind,
            d.code.as_ref().map(as_text),
        ),
        None => (body.detail.as_ref().map(as_text), None, None),
    };
    let message = message.unwrap_or_else(|| {
        let t = text.trim();
        if t.is_empty() {
            "(empty body)".to_string()
        } else {
            t.chars().take(500).collect()
        }
    });
    Error::from_status(status, kind, code, message, retry_after)
}
