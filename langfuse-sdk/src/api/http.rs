//! HTTP to the Langfuse public API: auth headers, timeout, retries, status → [`ApiError`].
//!
//! Runs on the client's own worker runtime ([`super::worker`]) only, so the caller's runtime
//! (or lack of one) never matters to reqwest.

use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::config::ApiConfig;
use super::error::{ApiError, Kind};
use crate::export::sink::response::{self, Answer};

/// One request to send.
pub(crate) struct Req {
    pub method: Method,
    /// Path below the base URL, already percent-encoded (`/api/public/...`).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub if_none_match: Option<String>,
    /// For messages: "prompt 'x'", "trace abc", ….
    pub what: String,
    pub timeout: Option<Duration>,
    pub max_retries: Option<u32>,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>, what: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            if_none_match: None,
            what: what.into(),
            timeout: None,
            max_retries: None,
        }
    }
    pub fn get(path: impl Into<String>, what: impl Into<String>) -> Self {
        Self::new(Method::GET, path, what)
    }
    pub fn query(mut self, k: &str, v: impl ToString) -> Self {
        self.query.push((k.to_string(), v.to_string()));
        self
    }
    pub fn query_opt(self, k: &str, v: Option<impl ToString>) -> Self {
        match v {
            Some(v) => self.query(k, v),
            None => self,
        }
    }
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, ApiError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ApiError::invalid(format!("could not encode the request body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }
}

/// A successful answer: 2xx, or 304 to a request with `If-None-Match`.
pub(crate) struct Reply {
    pub etag: Option<String>,
    /// Status, content type and body, as the exporter judges its answers.
    pub answer: Answer,
}

impl Reply {
    pub fn status(&self) -> u16 {
        self.answer.status
    }

    pub fn decode<T: DeserializeOwned>(&self, what: &str) -> Result<T, ApiError> {
        serde_json::from_slice(&self.answer.body)
            .map_err(|e| not_the_api(what, &self.answer, Some(&e)))
    }

    /// For a call whose answer carries nothing to return (a delete): Langfuse confirms with a
    /// JSON object (`{"message": "Dataset run successfully deleted"}`), and a 204 has no body.
    /// Anything else that says 2xx (a login page, a proxy's page) is not the API's answer, so
    /// nothing can be said to have happened.
    pub fn confirm(&self, what: &str) -> Result<(), ApiError> {
        let a = &self.answer;
        if a.status == 204 && a.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match response::json_object(a) {
            Some(_) => Ok(()),
            None => Err(not_the_api(what, a, None)),
        }
    }
}

/// A 2xx answer that is not the Langfuse API's, saying what came back.
fn not_the_api(what: &str, a: &Answer, e: Option<&serde_json::Error>) -> ApiError {
    let why = e.map_or_else(String::new, |e| format!(" ({e})"));
    ApiError::new(
        Kind::Decode,
        format!(
            "{what}: could not decode the server's answer{why}, it is not the Langfuse API's: {}; \
             is LANGFUSE_BASE_URL the Langfuse server (not a login page or proxy in front of it)?",
            response::describe(a)
        ),
    )
    .with_status(a.status)
}

/// Percent-encodes one path segment: everything but RFC 3986 unreserved characters, so a
/// folder name `a/b` becomes `a%2Fb` (the server needs that; a raw `/` hits no route).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The HTTP side of a client.
pub(crate) struct Http {
    client: reqwest::Client,
    /// Sent with every request (the client may be the application's own).
    headers: HeaderMap,
    base: String,
    timeout: Duration,
    max_retries: u32,
    backoff: Duration,
}

impl Http {
    pub fn new(cfg: &ApiConfig) -> Result<Http, ApiError> {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", cfg.public_key, cfg.secret_key.0));
        let mut auth = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| ApiError::config("the keys contain characters not allowed in a header"))?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert("x-langfuse-sdk-name", HeaderValue::from_static("rust"));
        headers.insert(
            "x-langfuse-sdk-version",
            HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
        );
        if let Ok(pk) = HeaderValue::from_str(&cfg.public_key) {
            headers.insert("x-langfuse-public-key", pk);
        }
        for (k, v) in &cfg.headers.0 {
            let (name, value) = crate::config::otlp::header_pair(k, v).map_err(ApiError::config)?;
            headers.insert(name, value);
        }
        let client = match &cfg.http_client {
            Some(c) => c.clone(),
            None => reqwest::Client::builder()
                // As the exporter: a POST redirected by 301/302/303 would be replayed as a
                // bodiless GET (a login page's 200 would look like success); such an answer
                // is an error.
                .redirect(response::redirect_policy())
                .connect_timeout(cfg.timeout)
                .user_agent(concat!("langfuse-rs/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| ApiError::config("could not build the HTTP client").with_source(e))?,
        };
        Ok(Http {
            headers,
            client,
            base: cfg.base_url.clone(),
            timeout: cfg.timeout,
            max_retries: cfg.max_retries,
            backoff: cfg.retry_backoff,
        })
    }

    /// Sends `req`, retrying network errors, 429 and 5xx with doubling pauses.
    pub async fn send(&self, req: &Req) -> Result<Reply, ApiError> {
        let retries = req.max_retries.unwrap_or(self.max_retries);
        let mut pause = self.backoff;
        let mut attempt = 0;
        loop {
            match self.once(req).await {
                Err(e) if e.is_retryable() && attempt < retries => {
                    attempt += 1;
                    tracing::debug!(target: "langfuse::api", "{} failed ({e}); retry {attempt}/{retries}", req.what);
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2).min(Duration::from_secs(10));
                }
                r => return r,
            }
        }
    }

    async fn once(&self, req: &Req) -> Result<Reply, ApiError> {
        let url = format!("{}{}", self.base, req.path);
        let mut rb = self
            .client
            .request(req.method.clone(), &url)
            .headers(self.headers.clone())
            .timeout(req.timeout.unwrap_or(self.timeout));
        if !req.query.is_empty() {
            rb = rb.query(&req.query);
        }
        if let Some(tag) = &req.if_none_match {
            rb = rb.header(reqwest::header::IF_NONE_MATCH, tag.as_str());
        }
        if let Some(body) = &req.body {
            rb = rb
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| transport(&req.what, &self.base, e))?;
        let status = resp.status().as_u16();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header(reqwest::header::ETAG);
        let content_type = header(CONTENT_TYPE);
        let location = header(reqwest::header::LOCATION);
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport(&req.what, &self.base, e))?
            .to_vec();
        let answer = Answer {
            status,
            content_type,
            body,
        };
        // 304 only answers a conditional request; to another it is no answer of the API.
        if (200..300).contains(&status) || (status == 304 && req.if_none_match.is_some()) {
            return Ok(Reply { etag, answer });
        }
        if (300..400).contains(&status) && status != 304 {
            // A redirect the policy did not follow (a login wall, another host): say where to.
            return Err(ApiError::new(
                Kind::Status,
                format!(
                    "{}: the answer from {}: {}",
                    req.what,
                    self.base,
                    response::redirect_problem(status, location.as_deref())
                ),
            )
            .with_status(status));
        }
        Err(status_error(&req.what, &self.base, &answer))
    }
}

