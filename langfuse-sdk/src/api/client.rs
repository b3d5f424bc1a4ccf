//! [`ApiClient`]: cheap to clone, lazily starts its worker, runs every call there.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::cache::{CacheHost, PromptCache};
use super::config::ApiConfig;
use super::error::{ApiError, Kind};
use super::http::{Http, Reply, Req};
use super::worker::Worker;

pub(crate) struct Inner {
    pub(crate) cfg: ApiConfig,
    lazy: OnceLock<Result<(Worker, Arc<Http>), ApiError>>,
    pub(crate) cache: PromptCache,
}

impl Inner {
    fn lazy(&self) -> Result<&(Worker, Arc<Http>), ApiError> {
        self.lazy
            .get_or_init(|| Ok((Worker::start()?, Arc::new(Http::new(&self.cfg)?))))
            .as_ref()
            .map_err(Clone::clone)
    }
    pub(crate) fn worker(&self) -> Result<&Worker, ApiError> {
        Ok(&self.lazy()?.0)
    }
    pub(crate) fn http(&self) -> Result<Arc<Http>, ApiError> {
        Ok(self.lazy()?.1.clone())
    }
}

impl CacheHost for Inner {
    fn cache(&self) -> &PromptCache {
        &self.cache
    }
    fn cfg(&self) -> &ApiConfig {
        &self.cfg
    }
    fn http(&self) -> Result<Arc<Http>, ApiError> {
        Inner::http(self)
    }
    fn worker(&self) -> Result<&Worker, ApiError> {
        Inner::worker(self)
    }
}

/// A client of the Langfuse public API (prompts, datasets, traces, scores, …).
///
/// Cheap to create (nothing starts until the first call) and to clone (an `Arc`); clones share
/// the prompt cache. Every call runs on the client's own thread, so the async methods work in
/// any executor and runtime flavour, and the `blocking` forms are safe anywhere.
///
/// ```no_run
/// # async fn run() -> Result<(), langfuse_sdk::api::ApiError> {
/// use langfuse_sdk::api::ApiClient;
/// let api = ApiClient::from_env()?;
/// api.auth_check().await?;
/// let prompt = api.get_prompt("movie-critic").label("production").await?;
/// let text = prompt.compile_text([("movie", "Dune 2")])?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ApiClient {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("base_url", &self.inner.cfg.base_url)
            .field("public_key", &self.inner.cfg.public_key)
            .finish_non_exhaustive()
    }
}

/// The project the keys belong to ([`ApiClient::auth_check`]).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Project {
    /// Project id.
    pub id: String,
    /// Project name.
    pub name: String,
}

#[derive(Deserialize)]
struct Projects {
    #[serde(default)]
    data: Vec<Project>,
}

impl ApiClient {
    /// A client for `cfg`. Starts nothing (no thread, no connection) until the first call.
    pub fn new(cfg: ApiConfig) -> ApiClient {
        ApiClient {
            inner: Arc::new(Inner {
                cfg,
                lazy: OnceLock::new(),
                cache: PromptCache::default(),
            }),
        }
    }

    /// A client configured from the environment ([`ApiConfig::from_env`]).
    pub fn from_env() -> Result<ApiClient, ApiError> {
        Ok(Self::new(ApiConfig::from_env()?))
    }

    /// The configuration.
    pub fn config(&self) -> &ApiConfig {
        &self.inner.cfg
    }

    /// Runs `f(inner)` on the worker and awaits it.
    pub(crate) async fn call<T, Fut>(
        &self,
        f: impl FnOnce(Arc<Inner>) -> Fut,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let fut = f(self.inner.clone());
        self.inner.worker()?.run(fut).await
    }

    /// Sends one request on the worker.
    pub(crate) async fn send(&self, req: Req) -> Result<Reply, ApiError> {
        self.call(move |inner| async move { inner.http()?.send(&req).await })
            .await
    }

    /// Sends one request and decodes its JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, req: Req) -> Result<T, ApiError> {
        let what = req.what.clone();
        self.send(req).await?.decode(&what)
    }

    /// Runs a future of this client to completion from synchronous code, on the client's
    /// thread: safe inside or outside any tokio runtime (it blocks only the calling thread).
    /// Do not call it from inside a future running on the client's own thread.
    ///
    /// ```no_run
    /// # use langfuse_sdk::api::ApiClient;
    /// let api = ApiClient::from_env().unwrap();
    /// let c = api.clone();
    /// let page = api.block_on(async move { c.list_prompts(Default::default()).await });
    /// ```
    pub fn block_on<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, ApiError>> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.block_on_within(Duration::MAX, fut)
    }

    pub(crate) fn block_on_within<T: Send + 'static>(
        &self,
        bound: Duration,
        fut: impl Future<Output = Result<T, ApiError>> + Send + 'static,
    ) -> Result<T, ApiError> {
        if std::thread::current().name() == Some("langfuse-api") {
            return Err(ApiError::new(
                Kind::Runtime,
                "a blocking call on the Langfuse API thread would wait for itself; use the async form",
            ));
        }
        self.inner.worker()?.run_blocking(bound, fut)
    }

    /// Checks that the server is reachable and accepts the keys (`GET /api/public/projects`).
    ///
    /// The error says which failed: [`ApiError::is_network`] (server unreachable / wrong URL),
    /// [`ApiError::is_unauthorized`] (keys rejected), [`ApiError::is_decode`] or a 404 (the URL
    /// is not a Langfuse server). Note: the server checks only the secret key when it is right
    /// (a wrong public key with the right secret passes).
    pub async fn auth_check(&self) -> Result<Project, ApiError> {
        let req = Req::get("/api/public/projects", "auth check");
        let projects: Projects = self.json(req).await?;
        projects.data.into_iter().next().ok_or_else(|| {
            ApiError::new(
                Kind::Unauthorized,
                "auth check: the keys are accepted but belong to no project",
            )
        })
    }

    /// Waits until no background prompt refresh is running (tests, orderly shutdown).
    pub async fn wait_for_prompt_refreshes(&self) {
        self.inner.cache.wait_idle().await;
    }
}
