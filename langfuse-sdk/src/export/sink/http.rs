//! The HTTP sink: OTLP requests and score batches to Langfuse (each sent by [`Poster`], with
//! retries), counted exported only when the answer says they arrived (see [`response`]). A
//! request refused as too large (413) is split in halves and resent, down to single items.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::config::options::{Config, Transport};
use crate::diag;
use crate::export::encode::{Encoder, Spans, SDK_VERSION};
use crate::export::gzip::Gzip;
use crate::export::shared::Shared;
use crate::export::sink::ingestion;
#[cfg(test)]
pub(crate) use crate::export::sink::post::{backoff, parse_retry_after};
use crate::export::sink::post::{PostResult, Poster, Refusal};
use crate::export::sink::response::{self, Answer, Scores, Traces};
use crate::export::sink::split::halves;

/// Delivers OTLP and score requests and counts their items.
pub(crate) struct HttpSink {
    /// For the traces URL.
    poster: Poster,
    /// For the Langfuse server's ingestion API (scores, the ingestion transport).
    ingestion_poster: Poster,
    traces_url: Arc<str>,
    ingestion_url: Arc<str>,
    /// Set after a failed delivery until one succeeds: an outage warns once, not per batch.
    failing: bool,
    /// Kinds of problems already warned about (each warns once).
    warned: HashSet<String>,
    gzip_on: bool,
    gzip: Gzip,
    /// The OTLP request being delivered (by a task of the exporter's runtime) while the
    /// exporter encodes the next one.
    in_flight: Option<InFlight>,
    /// The spans buffer of the last request delivered, handed back to the worker for reuse.
    spare: Spans,
    /// Where spans go now.
    route: Route,
    /// `LANGFUSE_TRANSPORT=auto`: switch to the ingestion API for good on a 404 of the OTel route.
    auto: bool,
    public_key: Option<String>,
}

/// The API spans are sent to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Otlp,
    Ingestion,
}

/// One request for a part of the spans, on a route.
struct Request {
    url: Arc<str>,
    body: Vec<u8>,
    content_type: &'static str,
    gzip: bool,
    /// Ingestion: which observation each event came from (its body moved to `body`).
    events: Option<ingestion::Batch>,
}

/// A request in flight: the task delivering it, and its spans (kept to split them on a 413).
struct InFlight {
    task: tokio::task::JoinHandle<PostResult>,
    spans: Spans,
    n: u64,
    route: Route,
    events: Option<ingestion::Batch>,
}

