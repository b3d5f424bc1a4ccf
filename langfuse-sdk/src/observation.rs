//! Observations: types, their fields, the owning handle and the shared reference.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;

use crate::client::Core;
use crate::context::{Context, ContextGuard, Parent, TraceAttributes};
use crate::ids::{format_traceparent, ObservationId, RemoteParent, TraceId};
use crate::score::Score;
use crate::value::{capture, Captured};

/// The kind of an observation, as Langfuse shows it (`langfuse.observation.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObservationType {
    /// A unit of work.
    Span,
    /// A model call: model, parameters, usage, cost, time to first token.
    Generation,
    /// A point in time (zero duration).
    Event,
    /// An agent deciding what to do.
    Agent,
    /// A tool called by an agent.
    Tool,
    /// A chain of steps.
    Chain,
    /// A retrieval step (vector store, search).
    Retriever,
    /// An embedding call.
    Embedding,
    /// An evaluator run.
    Evaluator,
    /// A guardrail check.
    Guardrail,
}

impl ObservationType {
    /// Every type, in the order the docs list them.
    pub const ALL: [ObservationType; 10] = [
        ObservationType::Span,
        ObservationType::Generation,
        ObservationType::Event,
        ObservationType::Agent,
        ObservationType::Tool,
        ObservationType::Chain,
        ObservationType::Retriever,
        ObservationType::Embedding,
        ObservationType::Evaluator,
        ObservationType::Guardrail,
    ];

    /// The wire name (`span`, `generation`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            ObservationType::Span => "span",
            ObservationType::Generation => "generation",
            ObservationType::Event => "event",
            ObservationType::Agent => "agent",
            ObservationType::Tool => "tool",
            ObservationType::Chain => "chain",
            ObservationType::Retriever => "retriever",
            ObservationType::Embedding => "embedding",
            ObservationType::Evaluator => "evaluator",
            ObservationType::Guardrail => "guardrail",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for ObservationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity of an observation (`langfuse.observation.level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Level {
    /// Verbose detail.
    Debug,
    /// The default.
    #[default]
    Default,
    /// Something odd that did not fail.
    Warning,
    /// A failure; the span status is ERROR too.
    Error,
}

impl Level {
    /// The wire name (`DEBUG`, `DEFAULT`, `WARNING`, `ERROR`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Default => "DEFAULT",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// Details keyed by name with the three common keys stored inline, so building one allocates
/// nothing unless other keys are added.
#[derive(Clone, Debug, Default, PartialEq)]
struct Details<T> {
    input: Option<T>,
    output: Option<T>,
    total: Option<T>,
    other: Vec<(String, T)>,
}

impl<T: Copy> Details<T> {
    fn set(&mut self, key: &str, v: T) {
        match key {
            "input" => self.input = Some(v),
            "output" => self.output = Some(v),
            "total" => self.total = Some(v),
            _ => match self.other.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = v,
                None => self.other.push((key.to_string(), v)),
            },
        }
    }
    fn get(&self, key: &str) -> Option<T> {
        match key {
            "input" => self.input,
            "output" => self.output,
            "total" => self.total,
            _ => self.other.iter().find(|(k, _)| k == key).map(|e| e.1),
        }
    }
    fn is_empty(&self) -> bool {
        self.input.is_none()
            && self.output.is_none()
            && self.total.is_none()
            && self.other.is_empty()
    }
    fn merge(&mut self, o: Details<T>) {
        for (k, v) in [("input", o.input), ("output", o.output), ("total", o.total)] {
            if let Some(v) = v {
                self.set(k, v);
            }
        }
        for (k, v) in o.other {
            self.set(&k, v);
        }
    }
}

impl<T: Serialize> Serialize for Details<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in [
            ("input", &self.input),
            ("output", &self.output),
            ("total", &self.total),
        ] {
            if let Some(v) = v {
                m.serialize_entry(k, v)?;
            }
        }
        for (k, v) in &self.other {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Token counts of a generation (`langfuse.observation.usage_details`): `input`, `output`,
/// `total`, and any other key (`input_cached_tokens`, `output_reasoning_tokens`, …).
///
/// ```
/// use langfuse_sdk::UsageDetails;
/// let u = UsageDetails::new().input(10).output(5).total(15).with("input_cached_tokens", 4);
/// assert_eq!(u.get("total"), Some(15));
/// assert_eq!(u.get("input_cached_tokens"), Some(4));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UsageDetails(Details<u64>);

impl Eq for Details<u64> {}

impl UsageDetails {
    /// No counts.
    pub fn new() -> Self {
        Self::default()
    }
    /// Input (prompt) tokens.
    pub fn input(mut self, n: u64) -> Self {
        self.0.input = Some(n);
        self
    }
    /// Output (completion) tokens.
    pub fn output(mut self, n: u64) -> Self {
        self.0.output = Some(n);
        self
    }
    /// Total tokens.
    pub fn total(mut self, n: u64) -> Self {
        self.0.total = Some(n);
        self
    }
    /// Any other count, such as `input_cached_tokens` or `output_reasoning_tokens`.
    pub fn with(mut self, key: impl AsRef<str>, n: u64) -> Self {
        self.0.set(key.as_ref(), n);
        self
    }
    /// A count by key.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.0.get(key)
    }
    /// True when no count is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Input, output and total, and the other counts (as recorded: keys already distinct).
    pub(crate) fn from_parts(known: [Option<u64>; 3], other: Vec<(String, u64)>) -> Self {
        UsageDetails(Details {
            input: known[0],
            output: known[1],
            total: known[2],
            other,
        })
    }
    /// Input, output and total.
    pub(crate) fn known(&self) -> [Option<u64>; 3] {
        [self.0.input, self.0.output, self.0.total]
    }
    /// The counts other than input, output and total.
    pub(crate) fn others(&self) -> &[(String, u64)] {
        &self.0.other
    }
    /// The counts other than input, output and total, taken out (`None` when there are none).
    pub(crate) fn take_others(&mut self) -> Option<Vec<(String, u64)>> {
        (!self.0.other.is_empty()).then(|| std::mem::take(&mut self.0.other))
    }
    pub(crate) fn merge(&mut self, other: UsageDetails) {
        self.0.merge(other.0);
    }
}

impl<K: AsRef<str>, const N: usize> From<[(K, u64); N]> for UsageDetails {
    fn from(v: [(K, u64); N]) -> Self {
        v.into_iter()
            .fold(UsageDetails::new(), |u, (k, n)| u.with(k, n))
    }
}

/// Cost of a generation in USD (`langfuse.observation.cost_details`): `input`, `output`, `total`,
/// or any other key. Non-finite and negative amounts are left out (the server drops them too).
///
/// ```
/// use langfuse_sdk::CostDetails;
/// let c = CostDetails::new().input(0.0001).output(0.0002).total(0.0003);
/// assert_eq!(c.get("total"), Some(0.0003));
/// assert_eq!(CostDetails::new().total(f64::NAN).get("total"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CostDetails(Details<f64>);

impl CostDetails {
    /// No amounts.
    pub fn new() -> Self {
        Self::default()
    }
    /// Cost of the input.
    pub fn input(self, usd: f64) -> Self {
        self.with("input", usd)
    }
    /// Cost of the output.
    pub fn output(self, usd: f64) -> Self {
        self.with("output", usd)
    }
    /// Total cost.
    pub fn total(self, usd: f64) -> Self {
        self.with("total", usd)
    }
    /// Any other amount.
    pub fn with(mut self, key: impl AsRef<str>, usd: f64) -> Self {
        if usd.is_finite() && usd >= 0.0 {
            self.0.set(key.as_ref(), usd);
        }
        self
    }
    /// An amount by key.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.get(key)
    }
    /// True when no amount is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(crate) fn merge(&mut self, other: CostDetails) {
        self.0.merge(other.0);
    }
}

