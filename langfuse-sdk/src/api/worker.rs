//! The client's own thread and runtime: every request (async or blocking) runs there.
//!
//! Why: reqwest needs a tokio runtime with I/O and time drivers; the caller may have none, a
//! current-thread one, one without `enable_time`, or another executor. Handing the work to a
//! dedicated current-thread runtime and awaiting a oneshot makes the async API work in any
//! executor and the blocking API safe inside any runtime (it waits on a std channel, never on
//! the caller's runtime). The thread starts at the first request and ends when the last clone of
//! the client (and every background refresh) is gone.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::error::{ApiError, Kind};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

pub(crate) struct Worker {
    tx: UnboundedSender<Job>,
}

fn runtime_error(what: &str) -> ApiError {
    ApiError::new(
        Kind::Runtime,
        format!("the Langfuse API worker thread {what}; create a new client"),
    )
}

impl Worker {
    pub fn start() -> Result<Worker, ApiError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| runtime_error("could not start").with_source(e))?;
        let (tx, mut rx) = unbounded_channel::<Job>();
        std::thread::Builder::new()
            .name("langfuse-api".into())
            .spawn(move || {
                rt.block_on(async move {
                    while let Some(job) = rx.recv().await {
                        tokio::spawn(job);
                    }
                });
            })
            .map_err(|e| runtime_error("could not start").with_source(e))?;
        Ok(Worker { tx })
    }

    /// Runs `fut` on the worker without waiting for it (background refreshes).
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) -> bool {
        self.tx.send(Box::pin(fut)).is_ok()
    }

    /// Runs `fut` on the worker and awaits its result from any executor.
    pub async fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, ApiError>> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = async move {
            let _ = tx.send(fut.await);
        };
        if !self.spawn(job) {
            return Err(runtime_error("has stopped"));
        }
        rx.await.map_err(|_| runtime_error("dropped the call"))?
    }

    /// Runs `fut` on the worker and blocks this thread until it is done or `bound` has passed.
    /// Safe inside any runtime (it blocks only this thread, on a std channel).
    pub fn run_blocking<T: Send + 'static>(
        &self,
        bound: Duration,
        fut: impl Future<Output = Result<T, ApiError>> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let job = async move {
            let _ = tx.send(fut.await);
        };
        if !self.spawn(job) {
            return Err(runtime_error("has stopped"));
        }
        match rx.recv_timeout(bound) {
            Ok(r) => r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(ApiError::new(
                Kind::Timeout,
                format!("no result within {bound:?} (timeout × attempts); check the server"),
            )),
            Err(_) => Err(runtime_error("dropped the call")),
        }
    }
}
