//! The handles a user holds: [`ObservationRef`] (update, read ids) and [`Observation`] (owns it,
//! ends it when dropped).

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use crate::attributes::TraceAttributes;
use crate::capture::pool::spare_string;
use crate::capture::{capture, Captured};
use crate::context::scope::{enter_parent, Context, ContextGuard, Parent};
use crate::details::{CostDetails, UsageDetails};
use crate::fields::MetaEntry;
use crate::fields::{Level, ObservationType};
use crate::ids::{format_traceparent, ObservationId, TraceId};
use crate::live::inner::ObsInner;
use crate::live::pool::keep_spare;
use crate::score::Score;
#[derive(Clone, Default)]
pub(crate) enum State {
    /// Tracing is off: nothing is recorded.
    #[default]
    Off,
    /// The trace was not sampled: children stay unsampled, nothing is captured.
    Unsampled(TraceId),
    /// Enabled and sampled: the observation's one allocation (unshared while a builder holds
    /// it).
    Recording(Arc<ObsInner>),
}

/// A reference to an observation: update its fields, read its ids, create children.
///
/// Cheap to clone. It does not end the observation when dropped (the owning [`Observation`]
/// does). Every method is a no-op when tracing is disabled or the trace is not sampled, and no
/// value is even serialised then. Get the current one with
/// [`current_observation`](crate::current_observation).
#[derive(Clone, Default)]
pub struct ObservationRef {
    pub(crate) state: State,
}

impl fmt::Debug for ObservationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Off => f.write_str("ObservationRef(disabled)"),
            State::Unsampled(t) => write!(f, "ObservationRef(unsampled, trace {t})"),
            State::Recording(o) => f
                .debug_struct("ObservationRef")
                .field("trace_id", &o.trace_id)
                .field("id", &o.id)
                .field("type", &o.ty)
                .finish(),
        }
    }
}