impl<K: AsRef<str>, const N: usize> From<[(K, f64); N]> for CostDetails {
    fn from(v: [(K, f64); N]) -> Self {
        v.into_iter()
            .fold(CostDetails::new(), |c, (k, usd)| c.with(k, usd))
    }
}

/// One metadata update: a whole object merged key by key, or one key.
#[derive(Clone, Debug)]
pub(crate) enum MetaEntry {
    Object(Captured),
    Key(String, Captured),
}

/// The mutable fields of an observation. They stay where they are when it ends: the exporter
/// takes them out of the shared allocation.
#[derive(Debug, Default)]
pub(crate) struct ObsData {
    /// Set once by `end`; later updates and ends are ignored.
    pub ended: bool,
    pub level: Option<Level>,
    pub name: Cow<'static, str>,
    /// Nanoseconds since the Unix epoch; 0 until set.
    pub start: u64,
    pub end: u64,
    pub input: Option<Captured>,
    pub output: Option<Captured>,
    pub model: Option<String>,
    pub usage: Option<UsageDetails>,
    /// Fields most observations never set, kept out of line so the common record stays small.
    pub rare: Option<Box<RareData>>,
    /// An empty value buffer kept with a reused allocation: the next observation captures its
    /// input into it (no allocation, no thread-local pool).
    pub scratch: String,
    /// The same for the output: the last output's buffer, emptied.
    pub scratch_out: String,
    /// The last model name's buffer, kept with a reused allocation for the next `set_model`.
    pub model_spare: String,
}

/// The less common fields of an observation.
#[derive(Debug, Default)]
pub(crate) struct RareData {
    pub metadata: Vec<MetaEntry>,
    pub status_message: Option<String>,
    pub version: Option<String>,
    pub model_parameters: Option<Captured>,
    pub cost: Option<CostDetails>,
    pub completion_start: Option<SystemTime>,
    pub prompt: Option<(String, u32)>,
    /// Trace-level attributes set through this observation.
    pub trace: Option<Box<TraceAttributes>>,
}

