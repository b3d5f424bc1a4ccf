//! Configuration of the public-API client: where, who, how long, how often.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::ApiError;
use crate::config::validate::{validate_base_url, validate_key};

/// The Langfuse Cloud (EU) host, used when neither `LANGFUSE_BASE_URL` nor `LANGFUSE_HOST` is set.
pub const DEFAULT_API_BASE_URL: &str = "https://cloud.langfuse.com";
/// Default time-to-live of a cached prompt (as the official SDKs).
pub const DEFAULT_PROMPT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Default timeout of one HTTP request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of retries after a failed attempt (network error, 429, 5xx).
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// A source of "now" for the prompt cache; replace it in tests to expire entries without
/// waiting ([`ApiConfigBuilder::clock`]).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Instant + Send + Sync>);

impl Clock {
    /// A clock reading `f`.
    pub fn new(f: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }
    /// The current instant.
    pub fn now(&self) -> Instant {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new(Instant::now)
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"…redacted\"")
    }
}

/// Extra headers: their names in `Debug`, never their values (they often carry credentials).
#[derive(Clone, Default)]
pub(crate) struct ExtraHeaders(pub(crate) Vec<(String, String)>);

impl fmt::Debug for ExtraHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

/// A validated configuration of [`crate::api::ApiClient`]. Build it with [`ApiConfig::builder`]
/// or [`ApiConfig::from_env`].
///
/// ```
/// use std::time::Duration;
/// use langfuse_sdk::api::ApiConfig;
/// let cfg = ApiConfig::builder()
///     .base_url("http://127.0.0.1:3000")
///     .public_key("pk-lf-1")
///     .secret_key("sk-lf-1")
///     .timeout(Duration::from_secs(5))
///     .max_retries(1)
///     .build()
///     .unwrap();
/// assert!(!format!("{cfg:?}").contains("sk-lf-1"));
/// ```
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub(crate) base_url: String,
    pub(crate) public_key: String,
    pub(crate) secret_key: Secret,
    pub(crate) timeout: Duration,
    pub(crate) max_retries: u32,
    pub(crate) retry_backoff: Duration,
    pub(crate) prompt_cache_ttl: Duration,
    pub(crate) clock: Clock,
    pub(crate) headers: ExtraHeaders,
    pub(crate) http_client: Option<reqwest::Client>,
}

impl ApiConfig {
    /// A builder with the defaults (nothing read from the environment).
    pub fn builder() -> ApiConfigBuilder {
        ApiConfigBuilder::default()
    }

