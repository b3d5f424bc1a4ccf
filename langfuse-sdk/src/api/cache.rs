//! The per-client prompt cache: TTL, stale-while-revalidate, ETag revalidation and one request
//! per key for any number of concurrent callers.
//!
//! Runs on the client's worker (see [`super::worker`]), so a caller dropping its future never
//! cancels a fetch other callers wait for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::config::ApiConfig;
use super::error::{ApiError, Kind};
use super::http::{segment, Http, Req};
use super::prompt::{Prompt, PromptWire};
use super::worker::Worker;

/// What the cache needs of the client that holds it: the cache, the client's settings and its
/// lazily started HTTP client and worker. The client implements it; the cache knows no client.
pub(crate) trait CacheHost: Send + Sync + 'static {
    /// The cache itself.
    fn cache(&self) -> &PromptCache;
    /// TTL default and clock.
    fn cfg(&self) -> &ApiConfig;
    /// The HTTP client (started on first use).
    fn http(&self) -> Result<Arc<Http>, ApiError>;
    /// The worker that runs background refreshes (started on first use).
    fn worker(&self) -> Result<&Worker, ApiError>;
}

type Shared = Option<Result<Arc<Prompt>, ApiError>>;

struct Entry {
    prompt: Arc<Prompt>,
    etag: Option<String>,
    fetched_at: Instant,
}

#[derive(Default)]
struct Slot {
    entry: Option<Entry>,
    /// The cold fetch in flight; followers wait on it.
    inflight: Option<watch::Receiver<Shared>>,
    /// A background refresh is running.
    refreshing: bool,
}

/// Where a prompt is looked up: name plus label or version (cache key as the Python SDK).
#[derive(Clone, Debug)]
pub(crate) struct PromptKey {
    pub name: String,
    pub label: Option<String>,
    pub version: Option<u32>,
}

impl PromptKey {
    fn cache_key(&self) -> String {
        match (self.version, &self.label) {
            (Some(v), _) => format!("{}-version:{v}", self.name),
            (None, Some(l)) => format!("{}-label:{l}", self.name),
            (None, None) => format!("{}-label:production", self.name),
        }
    }
}

/// Per-call fetch settings.
#[derive(Clone, Debug, Default)]
pub(crate) struct FetchOpts {
    pub ttl: Option<Duration>,
    pub timeout: Option<Duration>,
    pub max_retries: Option<u32>,
}

pub(crate) struct PromptCache {
    slots: Mutex<HashMap<String, Slot>>,
    refreshes: watch::Sender<usize>,
}

impl Default for PromptCache {
    fn default() -> Self {
        PromptCache {
            slots: Mutex::new(HashMap::new()),
            refreshes: watch::channel(0).0,
        }
    }
}

enum Fetched {
    New(Prompt, Option<String>),
    NotModified,
}

/// What a lookup does next.
enum Step {
    /// Cached: return it; `Some(etag)`: it expired, refresh in the background.
    Hit(Arc<Prompt>, Option<Option<String>>),
    /// Another caller is fetching: wait for its result.
    Wait(watch::Receiver<Shared>),
    /// Fetch (conditionally on the etag) and publish the result.
    Lead(watch::Sender<Shared>, Option<String>),
}