impl ObsData {
    /// Sets the model name, into the buffer it already has or the spare one.
    #[inline]
    pub(crate) fn set_model(&mut self, m: &str) {
        let mut b = match self.model.take() {
            Some(b) => b,
            None => std::mem::take(&mut self.model_spare),
        };
        b.clear();
        b.push_str(m);
        self.model = Some(b);
    }
    pub(crate) fn rare(&mut self) -> &mut RareData {
        self.rare.get_or_insert_with(Default::default)
    }
    pub(crate) fn trace(&self) -> Option<&TraceAttributes> {
        self.rare.as_ref().and_then(|r| r.trace.as_deref())
    }
}

/// An observation's ids, type and propagated trace attributes, as a recorded batch takes them.
#[derive(Clone, Copy)]
pub(crate) struct Head<'a> {
    pub trace_id: TraceId,
    pub id: ObservationId,
    pub parent: Option<(ObservationId, bool)>,
    pub ty: ObservationType,
    pub attrs: &'a Option<Arc<TraceAttributes>>,
}

/// A recorded (enabled, sampled) observation: allocated once when it is planned, shared by its
/// handles, and queued to the exporter as it is when it ends.
pub(crate) struct ObsInner {
    pub core: Arc<Core>,
    pub trace_id: TraceId,
    pub id: ObservationId,
    /// Parent observation id and whether it is remote.
    pub parent: Option<(ObservationId, bool)>,
    pub ty: ObservationType,
    pub attrs: Option<Arc<TraceAttributes>>,
    pub data: Mutex<ObsData>,
}

// ---- thread-local reuse ----------------------------------------------------------------------
//
// An observation's allocation and its value buffers are reused by the thread that made them once
// its last handle is gone (the usual case: `#[observe]` drops its handle when the function
// returns). The exporter never holds them (see `crate::record`), so this is all thread-local:
// no locks, and no memory moving between threads.

/// Spare observation allocations kept per thread.
const SPARE_OBSERVATIONS: usize = 32;
/// Spare value buffers kept per thread, and the largest kept.
const SPARE_STRINGS: usize = 64;
const SPARE_STRING_MAX: usize = 4096;
/// The capacity of a new value buffer, and the smallest kept: short exact-size strings (a model
/// name) would only be grown again.
const SPARE_STRING_MIN: usize = 64;

#[derive(Default)]
struct Spares {
    observations: Vec<Arc<ObsInner>>,
    strings: Vec<String>,
}

thread_local! {
    static SPARES: RefCell<Spares> = const {
        RefCell::new(Spares {
            observations: Vec::new(),
            strings: Vec::new(),
        })
    };
}

/// An empty string, with the capacity of a spare buffer when this thread has one.
#[inline]
pub(crate) fn spare_string() -> String {
    SPARES
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.strings.pop()))
        .ok()
        .flatten()
        .unwrap_or_else(|| String::with_capacity(SPARE_STRING_MIN))
}

impl ObsInner {
    /// Readies an ended observation's allocation for reuse: its input and output buffers
    /// become the scratch buffers of the next observation (a buffer whose place is taken goes
    /// to the thread's pool). Everything else is dropped when the allocation is reused (on this
    /// thread).
    #[inline]
    fn recycle_buffers(&mut self) {
        let d = self.data.get_mut().unwrap_or_else(|e| e.into_inner());
        for (value, scratch) in [
            (&mut d.input, &mut d.scratch),
            (&mut d.output, &mut d.scratch_out),
        ] {
            if let Some(c) = value.take() {
                let mut b = c.into_string();
                if scratch.capacity() == 0 && b.capacity() <= SPARE_STRING_MAX {
                    b.clear();
                    *scratch = b;
                } else {
                    keep_string(b);
                }
            }
        }
    }
}

/// Keeps a value buffer in this thread's pool, if it is worth keeping and there is room.
fn keep_string(mut b: String) {
    if b.capacity() < SPARE_STRING_MIN || b.capacity() > SPARE_STRING_MAX {
        return;
    }
    let _ = SPARES.try_with(|spares| {
        if let Ok(mut spares) = spares.try_borrow_mut() {
            if spares.strings.len() < SPARE_STRINGS {
                b.clear();
                spares.strings.push(b);
            }
        }
    });
}

/// Keeps an ended observation's allocation (the caller's only handle) for this thread's next
/// observations.
#[inline]
fn keep_spare(obs: Arc<ObsInner>) {
    let _ = SPARES.try_with(|spares| {
        if let Ok(mut spares) = spares.try_borrow_mut() {
            if spares.observations.len() < SPARE_OBSERVATIONS {
                spares.observations.push(obs);
            }
        }
    });
}

/// A new observation's place and name, as its allocation is filled in.
pub(crate) struct NewObs {
    pub trace_id: TraceId,
    pub id: ObservationId,
    /// Parent observation id and whether it is remote.
    pub parent: Option<(ObservationId, bool)>,
    pub ty: ObservationType,
    pub attrs: Option<Arc<TraceAttributes>>,
    pub name: Cow<'static, str>,
}

