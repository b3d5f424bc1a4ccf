//! Prompt management calls: get (cached, with fallback), create, set labels, list.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::cache::{self, FetchOpts, PromptKey};
use super::client::ApiClient;
use super::error::ApiError;
use super::http::{segment, Req};
use super::prompt::{ChatTemplateEntry, Prompt, PromptTemplate, PromptWire};
use super::types::Page;

/// A prompt lookup: [`ApiClient::get_prompt`]. Await it (or call [`GetPrompt::blocking`]).
#[must_use = "a GetPrompt does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct GetPrompt {
    client: ApiClient,
    key: PromptKey,
    opts: FetchOpts,
    fallback: Option<PromptTemplate>,
}

impl GetPrompt {
    /// The label to fetch (default `production`).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.key.label = Some(label.into());
        self
    }
    /// The version to fetch (instead of a label).
    pub fn version(mut self, version: u32) -> Self {
        self.key.version = Some(version);
        self
    }
    /// This call's cache TTL (default: the client's, 60 s). Zero: ask the server every time
    /// (an unchanged prompt then costs a 304 without body, thanks to the ETag).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.opts.ttl = Some(ttl);
        self
    }
    /// Timeout of each request of this fetch.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.opts.timeout = Some(d);
        self
    }
    /// Retries of this fetch (network errors, 429, 5xx).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.opts.max_retries = Some(n.min(10));
        self
    }
    /// A text prompt to use when the fetch fails and nothing is cached. The result is marked
    /// [`Prompt::is_fallback`] and gives no [`Prompt::link`]. An empty text counts as none.
    pub fn fallback_text(mut self, text: impl Into<String>) -> Self {
        let t = text.into();
        self.fallback = (!t.is_empty()).then_some(PromptTemplate::Text(t));
        self
    }
    /// A chat prompt to use when the fetch fails and nothing is cached (see
    /// [`Self::fallback_text`]). An empty list counts as none.
    pub fn fallback_chat(mut self, entries: Vec<ChatTemplateEntry>) -> Self {
        self.fallback = (!entries.is_empty()).then_some(PromptTemplate::Chat(entries));
        self
    }

    fn validate(&self) -> Result<(), ApiError> {
        if self.key.name.trim().is_empty() {
            return Err(ApiError::invalid("a prompt name must not be empty"));
        }
        if self.key.label.is_some() && self.key.version.is_some() {
            return Err(ApiError::invalid(
                "give a prompt label or a version, not both",
            ));
        }
        Ok(())
    }

    fn resolve(
        key: &PromptKey,
        fallback: Option<PromptTemplate>,
        r: Result<std::sync::Arc<Prompt>, ApiError>,
    ) -> Result<Prompt, ApiError> {
        match (r, fallback) {
            (Ok(p), _) => Ok((*p).clone()),
            (Err(e), Some(template)) => {
                tracing::warn!(target: "langfuse::api", "using the fallback for prompt '{}': {e}", key.name);
                Ok(Prompt {
                    name: key.name.clone(),
                    version: key.version.unwrap_or(0),
                    template,
                    config: Value::Object(Map::new()),
                    labels: key.label.iter().cloned().collect(),
                    tags: Vec::new(),
                    commit_message: None,
                    is_fallback: true,
                })
            }
            (Err(e), None) => Err(e),
        }
    }

    /// Fetches (async form; also what `.await` does).
    pub async fn send(self) -> Result<Prompt, ApiError> {
        self.validate()?;
        let GetPrompt {
            client,
            key,
            opts,
            fallback,
        } = self;
        let k = key.clone();
        let r = client.call(move |inner| cache::get(inner, k, opts)).await;
        Self::resolve(&key, fallback, r)
    }

    /// Fetches from synchronous code: blocks this thread only, never the runtime it may be
    /// in, and returns within (timeout × attempts + pauses) even if the server hangs.
    pub fn blocking(self) -> Result<Prompt, ApiError> {
        self.validate()?;
        let cfg = self.client.config();
        let timeout = self.opts.timeout.unwrap_or(cfg.timeout);
        let tries = self.opts.max_retries.unwrap_or(cfg.max_retries) + 1;
        let pauses = cfg.retry_backoff.saturating_mul(1 << tries.min(10));
        let bound = timeout
            .saturating_mul(tries * 2)
            .saturating_add(pauses)
            .saturating_add(Duration::from_secs(1));
        let GetPrompt {
            client,
            key,
            opts,
            fallback,
        } = self;
        let inner = client.inner.clone();
        let k = key.clone();
        let r = client.block_on_within(bound, cache::get(inner, k, opts));
        Self::resolve(&key, fallback, r)
    }
}