impl PromptCache {
    fn decide(&self, ck: &str, ttl: Duration, now: Instant) -> Step {
        let mut slots = self.lock();
        let slot = slots.entry(ck.to_string()).or_default();
        if let (false, Some(e)) = (ttl.is_zero(), &slot.entry) {
            let expired = now.saturating_duration_since(e.fetched_at) >= ttl;
            let refresh = (expired && !slot.refreshing).then(|| e.etag.clone());
            let prompt = e.prompt.clone();
            if refresh.is_some() {
                slot.refreshing = true;
            }
            return Step::Hit(prompt, refresh);
        }
        if let Some(rx) = &slot.inflight {
            return Step::Wait(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        slot.inflight = Some(rx);
        Step::Lead(tx, slot.entry.as_ref().and_then(|e| e.etag.clone()))
    }

    /// A fetch ended without publishing: let the next caller lead.
    fn forget_inflight(&self, ck: &str, rx: &watch::Receiver<Shared>) {
        if let Some(s) = self.lock().get_mut(ck) {
            if s.inflight.as_ref().is_some_and(|r| r.same_channel(rx)) {
                s.inflight = None;
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding the lock cannot leave the map inconsistent (plain inserts).
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets every cached version/label of `name` (after create / label changes).
    pub fn invalidate(&self, name: &str) {
        let label = format!("{name}-label:");
        let version = format!("{name}-version:");
        self.lock()
            .retain(|k, _| !(k.starts_with(&label) || k.starts_with(&version)));
    }

    pub async fn wait_idle(&self) {
        let mut rx = self.refreshes.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

async fn fetch<H: CacheHost>(
    inner: &H,
    key: &PromptKey,
    opts: &FetchOpts,
    etag: Option<String>,
) -> Result<Fetched, ApiError> {
    let mut req = Req::get(
        format!("/api/public/v2/prompts/{}", segment(&key.name)),
        format!("prompt '{}'", key.name),
    )
    .query_opt("label", key.label.as_deref())
    .query_opt("version", key.version);
    req.if_none_match = etag;
    req.timeout = opts.timeout;
    req.max_retries = opts.max_retries;
    let reply = inner.http()?.send(&req).await?;
    if reply.status() == 304 {
        return Ok(Fetched::NotModified);
    }
    let wire: PromptWire = reply.decode(&req.what)?;
    Ok(Fetched::New(wire.into_prompt(), reply.etag))
}

/// Gets a prompt through the cache (runs on the worker).
pub(crate) async fn get<H: CacheHost>(
    inner: Arc<H>,
    key: PromptKey,
    opts: FetchOpts,
) -> Result<Arc<Prompt>, ApiError> {
    let ttl = opts.ttl.unwrap_or(inner.cfg().prompt_cache_ttl);
    let ck = key.cache_key();
    let cache = inner.cache();
    // Each pass either returns or finds a fetch that ended without a result (then it leads).
    for _ in 0..4 {
        let now = inner.cfg().clock.now();
        let (tx, etag) = match cache.decide(&ck, ttl, now) {
            Step::Hit(prompt, refresh) => {
                if let Some(etag) = refresh {
                    spawn_refresh(&inner, key.clone(), opts.clone(), etag);
                }
                return Ok(prompt);
            }
            Step::Wait(mut rx) => {
                let waited = rx.wait_for(Option::is_some).await.map(|v| v.clone());
                match waited {
                    Ok(Some(r)) => return r,
                    _ => {
                        cache.forget_inflight(&ck, &rx);
                        continue;
                    }
                }
            }
            Step::Lead(tx, etag) => (tx, etag),
        };
        let mut result = fetch(&*inner, &key, &opts, etag).await;
        if matches!(result, Ok(Fetched::NotModified))
            && !cache.lock().get(&ck).is_some_and(|s| s.entry.is_some())
        {
            result = fetch(&*inner, &key, &opts, None).await;
        }
        let shared = {
            let mut slots = cache.lock();
            let slot = slots.entry(ck.clone()).or_default();
            slot.inflight = None;
            match result {
                Ok(Fetched::New(p, etag)) => {
                    let p = Arc::new(p);
                    slot.entry = Some(Entry {
                        prompt: p.clone(),
                        etag,
                        fetched_at: inner.cfg().clock.now(),
                    });
                    Ok(p)
                }
                Ok(Fetched::NotModified) => match &mut slot.entry {
                    Some(e) => {
                        e.fetched_at = inner.cfg().clock.now();
                        Ok(e.prompt.clone())
                    }
                    None => Err(ApiError::decode(
                        "prompt",
                        serde::de::Error::custom("304 without a cached prompt"),
                    )),
                },
                Err(e) => {
                    if e.is_not_found() {
                        slot.entry = None;
                    }
                    Err(e)
                }
            }
        };
        let _ = tx.send(Some(shared.clone()));
        return shared;
    }
    Err(ApiError::new(
        Kind::Runtime,
        format!(
            "prompt '{}': the fetch was interrupted repeatedly",
            key.name
        ),
    ))
}

/// Refreshes an expired entry in the background; the stale one is served meanwhile.
fn spawn_refresh<H: CacheHost>(
    inner: &Arc<H>,
    key: PromptKey,
    opts: FetchOpts,
    etag: Option<String>,
) {
    let Ok(worker) = inner.worker() else {
        return;
    };
    inner.cache().refreshes.send_modify(|n| *n += 1);
    let ck = key.cache_key();
    let inner2 = inner.clone();
    let ck2 = ck.clone();
    let job = async move {
        let inner = inner2;
        let result = fetch(&*inner, &key, &opts, etag).await;
        let ck = ck2;
        {
            let mut slots = inner.cache().lock();
            let slot = slots.entry(ck).or_default();
            slot.refreshing = false;
            match result {
                Ok(Fetched::New(p, etag)) => {
                    slot.entry = Some(Entry {
                        prompt: Arc::new(p),
                        etag,
                        fetched_at: inner.cfg().clock.now(),
                    })
                }
                Ok(Fetched::NotModified) => {
                    if let Some(e) = &mut slot.entry {
                        e.fetched_at = inner.cfg().clock.now();
                    }
                }
                Err(e) if e.is_not_found() => slot.entry = None,
                Err(e) => {
                    tracing::warn!(target: "langfuse::api", "refreshing {}: {e}; serving the cached version", key.name)
                }
            }
        }
        inner
            .cache()
            .refreshes
            .send_modify(|n| *n = n.saturating_sub(1));
    };
    if !worker.spawn(job) {
        inner
            .cache()
            .refreshes
            .send_modify(|n| *n = n.saturating_sub(1));
        if let Some(s) = inner.cache().lock().get_mut(&ck) {
            s.refreshing = false;
        }
    }
}