impl NewObs {
    /// A new observation (with a new id) in trace `trace_id` under `parent`, carrying the trace
    /// attributes in scope in `ctx`.
    #[inline]
    pub(crate) fn at(
        trace_id: TraceId,
        parent: Option<(ObservationId, bool)>,
        ty: ObservationType,
        ctx: &Context,
        name: Cow<'static, str>,
    ) -> NewObs {
        NewObs {
            trace_id,
            id: ObservationId::random(),
            parent,
            ty,
            attrs: ctx.attrs.clone(),
            name,
        }
    }
}

/// This thread's next spare allocation, if it has one.
#[inline]
fn pop_spare() -> Option<Arc<ObsInner>> {
    SPARES
        .try_with(|s| {
            s.try_borrow_mut()
                .ok()
                .and_then(|mut s| s.observations.pop())
        })
        .ok()
        .flatten()
}

/// A new observation's allocation while it is being filled in: a spare of this thread's
/// (checked unique once, then written through this reference), or a new one.
pub(crate) struct Fill<'a> {
    unique: Option<&'a mut ObsInner>,
    /// A new allocation, when there was no spare (uniqueness is checked again for it: rare).
    fresh: Option<Arc<ObsInner>>,
}

impl Fill<'_> {
    /// Fills in a new observation's fields.
    #[inline]
    pub(crate) fn set(&mut self, core: &Arc<Core>, new: NewObs) {
        match &mut self.unique {
            Some(o) => o.reset(core, new),
            None => self.fresh = Some(Arc::new(ObsInner::fresh(core, new))),
        }
    }

    /// The filled-in observation's core and fields (`None` before [`set`](Self::set)).
    #[inline]
    fn parts(&mut self) -> Option<(&Core, &mut ObsData)> {
        let o = match (&mut self.unique, &mut self.fresh) {
            (_, Some(f)) => Arc::get_mut(f)?,
            (Some(u), None) => &mut **u,
            (None, None) => return None,
        };
        Some((&o.core, o.data.get_mut().unwrap_or_else(|e| e.into_inner())))
    }
}

/// Where [`start_with`]'s observation goes, as its `place` decided.
///
/// `Recorded` carries no type (the caller has it): with the type's byte and the trace id in
/// one payload, the compiler copied the enum as a byte and fifteen bytes at odd offsets, and
/// the loads stalled on store forwarding (measured on a Xeon VM: ~18 ns per observation).
pub(crate) enum Placement {
    /// Recorded: [`Fill::set`] was called.
    Recorded,
    Unsampled(TraceId),
    Noop,
}

