//! `LANGFUSE_*` environment variables: each name, read with its default.
//!
//! | variable | default |
//! |---|---|
//! | `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY` | none (tracing is disabled with one warning) |
//! | `LANGFUSE_BASE_URL`, then `LANGFUSE_HOST` | [`DEFAULT_BASE_URL`] |
//! | `LANGFUSE_TRACING_ENVIRONMENT` | none (the server shows `default`) |
//! | `LANGFUSE_RELEASE`, then a CI commit variable | none |
//! | `LANGFUSE_SAMPLE_RATE` | `1.0` |
//! | `LANGFUSE_FLUSH_AT` | [`DEFAULT_FLUSH_AT`] observations |
//! | `LANGFUSE_FLUSH_INTERVAL`, `LANGFUSE_TIMEOUT` | 5 s each |
//! | `LANGFUSE_MAX_QUEUE_SIZE` | [`DEFAULT_MAX_QUEUE_SIZE`] observations |
//! | `LANGFUSE_MAX_QUEUE_BYTES` | [`DEFAULT_MAX_QUEUE_BYTES`] |
//! | `LANGFUSE_MAX_RETRIES` | 5 |
//! | `LANGFUSE_DEBUG` | `false` |
//! | `LANGFUSE_TRACING_ENABLED` | `true` |
//! | `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED` | `true` |
//! | `LANGFUSE_EXPORTER` | `otlp` |
//! | `LANGFUSE_TRANSPORT` | `auto` (OTLP; the ingestion API when the server has no OTel route) |
//! | `OTEL_SERVICE_NAME` | `unknown_service:rust` |
//!
//! The other OpenTelemetry exporter variables (endpoint, headers, compression, resource
//! attributes, the traces path) are read by [`otlp`](crate::config::otlp).
//!
//! Every `LANGFUSE_` name is also read as `Langfuse_…` (the platform documents that spelling).

use std::time::Duration;

use crate::config::options::{
    Config, ExporterKind, Secret, Transport, DEFAULT_BASE_URL, DEFAULT_FLUSH_AT,
    DEFAULT_MAX_QUEUE_BYTES, DEFAULT_MAX_QUEUE_SIZE,
};
use crate::config::validate::{
    parse_bool, validate_base_url, validate_environment, validate_key, Fatal,
};

/// What the variables say: the configuration, the base URL as given (validated again by
/// `build()`), the values that make it unusable, and one warning per invalid value (which was
/// replaced by its default).
pub(crate) struct Read {
    pub cfg: Config,
    pub base_url_raw: String,
    pub fatal: Vec<Fatal>,
    pub warnings: Vec<String>,
}