macro_rules! capture_setter {
    ($(#[$doc:meta])* $name:ident, |$d:ident| $place:expr) => {
        $(#[$doc])*
        pub fn $name<T: Serialize + ?Sized>(&self, value: &T) -> &Self {
            if let State::Recording(o) = &self.state {
                let c = capture(value, o.core.field_limit());
                o.update(|$d| $place = Some(c));
            }
            self
        }
    };
}

impl ObservationRef {
    /// A reference that records nothing.
    pub fn noop() -> Self {
        ObservationRef { state: State::Off }
    }

    /// True unless tracing is off: an unsampled observation still carries its trace id, so
    /// children started inside it stay unsampled.
    #[inline]
    pub(crate) fn has_context(&self) -> bool {
        !matches!(self.state, State::Off)
    }

    /// True when this observation is being recorded (enabled and sampled).
    #[inline]
    pub fn is_recording(&self) -> bool {
        matches!(self.state, State::Recording(_))
    }

    /// The trace id (`None` when tracing is disabled).
    pub fn trace_id(&self) -> Option<TraceId> {
        match &self.state {
            State::Off => None,
            State::Unsampled(t) => Some(*t),
            State::Recording(o) => Some(o.trace_id),
        }
    }

    /// The observation id (`None` unless recording).
    pub fn id(&self) -> Option<ObservationId> {
        match &self.state {
            State::Recording(o) => Some(o.id),
            _ => None,
        }
    }

    /// The observation's type (`None` unless recording).
    pub fn observation_type(&self) -> Option<ObservationType> {
        match &self.state {
            State::Recording(o) => Some(o.ty),
            _ => None,
        }
    }

    /// A W3C `traceparent` naming this observation, for outgoing requests.
    pub fn traceparent(&self) -> Option<String> {
        match &self.state {
            State::Off => None,
            State::Unsampled(t) => Some(format_traceparent(*t, ObservationId::random(), false)),
            State::Recording(o) => Some(format_traceparent(o.trace_id, o.id, true)),
        }
    }

    /// The trace's URL in the Langfuse UI.
    pub fn trace_url(&self) -> Option<String> {
        match &self.state {
            State::Recording(o) => Some(o.core.trace_url(o.trace_id)),
            _ => None,
        }
    }

    pub(crate) fn set_input_or_output(&self, input: bool, c: Captured) {
        if let State::Recording(o) = &self.state {
            o.update(|d| {
                if input {
                    d.input = Some(c)
                } else {
                    d.output = Some(c)
                }
            });
        }
    }

    /// Renames the observation.
    pub fn set_name(&self, name: impl Into<Cow<'static, str>>) -> &Self {
        if let State::Recording(o) = &self.state {
            let n = name.into();
            o.update(|d| d.name = n);
        }
        self
    }

    capture_setter!(
        /// Sets the input: a string goes out as plain text, anything else as JSON.
        set_input, |d| d.input
    );
    capture_setter!(
        /// Sets the output: a string goes out as plain text, anything else as JSON.
        set_output, |d| d.output
    );
    capture_setter!(
        /// Sets the model parameters of a generation (a JSON object: temperature, max_tokens, …).
        set_model_parameters, |d| d.rare().model_parameters
    );

    /// Merges a `Serialize` object into the metadata, key by key (one attribute per key).
    pub fn set_metadata<T: Serialize + ?Sized>(&self, value: &T) -> &Self {
        if let State::Recording(o) = &self.state {
            let c = capture(value, o.core.field_limit());
            o.update(|d| d.rare().metadata.push(MetaEntry::Object(c)));
        }
        self
    }

    /// Sets one metadata key.
    pub fn set_metadata_value<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> &Self {
        if let State::Recording(o) = &self.state {
            let c = capture(value, o.core.field_limit());
            let k = key.into();
            o.update(|d| d.rare().metadata.push(MetaEntry::Key(k, c)));
        }
        self
    }

    /// Sets the level; `Level::Error` also sets the span status to ERROR.
    #[inline]
    pub fn set_level(&self, level: Level) -> &Self {
        if let State::Recording(o) = &self.state {
            o.update(|d| d.level = Some(level));
        }
        self
    }

    /// Sets the status message (shown beside the level).
    pub fn set_status_message(&self, msg: impl Into<String>) -> &Self {
        if let State::Recording(o) = &self.state {
            let m = msg.into();
            o.update(|d| d.rare().status_message = Some(m));
        }
        self
    }

    /// Marks the observation failed: level ERROR, status message = the error's text.
    pub fn set_error(&self, err: &dyn fmt::Display) -> &Self {
        if let State::Recording(o) = &self.state {
            let m = err.to_string();
            o.update(|d| {
                d.level = Some(Level::Error);
                d.rare().status_message = Some(m);
            });
        }
        self
    }

    /// Sets the version of the code path (`langfuse.version`).
    pub fn set_version(&self, version: impl Into<String>) -> &Self {
        if let State::Recording(o) = &self.state {
            let v = version.into();
            o.update(|d| d.rare().version = Some(v));
        }
        self
    }

    /// Sets the model name of a generation.
    ///
    /// Takes the name by reference: it is copied into a buffer the observation's reused
    /// allocation keeps, so setting it does not allocate.
    #[inline]
    pub fn set_model(&self, model: impl AsRef<str>) -> &Self {
        if let State::Recording(o) = &self.state {
            o.update(|d| d.set_model(model.as_ref()));
        }
        self
    }

    /// Merges token counts into the usage details.
    #[inline]
    pub fn set_usage_details(&self, usage: impl Into<UsageDetails>) -> &Self {
        if let State::Recording(o) = &self.state {
            let u = usage.into();
            o.update(|d| match &mut d.usage {
                Some(x) => x.merge(u),
                None => d.usage = Some(u),
            });
        }
        self
    }

    /// Merges amounts into the cost details (USD).
    pub fn set_cost_details(&self, cost: impl Into<CostDetails>) -> &Self {
        if let State::Recording(o) = &self.state {
            let c = cost.into();
            o.update(|d| match &mut d.rare().cost {
                Some(x) => x.merge(c),
                x @ None => *x = Some(c),
            });
        }
        self
    }

    /// Sets when the first token arrived (time to first token).
    pub fn set_completion_start_time(&self, at: SystemTime) -> &Self {
        if let State::Recording(o) = &self.state {
            o.update(|d| d.rare().completion_start = Some(at));
        }
        self
    }

    /// Links a generation to a managed prompt.
    pub fn set_prompt(&self, name: impl Into<String>, version: u32) -> &Self {
        if let State::Recording(o) = &self.state {
            let n = name.into();
            o.update(|d| d.rare().prompt = Some((n, version)));
        }
        self
    }

    /// Sets trace-level attributes (name, user, session, tags, …) through this observation.
    pub fn update_trace(&self, attrs: TraceAttributes) -> &Self {
        if let State::Recording(o) = &self.state {
            o.update(|d| match &mut d.rare().trace {
                Some(t) => t.merge_from(&attrs),
                t @ None => *t = Some(Box::new(attrs)),
            });
        }
        self
    }

    /// Ends the observation now. Later updates and ends are ignored.
    #[inline]
    pub fn end(&self) {
        if let State::Recording(o) = &self.state {
            o.end(None);
        }
    }

    /// Ends the observation at a given time.
    pub fn end_at(&self, at: SystemTime) {
        if let State::Recording(o) = &self.state {
            o.end(Some(at));
        }
    }

    /// A context with this observation as the parent of new observations.
    pub fn context(&self) -> Context {
        Context::current().with_parent(match &self.state {
            State::Off => Parent::None,
            State::Unsampled(t) => Parent::Unsampled(*t),
            State::Recording(o) => Parent::Recording(o.clone()),
        })
    }

    /// Makes this observation the current one on this thread until the guard drops.
    ///
    /// For async code use [`WithContext`](crate::WithContext) instead: a guard held across
    /// `.await` would leak into whatever else runs on the thread.
    #[inline]
    pub fn enter(&self) -> ContextGuard {
        enter_parent(self.as_parent())
    }

    /// This observation as the parent of observations started inside it.
    #[inline]
    pub(crate) fn as_parent(&self) -> Parent {
        match &self.state {
            State::Off => Parent::None,
            State::Unsampled(t) => Parent::Unsampled(*t),
            State::Recording(o) => Parent::Recording(o.clone()),
        }
    }
    /// Records a score on this observation (its trace and observation ids are filled in).
    pub fn score(&self, score: Score) {
        if let State::Recording(o) = &self.state {
            o.core
                .score(score.trace_id(o.trace_id).observation_id(o.id));
        }
    }

    /// Records a score on this observation's trace.
    pub fn score_trace(&self, score: Score) {
        if let State::Recording(o) = &self.state {
            o.core.score(score.trace_id(o.trace_id));
        }
    }
}

/// An observation you started: update it, then end it (or drop it, which ends it).
///
/// Derefs to [`ObservationRef`] for every setter.
///
/// ```
/// use langfuse_sdk::{Langfuse, Level, UsageDetails};
/// let lf = Langfuse::builder().tracing_enabled(false).build().unwrap();
/// let root = lf.span("pipeline").input("question").start();
/// {
///     let _in_root = root.enter();
///     let llm = lf.generation("llm").model("gpt-4o-mini").start();
///     llm.set_output("answer").set_usage_details(UsageDetails::new().input(10).output(2));
///     llm.end();
/// }
/// root.set_level(Level::Warning);
/// root.end();
/// ```
#[must_use = "an observation ends when dropped; bind it to a variable"]
pub struct Observation {
    pub(crate) r: ObservationRef,
}

impl Observation {
    /// A reference for other code, owned (it does not end the observation when dropped). For a
    /// borrowed one, use `&*obs` or [`AsRef`].
    pub fn to_ref(&self) -> ObservationRef {
        self.r.clone()
    }

    fn from_state(state: State) -> Observation {
        Observation {
            r: ObservationRef { state },
        }
    }

    /// A disabled observation.
    pub(crate) fn off() -> Observation {
        Observation::from_state(State::Off)
    }

    /// An observation of an unsampled trace.
    pub(crate) fn unsampled(t: TraceId) -> Observation {
        Observation::from_state(State::Unsampled(t))
    }

    /// Registers the observation for shutdown when it starts a trace in this process (see
    /// `crate::export::open`), for observations that may outlive their call and end on any
    /// thread: observed async functions, streams and iterators. Those inside a trace are not
    /// registered.
    pub(crate) fn track_if_root(&self) {
        if let State::Recording(o) = &self.r.state {
            if o.parent.map_or(true, |p| p.remote) {
                ObsInner::track_open(o);
            }
        }
    }

    /// [`track_if_root`](Self::track_if_root) for a sync observed call, which ends on the
    /// thread that started it: in that thread's list (no lock shared with other threads).
    #[inline(always)]
    pub(crate) fn track_if_thread_root(&self) {
        if let State::Recording(o) = &self.r.state {
            if o.parent.map_or(true, |p| p.remote) {
                ObsInner::track_thread_root(o);
            }
        }
    }

    /// A started, recorded observation (events end at once).
    #[inline]
    pub(crate) fn recording(ty: ObservationType, o: Arc<ObsInner>) -> Observation {
        let obs = Observation::from_state(State::Recording(o));
        if ty == ObservationType::Event {
            obs.end();
        }
        obs
    }
}

impl AsRef<ObservationRef> for Observation {
    fn as_ref(&self) -> &ObservationRef {
        &self.r
    }
}

impl Deref for Observation {
    type Target = ObservationRef;
    fn deref(&self) -> &ObservationRef {
        &self.r
    }
}

impl fmt::Debug for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.r.fmt(f)
    }
}

