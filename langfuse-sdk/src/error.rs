//! The SDK's error type: opaque, with predicates, and messages that say what to do.

use std::fmt;
use std::time::Duration;

/// An error from the Langfuse SDK.
///
/// Opaque like `reqwest::Error`: ask it what happened with the `is_*` predicates. Its `Display`
/// says what went wrong and what to do; it never contains a secret key.
///
/// ```
/// use langfuse_sdk::Langfuse;
/// let err = Langfuse::builder()
///     .public_key("pk-lf-1")
///     .secret_key("sk-lf-1")
///     .sample_rate(1.5)
///     .build()
///     .unwrap_err();
/// assert!(err.is_config());
/// assert!(err.to_string().contains("sample rate"));
/// ```
pub struct Error {
    kind: Kind,
}

/// What went wrong; kept private so variants can be added without breaking callers.
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum Kind {
    Config {
        setting: &'static str,
        message: String,
    },
    InvalidId {
        what: &'static str,
        value: String,
        expected_len: usize,
    },
    InvalidTraceparent {
        value: String,
    },
    Timeout {
        operation: &'static str,
        timeout: Duration,
    },
    ExportFailed {
        operation: &'static str,
        failed: u64,
    },
    Shutdown,
}

impl Error {
    pub(crate) fn config(setting: &'static str, message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Config {
                setting,
                message: message.into(),
            },
        }
    }
    pub(crate) fn invalid_id(what: &'static str, value: &str, expected_len: usize) -> Self {
        Error {
            kind: Kind::InvalidId {
                what,
                value: shorten(value),
                expected_len,
            },
        }
    }
    pub(crate) fn invalid_traceparent(value: &str) -> Self {
        Error {
            kind: Kind::InvalidTraceparent {
                value: shorten(value),
            },
        }
    }
    pub(crate) fn timeout(operation: &'static str, timeout: Duration) -> Self {
        Error {
            kind: Kind::Timeout { operation, timeout },
        }
    }
    pub(crate) fn export_failed(operation: &'static str, failed: u64) -> Self {
        Error {
            kind: Kind::ExportFailed { operation, failed },
        }
    }
    pub(crate) fn shutdown() -> Self {
        Error {
            kind: Kind::Shutdown,
        }
    }

    /// A configuration value was missing or invalid (builder or environment).
    pub fn is_config(&self) -> bool {
        matches!(self.kind, Kind::Config { .. })
    }
    /// An id or `traceparent` string could not be parsed.
    pub fn is_invalid_id(&self) -> bool {
        matches!(
            self.kind,
            Kind::InvalidId { .. } | Kind::InvalidTraceparent { .. }
        )
    }
    /// `flush` or `shutdown` ran out of time before everything was delivered.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout { .. })
    }
    /// Everything was processed, but some items could not be delivered (see the counters).
    pub fn is_export_failed(&self) -> bool {
        matches!(self.kind, Kind::ExportFailed { .. })
    }
    /// The client was already shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self.kind, Kind::Shutdown)
    }
    /// How many items failed, for an export failure.
    pub fn failed_count(&self) -> Option<u64> {
        match self.kind {
            Kind::ExportFailed { failed, .. } => Some(failed),
            _ => None,
        }
    }
    /// The setting a configuration error is about (for example `LANGFUSE_SAMPLE_RATE`).
    pub fn setting(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Config { setting, .. } => Some(setting),
            _ => None,
        }
    }
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Config { setting, message } => {
                write!(f, "invalid Langfuse configuration ({setting}): {message}")
            }
            Kind::InvalidId {
                what,
                value,
                expected_len,
            } => write!(
                f,
                "invalid {what} {value:?}: expected {expected_len} hex characters, not all zero"
            ),
            Kind::InvalidTraceparent { value } => write!(
                f,
                "invalid traceparent {value:?}: expected \"00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>\""
            ),
            Kind::Timeout { operation, timeout } => write!(
                f,
                "Langfuse {operation} did not finish within {timeout:?}: the server is slow or unreachable; \
                 items still queued are delivered in the background (call it again with a longer timeout, \
                 or check LANGFUSE_BASE_URL and the network)"
            ),
            Kind::ExportFailed { operation, failed } => write!(
                f,
                "Langfuse {operation} finished, but {failed} item(s) could not be delivered \
                 (the server refused them or stayed unavailable after retries); set LANGFUSE_DEBUG=true \
                 to see the server's answers"
            ),
            Kind::Shutdown => write!(
                f,
                "the Langfuse client was already shut down; create a new client to send more"
            ),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("langfuse_sdk::Error")
            .field("kind", &self.kind)
            .field("message", &self.to_string())
            .finish()
    }
}

impl std::error::Error for Error {}
