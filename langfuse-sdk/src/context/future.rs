//! Context across `.await` and into spawned tasks and threads.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::attributes::TraceAttributes;
use crate::context::scope::Context;

pin_project_lite::pin_project! {
    /// A future that runs in a [`Context`]: the context is made current on every poll (like
    /// `tracing::Instrumented`), so nesting survives `.await`, `join!` and `select!`.
    #[derive(Debug)]
    pub struct WithContextFuture<F> {
        #[pin]
        inner: F,
        ctx: Context,
    }
}

impl<F: Future> Future for WithContextFuture<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _g = this.ctx.clone().attach();
        this.inner.poll(cx)
    }
}

/// Runs futures in a Langfuse [`Context`].
///
/// ```
/// use langfuse_sdk::{Langfuse, WithContext};
/// # async fn demo(lf: Langfuse) {
/// let root = lf.span("request").start();
/// async {
///     // observations started here are children of `root`, across every .await
/// }
/// .with_context(root.context())
/// .await;
/// # }
/// ```
pub trait WithContext: Sized {
    /// Runs this future in `ctx`.
    fn with_context(self, ctx: Context) -> WithContextFuture<Self> {
        WithContextFuture { inner: self, ctx }
    }
    /// Runs this future in the context current now (use before handing it to another task).
    fn with_current_context(self) -> WithContextFuture<Self> {
        self.with_context(Context::current())
    }
}

impl<F: Future> WithContext for F {}

/// `tokio::spawn` that carries the current context into the task. Needs a tokio runtime, as
/// `tokio::spawn` does.
pub fn spawn<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(fut.with_current_context())
}

/// `tokio::task::spawn_blocking` that carries the current context into the closure.
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let ctx = Context::current();
    tokio::task::spawn_blocking(move || ctx.in_scope(f))
}

/// `std::thread::spawn` that carries the current context into the thread.
pub fn thread_spawn<F, R>(f: F) -> std::thread::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let ctx = Context::current();
    std::thread::spawn(move || ctx.in_scope(f))
}

impl TraceAttributes {
    /// Wraps a future so these attributes are in scope whenever it runs.
    pub fn in_future<F: Future>(self, fut: F) -> WithContextFuture<F> {
        fut.with_context(Context::current().with_attributes(self))
    }
}