/// Starts an observation for `#[observe]`: `place` decides where it goes (from the thread's
/// context) and fills in its fields; then, outside every borrow `place` held, `capture` writes
/// its input (given the capture limit; run only when values are captured) and the start time is
/// read. The reused allocation is checked for uniqueness once, for all of it.
#[inline]
pub(crate) fn start_with(
    ty: ObservationType,
    place: impl FnOnce(&mut Fill<'_>) -> Placement,
    capture: impl FnOnce(usize, &mut ObsData),
) -> Observation {
    let mut spare = pop_spare();
    let mut fill = Fill {
        unique: spare.as_mut().and_then(Arc::get_mut),
        fresh: None,
    };
    let unrecorded = match place(&mut fill) {
        Placement::Recorded => {
            let Some((core, d)) = fill.parts() else {
                return Observation::noop();
            };
            if core.io_capture_enabled() {
                capture(core.field_limit(), d);
            }
            d.start = crate::clock::now();
            return match (fill.fresh, spare) {
                (Some(f), _) => Observation::live(ty, f),
                (None, Some(a)) => Observation::live(ty, a),
                (None, None) => Observation::noop(),
            };
        }
        Placement::Unsampled(t) => Observation::unsampled(t),
        Placement::Noop => Observation::noop(),
    };
    // Not used: the spare goes back to the pool.
    drop(fill);
    if let Some(a) = spare {
        keep_spare(a);
    }
    unrecorded
}

impl ObsInner {
    /// A recorded observation: a spare allocation of this thread's, or a new one.
    #[inline]
    pub(crate) fn new(core: &Arc<Core>, new: NewObs) -> Arc<ObsInner> {
        if let Some(mut a) = pop_spare() {
            if let Some(o) = Arc::get_mut(&mut a) {
                o.reset(core, new);
                return a;
            }
        }
        Arc::new(ObsInner::fresh(core, new))
    }

    /// A new allocation's fields.
    fn fresh(core: &Arc<Core>, new: NewObs) -> ObsInner {
        ObsInner {
            core: core.clone(),
            trace_id: new.trace_id,
            id: new.id,
            parent: new.parent,
            ty: new.ty,
            attrs: new.attrs,
            data: Mutex::new(ObsData {
                name: new.name,
                ..Default::default()
            }),
        }
    }

    /// Resets a reused allocation in place for a new observation, keeping the scratch buffers.
    #[inline]
    fn reset(&mut self, core: &Arc<Core>, new: NewObs) {
        // Field by field: a spare of the same client keeps its reference to the core (two
        // atomic operations saved per observation).
        if !Arc::ptr_eq(&self.core, core) {
            self.core = core.clone();
        }
        self.trace_id = new.trace_id;
        self.id = new.id;
        self.parent = new.parent;
        self.ty = new.ty;
        self.attrs = new.attrs;
        // Every field but the scratch buffers.
        let ObsData {
            ended,
            level,
            name: old_name,
            start,
            end,
            input,
            output,
            model,
            usage,
            rare,
            scratch: _,
            scratch_out: _,
            model_spare,
        } = self.data.get_mut().unwrap_or_else(|e| e.into_inner());
        *ended = false;
        *level = None;
        *old_name = new.name;
        *start = 0;
        *end = 0;
        // Checked first, here and below: a drop is a call even when there is nothing to drop
        // (recycling has already taken the values out).
        if input.is_some() {
            *input = None;
        }
        if output.is_some() {
            *output = None;
        }
        if let Some(m) = model.take() {
            *model_spare = m;
        }
        if usage.is_some() {
            *usage = None;
        }
        if rare.is_some() {
            *rare = None;
        }
    }

    /// What the exporter needs besides the fields.
    pub(crate) fn head(&self) -> Head<'_> {
        Head {
            trace_id: self.trace_id,
            id: self.id,
            parent: self.parent,
            ty: self.ty,
            attrs: &self.attrs,
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, ObsData> {
        // Our own code never panics while holding this lock; recover rather than propagate.
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `f` unless the observation has ended.
    pub(crate) fn update(&self, f: impl FnOnce(&mut ObsData)) {
        let mut d = self.lock();
        if !d.ended {
            f(&mut d);
        }
    }

    pub(crate) fn end(&self, at: Option<SystemTime>) {
        // Appended to this thread's batch while the lock is held: nothing else can change the
        // fields, and the exporter never takes this lock.
        self.lock().end(&self.core, self.head(), at);
    }

    /// Ends the observation through its only handle, with `output` if given (ignored if it
    /// has ended already: then only the buffer is reused), and empties its buffers for reuse.
    #[inline]
    fn finish_unique(&mut self, output: Option<Captured>) {
        if let Some(c) = output {
            self.data
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .output = Some(c);
        }
        self.end_unique(None);
        self.recycle_buffers();
    }

    /// [`end`](Self::end) through the only handle: no lock.
    #[inline]
    fn end_unique(&mut self, at: Option<SystemTime>) {
        let data = self.data.get_mut().unwrap_or_else(|e| e.into_inner());
        let head = Head {
            trace_id: self.trace_id,
            id: self.id,
            parent: self.parent,
            ty: self.ty,
            attrs: &self.attrs,
        };
        data.end(&self.core, head, at);
    }
}

impl ObsData {
    /// Ends the observation (once; later calls do nothing) and records it.
    #[inline]
    fn end(&mut self, core: &Core, head: Head<'_>, at: Option<SystemTime>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.end = if head.ty == ObservationType::Event && self.start != 0 {
            self.start
        } else {
            at.map_or_else(crate::clock::now, crate::clock::unix_nanos)
        };
        core.record(head, self);
    }
}

#[derive(Clone, Default)]
pub(crate) enum State {
    /// Tracing is off: nothing is recorded.
    #[default]
    Noop,
    /// The trace was not sampled: children stay unsampled, nothing is captured.
    Unsampled(TraceId),
    Live(Arc<ObsInner>),
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
            State::Noop => f.write_str("ObservationRef(disabled)"),
            State::Unsampled(t) => write!(f, "ObservationRef(unsampled, trace {t})"),
            State::Live(o) => f
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
            if let State::Live(o) = &self.state {
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
        ObservationRef { state: State::Noop }
    }

    /// True unless tracing is off: an unsampled observation still carries its trace id, so
    /// children started inside it stay unsampled.
    #[inline]
    pub(crate) fn has_context(&self) -> bool {
        !matches!(self.state, State::Noop)
    }

    /// True when this observation is being recorded (enabled and sampled).
    #[inline]
    pub fn is_recording(&self) -> bool {
        matches!(self.state, State::Live(_))
    }

    /// The trace id (`None` when tracing is disabled).
    pub fn trace_id(&self) -> Option<TraceId> {
        match &self.state {
            State::Noop => None,
            State::Unsampled(t) => Some(*t),
            State::Live(o) => Some(o.trace_id),
        }
    }

    /// The observation id (`None` unless recording).
    pub fn id(&self) -> Option<ObservationId> {
        match &self.state {
            State::Live(o) => Some(o.id),
            _ => None,
        }
    }

    /// The observation's type (`None` unless recording).
    pub fn observation_type(&self) -> Option<ObservationType> {
        match &self.state {
            State::Live(o) => Some(o.ty),
            _ => None,
        }
    }

    /// A W3C `traceparent` naming this observation, for outgoing requests.
    pub fn traceparent(&self) -> Option<String> {
        match &self.state {
            State::Noop => None,
            State::Unsampled(t) => Some(format_traceparent(*t, ObservationId::random(), false)),
            State::Live(o) => Some(format_traceparent(o.trace_id, o.id, true)),
        }
    }

    /// The trace's URL in the Langfuse UI.
    pub fn trace_url(&self) -> Option<String> {
        match &self.state {
            State::Live(o) => Some(o.core.trace_url(o.trace_id)),
            _ => None,
        }
    }

    pub(crate) fn set_input_or_output(&self, input: bool, c: Captured) {
        if let State::Live(o) = &self.state {
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
        if let State::Live(o) = &self.state {
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
        if let State::Live(o) = &self.state {
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
        if let State::Live(o) = &self.state {
            let c = capture(value, o.core.field_limit());
            let k = key.into();
            o.update(|d| d.rare().metadata.push(MetaEntry::Key(k, c)));
        }
        self
    }

    /// Sets the level; `Level::Error` also sets the span status to ERROR.
    #[inline]
    pub fn set_level(&self, level: Level) -> &Self {
        if let State::Live(o) = &self.state {
            o.update(|d| d.level = Some(level));
        }
        self
    }

    /// Sets the status message (shown beside the level).
    pub fn set_status_message(&self, msg: impl Into<String>) -> &Self {
        if let State::Live(o) = &self.state {
            let m = msg.into();
            o.update(|d| d.rare().status_message = Some(m));
        }
        self
    }

    /// Marks the observation failed: level ERROR, status message = the error's text.
    pub fn set_error(&self, err: &dyn fmt::Display) -> &Self {
        if let State::Live(o) = &self.state {
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
        if let State::Live(o) = &self.state {
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
        if let State::Live(o) = &self.state {
            o.update(|d| d.set_model(model.as_ref()));
        }
        self
    }

    /// Merges token counts into the usage details.
    #[inline]
    pub fn set_usage_details(&self, usage: impl Into<UsageDetails>) -> &Self {
        if let State::Live(o) = &self.state {
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
        if let State::Live(o) = &self.state {
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
        if let State::Live(o) = &self.state {
            o.update(|d| d.rare().completion_start = Some(at));
        }
        self
    }

    /// Links a generation to a managed prompt.
    pub fn set_prompt(&self, name: impl Into<String>, version: u32) -> &Self {
        if let State::Live(o) = &self.state {
            let n = name.into();
            o.update(|d| d.rare().prompt = Some((n, version)));
        }
        self
    }

    /// Sets trace-level attributes (name, user, session, tags, …) through this observation.
    pub fn update_trace(&self, attrs: TraceAttributes) -> &Self {
        if let State::Live(o) = &self.state {
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
        if let State::Live(o) = &self.state {
            o.end(None);
        }
    }

    /// Ends the observation at a given time.
    pub fn end_at(&self, at: SystemTime) {
        if let State::Live(o) = &self.state {
            o.end(Some(at));
        }
    }

    /// A context with this observation as the parent of new observations.
    pub fn context(&self) -> Context {
        Context::current().with_parent(match &self.state {
            State::Noop => Parent::None,
            State::Unsampled(t) => Parent::Unsampled(*t),
            State::Live(o) => Parent::Live(o.clone()),
        })
    }

    /// Makes this observation the current one on this thread until the guard drops.
    ///
    /// For async code use [`WithContext`](crate::WithContext) instead: a guard held across
    /// `.await` would leak into whatever else runs on the thread.
    #[inline]
    pub fn enter(&self) -> ContextGuard {
        crate::context::enter_parent(self.as_parent())
    }

    /// This observation as the parent of observations started inside it.
    #[inline]
    pub(crate) fn as_parent(&self) -> Parent {
        match &self.state {
            State::Noop => Parent::None,
            State::Unsampled(t) => Parent::Unsampled(*t),
            State::Live(o) => Parent::Live(o.clone()),
        }
    }

    /// Starts a child observation of this one.
    pub fn child(
        &self,
        ty: ObservationType,
        name: impl Into<Cow<'static, str>>,
    ) -> ObservationBuilder {
        let ctx = self.context();
        match &self.state {
            State::Live(o) => o.core.plan(ty, name.into(), &ctx, None),
            State::Unsampled(t) => ObservationBuilder::unsampled(ty, *t),
            State::Noop => ObservationBuilder::noop(ty),
        }
    }

    /// Starts a child span.
    pub fn span(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.child(ObservationType::Span, name)
    }

    /// Starts a child generation.
    pub fn generation(&self, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
        self.child(ObservationType::Generation, name)
    }

    /// Records a score on this observation (its trace and observation ids are filled in).
    pub fn score(&self, score: Score) {
        if let State::Live(o) = &self.state {
            o.core
                .score(score.trace_id(o.trace_id).observation_id(o.id));
        }
    }

    /// Records a score on this observation's trace.
    pub fn score_trace(&self, score: Score) {
        if let State::Live(o) = &self.state {
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
    /// A reference for other code (it does not end the observation when dropped).
    pub fn as_ref(&self) -> ObservationRef {
        self.r.clone()
    }

    fn from_state(state: State) -> Observation {
        Observation {
            r: ObservationRef { state },
        }
    }

    /// A disabled observation.
    pub(crate) fn noop() -> Observation {
        Observation::from_state(State::Noop)
    }

    /// An observation of an unsampled trace.
    pub(crate) fn unsampled(t: TraceId) -> Observation {
        Observation::from_state(State::Unsampled(t))
    }

    /// A started, recorded observation (events end at once).
    #[inline]
    pub(crate) fn live(ty: ObservationType, o: Arc<ObsInner>) -> Observation {
        let obs = Observation::from_state(State::Live(o));
        if ty == ObservationType::Event {
            obs.end();
        }
        obs
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
        if let State::Live(o) = std::mem::take(&mut self.r.state) {
            end_owned(o, None);
        }
    }
}

/// Ends an observation as its owning handle goes away, with `output` if given.
#[inline]
fn end_owned(mut o: Arc<ObsInner>, output: Option<Captured>) {
    match Arc::get_mut(&mut o) {
        // The usual case (`#[observe]`, a guard that was not cloned): no lock, and the
        // allocation is kept for this thread's next observation.
        Some(inner) => {
            inner.finish_unique(output);
            keep_spare(o);
        }
        None => {
            if let Some(c) = output {
                o.update(|d| d.output = Some(c));
            }
            o.end(None);
        }
    }
}

impl Observation {
    /// Ends the observation with the output `write` appends to a buffer (given the capture
    /// limit; it returns whether it wrote JSON). `write` runs only when the observation records
    /// and output capture is on, and before any of the SDK's locks is taken: the application's
    /// `Serialize` never runs under a lock the exporter thread also takes.
    pub(crate) fn finish_with_output(mut self, write: impl FnOnce(usize, &mut String) -> bool) {
        let State::Live(mut o) = std::mem::take(&mut self.r.state) else {
            return;
        };
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

/// Where a builder's observation goes.
pub(crate) enum Pending {
    Noop,
    Unsampled(TraceId),
    /// Recorded: the observation's one allocation, not shared yet.
    Live(Arc<ObsInner>),
}

/// Describes an observation before it starts; `start()` starts it.
///
/// Where it goes (parent, trace, sampling) is decided when the builder is made, so that values
/// are only serialised for recorded traces. Set the parent (`parent_context`, `remote_parent`,
/// `trace_id`, `as_root`) first; the values set before it are kept.
///
/// ```
/// use langfuse_sdk::Langfuse;
/// let lf = Langfuse::builder().tracing_enabled(false).build().unwrap();
/// let obs = lf
///     .generation("summarise")
///     .model("gpt-4o-mini")
///     .model_parameters(&serde_json::json!({"temperature": 0.2}))
///     .input(&serde_json::json!([{"role": "user", "content": "hi"}]))
///     .start();
/// obs.end();
/// ```
#[must_use = "call .start() to start the observation"]
pub struct ObservationBuilder {
    pub(crate) ty: ObservationType,
    pub(crate) pending: Pending,
}

macro_rules! builder_capture {
    ($(#[$doc:meta])* $name:ident, |$d:ident| $place:expr) => {
        $(#[$doc])*
        pub fn $name<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
            if let Some((limit, $d)) = self.limit_and_data() {
                $place = Some(capture(value, limit));
            }
            self
        }
    };
}

impl ObservationBuilder {
    pub(crate) fn noop(ty: ObservationType) -> Self {
        ObservationBuilder {
            ty,
            pending: Pending::Noop,
        }
    }

    pub(crate) fn unsampled(ty: ObservationType, t: TraceId) -> Self {
        ObservationBuilder {
            ty,
            pending: Pending::Unsampled(t),
        }
    }

    pub(crate) fn live(ty: ObservationType, obs: Arc<ObsInner>) -> Self {
        ObservationBuilder {
            ty,
            pending: Pending::Live(obs),
        }
    }

    /// The fields, written without locking: the builder is the allocation's only owner.
    pub(crate) fn data(&mut self) -> Option<&mut ObsData> {
        match &mut self.pending {
            Pending::Live(o) => {
                Arc::get_mut(o).map(|o| o.data.get_mut().unwrap_or_else(|e| e.into_inner()))
            }
            _ => None,
        }
    }

    fn limit_and_data(&mut self) -> Option<(usize, &mut ObsData)> {
        match &mut self.pending {
            Pending::Live(o) => Arc::get_mut(o).map(|o| {
                (
                    o.core.field_limit(),
                    o.data.get_mut().unwrap_or_else(|e| e.into_inner()),
                )
            }),
            _ => None,
        }
    }

    /// Plans again with another parent, keeping the values set so far.
    fn replan(mut self, ctx: &Context, trace_id: Option<TraceId>) -> Self {
        let core = match &self.pending {
            Pending::Live(o) => o.core.clone(),
            _ => return self,
        };
        let data = self.data().map(std::mem::take).unwrap_or_default();
        let name = data.name.clone();
        let mut next = core.plan(self.ty, name, ctx, trace_id);
        if let Some(d) = next.data() {
            *d = data;
        }
        next
    }

    /// Parent: the current observation of `ctx` (instead of the thread's current one).
    pub fn parent_context(self, ctx: &Context) -> Self {
        self.replan(ctx, None)
    }

    /// Parent: an observation elsewhere (trace id + observation id, or a parsed `traceparent`).
    pub fn remote_parent(self, parent: RemoteParent) -> Self {
        let ctx = Context::current().with_parent(Parent::Remote(parent));
        self.replan(&ctx, None)
    }

    /// Starts a new trace with this id (for example from [`create_trace_id`](crate::create_trace_id)).
    pub fn trace_id(self, trace_id: TraceId) -> Self {
        let ctx = Context::current().with_parent(Parent::None);
        self.replan(&ctx, Some(trace_id))
    }

    /// Starts a new trace even if an observation is current.
    pub fn as_root(self) -> Self {
        let ctx = Context::current().with_parent(Parent::None);
        self.replan(&ctx, None)
    }

    builder_capture!(
        /// Input: a string goes out as plain text, anything else as JSON.
        input, |d| d.input
    );
    builder_capture!(
        /// Output (for observations that are finished at once, such as events).
        output, |d| d.output
    );
    builder_capture!(
        /// Model parameters of a generation (a JSON object).
        model_parameters, |d| d.rare().model_parameters
    );

    /// Metadata: a `Serialize` object, one attribute per top-level key.
    pub fn metadata<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        if let Some((limit, d)) = self.limit_and_data() {
            let c = capture(value, limit);
            d.rare().metadata.push(MetaEntry::Object(c));
        }
        self
    }

    /// Level.
    pub fn level(mut self, level: Level) -> Self {
        if let Some(d) = self.data() {
            d.level = Some(level);
        }
        self
    }

    /// Status message.
    pub fn status_message(mut self, msg: impl Into<String>) -> Self {
        if let Some(d) = self.data() {
            d.rare().status_message = Some(msg.into());
        }
        self
    }

    /// Version of the code path.
    pub fn version(mut self, v: impl Into<String>) -> Self {
        if let Some(d) = self.data() {
            d.rare().version = Some(v.into());
        }
        self
    }

    /// Model name (generations).
    pub fn model(mut self, m: impl AsRef<str>) -> Self {
        if let Some(d) = self.data() {
            d.set_model(m.as_ref());
        }
        self
    }

    /// Token counts (generations).
    pub fn usage_details(mut self, u: impl Into<UsageDetails>) -> Self {
        if let Some(d) = self.data() {
            d.usage = Some(u.into());
        }
        self
    }

    /// Cost in USD (generations).
    pub fn cost_details(mut self, c: impl Into<CostDetails>) -> Self {
        if let Some(d) = self.data() {
            d.rare().cost = Some(c.into());
        }
        self
    }

    /// Managed prompt name and version (generations).
    pub fn prompt(mut self, name: impl Into<String>, version: u32) -> Self {
        if let Some(d) = self.data() {
            d.rare().prompt = Some((name.into(), version));
        }
        self
    }

    /// Start time, if not now.
    pub fn start_time(mut self, at: SystemTime) -> Self {
        if let Some(d) = self.data() {
            d.start = crate::clock::unix_nanos(at);
        }
        self
    }

    /// Trace-level attributes set through this observation.
    pub fn trace_attributes(mut self, attrs: TraceAttributes) -> Self {
        if let Some(d) = self.data() {
            d.rare().trace = Some(Box::new(attrs));
        }
        self
    }

    /// Starts the observation. Events end at once (zero duration).
    #[inline]
    pub fn start(self) -> Observation {
        let mut o = match self.pending {
            Pending::Noop => return Observation::noop(),
            Pending::Unsampled(t) => return Observation::unsampled(t),
            Pending::Live(o) => o,
        };
        if let Some(i) = Arc::get_mut(&mut o) {
            let d = i.data.get_mut().unwrap_or_else(|e| e.into_inner());
            if d.start == 0 {
                d.start = crate::clock::now();
            }
        }
        Observation::live(self.ty, o)
    }
}

impl fmt::Debug for ObservationBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.pending {
            Pending::Noop => "disabled",
            Pending::Unsampled(_) => "unsampled",
            Pending::Live(_) => "recording",
        };
        f.debug_struct("ObservationBuilder")
            .field("type", &self.ty)
            .field("state", &state)
            .finish()
    }
}
