//! The validated configuration a client runs with, its defaults, and the exporter kinds.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Default Langfuse host when neither `LANGFUSE_BASE_URL` nor `LANGFUSE_HOST` is set.
pub const DEFAULT_BASE_URL: &str = "https://cloud.langfuse.com";

/// The traces path of a Langfuse server, appended to the base URL.
pub(crate) const DEFAULT_TRACES_PATH: &str = "/api/public/otel/v1/traces";

/// Which exporter a client sends finished observations to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP/HTTP protobuf to `{base_url}/api/public/otel/v1/traces` (the default).
    Otlp,
    /// Prints each finished trace to stdout as an indented tree; needs no keys.
    Console,
    /// Sends nothing: tracing is off, every call is a cheap no-op (`LANGFUSE_EXPORTER=none`).
    Disabled,
}

/// How observations reach Langfuse (`LANGFUSE_TRANSPORT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transport {
    /// OTLP; when the server answers 404 on its OTel route (a server without OpenTelemetry
    /// ingestion), the legacy ingestion API from then on, resending that batch (the default).
    /// With an OTLP endpoint (a collector) set, OTLP only.
    #[default]
    Auto,
    /// OTLP/HTTP protobuf only.
    Otlp,
    /// The legacy batch API `POST /api/public/ingestion` only, as the Python SDK 2.x sends it.
    Ingestion,
}

impl Transport {
    /// The name `LANGFUSE_TRANSPORT` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::Auto => "auto",
            Transport::Otlp => "otlp",
            Transport::Ingestion => "ingestion",
        }
    }
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
    pub exporter: ExporterKind,
    /// The full OTLP traces URL (a collector's), instead of the Langfuse server's.
    pub traces_endpoint: Option<String>,
    /// Path appended to the base URL when no endpoint is set.
    pub traces_path: String,
    /// Extra headers of every request (values may be credentials: never shown).
    pub headers: Vec<(String, String)>,
    /// Resource attributes besides the SDK's own.
    pub resource_attributes: Vec<(String, String)>,
    /// The application's HTTP client (proxies, mTLS), used as is.
    pub http_client: Option<reqwest::Client>,
    pub transport: Transport,
}

impl Default for Config {
    /// The defaults of the configuration table (no keys set).
    fn default() -> Self {
        Config {
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
            exporter: ExporterKind::Otlp,
            traces_endpoint: None,
            traces_path: DEFAULT_TRACES_PATH.to_string(),
            headers: Vec::new(),
            resource_attributes: Vec::new(),
            http_client: None,
            transport: Transport::Auto,
        }
    }
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
            .field("exporter", &self.exporter.name())
            .field("traces_endpoint", &self.traces_endpoint)
            .field("traces_path", &self.traces_path)
            // Header values may be credentials: names only.
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("resource_attributes", &self.resource_attributes)
            .field("http_client", &self.http_client.is_some())
            .field("transport", &self.transport.name())
            .finish_non_exhaustive()
    }
}

impl Config {
    /// True when the Langfuse keys must be set: requests go to Langfuse itself, not to an
    /// endpoint (a collector) that adds the credentials.
    pub(crate) fn needs_keys(&self) -> bool {
        self.traces_endpoint.is_none()
    }
}

impl ExporterKind {
    /// The name `LANGFUSE_EXPORTER` takes.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ExporterKind::Otlp => "otlp",
            ExporterKind::Console => "console",
            ExporterKind::Disabled => "none",
        }
    }
}