fn transport(what: &str, base: &str, e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::new(
            Kind::Timeout,
            format!("{what}: no answer from {base} in time; raise the timeout or check the server"),
        )
    } else {
        ApiError::new(
            Kind::Network,
            format!("{what}: could not reach {base}; check LANGFUSE_BASE_URL and the network"),
        )
        .with_source(e)
    }
}

/// The server's own message (`message`, plus validation issues), cut to a readable size.
fn server_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => {
            let msg = v.get("message").and_then(Value::as_str).unwrap_or("");
            match v.get("error") {
                Some(Value::String(s)) if !msg.is_empty() => format!("{msg} ({s})"),
                Some(e @ Value::Array(_)) => format!("{msg}: {e}"),
                _ if !msg.is_empty() => msg.to_string(),
                _ => v.to_string(),
            }
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let mut t: String = text.chars().take(500).collect();
    if t.len() < text.len() {
        t.push('…');
    }
    t
}

fn status_error(what: &str, base: &str, a: &Answer) -> ApiError {
    let (status, body) = (a.status, &a.body);
    let html = a
        .content_type
        .as_deref()
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    let server = if html {
        "an HTML page, not the API".to_string()
    } else {
        server_message(body)
    };
    let (kind, hint) = match status {
        401 => (
            Kind::Unauthorized,
            "the server rejected the keys: check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY and that LANGFUSE_BASE_URL is the host of their project",
        ),
        403 => (Kind::Forbidden, "these keys may not do this"),
        404 if html => (
            Kind::NotFound,
            "no such API route: check LANGFUSE_BASE_URL (and that names with '/' are encoded)",
        ),
        404 => (Kind::NotFound, "not found"),
        400 | 405 | 409 | 413 | 422 => (Kind::BadRequest, "the server rejected the request"),
        429 => (Kind::RateLimited, "rate limited: try again later"),
        500..=599 => (Kind::Server, "server error: try again later"),
        _ => (Kind::Status, "unexpected status"),
    };
    ApiError::new(
        kind,
        format!("{what}: HTTP {status} from {base}: {hint}; server said: {server}"),
    )
    .with_status(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_encodes_folders_and_reserved_characters() {
        assert_eq!(
            segment("ref-folder/nested-prompt"),
            "ref-folder%2Fnested-prompt"
        );
        assert_eq!(segment("a b?c#d%"), "a%20b%3Fc%23d%25");
        assert_eq!(segment("größe"), "gr%C3%B6%C3%9Fe");
    }

    #[test]
    fn server_message_reads_langfuse_error_bodies() {
        let m =
            server_message(br#"{"message":"Prompt not found","error":"LangfuseNotFoundError"}"#);
        assert_eq!(m, "Prompt not found (LangfuseNotFoundError)");
        let long = format!("{{\"message\":\"{}\"}}", "x".repeat(900));
        assert!(server_message(long.as_bytes()).chars().count() <= 501);
    }
}
