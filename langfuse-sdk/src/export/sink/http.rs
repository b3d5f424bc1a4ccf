//! The HTTP sink: OTLP requests and score batches to Langfuse, with retries and backoff.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};

use crate::config::options::Config;
use crate::diag;
use crate::export::encode::*;
use crate::export::gzip::Gzip;
use crate::export::shared::{backoff_sleep, cap_passed, effective_deadline, Shared};
// ---- HTTP ------------------------------------------------------------------------------------

/// Sends OTLP and score requests with retries.
pub(crate) struct HttpSink {
    poster: Poster,
    traces_url: Arc<str>,
    ingestion_url: String,
    /// Set after a failed delivery until one succeeds: an outage warns once, not per batch.
    failing: bool,
    gzip: Gzip,
    /// The OTLP request being delivered (by a task of the exporter's runtime) while the
    /// exporter encodes the next one, and how many spans it carries.
    in_flight: Option<(tokio::task::JoinHandle<PostResult>, u64)>,
}

/// A delivery's outcome: the status and body, or why it failed.
type PostResult = Result<(u16, String), String>;

/// What a request needs, cheap to clone into the task that delivers it.
#[derive(Clone)]
struct Poster {
    client: reqwest::Client,
    headers: HeaderMap,
    /// Statuses already warned about (a refusal warns once per status).
    warned_status: Arc<Mutex<std::collections::HashSet<u16>>>,
    timeout: Duration,
    max_retries: u32,
}

enum Attempt {
    Done(u16, String),
    Retry(String, Option<Duration>),
    Fail(String),
}

impl HttpSink {
    pub(crate) fn new(cfg: &Config) -> Result<HttpSink, String> {
        use base64::Engine as _;
        let mut headers = HeaderMap::new();
        let pk = cfg.public_key.clone().unwrap_or_default();
        let sk = cfg
            .secret_key
            .as_ref()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{pk}:{sk}"));
        let mut auth = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| "the keys contain characters not allowed in a header".to_string())?;
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        headers.insert("x-langfuse-sdk-name", HeaderValue::from_static("rust"));
        headers.insert(
            "x-langfuse-sdk-version",
            HeaderValue::from_static(SDK_VERSION),
        );
        headers.insert(
            "x-langfuse-public-key",
            HeaderValue::from_str(&pk)
                .map_err(|_| "the public key is not a valid header".to_string())?,
        );
        headers.insert(
            "x-langfuse-ingestion-version",
            HeaderValue::from_static("4"),
        );
        let client = reqwest::Client::builder()
            .user_agent(concat!("langfuse-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(cfg.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let host = url_host(&cfg.base_url);
        if cfg.base_url.starts_with("http://") && !is_local(&host) {
            diag::warn(&format!(
                "LANGFUSE_BASE_URL {} uses plain http:// to a non-local host: keys and traces travel unencrypted",
                cfg.base_url
            ));
        }
        Ok(HttpSink {
            poster: Poster {
                client,
                headers,
                warned_status: Default::default(),
                timeout: cfg.timeout,
                max_retries: cfg.max_retries,
            },
            traces_url: format!("{}/api/public/otel/v1/traces", cfg.base_url).into(),
            ingestion_url: format!("{}/api/public/ingestion", cfg.base_url),
            failing: false,
            gzip: Gzip::default(),
            in_flight: None,
        })
    }

    /// Starts delivering one OTLP request of `spans` spans (compressed here, sent by a task of
    /// the exporter's runtime), once the request before it is finished: the exporter encodes
    /// the next request while the server handles this one, instead of waiting for its answer.
    pub(crate) async fn start_traces(
        &mut self,
        prefix: &[u8],
        batch: &Spans,
        spans: u64,
        shared: &Arc<Shared>,
        cfg: &Config,
    ) {
        let (payload, gzip) = if cfg.gzip {
            (self.gzip.compress(prefix, &batch.bytes, &batch.ids), true)
        } else {
            ([prefix, &batch.bytes].concat(), false)
        };
        // One request at a time on the wire: its connection is free again for the next.
        self.finish_traces(shared).await;
        let (poster, url, task_shared) =
            (self.poster.clone(), self.traces_url.clone(), shared.clone());
        let task = tokio::spawn(async move {
            poster
                .post(&url, payload, "application/x-protobuf", gzip, &task_shared)
                .await
        });
        self.in_flight = Some((task, spans));
        // Let the task write the request before this thread goes back to encoding.
        tokio::task::yield_now().await;
    }

    /// Waits for the request in flight, if any, and counts its spans exported or failed.
    pub(crate) async fn finish_traces(&mut self, shared: &Shared) {
        let Some((task, spans)) = self.in_flight.take() else {
            return;
        };
        let r = task
            .await
            .unwrap_or_else(|e| Err(format!("the request's task failed: {e}")));
        self.outcome(r.as_ref().err().map(String::as_str));
        let c = &shared.counters;
        if r.is_ok() {
            c.exported.fetch_add(spans, Ordering::Relaxed);
        } else {
            c.failed.fetch_add(spans, Ordering::Relaxed);
        }
    }

    /// True when a request is in flight and has finished (its outcome not counted yet).
    pub(crate) fn traces_done(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|(t, _)| t.is_finished())
    }

