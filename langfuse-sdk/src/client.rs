//! The client: configuration, sampling, starting observations, scores, flush and shutdown.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::config::{Config, ExporterKind, LangfuseBuilder, SinkChoice};
use crate::context::{Context, Parent};
use crate::diag;
use crate::error::Error;
use crate::exporter::{Exporter, Stats};
use crate::ids::{ObservationId, TraceId};
use crate::observation::{Fill, NewObs, ObsInner, ObservationBuilder, ObservationType, Placement};
use crate::score::Score;

/// Where a new observation goes: its trace, its parent (and whether that is remote), whether
/// it is recorded.
type Place = (TraceId, Option<(ObservationId, bool)>, bool);

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
/// let gen = root.generation("llm").model("gpt-4o-mini").start();
/// gen.set_output("answer");
/// gen.end();
/// root.score_trace(Score::numeric("quality", 0.9));
/// root.end();
/// lf.flush(Duration::from_secs(5)).unwrap();
/// ```
#[derive(Clone)]
pub struct Langfuse {
    pub(crate) inner: Arc<Owner>,
}

/// What the user's handles share: when the last one drops, the client shuts down and delivers
/// what is queued.
pub(crate) struct Owner {
    pub(crate) core: Arc<Core>,
}

/// What observations share. Queued observations hold it too, so the exporter thread may drop
/// the last reference; that must never wait for the exporter (only [`Owner`] does).
pub(crate) struct Core {
    pub(crate) cfg: Config,
    /// Enabled and exporting.
    recording: bool,
    /// Traces whose low 64 id bits are below this are kept; `None` keeps all.
    sample_bound: Option<u64>,
    exporter: Option<Exporter>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let core = &self.core;
        if core.recording {
            crate::RECORDING.fetch_sub(crate::ONE_CLIENT, std::sync::atomic::Ordering::Relaxed);
        }
        // Deliver what is queued, unless someone already shut down (and chose the timeout).
        if let Some(e) = core.exporter.as_ref().filter(|e| !e.shutdown_requested()) {
            let _ = e.shutdown(core.cfg.timeout);
        }
    }
}

impl fmt::Debug for Langfuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Langfuse")
            .field("enabled", &self.core().recording)
            .field("config", &self.core().cfg)
            .finish()
    }
}

impl Langfuse {
    /// A builder with default options; see [`LangfuseBuilder`].
    pub fn builder() -> LangfuseBuilder {
        LangfuseBuilder::new()
    }

    /// A client configured from `LANGFUSE_*` variables. Never fails: invalid values fall back to
    /// defaults with a warning; missing keys disable tracing with one warning.
    pub fn from_env() -> Langfuse {
        match LangfuseBuilder::from_env().build() {
            Ok(c) => c,
            Err(e) => {
                diag::warn(&format!("{e}; Langfuse tracing is disabled"));
                Langfuse::disabled()
            }
        }
    }

    /// A client that records nothing (shared, allocation-free to get).
    pub fn disabled() -> Langfuse {
        static DISABLED: OnceLock<Langfuse> = OnceLock::new();
        DISABLED
            .get_or_init(|| {
                let mut cfg = LangfuseBuilder::new().cfg;
                cfg.enabled = false;
                Langfuse::wrap(Core {
                    cfg,
                    recording: false,
                    sample_bound: None,
                    exporter: None,
                })
            })
            .clone()
    }

