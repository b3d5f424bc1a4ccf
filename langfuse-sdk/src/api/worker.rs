//! The client's own thread and runtime: every request (async or blocking) runs there.
//!
//! Why: reqwest needs a tokio runtime with I/O and time drivers; the caller may have none, a
//! current-thread one, one without `enable_time`, or another executor. Handing the work to a
//! dedicated current-thread runtime and awaiting a oneshot makes the async API work in any
//! executor and the blocking API safe inside any runtime (it waits on a std channel, never on
//! the caller's runtime). The thread starts at the first request and ends when the last clone of
//! the client (and every background refresh) is gone.
//!
//! `fork`: a child process has none of its parent's threads, so a worker inherited through
//! `fork()` would take jobs that nothing ever runs. As the exporter does, the worker keeps the
//! process id it started in and compares it before handing over a job: in a child every call
//! fails at once ([`ApiError::is_forked`]) and a background refresh is not started.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::error::{ApiError, Kind};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

pub(crate) struct Worker {
    tx: UnboundedSender<Job>,
    /// The process the worker thread runs in.
    pid: u32,
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
        Ok(Worker {
            tx,
            pid: std::process::id(),
        })
    }

    /// Fails in a child made by `fork()` after the worker started: its thread is not there.
    /// A syscall per call, nothing next to the HTTP request the call makes.
    fn here(&self) -> Result<(), ApiError> {
        if std::process::id() == self.pid {
            Ok(())
        } else {
            Err(ApiError::forked())
        }
    }

    /// Runs `fut` on the worker without waiting for it (background refreshes); false when it
    /// cannot run (the worker stopped, or this process is a fork child).
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) -> bool {
        self.hand_over(fut).is_ok()
    }

    fn hand_over(&self, job: impl Future<Output = ()> + Send + 'static) -> Result<(), ApiError> {
        self.here()?;
        self.tx
            .send(Box::pin(job))
            .map_err(|_| runtime_error("has stopped"))
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
        self.hand_over(job)?;
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
        self.hand_over(job)?;
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