    /// Sends score events; returns how many failed.
    pub(crate) async fn send_scores(
        &mut self,
        events: Vec<serde_json::Value>,
        shared: &Shared,
    ) -> u64 {
        let n = events.len() as u64;
        let body = serde_json::json!({ "batch": events })
            .to_string()
            .into_bytes();
        match self
            .poster
            .post(&self.ingestion_url, body, "application/json", false, shared)
            .await
        {
            Ok((status, text)) => {
                self.outcome(None);
                // 207: per-event errors arrive inside the body.
                let errors = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
                    .unwrap_or_default();
                if !errors.is_empty() {
                    diag::warn(&format!(
                        "Langfuse refused {} score(s) (HTTP {status}): {}",
                        errors.len(),
                        diag::truncate_for_log(
                            &serde_json::Value::Array(errors.clone()).to_string()
                        )
                    ));
                }
                (errors.len() as u64).min(n)
            }
            Err(e) => {
                self.outcome(Some(&e));
                n
            }
        }
    }

    /// Warns once when deliveries start failing, and notes the recovery in debug mode.
    fn outcome(&mut self, error: Option<&str>) {
        match (error, self.failing) {
            (Some(e), false) => {
                self.failing = true;
                diag::warn(&format!(
                    "Langfuse export failed: {e}; failed items are counted (stats().failed), \
                     further failures are not logged until a delivery succeeds"
                ));
            }
            (None, true) => {
                self.failing = false;
                diag::debug(|| "Langfuse export recovered".to_string());
            }
            _ => {}
        }
    }
}

impl Poster {
    async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        content_type: &'static str,
        gzip: bool,
        shared: &Shared,
    ) -> PostResult {
        let budget = self.timeout * (self.max_retries + 1) + Duration::from_secs(30);
        let batch_deadline = Instant::now() + budget;
        let mut attempt: u32 = 0;
        loop {
            let deadline = effective_deadline(shared, batch_deadline);
            let now = Instant::now();
            if now >= deadline {
                return Err("gave up: out of time (shutdown deadline or retry budget)".into());
            }
            let timeout = self.timeout.min(deadline - now);
            let mut req = self
                .client
                .post(url)
                .headers(self.headers.clone())
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .timeout(timeout)
                .body(body.clone());
            if gzip {
                req = req.header(reqwest::header::CONTENT_ENCODING, "gzip");
            }
            let attempt_result = tokio::select! {
                r = req.send() => Some(r),
                _ = cap_passed(shared) => None,
            };
            let Some(attempt_result) = attempt_result else {
                return Err("gave up: shutdown deadline passed during the request".into());
            };
            let outcome = match attempt_result {
                Ok(resp) => {
                    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
                    let status = resp.status().as_u16();
                    let retry_after = retry_after(resp.headers());
                    let text = resp.text().await.unwrap_or_default();
                    if (200..300).contains(&status) {
                        shared
                            .counters
                            .bytes_sent
                            .fetch_add(body.len() as u64, Ordering::Relaxed);
                        Attempt::Done(status, text)
                    } else if status == 408 || status == 429 || status >= 500 {
                        Attempt::Retry(
                            format!("HTTP {status}: {}", diag::truncate_for_log(&text)),
                            retry_after,
                        )
                    } else {
                        let msg = format!(
                            "HTTP {status} from {url}: {}{}",
                            diag::truncate_for_log(&text),
                            match status {
                                401 | 403 => " (check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL)",
                                404 => " (is LANGFUSE_BASE_URL a Langfuse server with OpenTelemetry ingestion, v3 or newer?)",
                                413 => " (request too large: lower max_batch_bytes)",
                                _ => "",
                            }
                        );
                        let first = self
                            .warned_status
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(status);
                        if first {
                            diag::warn(&format!("Langfuse refused a request, not retrying: {msg}"));
                        }
                        Attempt::Fail(msg)
                    }
                }
                Err(e) => Attempt::Retry(describe_reqwest_error(&e), None),
            };
            match outcome {
                Attempt::Done(status, text) => return Ok((status, text)),
                Attempt::Fail(m) => return Err(m),
                Attempt::Retry(reason, retry_after) => {
                    if attempt >= self.max_retries {
                        return Err(format!("{reason} (after {} retries)", self.max_retries));
                    }
                    let wait = retry_after
                        .map(|d| d.min(Duration::from_secs(60)))
                        .unwrap_or_else(|| backoff(attempt));
                    let deadline = effective_deadline(shared, batch_deadline);
                    if Instant::now() + wait >= deadline {
                        return Err(format!("{reason} (no time left to retry)"));
                    }
                    diag::debug(|| format!("retrying in {wait:?}: {reason}"));
                    shared.counters.retried.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    backoff_sleep(shared, wait).await;
                }
            }
        }
    }
}

/// Exponential backoff with jitter: 0.5–1 × 200 ms × 2^attempt, at most 10 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1u64 << attempt.min(16)).min(10_000);
    let jitter = 0.5 + (crate::ids::next_u64() % 1000) as f64 / 2000.0;
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// The `Retry-After` header (seconds or an HTTP date), capped at an hour.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(3600.0)));
        }
        return None;
    }
    let t = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let now = chrono::Utc::now();
    let d = t.with_timezone(&chrono::Utc) - now;
    Some(d.to_std().unwrap_or(Duration::ZERO))
}

fn describe_reqwest_error(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL but never headers, so no key can leak here.
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut msg = format!("{what}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

fn url_host(base: &str) -> String {
    reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

pub(crate) fn is_local(host: &str) -> bool {
    host == "localhost"
        || host.starts_with("127.")
        || host == "[::1]"
        || host == "::1"
        || host.ends_with(".local")
        || host.ends_with(".svc")
        || host.ends_with(".internal")
        || host.contains(".svc.")
        || !host.contains('.')
}
