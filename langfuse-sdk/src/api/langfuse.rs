//! [`crate::Langfuse::api`]: the public API client of a tracing client's project.

use super::client::ApiClient;
use super::config::ApiConfig;
use super::error::ApiError;

impl crate::Langfuse {
    /// The public API client of this client's project: the same base URL, keys, timeout, HTTP
    /// client and extra headers (those of a collector's endpoint excepted), and the prompt
    /// cache TTL of `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`. Every call on one
    /// client returns the same [`ApiClient`] (one prompt cache); it is built on first use and
    /// starts nothing until its first request.
    ///
    /// Fails when the client has no keys (a disabled client from an environment without
    /// `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), langfuse_sdk::api::ApiError> {
    /// let _langfuse = langfuse_sdk::init();
    /// let prompt = langfuse_sdk::client().api()?.get_prompt("support/answer").await?;
    /// # Ok(()) }
    /// ```
    pub fn api(&self) -> Result<ApiClient, ApiError> {
        let slot = &self.core().api;
        if let Some(c) = slot.get().and_then(|b| b.downcast_ref::<ApiClient>()) {
            return Ok(c.clone());
        }
        let cfg = &self.core().cfg;
        let mut b = ApiConfig::builder()
            .base_url(cfg.base_url.clone())
            .timeout(cfg.timeout)
            .max_retries(cfg.max_retries);
        if let Some(k) = &cfg.public_key {
            b = b.public_key(k.clone());
        }
        if let Some(k) = &cfg.secret_key {
            b = b.secret_key(k.0.clone());
        }
        // The tracing client's extra headers and HTTP client reach the same server (an auth
        // proxy in front of it), unless they belong to a collector's endpoint.
        if cfg.traces_endpoint.is_none() {
            for (k, v) in &cfg.headers {
                b = b.header(k.clone(), v.clone());
            }
        }
        if let Some(c) = &cfg.http_client {
            b = b.http_client(c.clone());
        }
        if let Ok(ttl) = std::env::var("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS") {
            match ttl.trim().parse::<u64>() {
                Ok(secs) => b = b.prompt_cache_ttl(std::time::Duration::from_secs(secs)),
                // As the tracing client reads the environment: the default, said once (this
                // runs once per client).
                Err(_) => crate::diag::warn(&format!(
                    "LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS={ttl:?} is not a whole number of \
                     seconds; using the default (60)"
                )),
            }
        }
        let client = ApiClient::new(b.build()?);
        // A concurrent first call may have won: use whichever was stored.
        let _ = slot.set(Box::new(client.clone()));
        Ok(slot
            .get()
            .and_then(|b| b.downcast_ref::<ApiClient>())
            .cloned()
            .unwrap_or(client))
    }
}
