//! The client, its builder and configuration, and the HTTP plumbing every endpoint shares.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use langfuse_sdk::{Langfuse, Observation, ObservationType};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{status_error, Error};
use crate::options::Call;
use crate::proxy::Recording;
use crate::types::{self, GatewayInfo, Model};

/// An OpenAI-compatible client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) api_key: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) timeout: Duration,
    pub(crate) recording: Recording,
    pub(crate) include_usage: bool,
    pub(crate) langfuse: Option<Langfuse>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("langfuse_openai::Client")
            .field("base_url", &self.inner.base)
            .field("api_key", &self.inner.api_key.as_ref().map(|_| "…redacted"))
            .field("timeout", &self.inner.timeout)
            .field("recording", &self.inner.recording)
            .finish()
    }
}

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use langfuse_openai::{Client, Recording};
/// let client = Client::builder()
///     .base_url("http://127.0.0.1:4000")       // with or without /v1
///     .api_key("sk-litellm-virtual-key")
///     .header("x-team", "search")
///     .timeout(Duration::from_secs(30))
///     .recording(Recording::Client)
///     .build()
///     .unwrap();
/// assert!(!format!("{client:?}").contains("sk-litellm"));
/// ```
#[must_use]
pub struct ClientBuilder {
    base_url: Option<String>,
    api_key: Option<String>,
    headers: Vec<(String, String)>,
    timeout: Duration,
    http: Option<reqwest::Client>,
    recording: Recording,
    include_usage: bool,
    langfuse: Option<Langfuse>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "…redacted"))
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: None,
            api_key: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(600),
            http: None,
            recording: Recording::Client,
            include_usage: true,
            langfuse: None,
        }
    }
}

impl ClientBuilder {
    /// Base URL of the gateway, with or without `/v1` (default `https://api.openai.com/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// API key (the proxy's virtual key). Never shown in `Debug` or errors.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
    /// An extra header on every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Timeout of a request; for streams, the longest wait for the next chunk (default 600 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Use this `reqwest::Client` (proxies, TLS roots, connection pools of your own).
    pub fn http_client(mut self, c: reqwest::Client) -> Self {
        self.http = Some(c);
        self
    }
    /// Who records generations (default: the client).
    pub fn recording(mut self, r: Recording) -> Self {
        self.recording = r;
        self
    }
    /// Ask streams for a final usage chunk (`stream_options.include_usage`, default on).
    pub fn include_usage(mut self, on: bool) -> Self {
        self.include_usage = on;
        self
    }
    /// Record with this Langfuse client instead of the current observation's or the global one.
    pub fn langfuse(mut self, lf: Langfuse) -> Self {
        self.langfuse = Some(lf);
        self
    }

    /// Validates and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let raw = self
            .base_url
            .unwrap_or_else(|| "https://api.openai.com/v1".to_string());
        let base = normalize_base(&raw)?;
        let mut headers = HeaderMap::new();
        for (k, v) in self.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::config(format!("{k:?} is not a valid header name")))?;
            let value = HeaderValue::from_str(&v)
                .map_err(|_| Error::config(format!("the value of header {k} is not valid")))?;
            headers.insert(name, value);
        }
        let api_key = self.api_key.filter(|k| !k.trim().is_empty());
        if let Some(k) = &api_key {
            HeaderValue::from_str(&format!("Bearer {k}")).map_err(|_| {
                Error::config("the API key contains characters not allowed in a header")
            })?;
        }
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| Error::config(format!("could not build the HTTP client: {e}")))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                api_key,
                headers,
                timeout: self.timeout,
                recording: self.recording,
                include_usage: self.include_usage,
                langfuse: self.langfuse,
            }),
        })
    }
}

