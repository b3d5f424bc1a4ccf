//! One request to Langfuse, with retries and backoff: what its answers mean for it (a 2xx
//! answer for the caller to judge, a retry, or a refusal).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use crate::diag;
use crate::export::shared::{backoff_sleep, cap_passed, effective_deadline, Shared};
use crate::export::sink::response::{self, Answer, MAX_BODY};

/// Why a request was not delivered.
pub(crate) struct Refusal {
    pub message: String,
    /// Warn about this kind of refusal once (not only when an outage starts).
    pub once: Option<String>,
    /// HTTP 413: the request can be split and resent.
    pub too_large: bool,
    /// HTTP 404: the route does not exist on this server.
    pub not_found: bool,
}

impl Refusal {
    pub(crate) fn new(message: String) -> Refusal {
        Refusal {
            message,
            once: None,
            too_large: false,
            not_found: false,
        }
    }
}

/// A delivery's outcome: a 2xx answer (still to be judged), or why there was none.
pub(crate) type PostResult = Result<Answer, Refusal>;

/// What a request needs, cheap to clone into the task that delivers it.
#[derive(Clone)]
pub(crate) struct Poster {
    pub client: reqwest::Client,
    pub headers: HeaderMap,
    pub timeout: Duration,
    pub max_retries: u32,
}

enum Attempt {
    Done(Answer),
    Retry(String, Option<Duration>),
    Fail(Refusal),
}

impl Poster {
    /// Posts `body` to `url`, retrying what may succeed later, within the retry budget and the
    /// shutdown deadline.
    pub(crate) async fn post(
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
                return Err(Refusal::new(
                    "gave up: out of time (shutdown deadline or retry budget)".into(),
                ));
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
                return Err(Refusal::new(
                    "gave up: shutdown deadline passed during the request".into(),
                ));
            };
            let outcome = match attempt_result {
                Ok(resp) => {
                    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
                    let answer = judge(resp, url).await;
                    if let Attempt::Done(_) = answer {
                        shared
                            .counters
                            .bytes_sent
                            .fetch_add(body.len() as u64, Ordering::Relaxed);
                    }
                    answer
                }
                Err(e) => Attempt::Retry(describe_reqwest_error(&e), None),
            };
            match outcome {
                Attempt::Done(answer) => return Ok(answer),
                Attempt::Fail(r) => return Err(r),
                Attempt::Retry(reason, retry_after) => {
                    if attempt >= self.max_retries {
                        return Err(Refusal::new(format!(
                            "{reason} (after {} retries)",
                            self.max_retries
                        )));
                    }
                    let wait = retry_after
                        .map(|d| d.min(Duration::from_secs(60)))
                        .unwrap_or_else(|| backoff(attempt));
                    let deadline = effective_deadline(shared, batch_deadline);
                    if Instant::now() + wait >= deadline {
                        return Err(Refusal::new(format!("{reason} (no time left to retry)")));
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

/// What one answer means for its request: a 2xx answer (judged by the caller), a retry, or a
/// refusal.
async fn judge(mut resp: reqwest::Response, url: &str) -> Attempt {
    let status = resp.status().as_u16();
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let location = header(reqwest::header::LOCATION);
    let retry_after = retry_after(resp.headers());
    if (200..300).contains(&status) {
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            body.extend_from_slice(&chunk[..chunk.len().min(MAX_BODY - body.len())]);
            if body.len() >= MAX_BODY {
                break;
            }
        }
        return Attempt::Done(Answer {
            status,
            content_type,
            body,
        });
    }
    if (300..400).contains(&status) {
        return Attempt::Fail(Refusal {
            message: response::redirect_problem(status, location.as_deref()),
            once: Some(format!("HTTP {status}")),
            too_large: false,
            not_found: false,
        });
    }
    let text = resp.text().await.unwrap_or_default();
    if status == 408 || status == 429 || status >= 500 {
        return Attempt::Retry(
            format!("HTTP {status}: {}", diag::truncate_for_log(&text)),
            retry_after,
        );
    }
    let hint = match status {
        401 | 403 => " (check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL)",
        404 => {
            " (is LANGFUSE_BASE_URL a Langfuse server with OpenTelemetry ingestion, v3 or newer? \
             For older servers set LANGFUSE_TRANSPORT=ingestion)"
        }
        413 => " (request too large)",
        _ => "",
    };
    Attempt::Fail(Refusal {
        message: format!(
            "HTTP {status} from {url}, not retrying: {}{hint}",
            diag::truncate_for_log(&text)
        ),
        once: Some(format!("HTTP {status}")),
        too_large: status == 413,
        not_found: status == 404,
    })
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
