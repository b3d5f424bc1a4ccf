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
#[derive(Clone)]
pub struct Error {
    kind: Kind,
}

/// What went wrong; kept private so variants can be added without breaking callers.
#[derive(Clone, Debug)]
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
        /// Items still queued when a shutdown gave up: they are never delivered.
        abandoned: Option<u64>,
    },
    ExportFailed {
        operation: &'static str,
        failed: u64,
        dropped: u64,
    },
    Shutdown,
    /// The client was inherited through `fork()`: its exporter runs in the parent only.
    Forked,
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
            kind: Kind::Timeout {
                operation,
                timeout,
                abandoned: None,
            },
        }
    }
    /// A shutdown that gave up with `abandoned` items still queued.
    pub(crate) fn shutdown_timeout(timeout: Duration, abandoned: u64) -> Self {
        Error {
            kind: Kind::Timeout {
                operation: "shutdown",
                timeout,
                abandoned: Some(abandoned),
            },
        }
    }
    /// Items that were not delivered: `failed` refused or undeliverable, `dropped` never sent.
    pub(crate) fn not_delivered(operation: &'static str, failed: u64, dropped: u64) -> Self {
        Error {
            kind: Kind::ExportFailed {
                operation,
                failed,
                dropped,
            },
        }
    }
    pub(crate) fn shutdown() -> Self {
        Error {
            kind: Kind::Shutdown,
        }
    }
    pub(crate) fn forked() -> Self {
        Error { kind: Kind::Forked }
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
    /// Everything was processed, but some items were not delivered: refused by the server,
    /// undeliverable after retries ([`failed_count`](Self::failed_count)), or dropped before they
    /// could be sent ([`dropped_count`](Self::dropped_count)).
    pub fn is_export_failed(&self) -> bool {
        matches!(self.kind, Kind::ExportFailed { .. })
    }
    /// The client was already shut down (or, in a process made by `fork`, inherited: see
    /// [`is_forked`](Self::is_forked)). Nothing more is sent through it.
    pub fn is_shutdown(&self) -> bool {
        matches!(self.kind, Kind::Shutdown | Kind::Forked)
    }
    /// This process was made by `fork` after the client started: the client's exporter thread
    /// runs in the parent only, so this process drops what it records through it. Start a new
    /// client in the child (`langfuse_sdk::init()`).
    pub fn is_forked(&self) -> bool {
        matches!(self.kind, Kind::Forked)
    }
    /// How many items failed (refused, or undeliverable after retries), for an export failure.
    pub fn failed_count(&self) -> Option<u64> {
        match self.kind {
            Kind::ExportFailed { failed, .. } => Some(failed),
            _ => None,
        }
    }
    /// How many items were dropped before they could be sent (the queue was full, or they were
    /// recorded after shutdown), for an export failure.
    pub fn dropped_count(&self) -> Option<u64> {
        match self.kind {
            Kind::ExportFailed { dropped, .. } => Some(dropped),
            _ => None,
        }
    }
    /// How many items a shutdown that ran out of time left undelivered (they are abandoned).
    pub fn abandoned_count(&self) -> Option<u64> {
        match self.kind {
            Kind::Timeout { abandoned, .. } => abandoned,
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
            Kind::Timeout {
                operation,
                timeout,
                abandoned: None,
            } => write!(
                f,
                "Langfuse {operation} did not finish within {timeout:?}: the server is slow or unreachable; \
                 items still queued are delivered in the background (call it again with a longer timeout, \
                 or check LANGFUSE_BASE_URL and the network)"
            ),
            Kind::Timeout {
                operation,
                timeout,
                abandoned: Some(n),
            } => write!(
                f,
                "Langfuse {operation} did not finish within {timeout:?}: {n} item(s) still queued were \
                 abandoned, not delivered (the server is slow or unreachable: give shutdown a longer \
                 timeout, or check LANGFUSE_BASE_URL and the network)"
            ),
            Kind::ExportFailed {
                operation,
                failed,
                dropped,
            } => {
                write!(f, "Langfuse {operation} finished, but")?;
                if *failed > 0 {
                    write!(
                        f,
                        " {failed} item(s) could not be delivered (the server refused them or stayed \
                         unavailable after retries)"
                    )?;
                }
                if *failed > 0 && *dropped > 0 {
                    f.write_str(" and")?;
                }
                if *dropped > 0 {
                    write!(
                        f,
                        " {dropped} item(s) were dropped before they could be sent (the queue was \
                         full, or they were recorded after shutdown)"
                    )?;
                }
                f.write_str("; set LANGFUSE_DEBUG=true to see the server's answers")
            }
            Kind::Shutdown => write!(
                f,
                "the Langfuse client was already shut down; create a new client to send more"
            ),
            Kind::Forked => write!(
                f,
                "the Langfuse client was inherited through fork(): its exporter thread runs in the \
                 parent process only, so nothing recorded here through it is sent; start a new \
                 client in the child (langfuse_sdk::init())"
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