/// `http://host:4000`, `http://host:4000/`, `http://host:4000/v1/` → `http://host:4000/v1`.
fn normalize_base(raw: &str) -> Result<String, Error> {
    let u = reqwest::Url::parse(raw.trim()).map_err(|e| {
        Error::config(format!(
            "OPENAI_BASE_URL {raw:?} is not a URL ({e}); use e.g. http://litellm:4000"
        ))
    })?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(Error::config(format!(
            "OPENAI_BASE_URL {raw:?} must start with http:// or https://"
        )));
    }
    let s = u.as_str().trim_end_matches('/').to_string();
    Ok(if s.ends_with("/v1") {
        s
    } else {
        format!("{s}/v1")
    })
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `OPENAI_BASE_URL` and `OPENAI_API_KEY`.
    pub fn from_env() -> Result<Client, Error> {
        let mut b = ClientBuilder::default();
        if let Ok(u) = std::env::var("OPENAI_BASE_URL") {
            if !u.trim().is_empty() {
                b = b.base_url(u);
            }
        }
        if let Ok(k) = std::env::var("OPENAI_API_KEY") {
            b = b.api_key(k);
        }
        b.build()
    }

    /// The normalised base URL (ending in `/v1`).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .inner
            .http
            .request(method, format!("{}/{path}", self.inner.base))
            .headers(self.inner.headers.clone());
        if let Some(k) = &self.inner.api_key {
            r = r.bearer_auth(k);
        }
        r
    }

    /// Sends the request and decodes a success answer, with what the gateway said in headers.
    pub(crate) async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        rb: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<(T, GatewayInfo), Error> {
        let resp = rb
            .timeout(self.inner.timeout)
            .send()
            .await
            .map_err(Error::from_reqwest)?;
        if !resp.status().is_success() {
            return Err(status_error(resp).await);
        }
        let gateway = GatewayInfo::from_headers(resp.headers());
        let bytes = resp.bytes().await.map_err(Error::from_reqwest)?;
        let r = serde_json::from_slice(&bytes).map_err(|e| Error::decode(what, e.to_string()))?;
        Ok((r, gateway))
    }

    /// Starts the observation of `call`: under its parent, with its options.
    pub(crate) fn start(&self, ty: ObservationType, call: &Call<'_>) -> Observation {
        crate::options::start_observation(self.inner.langfuse.as_ref(), ty, call)
    }

    /// The models (or LiteLLM model groups) the gateway offers. Not recorded.
    pub async fn models(&self) -> Result<Vec<Model>, Error> {
        let rb = self.request(reqwest::Method::GET, "models");
        let (list, _) = self.send_json::<types::ModelList>(rb, "model list").await?;
        Ok(list.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_with_and_without_v1() {
        for (raw, want) in [
            (
                "http://litellm.litellm.svc.cluster.local:4000",
                "http://litellm.litellm.svc.cluster.local:4000/v1",
            ),
            ("http://127.0.0.1:4000/", "http://127.0.0.1:4000/v1"),
            ("http://127.0.0.1:4000/v1", "http://127.0.0.1:4000/v1"),
            ("http://127.0.0.1:4000/v1/", "http://127.0.0.1:4000/v1"),
            ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ] {
            assert_eq!(normalize_base(raw).unwrap(), want);
        }
        assert!(normalize_base("litellm:4000").unwrap_err().is_config());
        assert!(normalize_base("not a url").unwrap_err().is_config());
    }
}

#[cfg(test)]
mod send {
    //! The calls' futures and streams can be spawned on a multi-threaded runtime.
    use crate::{ChatRequest, ChatStream, Client, EmbeddingRequest};

    fn is_send<T: Send>(_: &T) {}

    #[test]
    fn futures_and_streams_are_send() {
        let c = Client::builder().build().unwrap();
        is_send(&c.chat(ChatRequest::default()));
        is_send(&c.chat_stream(ChatRequest::default()));
        is_send(&c.embeddings(EmbeddingRequest::default()));
        fn stream_is_send_sync_unpin<T: Send + Sync + Unpin>() {}
        stream_is_send_sync_unpin::<ChatStream>();
        stream_is_send_sync_unpin::<crate::ResponseStream>();
        is_send(&c.responses(crate::ResponsesRequest::default()));
        is_send(&c.responses_stream(crate::ResponsesRequest::default()));
    }
}