    /// Reads `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY`, `LANGFUSE_BASE_URL` (or
    /// `LANGFUSE_HOST`; default [`DEFAULT_API_BASE_URL`]) and
    /// `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS` (default 60), and validates.
    pub fn from_env() -> Result<ApiConfig, ApiError> {
        ApiConfigBuilder::from_env().build()
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// The public key.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }
    /// The timeout of one HTTP request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    /// Retries after a failed attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }
    /// The default prompt cache TTL (zero: always ask the server).
    pub fn prompt_cache_ttl(&self) -> Duration {
        self.prompt_cache_ttl
    }
}

/// Builds an [`ApiConfig`]; [`ApiConfigBuilder::build`] validates.
#[derive(Clone, Debug)]
#[must_use]
pub struct ApiConfigBuilder {
    base_url: Option<String>,
    public_key: Option<String>,
    secret_key: Option<Secret>,
    timeout: Duration,
    max_retries: u32,
    retry_backoff: Duration,
    prompt_cache_ttl: Duration,
    ttl_env_error: Option<String>,
    clock: Clock,
    headers: ExtraHeaders,
    http_client: Option<reqwest::Client>,
}

impl Default for ApiConfigBuilder {
    fn default() -> Self {
        ApiConfigBuilder {
            base_url: None,
            public_key: None,
            secret_key: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_backoff: Duration::from_millis(200),
            prompt_cache_ttl: DEFAULT_PROMPT_CACHE_TTL,
            ttl_env_error: None,
            clock: Clock::default(),
            headers: ExtraHeaders::default(),
            http_client: None,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl ApiConfigBuilder {
    /// A builder seeded from the environment (see [`ApiConfig::from_env`]); later setters win.
    pub fn from_env() -> Self {
        let mut b = ApiConfigBuilder {
            base_url: env("LANGFUSE_BASE_URL").or_else(|| env("LANGFUSE_HOST")),
            public_key: env("LANGFUSE_PUBLIC_KEY"),
            secret_key: env("LANGFUSE_SECRET_KEY").map(Secret),
            ..Default::default()
        };
        if let Some(v) = env("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS") {
            match v.parse::<u64>() {
                Ok(s) => b.prompt_cache_ttl = Duration::from_secs(s),
                Err(_) => {
                    b.ttl_env_error = Some(format!(
                        "LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS={v:?} is not a whole number of seconds"
                    ))
                }
            }
        }
        b
    }
    /// The server, e.g. `https://cloud.langfuse.com` or `http://localhost:3000`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// The project's public key (`pk-lf-…`).
    pub fn public_key(mut self, key: impl Into<String>) -> Self {
        self.public_key = Some(key.into());
        self
    }
    /// The project's secret key (`sk-lf-…`); never printed.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(Secret(key.into()));
        self
    }
    /// Timeout of one HTTP request (connect + answer); default 10 s.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Retries after a network error, 429 or 5xx (default 2, at most 10). 4xx are not retried.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n.min(10);
        self
    }
    /// First pause between retries (doubled each time; default 200 ms).
    pub fn retry_backoff(mut self, d: Duration) -> Self {
        self.retry_backoff = d;
        self
    }
    /// Default prompt cache TTL (default 60 s; zero: always ask the server).
    pub fn prompt_cache_ttl(mut self, d: Duration) -> Self {
        self.prompt_cache_ttl = d;
        self.ttl_env_error = None;
        self
    }
    /// An extra header on every request (an auth proxy in front of a self-hosted Langfuse);
    /// replaces the SDK's header of the same name. Checked by [`build`](Self::build); its
    /// value never appears in `Debug` or errors.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        crate::config::otlp::set_header(&mut self.headers.0, name.into(), value.into());
        self
    }

    /// The application's own HTTP client (corporate proxy, mTLS, private root certificates)
    /// instead of one built here. Its redirect policy is its own: a 301/302/303 it follows to
    /// a page that is not the API's answer is still an error.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// The clock of the prompt cache (tests: expire entries without waiting).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Validates as the tracing client's `build()` does (the same checks): both keys present,
    /// printable ASCII without whitespace; an `http(s)://` base URL with a host and no query,
    /// fragment or credentials; a non-zero timeout. The error names the setting
    /// ([`ApiError::setting`]).
    pub fn build(self) -> Result<ApiConfig, ApiError> {
        if let Some(e) = self.ttl_env_error {
            return Err(ApiError::config_of(
                "LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS",
                e,
            ));
        }
        let public_key = self.public_key.ok_or_else(|| {
            ApiError::config_of(
                "LANGFUSE_PUBLIC_KEY",
                "no public key: set LANGFUSE_PUBLIC_KEY or call public_key()",
            )
        })?;
        let secret_key = self.secret_key.ok_or_else(|| {
            ApiError::config_of(
                "LANGFUSE_SECRET_KEY",
                "no secret key: set LANGFUSE_SECRET_KEY or call secret_key()",
            )
        })?;
        for (setting, key) in [
            ("LANGFUSE_PUBLIC_KEY", public_key.as_str()),
            ("LANGFUSE_SECRET_KEY", secret_key.0.as_str()),
        ] {
            // The message never shows the value: it may be the secret.
            validate_key(key)
                .map_err(|e| ApiError::config_of(setting, format!("not a usable key: {e}")))?;
        }
        let base = validate_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_API_BASE_URL))
            .map_err(|e| ApiError::config_of("LANGFUSE_BASE_URL", e))?;
        if self.timeout.is_zero() {
            return Err(ApiError::config_of(
                "LANGFUSE_TIMEOUT",
                "timeout must be more than zero",
            ));
        }
        for (k, v) in &self.headers.0 {
            crate::config::otlp::validate_header(k, v)
                .map_err(|e| ApiError::config_of("header", e))?;
        }
        Ok(ApiConfig {
            base_url: base,
            public_key,
            secret_key,
            timeout: self.timeout,
            max_retries: self.max_retries,
            retry_backoff: self.retry_backoff,
            prompt_cache_ttl: self.prompt_cache_ttl,
            clock: self.clock,
            headers: self.headers,
            http_client: self.http_client,
        })
    }
}