    pub(crate) fn start(cfg: Config) -> Langfuse {
        if cfg.debug {
            diag::DEBUG.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let mut recording = cfg.enabled;
        if let SinkChoice::Kind(ExporterKind::None) = cfg.sink {
            recording = false;
        }
        if recording
            && matches!(cfg.sink, SinkChoice::Kind(ExporterKind::Otlp))
            && (cfg.public_key.is_none() || cfg.secret_key.is_none())
        {
            diag::warn(
                "Langfuse tracing is disabled: set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY \
                 (or LANGFUSE_EXPORTER=console to print traces locally)",
            );
            recording = false;
        }
        let sample_bound = if cfg.sample_rate >= 1.0 {
            None
        } else {
            // OpenTelemetry's TraceIdRatioBased: keep when low 64 bits < rate × 2^64.
            Some((cfg.sample_rate * 18_446_744_073_709_551_616.0) as u64)
        };
        let exporter = recording.then(|| Exporter::start(cfg.clone()));
        if recording {
            crate::RECORDING.fetch_add(crate::ONE_CLIENT, std::sync::atomic::Ordering::Relaxed);
            if sample_bound.is_some() {
                crate::RECORDING.fetch_or(crate::SAMPLING, std::sync::atomic::Ordering::Relaxed);
            }
        }
        diag::debug(|| format!("Langfuse client started: {cfg:?}"));
        Langfuse::wrap(Core {
            cfg,
            recording,
            sample_bound,
            exporter,
        })
    }

    fn wrap(core: Core) -> Langfuse {
        Langfuse {
            inner: Arc::new(Owner {
                core: Arc::new(core),
            }),
        }
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.inner.core
    }

    /// True when this client records and exports observations.
    pub fn is_enabled(&self) -> bool {
        self.core().recording
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
        if !self.core().recording {
            return ObservationBuilder::noop(ty);
        }
        self.core().plan(ty, name.into(), &Context::current(), None)
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
    /// within `timeout`. Idempotent: later calls report the first shutdown's outcome.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        match &self.core().exporter {
            Some(e) => e.shutdown(timeout),
            None => Ok(()),
        }
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

impl Core {
    pub(crate) fn io_capture_enabled(&self) -> bool {
        self.recording && self.cfg.io_capture
    }

    /// The id of a new trace when this client does not sample it (the id is drawn). `None`
    /// when it is sampled (the id is left for [`plan`](Self::plan) to draw: the same one), when
    /// this client keeps every trace, or when it records nothing.
    #[inline]
    pub(crate) fn draw_unsampled_root(&self) -> Option<TraceId> {
        let b = self.sample_bound.filter(|_| self.recording)?;
        let t = TraceId::random_if(|t| t.low_u64() >= b);
        (t.low_u64() >= b).then_some(t)
    }

    #[inline]
    pub(crate) fn is_sampled(&self, trace_id: TraceId) -> bool {
        match self.sample_bound {
            None => true,
            Some(b) => trace_id.low_u64() < b,
        }
    }

    /// Capture limit of one field: a little under the observation limit, so a single huge
    /// field is cut once, at capture, and the size guard leaves it alone.
    pub(crate) fn field_limit(&self) -> usize {
        self.cfg.max_observation_bytes / 10 * 9
    }

    pub(crate) fn trace_url(&self, trace_id: TraceId) -> String {
        format!("{}/trace/{trace_id}", self.cfg.base_url)
    }

    pub(crate) fn score(&self, score: Score) {
        if let Some(e) = &self.exporter {
            e.send_score(score);
        }
    }

    /// Records an ended observation for the exporter.
    #[inline]
    pub(crate) fn record(
        &self,
        head: crate::observation::Head<'_>,
        data: &mut crate::observation::ObsData,
    ) {
        if let Some(e) = &self.exporter {
            e.record(head, data);
        }
    }

    /// Where a new observation goes: its trace, its parent, and whether it is recorded (`None`
    /// when this client records nothing).
    #[inline]
    fn place(&self, ctx: &Context, trace_id: Option<TraceId>) -> Option<Place> {
        if !self.recording {
            return None;
        }
        Some(match (&ctx.parent, trace_id) {
            (_, Some(t)) => (t, None, self.is_sampled(t)),
            (Parent::Live(o), None) => (o.trace_id, Some((o.id, false)), true),
            (Parent::Unsampled(t), None) => (*t, None, false),
            (Parent::Remote(r), None) => (
                r.trace_id,
                Some((r.observation_id, true)),
                r.sampled && self.is_sampled(r.trace_id),
            ),
            (Parent::None, None) => {
                let t = TraceId::random();
                (t, None, self.is_sampled(t))
            }
        })
    }

    /// Decides where a new observation goes (trace, parent, sampling) and, when it is recorded,
    /// allocates it: its one allocation, which later travels through the queue as it is.
    #[inline]
    pub(crate) fn plan(
        self: &Arc<Self>,
        ty: ObservationType,
        name: Cow<'static, str>,
        ctx: &Context,
        trace_id: Option<TraceId>,
    ) -> ObservationBuilder {
        match self.place(ctx, trace_id) {
            None => ObservationBuilder::noop(ty),
            Some((t, _, false)) => ObservationBuilder::unsampled(ty, t),
            Some((t, parent, true)) => {
                let obs = ObsInner::new(self, NewObs::at(t, parent, ty, ctx, name));
                ObservationBuilder::live(ty, obs)
            }
        }
    }

    /// Where an observation that `#[observe]` starts goes, its fields filled in when it is
    /// recorded (see [`start_with`](crate::observation::start_with)).
    #[inline]
    pub(crate) fn place_observed(
        self: &Arc<Self>,
        fill: &mut Fill<'_>,
        ty: ObservationType,
        name: &'static str,
        ctx: &Context,
    ) -> Placement {
        match self.place(ctx, None) {
            None => Placement::Noop,
            Some((t, _, false)) => Placement::Unsampled(t),
            Some((t, parent, true)) => {
                fill.set(self, NewObs::at(t, parent, ty, ctx, Cow::Borrowed(name)));
                Placement::Recorded
            }
        }
    }
}