/// Reads the configuration through `lookup`.
pub(crate) fn read(lookup: impl Fn(&str) -> Option<String>) -> Read {
    let mut cfg = Config::default();
    let mut base_url_raw = DEFAULT_BASE_URL.to_string();
    let mut warnings = Vec::new();
    let mut fatal = Vec::new();
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

    for (setting, secret) in [
        ("LANGFUSE_PUBLIC_KEY", false),
        ("LANGFUSE_SECRET_KEY", true),
    ] {
        let Some((name, v)) = get(setting) else {
            continue;
        };
        match validate_key(&v) {
            Ok(()) if secret => cfg.secret_key = Some(Secret(v)),
            Ok(()) => cfg.public_key = Some(v),
            // The value is never shown: it may be a secret.
            Err(e) => fatal.push(Fatal {
                setting,
                message: format!("{name} is not a usable key: {e}"),
            }),
        }
    }
    if let Some((name, v)) = get("LANGFUSE_BASE_URL").or_else(|| get("LANGFUSE_HOST")) {
        match validate_base_url(&v) {
            Ok(u) => {
                cfg.base_url = u;
                base_url_raw = v;
            }
            // Never a fallback to the public cloud: that would send this application's traces,
            // with its keys, off its network.
            Err(e) => fatal.push(Fatal {
                setting: if name.ends_with("HOST") {
                    "LANGFUSE_HOST"
                } else {
                    "LANGFUSE_BASE_URL"
                },
                message: format!("{name}={v:?} is not a usable URL: {e}"),
            }),
        }
    }
    if let Some((name, v)) = get("LANGFUSE_TRACING_ENVIRONMENT") {
        match validate_environment(&v) {
            Ok(()) => cfg.environment = Some(v),
            Err(e) => warnings.push(format!(
                "{name}={v:?} is not a valid environment ({e}); using none (the server shows \"default\")"
            )),
        }
    }
    cfg.release = get("LANGFUSE_RELEASE").map(|(_, v)| v).or_else(|| {
        RELEASE_FALLBACKS
            .iter()
            .find_map(|k| lookup(k).filter(|v| !v.trim().is_empty()))
    });
    if let Some((name, v)) = get("LANGFUSE_SAMPLE_RATE") {
        match v.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => cfg.sample_rate = r,
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
    cfg.flush_at = positive(
        "LANGFUSE_FLUSH_AT",
        DEFAULT_FLUSH_AT as u64,
        "observations",
        &mut warnings,
    ) as usize;
    let secs = |key: &str, default: f64, w: &mut Vec<String>| -> Duration {
        match get(key) {
            Some((name, v)) => match v.parse::<f64>() {
                // At least a millisecond: 1e-124 is positive but a zero Duration.
                Ok(n) if n.is_finite() && (0.001..1e9).contains(&n) => Duration::from_secs_f64(n),
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
    cfg.flush_interval = secs("LANGFUSE_FLUSH_INTERVAL", 5.0, &mut warnings);
    cfg.timeout = secs("LANGFUSE_TIMEOUT", 5.0, &mut warnings);
    cfg.max_queue_size = positive(
        "LANGFUSE_MAX_QUEUE_SIZE",
        DEFAULT_MAX_QUEUE_SIZE as u64,
        "observations",
        &mut warnings,
    ) as usize;
    cfg.max_queue_bytes = positive(
        "LANGFUSE_MAX_QUEUE_BYTES",
        DEFAULT_MAX_QUEUE_BYTES as u64,
        "bytes",
        &mut warnings,
    ) as usize;
    if let Some((name, v)) = get("LANGFUSE_MAX_RETRIES") {
        match v.parse::<u32>() {
            Ok(n) if n <= 100 => cfg.max_retries = n,
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
    cfg.debug = boolean("LANGFUSE_DEBUG", false, &mut warnings);
    cfg.enabled = boolean("LANGFUSE_TRACING_ENABLED", true, &mut warnings);
    cfg.io_capture = boolean(
        "LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED",
        true,
        &mut warnings,
    );
    if let Some((name, v)) = get("LANGFUSE_EXPORTER") {
        match parse_exporter(&v) {
            Some(k) => cfg.exporter = k,
            None => warnings.push(format!(
                "{name}={v:?} is not one of otlp, console, none; using otlp"
            )),
        }
    }
    if let Some((name, v)) = get("LANGFUSE_TRANSPORT") {
        match v.to_ascii_lowercase().as_str() {
            "auto" => cfg.transport = Transport::Auto,
            "otlp" => cfg.transport = Transport::Otlp,
            "ingestion" => cfg.transport = Transport::Ingestion,
            _ => warnings.push(format!(
                "{name}={v:?} is not one of auto, otlp, ingestion; using auto"
            )),
        }
    }
    if let Some(v) = lookup("OTEL_SERVICE_NAME").filter(|v| !v.trim().is_empty()) {
        cfg.service_name = v.trim().to_string();
    }
    crate::config::otlp::read(&lookup, &mut cfg, &mut fatal);
    Read {
        cfg,
        base_url_raw,
        fatal,
        warnings,
    }
}

fn parse_exporter(v: &str) -> Option<ExporterKind> {
    match v.trim().to_ascii_lowercase().as_str() {
        "otlp" => Some(ExporterKind::Otlp),
        "console" => Some(ExporterKind::Console),
        "none" | "off" => Some(ExporterKind::Disabled),
        _ => None,
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