impl IntoFuture for GetPrompt {
    type Output = Result<Prompt, ApiError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A new prompt version: [`ApiClient::create_prompt`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[must_use]
pub struct CreatePrompt {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    prompt: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_message: Option<String>,
}

impl CreatePrompt {
    /// A text prompt version.
    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new(name.into(), "text", Value::String(text.into()))
    }
    /// A chat prompt version (placeholders are sent with `"type": "placeholder"`, which the
    /// server requires).
    pub fn chat(name: impl Into<String>, entries: Vec<ChatTemplateEntry>) -> Self {
        let prompt = serde_json::to_value(entries).unwrap_or(Value::Array(Vec::new()));
        Self::new(name.into(), "chat", prompt)
    }
    fn new(name: String, kind: &'static str, prompt: Value) -> Self {
        CreatePrompt {
            name,
            kind,
            prompt,
            labels: Vec::new(),
            tags: None,
            config: None,
            commit_message: None,
        }
    }
    /// Labels of the new version (e.g. `production`); `latest` is added by the server.
    pub fn labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }
    /// Tags of the prompt (all versions). Not sending tags keeps the existing ones.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }
    /// The version's config (model parameters, …).
    pub fn config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }
    /// A commit message.
    pub fn commit_message(mut self, m: impl Into<String>) -> Self {
        self.commit_message = Some(m.into());
        self
    }
}

/// Filters and paging of [`ApiClient::list_prompts`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ListPrompts {
    /// Only this name.
    pub name: Option<String>,
    /// Only prompts with a version carrying this label.
    pub label: Option<String>,
    /// Only prompts with this tag.
    pub tag: Option<String>,
    /// Page, from 1.
    pub page: Option<u32>,
    /// Items per page (server default 10; 0 is rejected).
    pub limit: Option<u32>,
}

impl ListPrompts {
    /// Page `page` (from 1) of `limit` items.
    pub fn page(page: u32, limit: u32) -> Self {
        ListPrompts {
            page: Some(page),
            limit: Some(limit),
            ..Default::default()
        }
    }
}

/// One prompt in a list: its versions and labels, not its content.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct PromptMeta {
    /// Name.
    #[serde(deserialize_with = "super::types::nd")]
    pub name: String,
    /// `text` or `chat`.
    #[serde(rename = "type")]
    #[serde(deserialize_with = "super::types::nd")]
    pub kind: String,
    /// Version numbers.
    #[serde(deserialize_with = "super::types::nd")]
    pub versions: Vec<u32>,
    /// Labels across versions.
    #[serde(deserialize_with = "super::types::nd")]
    pub labels: Vec<String>,
    /// Tags.
    #[serde(deserialize_with = "super::types::nd")]
    pub tags: Vec<String>,
    /// Last update (RFC 3339).
    pub last_updated_at: Option<String>,
    /// Config of the newest version.
    pub last_config: Value,
}

impl ApiClient {
    /// Looks up a prompt by name; configure with the returned builder and `.await` it.
    ///
    /// Cached per client for the TTL; after expiry the cached value is returned at once and
    /// refreshed in the background (one refresh per key at a time, conditional on the ETag);
    /// a burst of cold callers makes one request. Names with folders (`a/b`) are encoded.
    pub fn get_prompt(&self, name: impl Into<String>) -> GetPrompt {
        GetPrompt {
            client: self.clone(),
            key: PromptKey {
                name: name.into(),
                label: None,
                version: None,
            },
            opts: FetchOpts::default(),
            fallback: None,
        }
    }

    /// Creates a new version of a prompt (a new prompt at version 1). Cached lookups of that
    /// name are forgotten.
    pub async fn create_prompt(&self, prompt: &CreatePrompt) -> Result<Prompt, ApiError> {
        let req = Req::new(
            Method::POST,
            "/api/public/v2/prompts",
            format!("create prompt '{}'", prompt.name),
        )
        .json(prompt)?;
        let wire: PromptWire = self.json(req).await?;
        self.inner.cache.invalidate(&prompt.name);
        Ok(wire.into_prompt())
    }

    /// Sets the labels of one version (labels move: another version loses them). `latest` is
    /// managed by the server and rejected. Cached lookups of that name are forgotten.
    pub async fn set_prompt_labels<S: Into<String>>(
        &self,
        name: &str,
        version: u32,
        labels: impl IntoIterator<Item = S>,
    ) -> Result<Prompt, ApiError> {
        let labels: Vec<String> = labels.into_iter().map(Into::into).collect();
        let req = Req::new(
            Method::PATCH,
            format!(
                "/api/public/v2/prompts/{}/versions/{version}",
                segment(name)
            ),
            format!("set labels of prompt '{name}' v{version}"),
        )
        .json(&serde_json::json!({ "newLabels": labels }))?;
        let wire: PromptWire = self.json(req).await?;
        self.inner.cache.invalidate(name);
        Ok(wire.into_prompt())
    }

    /// Lists prompts (page-based).
    pub async fn list_prompts(&self, q: ListPrompts) -> Result<Page<PromptMeta>, ApiError> {
        let req = Req::get("/api/public/v2/prompts", "list prompts")
            .query_opt("name", q.name)
            .query_opt("label", q.label)
            .query_opt("tag", q.tag)
            .query_opt("page", q.page)
            .query_opt("limit", q.limit);
        self.json(req).await
    }
}
