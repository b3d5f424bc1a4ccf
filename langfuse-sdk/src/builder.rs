//! [`LangfuseBuilder`]: every option of a client, validated by `build()`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::Langfuse;
use crate::config::env;
use crate::config::options::{Config, ExporterKind, Secret, DEFAULT_BASE_URL};
use crate::config::validate::{validate_base_url, validate_environment, validate_key, Fatal};
use crate::core::Owner;
use crate::diag;
use crate::error::Error;
use crate::export::sink::Custom;
#[cfg(feature = "testing")]
use crate::testing::InMemoryExporter;

/// Builds a [`Langfuse`](crate::Langfuse) client; every option mirrors an environment variable.
///
/// Start from defaults with [`Langfuse::builder`](crate::Langfuse::builder) or from the
/// environment with [`LangfuseBuilder::from_env`]; `build()` validates and fails with a clear
/// [`Error`] on invalid values.
///
/// ```
/// use std::time::Duration;
/// use langfuse_sdk::Langfuse;
///
/// let lf = Langfuse::builder()
///     .public_key("pk-lf-123")
///     .secret_key("sk-lf-456")
///     .base_url("http://127.0.0.1:3000")
///     .environment("staging")
///     .release("v1.2.3")
///     .flush_interval(Duration::from_secs(1))
///     .build()
///     .expect("valid configuration");
/// assert!(lf.is_enabled());
/// # lf.shutdown(Duration::from_millis(10)).ok();
/// ```
#[derive(Clone)]
#[must_use]
pub struct LangfuseBuilder {
    pub(crate) cfg: Config,
    pub(crate) base_url_raw: String,
    /// A destination other than the configured exporter kind (tests' in-memory exporter).
    custom: Option<Custom>,
    /// Environment values that make the configuration unusable (`build()` fails with the first);
    /// setting the same option on the builder replaces them.
    env_fatal: Vec<Fatal>,
}

impl fmt::Debug for LangfuseBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cfg.fmt(f)
    }
}

impl Default for LangfuseBuilder {
    fn default() -> Self {
        LangfuseBuilder {
            cfg: Config::default(),
            base_url_raw: DEFAULT_BASE_URL.to_string(),
            custom: None,
            env_fatal: Vec::new(),
        }
    }
}

impl LangfuseBuilder {
    /// A builder with the defaults of the configuration table (no keys set).
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from the `LANGFUSE_*` environment variables. Invalid values are replaced
    /// by their defaults with one warning each, naming the variable and the value used instead;
    /// later builder calls override what the environment said.
    pub fn from_env() -> Self {
        let (b, warnings) = Self::from_lookup(|k| std::env::var(k).ok());
        for w in warnings {
            diag::warn(&w);
        }
        b
    }

