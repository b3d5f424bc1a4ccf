//! Configuration: the builder, `LANGFUSE_*` environment variables, and their validation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::exporter::Sink;

/// Default Langfuse host when neither `LANGFUSE_BASE_URL` nor `LANGFUSE_HOST` is set.
pub const DEFAULT_BASE_URL: &str = "https://cloud.langfuse.com";

/// Which exporter a client sends finished observations to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP/HTTP protobuf to `{base_url}/api/public/otel/v1/traces` (the default).
    Otlp,
    /// Prints each finished trace to stdout as an indented tree; needs no keys.
    Console,
    /// Sends nothing: tracing is off, every call is a cheap no-op.
    None,
}

/// A mask over input, output and metadata, run on the exporter thread before anything leaves the
/// process. Strings arrive as JSON strings.
pub(crate) type MaskFn =
    Arc<dyn Fn(serde_json::Value) -> Result<serde_json::Value, String> + Send + Sync>;

/// A secret that never shows in `Debug`.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"sk-…redacted\"")
    }
}

/// Default number of observations per request. Larger requests amortise the per-request work
/// (a gzip stream's tables are reset for every request); requests are also capped in bytes.
pub(crate) const DEFAULT_FLUSH_AT: usize = 2048;
/// Default bound of the queue, in observations.
pub(crate) const DEFAULT_MAX_QUEUE_SIZE: usize = 1_000_000;
/// Default bound of the queue, in estimated bytes: a 400 000-observation burst of small
/// observations fits while the exporter catches up.
pub(crate) const DEFAULT_MAX_QUEUE_BYTES: usize = 128 << 20;

/// The validated configuration a client runs with.
#[derive(Clone)]
pub(crate) struct Config {
    pub public_key: Option<String>,
    pub secret_key: Option<Secret>,
    pub base_url: String,
    pub environment: Option<String>,
    pub release: Option<String>,
    pub sample_rate: f64,
    pub flush_at: usize,
    pub flush_interval: Duration,
    pub timeout: Duration,
    pub debug: bool,
    pub enabled: bool,
    pub max_queue_size: usize,
    pub max_queue_bytes: usize,
    pub max_retries: u32,
    pub max_batch_bytes: usize,
    pub max_observation_bytes: usize,
    pub io_capture: bool,
    pub immediate: bool,
    pub gzip: bool,
    pub service_name: String,
    pub mask: Option<MaskFn>,
    pub sink: SinkChoice,
}

#[derive(Clone)]
pub(crate) enum SinkChoice {
    Kind(ExporterKind),
    #[allow(dead_code)] // only built with the `testing` feature
    Custom(Sink),
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("public_key", &self.public_key)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "sk-…redacted"),
            )
            .field("base_url", &self.base_url)
            .field("environment", &self.environment)
            .field("release", &self.release)
            .field("sample_rate", &self.sample_rate)
            .field("flush_at", &self.flush_at)
            .field("flush_interval", &self.flush_interval)
            .field("timeout", &self.timeout)
            .field("enabled", &self.enabled)
            .field("max_queue_size", &self.max_queue_size)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .field("max_retries", &self.max_retries)
            .field("exporter", &self.exporter_name())
            .finish_non_exhaustive()
    }
}

impl Config {
    pub(crate) fn exporter_name(&self) -> &'static str {
        match &self.sink {
            SinkChoice::Kind(ExporterKind::Otlp) => "otlp",
            SinkChoice::Kind(ExporterKind::Console) => "console",
            SinkChoice::Kind(ExporterKind::None) => "none",
            SinkChoice::Custom(_) => "in-memory",
        }
    }
}

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
}

impl fmt::Debug for LangfuseBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cfg.fmt(f)
    }
}

