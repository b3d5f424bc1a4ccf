//! [`ObservationBuilder`]: an observation described before it starts, and where it goes.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use crate::attributes::TraceAttributes;
use crate::capture::capture;
use crate::context::scope::{with_current, Context, Parent};
use crate::core::{any_recording, no_client, with_global_core, Core};
use crate::details::{CostDetails, UsageDetails};
use crate::fields::{Level, ObservationType};
use crate::fields::{MetaEntry, ObsData};
use crate::ids::{ParentRef, RemoteParent, TraceId};
use crate::live::inner::{NewObs, ObsInner};
use crate::observation::handle::{Observation, ObservationRef, State};
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
    pub(crate) pending: State,
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
    pub(crate) fn off(ty: ObservationType) -> Self {
        ObservationBuilder {
            ty,
            pending: State::Off,
        }
    }

    pub(crate) fn unsampled(ty: ObservationType, t: TraceId) -> Self {
        ObservationBuilder {
            ty,
            pending: State::Unsampled(t),
        }
    }

    pub(crate) fn recording(ty: ObservationType, obs: Arc<ObsInner>) -> Self {
        ObservationBuilder {
            ty,
            pending: State::Recording(obs),
        }
    }

    /// The fields, written without locking: the builder is the allocation's only owner.
    pub(crate) fn data(&mut self) -> Option<&mut ObsData> {
        match &mut self.pending {
            State::Recording(o) => {
                Arc::get_mut(o).map(|o| o.data.get_mut().unwrap_or_else(|e| e.into_inner()))
            }
            _ => None,
        }
    }

    fn limit_and_data(&mut self) -> Option<(usize, &mut ObsData)> {
        match &mut self.pending {
            State::Recording(o) => Arc::get_mut(o).map(|o| {
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
            State::Recording(o) => o.core.clone(),
            _ => return self,
        };
        let data = self.data().map(std::mem::take).unwrap_or_default();
        let name = data.name.clone();
        let mut next = plan(&core, self.ty, name, ctx, trace_id);
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

    /// Input (`input`) or output already captured (the `tracing` bridge's cut `Debug` text).
    #[cfg(feature = "tracing")]
    pub(crate) fn captured(mut self, input: bool, c: crate::capture::Captured) -> Self {
        if let Some(d) = self.data() {
            if input {
                d.input = Some(c);
            } else {
                d.output = Some(c);
            }
        }
        self
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
            State::Off => return Observation::off(),
            State::Unsampled(t) => return Observation::unsampled(t),
            State::Recording(o) => o,
        };
        if let Some(i) = Arc::get_mut(&mut o) {
            let d = i.data.get_mut().unwrap_or_else(|e| e.into_inner());
            if d.start == 0 {
                d.start = crate::clock::now();
            }
        }
        if self.ty != ObservationType::Event {
            // A handle may outlive the client or be leaked: shutdown ends it if it is still
            // open (`crate::export::queue`). `#[observe]` does not come through here.
            ObsInner::track_open(&o);
        }
        Observation::recording(self.ty, o)
    }
}

impl fmt::Debug for ObservationBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.pending {
            State::Off => "disabled",
            State::Unsampled(_) => "unsampled",
            State::Recording(_) => "recording",
        };
        f.debug_struct("ObservationBuilder")
            .field("type", &self.ty)
            .field("state", &state)
            .finish()
    }
}

impl ObservationRef {
    /// Starts a child observation of this one.
    pub fn child(
        &self,
        ty: ObservationType,
        name: impl Into<Cow<'static, str>>,
    ) -> ObservationBuilder {
        let ctx = self.context();
        match &self.state {
            State::Recording(o) => plan(&o.core, ty, name.into(), &ctx, None),
            State::Unsampled(t) => ObservationBuilder::unsampled(ty, *t),
            State::Off => ObservationBuilder::off(ty),
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
}

/// Where a new observation goes: its trace, its parent (and whether that is remote), whether
/// it is recorded.
pub(crate) type Place = (TraceId, Option<ParentRef>, bool);

/// Where a new observation of `core`'s goes (`None` when `core` records nothing).
#[inline]
pub(crate) fn place(core: &Core, ctx: &Context, trace_id: Option<TraceId>) -> Option<Place> {
    if !core.is_recording() {
        return None;
    }
    Some(match (&ctx.parent, trace_id) {
        (_, Some(t)) => (t, None, core.is_sampled(t)),
        (Parent::Recording(o), None) => (o.trace_id, Some(ParentRef::local(o.id)), true),
        (Parent::Unsampled(t), None) => (*t, None, false),
        (Parent::Remote(r), None) => (
            r.trace_id,
            Some(ParentRef::remote(r.observation_id)),
            r.sampled && core.is_sampled(r.trace_id),
        ),
        (Parent::None, None) => {
            let t = TraceId::random();
            (t, None, core.is_sampled(t))
        }
    })
}

/// Decides where a new observation goes (trace, parent, sampling) and, when it is recorded,
/// allocates it: its one allocation, which later travels through the queue as it is.
#[inline]
pub(crate) fn plan(
    core: &Arc<Core>,
    ty: ObservationType,
    name: Cow<'static, str>,
    ctx: &Context,
    trace_id: Option<TraceId>,
) -> ObservationBuilder {
    match place(core, ctx, trace_id) {
        None => ObservationBuilder::off(ty),
        Some((t, _, false)) => ObservationBuilder::unsampled(ty, t),
        Some((t, parent, true)) => {
            let obs = ObsInner::new(core, NewObs::at(t, parent, ty, &ctx.attrs, name));
            ObservationBuilder::recording(ty, obs)
        }
    }
}

/// Starts describing an observation with the client of the current observation (or the global
/// client when none is current). It costs one branch when tracing is off. (`#[observe]` starts
/// its observations the same way, without a builder.)
pub fn observation(ty: ObservationType, name: impl Into<Cow<'static, str>>) -> ObservationBuilder {
    if !any_recording() {
        return ObservationBuilder::off(ty);
    }
    with_current(|ctx| match &ctx.parent {
        Parent::Recording(o) => plan(&o.core, ty, name.into(), ctx, None),
        // Children of an unsampled observation are unsampled: nothing else to decide.
        Parent::Unsampled(t) => ObservationBuilder::unsampled(ty, *t),
        _ => with_global_core(|c| plan(c, ty, name.into(), ctx, None)).unwrap_or_else(|| {
            no_client();
            ObservationBuilder::off(ty)
        }),
    })
    .unwrap_or_else(|| ObservationBuilder::off(ty))
}