    /// Like [`from_env`](Self::from_env) with any lookup function; returns the warnings instead
    /// of logging them. Useful for tests and for configuration that lives elsewhere.
    ///
    /// ```
    /// use langfuse_sdk::LangfuseBuilder;
    /// let (b, warnings) = LangfuseBuilder::from_lookup(|k| match k {
    ///     "LANGFUSE_SAMPLE_RATE" => Some("1.5".to_string()),
    ///     _ => None,
    /// });
    /// assert_eq!(warnings.len(), 1);
    /// assert!(warnings[0].contains("LANGFUSE_SAMPLE_RATE"));
    /// # drop(b);
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let read = env::read(lookup);
        (
            LangfuseBuilder {
                cfg: read.cfg,
                base_url_raw: read.base_url_raw,
                custom: None,
                env_fatal: read.fatal,
            },
            read.warnings,
        )
    }

    /// Public key (`LANGFUSE_PUBLIC_KEY`), `pk-lf-…`.
    pub fn public_key(mut self, key: impl Into<String>) -> Self {
        self.cfg.public_key = Some(key.into());
        self.env_fatal
            .retain(|f| f.setting != "LANGFUSE_PUBLIC_KEY");
        self
    }
    /// Secret key (`LANGFUSE_SECRET_KEY`), `sk-lf-…`. Never shown in `Debug`, logs or errors.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.cfg.secret_key = Some(Secret(key.into()));
        self.env_fatal
            .retain(|f| f.setting != "LANGFUSE_SECRET_KEY");
        self
    }
    /// Langfuse base URL (`LANGFUSE_BASE_URL`, then `LANGFUSE_HOST`), default
    /// `https://cloud.langfuse.com`. Validated by `build()`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url_raw = url.into();
        self.env_fatal
            .retain(|f| f.setting != "LANGFUSE_BASE_URL" && f.setting != "LANGFUSE_HOST");
        self
    }
    /// Environment (`LANGFUSE_TRACING_ENVIRONMENT`): lowercase letters, digits, `-` and `_`, at
    /// most 40 characters, not starting with `langfuse`.
    pub fn environment(mut self, env: impl Into<String>) -> Self {
        self.cfg.environment = Some(env.into());
        self
    }
    /// Release (`LANGFUSE_RELEASE`, then CI commit variables such as `GITHUB_SHA`).
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.cfg.release = Some(release.into());
        self
    }
    /// Share of traces kept, 0.0 to 1.0 (`LANGFUSE_SAMPLE_RATE`); decided per trace id.
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.cfg.sample_rate = rate;
        self
    }
    /// Most observations per request (`LANGFUSE_FLUSH_AT`, default 2048; requests are also
    /// capped at about 3 MB).
    pub fn flush_at(mut self, n: usize) -> Self {
        self.cfg.flush_at = n;
        self
    }
    /// Longest time a finished observation waits before it is sent (`LANGFUSE_FLUSH_INTERVAL`,
    /// seconds, default 5).
    pub fn flush_interval(mut self, d: Duration) -> Self {
        self.cfg.flush_interval = d;
        self
    }
    /// Timeout of one HTTP request (`LANGFUSE_TIMEOUT`, seconds, default 5).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.cfg.timeout = d;
        self
    }
    /// Turns on the SDK's internal diagnostics as `tracing` events (`LANGFUSE_DEBUG`).
    pub fn debug(mut self, on: bool) -> Self {
        self.cfg.debug = on;
        self
    }
    /// `false` turns tracing off: every call becomes a cheap no-op (`LANGFUSE_TRACING_ENABLED`).
    pub fn tracing_enabled(mut self, on: bool) -> Self {
        self.cfg.enabled = on;
        self
    }
    /// Most observations waiting for the exporter thread (`LANGFUSE_MAX_QUEUE_SIZE`, default
    /// 1 000 000). Beyond it, new observations are dropped and counted.
    pub fn max_queue_size(mut self, n: usize) -> Self {
        self.cfg.max_queue_size = n;
        self
    }
    /// Most memory held by observations waiting for the exporter thread, as estimated from their
    /// allocations and captured values (`LANGFUSE_MAX_QUEUE_BYTES`, default 128 MiB). This is the
    /// bound that keeps memory in check when the server is slow or unreachable; beyond it, new
    /// observations are dropped and counted.
    ///
    /// ```
    /// let lf = langfuse_sdk::Langfuse::builder()
    ///     .tracing_enabled(false)
    ///     .max_queue_bytes(64 << 20)
    ///     .build()
    ///     .unwrap();
    /// # drop(lf);
    /// ```
    pub fn max_queue_bytes(mut self, n: usize) -> Self {
        self.cfg.max_queue_bytes = n;
        self
    }
    /// Retries of one request on connection errors, timeouts, 408, 429 and 5xx
    /// (`LANGFUSE_MAX_RETRIES`, default 5).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.cfg.max_retries = n;
        self
    }
    /// Which exporter to use (`LANGFUSE_EXPORTER`: `otlp`, `console`, `none`).
    pub fn exporter(mut self, kind: ExporterKind) -> Self {
        self.cfg.exporter = kind;
        self
    }
    /// How observations reach Langfuse (`LANGFUSE_TRANSPORT`: `auto`, the default, `otlp`,
    /// `ingestion`): `Transport::Ingestion` for servers without the OpenTelemetry endpoint
    /// (older than v3).
    pub fn transport(mut self, transport: crate::config::Transport) -> Self {
        self.cfg.transport = transport;
        self
    }
    /// Sends to an in-memory exporter that tests can read (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn in_memory_exporter(mut self, exporter: InMemoryExporter) -> Self {
        self.custom = Some(Custom::Memory(exporter));
        self
    }
    /// Size above which an observation's largest fields are truncated (default 1 MB).
    pub fn max_observation_bytes(mut self, n: usize) -> Self {
        self.cfg.max_observation_bytes = n;
        self
    }
    /// Largest request body before gzip (default 3 MB; the server accepts about 4.5 MB).
    pub fn max_batch_bytes(mut self, n: usize) -> Self {
        self.cfg.max_batch_bytes = n;
        self
    }
    /// Sends a trace as soon as its root observation ends, for short-lived processes and
    /// serverless functions.
    pub fn immediate(mut self, on: bool) -> Self {
        self.cfg.immediate = on;
        self
    }
    /// Gzip request bodies (default on; the server accepts both;
    /// `OTEL_EXPORTER_OTLP_COMPRESSION` / `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` =
    /// `gzip` | `none`).
    pub fn gzip(mut self, on: bool) -> Self {
        self.cfg.gzip = on;
        self
    }
    /// Whether `#[observe]` captures arguments and return values
    /// (`LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED`, default true).
    pub fn io_capture(mut self, on: bool) -> Self {
        self.cfg.io_capture = on;
        self
    }
    /// The full OTLP traces URL to send to instead of the Langfuse server's, e.g. an
    /// OpenTelemetry Collector's `http://otel-collector:4318/v1/traces`
    /// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL to
    /// which `/v1/traces` is appended). Used as is; validated by `build()`.
    ///
    /// With an endpoint the Langfuse keys are optional (the collector adds the credentials):
    /// without them no `Authorization` header is sent, and tracing stays on. Scores still go
    /// to the base URL's ingestion API.
    pub fn otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.cfg.traces_endpoint = Some(url.into());
        self.env_fatal.retain(|f| {
            f.setting != "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
                && f.setting != "OTEL_EXPORTER_OTLP_ENDPOINT"
        });
        self
    }
    /// The path appended to the base URL for traces when no endpoint is set
    /// (`LANGFUSE_OTEL_TRACES_EXPORT_PATH`, default `/api/public/otel/v1/traces`), for a
    /// server or proxy that serves OTLP elsewhere.
    pub fn traces_export_path(mut self, path: impl Into<String>) -> Self {
        self.cfg.traces_path = path.into();
        self.env_fatal
            .retain(|f| f.setting != "LANGFUSE_OTEL_TRACES_EXPORT_PATH");
        self
    }
    /// An extra header on every request (as in `OTEL_EXPORTER_OTLP_HEADERS`), replacing an
    /// earlier one of the same name, also the SDK's own (`Authorization` included). Its value
    /// is never shown in `Debug` or logs. Validated by `build()`.
    ///
    /// ```
    /// let b = langfuse_sdk::Langfuse::builder()
    ///     .otlp_endpoint("http://127.0.0.1:4318/v1/traces")
    ///     .header("x-collector-token", "t0k3n");
    /// assert!(!format!("{b:?}").contains("t0k3n"));
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        crate::config::otlp::set_header(&mut self.cfg.headers, name.into(), value.into());
        self
    }
    /// A resource attribute besides the SDK's own (as in `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.cfg.resource_attributes.retain(|(k, _)| *k != key);
        self.cfg.resource_attributes.push((key, value.into()));
        self
    }
    /// The HTTP client requests are sent with, for corporate proxies, mTLS or custom root
    /// certificates. Used as is: its own redirect policy, user agent and timeouts apply (the
    /// SDK still sets a timeout per request). The default client follows only same-origin
    /// 307/308 redirects.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.cfg.http_client = Some(client);
        self
    }
    /// `service.name` resource attribute (`OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.cfg.service_name = name.into();
        self
    }
    /// A mask applied to input, output and metadata before anything leaves the process. Strings
    /// arrive as JSON strings. If it panics, the value is replaced by `<masked: mask failed>`.
    ///
    /// ```
    /// use langfuse_sdk::Langfuse;
    /// let b = Langfuse::builder().mask(|v| match v {
    ///     serde_json::Value::String(s) if s.contains('@') => "[email]".into(),
    ///     other => other,
    /// });
    /// # drop(b);
    /// ```
    pub fn mask<F>(mut self, f: F) -> Self
    where
        F: Fn(serde_json::Value) -> serde_json::Value + Send + Sync + 'static,
    {
        self.cfg.mask = Some(Arc::new(move |v| Ok(f(v))));
        self
    }
    /// A fallible mask: an `Err` replaces the value by the fully-masked marker, as a panic does.
    pub fn try_mask<F, E>(mut self, f: F) -> Self
    where
        F: Fn(serde_json::Value) -> Result<serde_json::Value, E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        self.cfg.mask = Some(Arc::new(move |v| f(v).map_err(|e| e.to_string())));
        self
    }

    /// Validates the options and starts the client (and its exporter thread).
    ///
    /// Missing keys with the OTLP exporter are not an error: the client is disabled with one
    /// warning, as the official SDKs do; with an [`otlp_endpoint`](Self::otlp_endpoint) they
    /// are optional.
    pub fn build(mut self) -> Result<Langfuse, Error> {
        if let Some(f) = self.env_fatal.first() {
            return Err(Error::config(f.setting, f.message.clone()));
        }
        for (setting, key) in [
            ("LANGFUSE_PUBLIC_KEY", self.cfg.public_key.as_deref()),
            (
                "LANGFUSE_SECRET_KEY",
                self.cfg.secret_key.as_ref().map(|s| s.0.as_str()),
            ),
        ] {
            if let Some(k) = key {
                validate_key(k)
                    .map_err(|e| Error::config(setting, format!("not a usable key: {e}")))?;
            }
        }
        self.cfg.base_url = validate_base_url(&self.base_url_raw)
            .map_err(|e| Error::config("LANGFUSE_BASE_URL", e))?;
        self.validate_otlp()?;
        if let Some(env) = &self.cfg.environment {
            validate_environment(env)
                .map_err(|e| Error::config("LANGFUSE_TRACING_ENVIRONMENT", e))?;
        }
        let r = self.cfg.sample_rate;
        if !(r.is_finite() && (0.0..=1.0).contains(&r)) {
            return Err(Error::config(
                "LANGFUSE_SAMPLE_RATE",
                format!("sample rate {r} is outside 0.0..=1.0; use 1.0 to keep every trace"),
            ));
        }
        if self.cfg.flush_at == 0 {
            return Err(Error::config(
                "LANGFUSE_FLUSH_AT",
                "flush_at must be at least 1",
            ));
        }
        if self.cfg.max_queue_size == 0 {
            return Err(Error::config(
                "LANGFUSE_MAX_QUEUE_SIZE",
                "max_queue_size must be at least 1",
            ));
        }
        if self.cfg.max_queue_bytes < 64 * 1024 {
            return Err(Error::config(
                "LANGFUSE_MAX_QUEUE_BYTES",
                "max_queue_bytes must be at least 65536",
            ));
        }
        if self.cfg.timeout.is_zero() || self.cfg.flush_interval.is_zero() {
            return Err(Error::config(
                "LANGFUSE_TIMEOUT",
                "timeout and flush_interval must be longer than zero",
            ));
        }
        if self.cfg.max_observation_bytes < 1024 || self.cfg.max_batch_bytes < 1024 {
            return Err(Error::config(
                "max_observation_bytes",
                "size limits must be at least 1024 bytes",
            ));
        }
        Ok(Langfuse {
            inner: Owner::start(self.cfg, self.custom),
        })
    }
}