impl Drop for Observation {
    #[inline]
    fn drop(&mut self) {
        if let State::Recording(o) = std::mem::take(&mut self.r.state) {
            end_owned(o, None);
        }
    }
}

/// Ends an observation as its owning handle goes away, with `output` if given.
#[inline]
fn end_owned(mut o: Arc<ObsInner>, output: Option<Captured>) {
    // The usual case (`#[observe]`, a guard that was not cloned): no lock, and the
    // allocation is kept for this thread's next observation.
    if let Some(inner) = Arc::get_mut(&mut o) {
        inner.finish_unique(output);
        keep_spare(o);
        return;
    }
    // A handle's observation is registered for shutdown (a weak reference): leaving the
    // registry may make this handle the only one again. Checked only here, off the usual path.
    if o.leave_open() {
        if let Some(inner) = Arc::get_mut(&mut o) {
            inner.finish_unique(output);
            keep_spare(o);
            return;
        }
    }
    if let Some(c) = output {
        o.update(|d| d.output = Some(c));
    }
    o.end(None);
}

impl Observation {
    /// Ends the observation with the output `write` appends to a buffer (given the capture
    /// limit; it returns whether it wrote JSON). `write` runs only when the observation records
    /// and output capture is on, and before any of the SDK's locks is taken: the application's
    /// `Serialize` never runs under a lock the exporter thread also takes.
    pub(crate) fn finish_with_output(mut self, write: impl FnOnce(usize, &mut String) -> bool) {
        let State::Recording(mut o) = std::mem::take(&mut self.r.state) else {
            return;
        };
        // A sync root leaves its thread's list first (one load when it is not there), so that
        // this handle is the only one again.
        o.leave_open();
        match Arc::get_mut(&mut o) {
            // The usual case, as in `end_owned`, with one uniqueness check for both: the output
            // goes into the buffer that came with the reused allocation, and no lock is taken.
            // (Nothing else can reach the observation while `write` runs: this is its only
            // handle.)
            Some(inner) => {
                if inner.core.io_capture_enabled() {
                    let limit = inner.core.field_limit();
                    let d = inner.data.get_mut().unwrap_or_else(|e| e.into_inner());
                    let mut text = std::mem::take(&mut d.scratch_out);
                    if text.capacity() == 0 {
                        text = spare_string();
                    }
                    let json = write(limit, &mut text);
                    d.output = Some(Captured::of(json, text));
                }
                inner.finish_unique(None);
                keep_spare(o);
            }
            None => {
                let output = o.core.io_capture_enabled().then(|| {
                    let mut text = spare_string();
                    let json = write(o.core.field_limit(), &mut text);
                    Captured::of(json, text)
                });
                end_owned(o, output);
            }
        }
    }
}
