//! [`Langfuse`]: the client a user holds. It starts observations and scores, and flushes and
//! shuts down its exporter.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::context::scope::{with_current, Context, Parent};
use crate::core::{Core, Owner};
use crate::error::Error;
use crate::export::open::Open as _;
use crate::export::shared::Stats;
use crate::fields::ObservationType;
use crate::ids::TraceId;
use crate::observation::builder::{plan, ObservationBuilder};
use crate::score::Score;

/// A Langfuse client: starts observations and scores, and owns the exporter thread.
///
/// Cheap to clone (an `Arc`). When the last clone drops, it shuts down and delivers what is
/// queued (bounded by `LANGFUSE_TIMEOUT`); [`init`](crate::init)'s guard does the same for the
/// global client.
///
/// ```
/// use std::time::Duration;
/// use langfuse_sdk::{Langfuse, Score};
///
/// let lf = Langfuse::builder().exporter(langfuse_sdk::ExporterKind::Console).build().unwrap();
/// let root = lf.span("pipeline").input("question").start();
/// let llm = root.generation("llm").model("gpt-4o-mini").start();
/// llm.set_output("answer");
/// llm.end();
/// root.score_trace(Score::numeric("quality", 0.9));
/// root.end();
/// lf.flush(Duration::from_secs(5)).unwrap();
/// ```
#[derive(Clone)]
pub struct Langfuse {
    pub(crate) inner: Arc<Owner>,
}

impl fmt::Debug for Langfuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Langfuse")
            .field("enabled", &self.core().is_recording())
            .field("exporter", &self.core().exporter_name)
            .field("config", &self.core().cfg)
            .finish()
    }
}

impl Langfuse {
    /// A client that records nothing (shared, allocation-free to get).
    pub fn disabled() -> Langfuse {
        Langfuse {
            inner: Owner::disabled(),
        }
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.inner.core
    }

    /// True when this client records and exports observations.
    pub fn is_enabled(&self) -> bool {
        self.core().is_recording()
    }

    /// Whether `#[observe]` should capture arguments and return values.
    pub fn io_capture_enabled(&self) -> bool {
        self.core().io_capture_enabled()
    }

    /// Whether a trace with this id is kept under the sample rate (deterministic per id).
    pub fn is_sampled(&self, trace_id: TraceId) -> bool {
        self.core().is_sampled(trace_id)
    }

    /// The URL of a trace in the Langfuse UI.
    pub fn trace_url(&self, trace_id: TraceId) -> String {
        self.core().trace_url(trace_id)
    }

    /// Starts describing an observation of any type; its parent is the current observation.
    pub fn observation(
        &self,
        ty: ObservationType,
        name: impl Into<Cow<'static, str>>,
    ) -> ObservationBuilder {
        if !self.core().is_recording() {
            return ObservationBuilder::off(ty);
        }
        plan(self.core(), ty, name.into(), &Context::current(), None)
    }

    /// A span (a unit of work).
    pub fn span(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Span, name)
    }
    /// A generation (a model call).
    pub fn generation(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Generation, name)
    }
    /// An event (zero duration; ends when started).
    pub fn event(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Event, name)
    }
    /// An agent.
    pub fn agent(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Agent, name)
    }
    /// A tool call.
    pub fn tool(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Tool, name)
    }
    /// A chain.
    pub fn chain(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Chain, name)
    }
    /// A retriever.
    pub fn retriever(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Retriever, name)
    }
    /// An embedding call.
    pub fn embedding(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Embedding, name)
    }
    /// An evaluator.
    pub fn evaluator(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Evaluator, name)
    }
    /// A guardrail.
    pub fn guardrail(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.observation(ObservationType::Guardrail, name)
    }

    /// Records a score (on a trace, an observation or a session); sent in the background.
    /// Invalid scores (no target, NaN, an empty text) are counted as failed with a warning.
    pub fn score(&self, score: Score) {
        self.core().score(score);
    }

    /// Waits until everything enqueued before the call is delivered or has definitively failed,
    /// or `timeout` passes. `Ok` means all of it was delivered; the error says which case it was
    /// ([`Error::is_timeout`], [`Error::is_export_failed`]). Safe from any thread and inside any
    /// tokio runtime (it blocks this thread, never the exporter's).
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        match &self.core().exporter {
            Some(e) => e.flush(timeout),
            None => Ok(()),
        }
    }

    /// Stops accepting observations, delivers everything queued, and stops the exporter thread,
    /// within `timeout`. `Ok` means everything queued was delivered; the error says what was
    /// not ([`Error::is_timeout`]: still queued when the time ran out, and abandoned;
    /// [`Error::is_export_failed`]: rejected or undeliverable). Idempotent: later calls report
    /// the first shutdown's outcome.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        let Some(e) = &self.core().exporter else {
            return Ok(());
        };
        if !e.shutdown_requested() {
            self.end_current_open();
        }
        e.shutdown(timeout)
    }

    /// Ends the calling thread's current observation when it is this client's and still open
    /// (a shutdown from inside an observed function: `#[observe] fn main` whose `init` guard
    /// drops in its body), with level WARNING and the status message that says so, as shutdown
    /// does for the observations it tracks. Ended later, it would only be dropped.
    fn end_current_open(&self) {
        let current = with_current(|ctx| match &ctx.parent {
            Parent::Recording(o) if Arc::ptr_eq(&o.core, self.core()) => Some(o.clone()),
            _ => None,
        })
        .flatten();
        if let Some(o) = current {
            o.end_open();
        }
    }

    /// True once `shutdown` was called (or the last clone dropped).
    pub(crate) fn is_shut_down(&self) -> bool {
        self.core()
            .exporter
            .as_ref()
            .is_some_and(|e| e.shutdown_requested())
    }

    /// The exporter's counters.
    pub fn stats(&self) -> Stats {
        match &self.core().exporter {
            Some(e) => e.stats(),
            None => Stats::default(),
        }
    }

    /// The default timeout for flush at shutdown (`LANGFUSE_TIMEOUT`).
    pub fn timeout(&self) -> Duration {
        self.core().cfg.timeout
    }
}