impl LangfuseBuilder {
    /// Checks the endpoint, traces path and extra headers (set here or by the environment).
    fn validate_otlp(&mut self) -> Result<(), Error> {
        use crate::config::otlp::{validate_endpoint, validate_header, validate_path};
        if let Some(u) = &self.cfg.traces_endpoint {
            self.cfg.traces_endpoint = Some(
                validate_endpoint(u)
                    .map_err(|e| Error::config("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", e))?,
            );
        }
        if self.cfg.traces_endpoint.is_some()
            && self.cfg.transport == crate::config::Transport::Ingestion
        {
            return Err(Error::config(
                "LANGFUSE_TRANSPORT",
                "LANGFUSE_TRANSPORT=ingestion sends to LANGFUSE_BASE_URL's ingestion API, which \
                 an OTLP endpoint (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT) cannot receive: unset \
                 one of the two",
            ));
        }
        self.cfg.traces_path = validate_path(&self.cfg.traces_path)
            .map_err(|e| Error::config("LANGFUSE_OTEL_TRACES_EXPORT_PATH", e))?;
        for (k, v) in &self.cfg.headers {
            validate_header(k, v).map_err(|e| Error::config("OTEL_EXPORTER_OTLP_HEADERS", e))?;
        }
        Ok(())
    }
}

impl Langfuse {
    /// A builder with default options; see [`LangfuseBuilder`].
    pub fn builder() -> LangfuseBuilder {
        LangfuseBuilder::new()
    }

    /// A client configured from `LANGFUSE_*` variables. Never fails: invalid values fall back to
    /// defaults with a warning; missing keys disable tracing with one warning.
    pub fn from_env() -> Langfuse {
        match LangfuseBuilder::from_env().build() {
            Ok(c) => c,
            Err(e) => {
                diag::warn(&format!("{e}; Langfuse tracing is disabled"));
                Langfuse::disabled()
            }
        }
    }
}