impl Default for LangfuseBuilder {
    fn default() -> Self {
        LangfuseBuilder {
            cfg: Config {
                public_key: None,
                secret_key: None,
                base_url: DEFAULT_BASE_URL.to_string(),
                environment: None,
                release: None,
                sample_rate: 1.0,
                flush_at: DEFAULT_FLUSH_AT,
                flush_interval: Duration::from_secs(5),
                timeout: Duration::from_secs(5),
                debug: false,
                enabled: true,
                max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
                max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
                max_retries: 5,
                max_batch_bytes: 3_000_000,
                max_observation_bytes: 1_000_000,
                io_capture: true,
                immediate: false,
                gzip: true,
                service_name: "unknown_service:rust".to_string(),
                mask: None,
                sink: SinkChoice::Kind(ExporterKind::Otlp),
            },
            base_url_raw: DEFAULT_BASE_URL.to_string(),
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
            crate::diag::warn(&w);
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
        let mut b = Self::default();
        let mut warnings = Vec::new();
        let get = |k: &str| -> Option<(String, String)> {
            // The platform documents `Langfuse_PUBLIC_KEY`-style names: accept them as a fallback.
            let alt = k.replacen("LANGFUSE_", "Langfuse_", 1);
            for name in [k.to_string(), alt] {
                if let Some(v) = lookup(&name) {
                    if !v.trim().is_empty() {
                        return Some((name, v.trim().to_string()));
                    }
                }
            }
            None
        };

        if let Some((_, v)) = get("LANGFUSE_PUBLIC_KEY") {
            b.cfg.public_key = Some(v);
        }
        if let Some((_, v)) = get("LANGFUSE_SECRET_KEY") {
            b.cfg.secret_key = Some(Secret(v));
        }
        if let Some((name, v)) = get("LANGFUSE_BASE_URL").or_else(|| get("LANGFUSE_HOST")) {
            match validate_base_url(&v) {
                Ok(u) => {
                    b.cfg.base_url = u;
                    b.base_url_raw = v;
                }
                Err(e) => warnings.push(format!(
                    "{name}={v:?} is not a valid URL ({e}); using {DEFAULT_BASE_URL}"
                )),
            }
        }
        if let Some((name, v)) = get("LANGFUSE_TRACING_ENVIRONMENT") {
            match validate_environment(&v) {
                Ok(()) => b.cfg.environment = Some(v),
                Err(e) => warnings.push(format!(
                    "{name}={v:?} is not a valid environment ({e}); using none (the server shows \"default\")"
                )),
            }
        }
        b.cfg.release = get("LANGFUSE_RELEASE").map(|(_, v)| v).or_else(|| {
            RELEASE_FALLBACKS
                .iter()
                .find_map(|k| lookup(k).filter(|v| !v.trim().is_empty()))
        });
        if let Some((name, v)) = get("LANGFUSE_SAMPLE_RATE") {
            match v.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => b.cfg.sample_rate = r,
                _ => warnings.push(format!(
                    "{name}={v:?} is not a number between 0 and 1; using 1.0 (keep every trace)"
                )),
            }
        }
        let positive = |key: &str, default: u64, what: &str, w: &mut Vec<String>| -> u64 {
            match get(key) {
                // A count: a whole number of at least 1 (0.5 must not truncate to 0).
                Some((name, v)) => match v.parse::<u64>() {
                    Ok(n) if (1..1_000_000_000_000).contains(&n) => n,
                    _ => {
                        w.push(format!(
                            "{name}={v:?} is not a whole number of at least 1; using {default} {what}"
                        ));
                        default
                    }
                },
                None => default,
            }
        };
        b.cfg.flush_at = positive(
            "LANGFUSE_FLUSH_AT",
            DEFAULT_FLUSH_AT as u64,
            "observations",
            &mut warnings,
        ) as usize;
        let secs = |key: &str, default: f64, w: &mut Vec<String>| -> Duration {
            match get(key) {
                Some((name, v)) => match v.parse::<f64>() {
                    // At least a millisecond: 1e-124 is positive but a zero Duration.
                    Ok(n) if n.is_finite() && (0.001..1e9).contains(&n) => {
                        Duration::from_secs_f64(n)
                    }
                    _ => {
                        w.push(format!(
                            "{name}={v:?} is not a number of seconds from 0.001; using {default}"
                        ));
                        Duration::from_secs_f64(default)
                    }
                },
                None => Duration::from_secs_f64(default),
            }
        };
        b.cfg.flush_interval = secs("LANGFUSE_FLUSH_INTERVAL", 5.0, &mut warnings);
        b.cfg.timeout = secs("LANGFUSE_TIMEOUT", 5.0, &mut warnings);
        b.cfg.max_queue_size = positive(
            "LANGFUSE_MAX_QUEUE_SIZE",
            DEFAULT_MAX_QUEUE_SIZE as u64,
            "observations",
            &mut warnings,
        ) as usize;
        b.cfg.max_queue_bytes = positive(
            "LANGFUSE_MAX_QUEUE_BYTES",
            DEFAULT_MAX_QUEUE_BYTES as u64,
            "bytes",
            &mut warnings,
        ) as usize;
        if let Some((name, v)) = get("LANGFUSE_MAX_RETRIES") {
            match v.parse::<u32>() {
                Ok(n) if n <= 100 => b.cfg.max_retries = n,
                _ => warnings.push(format!(
                    "{name}={v:?} is not a whole number from 0 to 100; using 5"
                )),
            }
        }
        let boolean = |key: &str, default: bool, w: &mut Vec<String>| -> bool {
            match get(key) {
                Some((name, v)) => match parse_bool(&v) {
                    Some(x) => x,
                    None => {
                        w.push(format!(
                            "{name}={v:?} is not true or false; using {default}"
                        ));
                        default
                    }
                },
                None => default,
            }
        };
        b.cfg.debug = boolean("LANGFUSE_DEBUG", false, &mut warnings);
        b.cfg.enabled = boolean("LANGFUSE_TRACING_ENABLED", true, &mut warnings);
        b.cfg.io_capture = boolean(
            "LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED",
            true,
            &mut warnings,
        );
        if let Some((name, v)) = get("LANGFUSE_EXPORTER") {
            match parse_exporter(&v) {
                Some(k) => b.cfg.sink = SinkChoice::Kind(k),
                None => warnings.push(format!(
                    "{name}={v:?} is not one of otlp, console, none; using otlp"
                )),
            }
        }
        if let Some(v) = lookup("OTEL_SERVICE_NAME").filter(|v| !v.trim().is_empty()) {
            b.cfg.service_name = v.trim().to_string();
        }
        (b, warnings)
    }

