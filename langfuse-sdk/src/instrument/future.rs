//! Observed futures.

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::context::scope::{current_attributes, enter_context_in, Context};
use crate::fields::Level;
use crate::instrument::sync::{panic_text, set_err};
use crate::observation::handle::{Observation, ObservationRef};

pin_project_lite::pin_project! {
    /// An observed future: the observation is current on every poll, ends with the output,
    /// records panics, and is marked cancelled when dropped before completion.
    ///
    /// It carries its own context (the observation, and the trace attributes in scope when it
    /// was made) and makes it current for each poll only: trace attributes set inside it
    /// (`propagate_attributes` held across an `.await`) stay with it, never with the futures
    /// polled in between on the same thread.
    pub struct Observed<F, C> {
        #[pin]
        inner: F,
        obs: Option<Observation>,
        on_output: Option<C>,
        // `None` when tracing is off: nothing to make current.
        ctx: Option<Context>,
    }

    impl<F, C> PinnedDrop for Observed<F, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(obs) = this.obs.take() {
                if obs.is_recording() {
                    obs.set_level(Level::Warning);
                    obs.set_status_message("cancelled: the future was dropped before it completed");
                }
                obs.end();
            }
        }
    }
}

impl<F, C> Observed<F, C>
where
    F: Future,
    C: FnOnce(&ObservationRef, &F::Output),
{
    /// Wraps `inner`; `on_output` records the output when the future completes.
    pub fn new(obs: Observation, inner: F, on_output: C) -> Self {
        let ctx = obs.has_context().then(|| Context {
            parent: obs.as_parent(),
            attrs: current_attributes(),
        });
        // An async root is often long-running (a server's loop, a task): shutdown sends it if
        // it is still open then.
        obs.track_if_root();
        Observed {
            inner,
            obs: Some(obs),
            on_output: Some(on_output),
            ctx,
        }
    }
}

impl<F, C> Future for Observed<F, C>
where
    F: Future,
    C: FnOnce(&ObservationRef, &F::Output),
{
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let recording = this.obs.as_ref().is_some_and(|o| o.is_recording());
        if !recording {
            // Unsampled: still current, so children stay unsampled; nothing to record.
            let inner = this.inner;
            let r = {
                let _scope = this.ctx.as_mut().map(enter_context_in);
                inner.poll(cx)
            };
            if r.is_ready() {
                // Completed, so not cancelled; there is nothing to record.
                this.obs.take();
            }
            return r;
        }
        let inner = this.inner;
        let polled = {
            let _scope = this.ctx.as_mut().map(enter_context_in);
            catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => {
                if let Some(obs) = this.obs.take() {
                    if let Some(f) = this.on_output.take() {
                        f(&obs, &out);
                    }
                    obs.end();
                }
                Poll::Ready(out)
            }
            Err(p) => {
                if let Some(obs) = this.obs.take() {
                    set_err(&obs, Level::Error, panic_text(&*p));
                    obs.end();
                }
                resume_unwind(p)
            }
        }
    }
}

/// Runs futures as observations: the `Instrument::instrument` of this SDK, and what
/// `#[observe]` on an `async fn` expands into.
///
/// ```
/// use langfuse_sdk::instrument::ObserveExt;
/// # async fn demo(lf: langfuse_sdk::Langfuse) {
/// let answer = async {
///     // observations started here are children of "retrieve", across every .await
///     42
/// }
/// .observe(lf.retriever("retrieve").start())
/// .await;
/// assert_eq!(answer, 42);
/// # }
/// ```
pub trait ObserveExt: Future + Sized {
    /// Runs this future in `obs`: current on every poll, ended when the future completes
    /// (level ERROR if it panics), marked cancelled if it is dropped before that. The output is
    /// not recorded; use [`observe_with`](Self::observe_with) for that.
    fn observe(self, obs: Observation) -> Observed<Self, fn(&ObservationRef, &Self::Output)> {
        Observed::new(obs, self, |_, _| {})
    }

    /// [`observe`](Self::observe), with `on_output` recording the output (or anything else)
    /// on the observation when the future completes.
    fn observe_with<C>(self, obs: Observation, on_output: C) -> Observed<Self, C>
    where
        C: FnOnce(&ObservationRef, &Self::Output),
    {
        Observed::new(obs, self, on_output)
    }
}

impl<F: Future> ObserveExt for F {}