impl HttpSink {
    pub(crate) fn new(cfg: &Config) -> Result<HttpSink, String> {
        // Extra headers belong to the traces endpoint: through a collector (or another OTLP
        // receiver), requests to the Langfuse server itself (scores, the ingestion API) carry
        // only Langfuse's headers, never the collector's credentials.
        let headers = request_headers(cfg, true)?;
        let ingestion_headers = request_headers(cfg, cfg.traces_endpoint.is_none())?;
        let client = match &cfg.http_client {
            Some(c) => c.clone(),
            None => reqwest::Client::builder()
                .user_agent(concat!("langfuse-sdk-rust/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(cfg.timeout)
                .pool_idle_timeout(Duration::from_secs(30))
                .redirect(response::redirect_policy())
                .build()
                .map_err(|e| e.to_string())?,
        };
        let traces_url = match &cfg.traces_endpoint {
            Some(u) => u.clone(),
            None => format!("{}{}", cfg.base_url, cfg.traces_path),
        };
        let (host, plain) = (url_host(&traces_url), traces_url.starts_with("http://"));
        if plain && !is_local(&host) {
            diag::warn(&format!(
                "the traces URL {traces_url} uses plain http:// to a non-local host: keys and \
                 traces travel unencrypted"
            ));
        }
        let poster = Poster {
            client,
            headers,
            timeout: cfg.timeout,
            max_retries: cfg.max_retries,
        };
        Ok(HttpSink {
            ingestion_poster: Poster {
                headers: ingestion_headers,
                ..poster.clone()
            },
            poster,
            traces_url: traces_url.into(),
            ingestion_url: format!("{}/api/public/ingestion", cfg.base_url).into(),
            failing: false,
            warned: HashSet::new(),
            gzip_on: cfg.gzip,
            gzip: Gzip::default(),
            in_flight: None,
            spare: Spans::default(),
            route: match cfg.transport {
                Transport::Ingestion => Route::Ingestion,
                _ => Route::Otlp,
            },
            // Through a collector, a 404 is the collector's: no fallback.
            auto: cfg.transport == Transport::Auto && cfg.traces_endpoint.is_none(),
            public_key: cfg.public_key.clone(),
        })
    }

    /// Starts delivering one OTLP request of the `n` spans in `batch` (compressed here, sent by
    /// a task of the exporter's runtime), once the request before it is finished: the exporter
    /// encodes the next request while the server handles this one, instead of waiting for its
    /// answer. The spans are kept until the answer (`batch` gets an empty buffer back).
    pub(crate) async fn start_traces(
        &mut self,
        encoder: &Encoder,
        batch: &mut Spans,
        n: u64,
        shared: &Arc<Shared>,
    ) {
        let route = self.route;
        let mut request = self.request(encoder, batch);
        // One request at a time on the wire: its connection is free again for the next.
        self.finish_traces(encoder, shared).await;
        if self.route != route {
            // The request before switched to the ingestion API.
            request = self.request(encoder, batch);
        }
        let Request {
            url,
            body,
            content_type,
            gzip,
            events,
        } = match request {
            Ok(r) => r,
            Err(m) => return self.failed(n, &m, Some("ingestion conversion"), shared),
        };
        let (poster, task_shared) = (self.poster_for(self.route).clone(), shared.clone());
        let task = tokio::spawn(async move {
            poster
                .post(&url, body, content_type, gzip, &task_shared)
                .await
        });
        let spans = std::mem::replace(batch, std::mem::take(&mut self.spare));
        self.in_flight = Some(InFlight {
            task,
            spans,
            n,
            route: self.route,
            events,
        });
        // Let the task write the request before this thread goes back to encoding.
        tokio::task::yield_now().await;
    }

    /// Waits for the request in flight, if any, and counts its spans exported or failed
    /// (splitting and resending them first if the server found the request too large).
    pub(crate) async fn finish_traces(&mut self, encoder: &Encoder, shared: &Shared) {
        let Some(InFlight {
            task,
            spans,
            n,
            mut route,
            mut events,
        }) = self.in_flight.take()
        else {
            return;
        };
        let r = task
            .await
            .unwrap_or_else(|e| Err(Refusal::new(format!("the request's task failed: {e}"))));
        let mut pending: Vec<(Spans, u64)> = Vec::new();
        let (mut result, mut part, mut k) = (r, spans, n);
        loop {
            match result {
                Ok(answer) => match &events {
                    Some(b) => self.count_ingestion(&answer, b, k, shared),
                    None => self.count_traces(&answer, k, shared),
                },
                Err(r) if r.not_found && self.auto && route == Route::Otlp => {
                    if self.route == Route::Otlp {
                        self.route = Route::Ingestion;
                        diag::warn(&format!(
                            "Langfuse's OpenTelemetry endpoint {} answered 404 (a server older \
                             than v3?): observations go to the ingestion API from now on; set \
                             LANGFUSE_TRANSPORT=ingestion to skip the first attempt",
                            self.traces_url
                        ));
                    }
                    // Resent through the ingestion API: nothing is lost.
                    pending.push((std::mem::take(&mut part), k));
                }
                Err(r) if r.too_large && k > 1 => match halves(&mut part, k) {
                    Some((tail, k_tail)) => {
                        let size = match &events {
                            Some(b) => format!("{} bytes of ingestion JSON", b.body_len),
                            None => format!("{} bytes before gzip", part.len() + tail.len()),
                        };
                        let msg = format!(
                            "Langfuse refused a request of {k} span(s) ({size}) as too large \
                             (HTTP 413); it is resent in smaller parts: lower max_batch_bytes to \
                             avoid the extra requests"
                        );
                        if !self.warn_once("HTTP 413 split", &msg) {
                            diag::debug(|| msg);
                        }
                        pending.push((tail, k_tail));
                        pending.push((std::mem::take(&mut part), k - k_tail));
                    }
                    None => self.failed(k, &r.message, Some("unsplittable"), shared),
                },
                Err(r) if r.too_large => {
                    let size = match &events {
                        Some(b) => format!("{} bytes of ingestion JSON", b.body_len),
                        None => format!("{} bytes of OTLP protobuf before gzip", part.len()),
                    };
                    let msg = format!(
                        "Langfuse refused an observation as too large even alone ({size}), so it \
                         is counted failed; lower max_observation_bytes, or raise the request \
                         size limit of the server or proxy: {}",
                        r.message
                    );
                    self.failed(k, &msg, Some("too large alone"), shared);
                }
                Err(r) => self.failed(k, &r.message, r.once.as_deref(), shared),
            }
            let Some((next, next_k)) = pending.pop() else {
                break;
            };
            (part, k) = (next, next_k);
            route = self.route;
            (result, events) = match self.request(encoder, &part) {
                Ok(r) => (
                    self.poster_for(route)
                        .post(&r.url, r.body, r.content_type, r.gzip, shared)
                        .await,
                    r.events,
                ),
                Err(m) => (Err(Refusal::new(m)), None),
            };
        }
        if part.bytes.capacity() > self.spare.bytes.capacity() {
            part.clear();
            self.spare = part;
        }
    }

    /// True when spans go to the ingestion API now.
    pub(crate) fn on_ingestion(&self) -> bool {
        self.route == Route::Ingestion
    }

    /// True when a request is in flight and has finished (its outcome not counted yet).
    pub(crate) fn traces_done(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|f| f.task.is_finished())
    }

    /// The request for `spans` on the current route (an error when the spans cannot be turned
    /// into ingestion events).
    /// The poster of a route: each destination gets only its own headers.
    fn poster_for(&self, route: Route) -> &Poster {
        match route {
            Route::Otlp => &self.poster,
            Route::Ingestion => &self.ingestion_poster,
        }
    }

    fn request(&mut self, encoder: &Encoder, spans: &Spans) -> Result<Request, String> {
        if self.route == Route::Ingestion {
            let mut b = ingestion::batch(
                &encoder.request(&spans.bytes),
                self.public_key.as_deref(),
                encoder.max_observation_bytes(),
            )?;
            return Ok(Request {
                url: self.ingestion_url.clone(),
                body: std::mem::take(&mut b.body),
                content_type: "application/json",
                gzip: false,
                events: Some(b),
            });
        }
        let prefix = encoder.request_prefix(spans.len());
        let (body, gzip) = if self.gzip_on {
            (self.gzip.compress(&prefix, &spans.bytes, &spans.ids), true)
        } else {
            ([&prefix[..], &spans.bytes].concat(), false)
        };
        Ok(Request {
            url: self.traces_url.clone(),
            body,
            content_type: "application/x-protobuf",
            gzip,
            events: None,
        })
    }

    /// Counts `n` observations sent as ingestion events: exported, except those whose events
    /// the answer (207) lists as errors.
    fn count_ingestion(
        &mut self,
        answer: &Answer,
        batch: &ingestion::Batch,
        n: u64,
        shared: &Shared,
    ) {
        match response::scores(answer) {
            Scores::Delivered { errors } => {
                self.outcome(None, false);
                let failed = batch.failed(&errors).min(n);
                let c = &shared.counters;
                c.exported.fetch_add(n - failed, Ordering::Relaxed);
                c.failed.fetch_add(failed, Ordering::Relaxed);
                if failed > 0 {
                    let msg = format!(
                        "Langfuse refused {failed} of {n} observation(s) (counted failed): {}",
                        diag::truncate_for_log(&Value::Array(errors).to_string())
                    );
                    if !self.warn_once("ingestion errors", &msg) {
                        diag::debug(|| msg);
                    }
                }
            }
            Scores::NotIngestion(m) => {
                let msg = format!(
                    "the ingestion endpoint's answer is not a delivery ({m}); is LANGFUSE_BASE_URL \
                     the Langfuse server itself?"
                );
                self.failed(n, &msg, Some("not ingestion"), shared);
            }
        }
    }

    /// Counts `n` spans answered 2xx: exported, unless the answer is not OTLP's or Langfuse's,
    /// or it reports spans rejected.
    fn count_traces(&mut self, answer: &Answer, n: u64, shared: &Shared) {
        match response::traces(answer) {
            Traces::Delivered { rejected, message } => {
                let rejected = rejected.min(n);
                self.outcome(None, false);
                let c = &shared.counters;
                c.exported.fetch_add(n - rejected, Ordering::Relaxed);
                c.failed.fetch_add(rejected, Ordering::Relaxed);
                if rejected == 0 && message.is_none() {
                    return;
                }
                let why = diag::truncate_for_log(message.as_deref().unwrap_or("no reason given"));
                let (kind, msg) = if rejected > 0 {
                    let m = format!(
                        "Langfuse rejected {rejected} of {n} span(s) (counted failed): {why}"
                    );
                    ("partial success", m)
                } else {
                    (
                        "otlp warning",
                        format!("Langfuse accepted {n} span(s) with a warning: {why}"),
                    )
                };
                if !self.warn_once(kind, &msg) {
                    diag::debug(|| msg);
                }
            }
            Traces::NotOtlp(m) => {
                let msg = format!(
                    "the traces endpoint's answer is not a delivery ({m}); is LANGFUSE_BASE_URL \
                     the Langfuse server itself, not a login page or proxy?"
                );
                self.failed(n, &msg, Some("not otlp"), shared);
            }
        }
    }

    /// Sends score events (split in halves and resent when the server finds them too large);
    /// returns how many failed.
    pub(crate) async fn send_scores(
        &mut self,
        events: Vec<serde_json::Value>,
        shared: &Shared,
    ) -> u64 {
        let mut failed = 0u64;
        let mut pending = vec![events];
        while let Some(mut events) = pending.pop() {
            let n = events.len() as u64;
            let body = serde_json::json!({ "batch": events })
                .to_string()
                .into_bytes();
            let url = self.ingestion_url.clone();
            match self
                .ingestion_poster
                .post(&url, body, "application/json", false, shared)
                .await
            {
                Ok(answer) => match response::scores(&answer) {
                    Scores::Delivered { errors } => {
                        self.outcome(None, false);
                        if !errors.is_empty() {
                            diag::warn(&format!(
                                "Langfuse refused {} score(s) (HTTP {}): {}",
                                errors.len(),
                                answer.status,
                                diag::truncate_for_log(
                                    &serde_json::Value::Array(errors.clone()).to_string()
                                )
                            ));
                        }
                        failed += (errors.len() as u64).min(n);
                    }
                    Scores::NotIngestion(m) => {
                        let msg = format!(
                            "the ingestion endpoint's answer is not a delivery ({m}); is \
                             LANGFUSE_BASE_URL the Langfuse server itself?"
                        );
                        self.report(&msg, Some("not ingestion"));
                        failed += n;
                    }
                },
                Err(r) if r.too_large && n > 1 => {
                    let tail = events.split_off(events.len() / 2);
                    pending.push(tail);
                    pending.push(events);
                }
                Err(r) => {
                    self.report(&r.message, r.once.as_deref());
                    failed += n;
                }
            }
        }
        failed
    }

    /// Counts `n` spans failed and reports why.
    fn failed(&mut self, n: u64, message: &str, once: Option<&str>, shared: &Shared) {
        shared.counters.failed.fetch_add(n, Ordering::Relaxed);
        self.report(message, once);
    }

    /// Reports a failed delivery: warns once per kind of problem (`once`), and once when an
    /// outage starts.
    fn report(&mut self, message: &str, once: Option<&str>) {
        let warned = once.is_some_and(|kind| {
            self.warn_once(
                kind,
                &format!("Langfuse export failed (items counted in stats().failed): {message}"),
            )
        });
        self.outcome(Some(message), warned);
    }

    /// Warns unless this kind of problem was warned about before; true when it warned.
    fn warn_once(&mut self, kind: &str, msg: &str) -> bool {
        let first = self.warned.insert(kind.to_string());
        if first {
            diag::warn(msg);
        }
        first
    }

    /// Warns once when deliveries start failing (unless `warned` just now), and notes the
    /// recovery in debug mode.
    fn outcome(&mut self, error: Option<&str>, warned: bool) {
        match (error, self.failing) {
            (Some(e), false) => {
                self.failing = true;
                if !warned {
                    diag::warn(&format!(
                        "Langfuse export failed: {e}; failed items are counted (stats().failed), \
                         further failures are not logged until a delivery succeeds"
                    ));
                }
            }
            (None, true) => {
                self.failing = false;
                diag::debug(|| "Langfuse export recovered".to_string());
            }
            _ => {}
        }
    }
}

/// The headers of a request: Langfuse's (Authorization only when both keys are set: a
/// collector in between may add the credentials), then, with `extra`, the configured extra
/// headers, which replace Langfuse's of the same name.
fn request_headers(cfg: &Config, extra: bool) -> Result<HeaderMap, String> {
    use base64::Engine as _;
    let mut headers = HeaderMap::new();
    if let (Some(pk), Some(sk)) = (&cfg.public_key, &cfg.secret_key) {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{pk}:{}", sk.0));
        let mut auth = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| "the keys contain characters not allowed in a header".to_string())?;
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
    }
    headers.insert("x-langfuse-sdk-name", HeaderValue::from_static("rust"));
    headers.insert(
        "x-langfuse-sdk-version",
        HeaderValue::from_static(SDK_VERSION),
    );
    if let Some(pk) = &cfg.public_key {
        headers.insert(
            "x-langfuse-public-key",
            HeaderValue::from_str(pk)
                .map_err(|_| "the public key is not a valid header".to_string())?,
        );
    }
    headers.insert(
        "x-langfuse-ingestion-version",
        HeaderValue::from_static("4"),
    );
    for (k, v) in cfg.headers.iter().filter(|_| extra) {
        let (name, value) = crate::config::otlp::header_pair(k, v)?;
        headers.insert(name, value);
    }
    Ok(headers)
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