    /// Public key (`LANGFUSE_PUBLIC_KEY`), `pk-lf-…`.
    pub fn public_key(mut self, key: impl Into<String>) -> Self {
        self.cfg.public_key = Some(key.into());
        self
    }
    /// Secret key (`LANGFUSE_SECRET_KEY`), `sk-lf-…`. Never shown in `Debug`, logs or errors.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.cfg.secret_key = Some(Secret(key.into()));
        self
    }
    /// Langfuse base URL (`LANGFUSE_BASE_URL`, then `LANGFUSE_HOST`), default
    /// `https://cloud.langfuse.com`. Validated by `build()`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url_raw = url.into();
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
        self.cfg.sink = SinkChoice::Kind(kind);
        self
    }
    /// Sends to an in-memory exporter that tests can read (feature `testing`).
    #[cfg(feature = "testing")]
    pub fn in_memory_exporter(mut self, exporter: crate::testing::InMemoryExporter) -> Self {
        self.cfg.sink = SinkChoice::Custom(Sink::Memory(exporter));
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
    /// Gzip request bodies (default on; the server accepts both).
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
    /// warning, as the official SDKs do.
    pub fn build(mut self) -> Result<crate::Langfuse, Error> {
        self.cfg.base_url = validate_base_url(&self.base_url_raw)
            .map_err(|e| Error::config("LANGFUSE_BASE_URL", e))?;
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
        Ok(crate::client::Langfuse::start(self.cfg))
    }
}

/// CI and platform variables that carry the commit, read when `LANGFUSE_RELEASE` is unset.
const RELEASE_FALLBACKS: &[&str] = &[
    "GITHUB_SHA",
    "CI_COMMIT_SHA",
    "CIRCLE_SHA1",
    "BITBUCKET_COMMIT",
    "BUILDKITE_COMMIT",
    "VERCEL_GIT_COMMIT_SHA",
    "RENDER_GIT_COMMIT",
    "RAILWAY_GIT_COMMIT_SHA",
    "HEROKU_SLUG_COMMIT",
    "SOURCE_VERSION",
    "CODEBUILD_RESOLVED_SOURCE_VERSION",
    "CF_PAGES_COMMIT_SHA",
    "GIT_COMMIT",
];

pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_exporter(v: &str) -> Option<ExporterKind> {
    match v.trim().to_ascii_lowercase().as_str() {
        "otlp" => Some(ExporterKind::Otlp),
        "console" => Some(ExporterKind::Console),
        "none" | "off" => Some(ExporterKind::None),
        _ => None,
    }
}

/// Checks an environment name as the server does: `^(?!langfuse)[a-z0-9-_]+$`, at most 40 chars.
pub(crate) fn validate_environment(env: &str) -> Result<(), String> {
    if env.is_empty() || env.len() > 40 {
        return Err("it must be 1 to 40 characters".into());
    }
    if env.starts_with("langfuse") {
        return Err("names starting with \"langfuse\" are reserved".into());
    }
    if !env
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(
            "use only lowercase letters, digits, '-' and '_' (for example \"production\")".into(),
        );
    }
    Ok(())
}

/// Parses and normalises a base URL: http(s), a host, no trailing slash.
pub(crate) fn validate_base_url(raw: &str) -> Result<String, String> {
    let u = reqwest::Url::parse(raw.trim()).map_err(|e| {
        format!("{raw:?} does not parse as a URL ({e}); use e.g. https://cloud.langfuse.com")
    })?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!("{raw:?} must start with http:// or https://"));
    }
    if u.host_str().map(str::is_empty).unwrap_or(true) {
        return Err(format!("{raw:?} has no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(
            "put credentials in LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY, not in the URL".into(),
        );
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> (LangfuseBuilder, Vec<String>) {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LangfuseBuilder::from_lookup(move |k| m.get(k).cloned())
    }

    #[test]
    fn reads_every_variable() {
        let (b, w) = env(&[
            ("LANGFUSE_PUBLIC_KEY", "pk-1"),
            ("LANGFUSE_SECRET_KEY", "sk-1"),
            ("LANGFUSE_HOST", "http://localhost:3000/"),
            ("LANGFUSE_TRACING_ENVIRONMENT", "staging"),
            ("GITHUB_SHA", "abc123"),
            ("LANGFUSE_SAMPLE_RATE", "0.25"),
            ("LANGFUSE_FLUSH_AT", "10"),
            ("LANGFUSE_FLUSH_INTERVAL", "0.5"),
            ("LANGFUSE_TIMEOUT", "2"),
            ("LANGFUSE_DEBUG", "true"),
            ("LANGFUSE_TRACING_ENABLED", "false"),
            ("LANGFUSE_MAX_QUEUE_SIZE", "77"),
            ("LANGFUSE_MAX_QUEUE_BYTES", "1048576"),
            ("LANGFUSE_MAX_RETRIES", "0"),
            ("LANGFUSE_EXPORTER", "console"),
            ("LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED", "false"),
        ]);
        assert!(w.is_empty(), "{w:?}");
        let c = &b.cfg;
        assert_eq!(c.public_key.as_deref(), Some("pk-1"));
        assert_eq!(c.secret_key.as_ref().unwrap().0, "sk-1");
        assert_eq!(c.base_url, "http://localhost:3000");
        assert_eq!(c.environment.as_deref(), Some("staging"));
        assert_eq!(c.release.as_deref(), Some("abc123"));
        assert_eq!(c.sample_rate, 0.25);
        assert_eq!(c.flush_at, 10);
        assert_eq!(c.flush_interval, Duration::from_millis(500));
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert!(c.debug && !c.enabled && !c.io_capture);
        assert_eq!(c.max_queue_size, 77);
        assert_eq!(c.max_queue_bytes, 1 << 20);
        assert_eq!(c.max_retries, 0);
        assert_eq!(c.exporter_name(), "console");
    }

    #[test]
    fn base_url_wins_over_host_and_release_over_ci() {
        let (b, _) = env(&[
            ("LANGFUSE_BASE_URL", "https://eu.example.com"),
            ("LANGFUSE_HOST", "http://other:3000"),
            ("LANGFUSE_RELEASE", "r1"),
            ("CI_COMMIT_SHA", "zzz"),
        ]);
        assert_eq!(b.cfg.base_url, "https://eu.example.com");
        assert_eq!(b.cfg.release.as_deref(), Some("r1"));
    }

    #[test]
    fn platform_spelling_is_a_fallback() {
        let (b, w) = env(&[
            ("Langfuse_PUBLIC_KEY", "pk-2"),
            ("Langfuse_SECRET_KEY", "sk-2"),
            (
                "Langfuse_HOST",
                "http://langfuse-web.langfuse.svc.cluster.local:3000",
            ),
            ("Langfuse_TRACING_ENVIRONMENT", "dev"),
        ]);
        assert!(w.is_empty());
        assert_eq!(b.cfg.public_key.as_deref(), Some("pk-2"));
        assert_eq!(
            b.cfg.base_url,
            "http://langfuse-web.langfuse.svc.cluster.local:3000"
        );
        assert_eq!(b.cfg.environment.as_deref(), Some("dev"));
        // The documented spelling wins when both are set.
        let (b, _) = env(&[("LANGFUSE_PUBLIC_KEY", "a"), ("Langfuse_PUBLIC_KEY", "b")]);
        assert_eq!(b.cfg.public_key.as_deref(), Some("a"));
    }

    #[test]
    fn invalid_env_values_warn_and_fall_back() {
        let (b, w) = env(&[
            ("LANGFUSE_SAMPLE_RATE", "1.5"),
            ("LANGFUSE_TRACING_ENVIRONMENT", "Prod!"),
            ("LANGFUSE_BASE_URL", "not a url"),
            ("LANGFUSE_FLUSH_AT", "-3"),
            ("LANGFUSE_TIMEOUT", "soon"),
            ("LANGFUSE_DEBUG", "maybe"),
            ("LANGFUSE_EXPORTER", "kafka"),
            // Found by fuzzing: 0.5 used to truncate to a queue of 0, and 1e-124 seconds to a
            // zero timeout, both of which build() refuses.
            ("LANGFUSE_MAX_QUEUE_SIZE", ".5"),
            ("LANGFUSE_FLUSH_INTERVAL", "1e-124"),
        ]);
        assert_eq!(w.len(), 9, "{w:#?}");
        for (var, used) in [
            ("LANGFUSE_SAMPLE_RATE", "using 1.0"),
            ("LANGFUSE_TRACING_ENVIRONMENT", "using none"),
            ("LANGFUSE_BASE_URL", "using https://cloud.langfuse.com"),
            ("LANGFUSE_FLUSH_AT", "using 2048"),
            ("LANGFUSE_MAX_QUEUE_SIZE", "using 1000000"),
            ("LANGFUSE_FLUSH_INTERVAL", "using 5"),
            ("LANGFUSE_TIMEOUT", "using 5"),
            ("LANGFUSE_DEBUG", "using false"),
            ("LANGFUSE_EXPORTER", "using otlp"),
        ] {
            assert!(
                w.iter().any(|m| m.contains(var) && m.contains(used)),
                "no warning for {var} saying {used:?}: {w:#?}"
            );
        }
        assert_eq!(b.cfg.sample_rate, 1.0);
        assert_eq!(b.cfg.environment, None);
        assert_eq!(b.cfg.base_url, DEFAULT_BASE_URL);
    }

    #[test]
    fn builder_rejects_invalid_values_with_clear_errors() {
        let base = || {
            crate::Langfuse::builder()
                .public_key("pk")
                .secret_key("sk-very-secret")
                .exporter(ExporterKind::None)
        };
        let e = base().sample_rate(1.5).build().unwrap_err();
        assert!(e.is_config() && e.setting() == Some("LANGFUSE_SAMPLE_RATE"));
        let e = base().environment("Prod!").build().unwrap_err();
        assert!(e.to_string().contains("lowercase"), "{e}");
        let e = base().environment("langfuse-x").build().unwrap_err();
        assert!(e.to_string().contains("reserved"));
        let e = base().base_url("not a url").build().unwrap_err();
        assert_eq!(e.setting(), Some("LANGFUSE_BASE_URL"));
        let e = base().base_url("ftp://x").build().unwrap_err();
        assert!(e.to_string().contains("http://"));
        assert!(base().flush_at(0).build().unwrap_err().is_config());
        assert!(!format!("{:?}", base()).contains("sk-very-secret"));
    }
}
