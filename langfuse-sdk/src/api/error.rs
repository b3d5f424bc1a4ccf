//! The one error type of the public-API client: opaque, with predicates.

use std::fmt;
use std::sync::Arc;

/// What went wrong, coarsely; read through [`ApiError`]'s predicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The configuration is unusable (missing key, bad URL, …).
    Config,
    /// An argument of the call is invalid; nothing was sent.
    InvalidArgument,
    /// No answer: connection refused, DNS, TLS, reset.
    Network,
    /// No answer in time.
    Timeout,
    /// 401: the keys are wrong (or belong to another host).
    Unauthorized,
    /// 403: the keys may not do this.
    Forbidden,
    /// 404: the object does not exist.
    NotFound,
    /// 400/405/409/422: the server rejected the request.
    BadRequest,
    /// 429: rate limited.
    RateLimited,
    /// 5xx.
    Server,
    /// Another unexpected status.
    Status,
    /// The answer could not be decoded.
    Decode,
    /// The prompt is of the other type (text vs chat), or compile found a problem.
    Prompt,
    /// The blocking worker could not run the call.
    Runtime,
    /// An experiment result missed a required threshold.
    Threshold,
    /// The client was inherited through `fork()`: its worker thread is in the parent only.
    Forked,
}

/// An error of the Langfuse public-API client ([`crate::api::ApiClient`]).
///
/// Opaque by design: ask it what it is with the predicates (`is_not_found()`, …). The message
/// says what failed and what to do; it never contains the secret key.
///
/// ```
/// # use langfuse_sdk::api::ApiError;
/// fn explain(e: &ApiError) -> &'static str {
///     if e.is_not_found() { "no such prompt/label/version" }
///     else if e.is_unauthorized() { "check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY" }
///     else if e.is_network() { "server unreachable" }
///     else { "other" }
/// }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ApiError {
    kind: Kind,
    status: Option<u16>,
    setting: Option<&'static str>,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            status: None,
            setting: None,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub(crate) fn with_source(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(e));
        self
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }

    /// A configuration value is unusable; the message names `setting`, as the tracing client's
    /// [`crate::Error::setting`] does.
    pub(crate) fn config_of(setting: &'static str, message: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            Kind::Config,
            format!("invalid Langfuse API configuration ({setting}): {message}"),
        );
        e.setting = Some(setting);
        e
    }

    /// The calling process is a `fork()` child of the one that started the client's worker.
    pub(crate) fn forked() -> Self {
        Self::new(
            Kind::Forked,
            "the Langfuse API client was inherited through fork(): its worker thread runs in the \
             parent process only, so no call can run here; create a new ApiClient in the child \
             (ApiClient::new or ApiClient::from_env)",
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(Kind::InvalidArgument, message)
    }

    pub(crate) fn decode(what: &str, e: serde_json::Error) -> Self {
        Self::new(
            Kind::Decode,
            format!("could not decode the server's answer ({what}): {e}; is the base URL a Langfuse server?"),
        )
    }

    /// The object (prompt, label, version, trace, dataset, …) does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.kind == Kind::NotFound
    }
    /// The server rejected the keys (HTTP 401): wrong secret key, or keys of another host.
    pub fn is_unauthorized(&self) -> bool {
        self.kind == Kind::Unauthorized
    }
    /// The keys are valid but may not do this (HTTP 403).
    pub fn is_forbidden(&self) -> bool {
        self.kind == Kind::Forbidden
    }
    /// The server could not be reached or did not answer in time (includes [`Self::is_timeout`]).
    pub fn is_network(&self) -> bool {
        matches!(self.kind, Kind::Network | Kind::Timeout)
    }
    /// No answer within the configured timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }
    /// The server rejected the request as invalid (HTTP 400, 405, 409, 422).
    pub fn is_bad_request(&self) -> bool {
        self.kind == Kind::BadRequest
    }
    /// The server is rate limiting (HTTP 429).
    pub fn is_rate_limited(&self) -> bool {
        self.kind == Kind::RateLimited
    }
    /// The server failed (HTTP 5xx).
    pub fn is_server_error(&self) -> bool {
        self.kind == Kind::Server
    }
    /// The configuration is unusable (missing keys, bad base URL, …); nothing was sent.
    pub fn is_config(&self) -> bool {
        self.kind == Kind::Config
    }
    /// An argument is invalid (e.g. an empty prompt name, label and version together); nothing
    /// was sent.
    pub fn is_invalid_argument(&self) -> bool {
        self.kind == Kind::InvalidArgument
    }
    /// The answer was not what a Langfuse server sends.
    pub fn is_decode(&self) -> bool {
        self.kind == Kind::Decode
    }
    /// A prompt-level problem: a text prompt used as chat (or the reverse), or unresolved
    /// placeholders where messages were required.
    pub fn is_prompt(&self) -> bool {
        self.kind == Kind::Prompt
    }
    /// An experiment result is below a required threshold
    /// ([`crate::api::ExperimentResult::require_mean_at_least`]).
    pub fn is_threshold(&self) -> bool {
        self.kind == Kind::Threshold
    }
    /// This process was made by `fork()` after the client started its worker thread, which runs
    /// in the parent only: every call fails at once with this error. Create a new
    /// [`crate::api::ApiClient`] in the child (as with the tracing client's
    /// [`crate::Error::is_forked`]).
    pub fn is_forked(&self) -> bool {
        self.kind == Kind::Forked
    }
    /// The setting (`LANGFUSE_BASE_URL`, `LANGFUSE_PUBLIC_KEY`, …) a configuration error is
    /// about, as [`crate::Error::setting`].
    pub fn setting(&self) -> Option<&'static str> {
        self.setting
    }
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
    /// Whether trying again later may help (network, timeout, 429, 5xx).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            Kind::Network | Kind::Timeout | Kind::RateLimited | Kind::Server
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("setting", &self.setting)
            .field("message", &self.message)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}
