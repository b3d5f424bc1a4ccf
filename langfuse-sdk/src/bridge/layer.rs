//! [`LangfuseLayer`]: the `tracing_subscriber::Layer` that starts an observation when a span is
//! created, makes it current while the span is entered, updates it on `record` and ends it
//! when the span closes.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::fields::Fields;
use super::select::{Events, Selection, Spans};
use super::stack;
use crate::{
    Context, Langfuse, Level, Observation, ObservationBuilder, ObservationRef, ObservationType,
};

/// Turns `tracing` spans into Langfuse observations. Build it with [`LangfuseLayer::builder`]
/// (or [`layer`](super::layer) for the defaults) and add it to a `tracing_subscriber` registry
/// beside any other layer.
///
/// What it sends and how fields are read is described in the [module docs](super).
pub struct LangfuseLayer {
    client: Option<Langfuse>,
    selection: Selection,
    /// Tells this layer's entries on a thread's stack from another layer's (span ids are only
    /// unique within one registry).
    key: u64,
}

impl fmt::Debug for LangfuseLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LangfuseLayer")
            .field("selection", &self.selection)
            .field("client", &self.client.as_ref().map(|_| "given"))
            .finish()
    }
}

/// The layer with its per-layer filter, as added to a registry.
pub type FilteredLangfuseLayer<S> = Filtered<LangfuseLayer, Selection, S>;

/// Configures a [`LangfuseLayer`].
#[derive(Debug)]
#[must_use = "call .build() to get the layer"]
pub struct LangfuseLayerBuilder {
    spans: Spans,
    events: Events,
    client: Option<Langfuse>,
}

impl LangfuseLayer {
    /// A builder: every span, no Langfuse events, the global client.
    pub fn builder() -> LangfuseLayerBuilder {
        LangfuseLayerBuilder {
            spans: Spans::All,
            events: Events::Ignore,
            client: None,
        }
    }
}

impl LangfuseLayerBuilder {
    /// Which spans become observations (default [`Spans::All`]).
    pub fn spans(mut self, spans: Spans) -> Self {
        self.spans = spans;
        self
    }

    /// Only spans whose target starts with `prefix` (a crate or module path).
    pub fn target(self, prefix: impl Into<Cow<'static, str>>) -> Self {
        self.spans(Spans::Target(prefix.into()))
    }

    /// Only spans that declare a `langfuse.*` field.
    pub fn with_langfuse_fields_only(self) -> Self {
        self.spans(Spans::WithLangfuseFields)
    }

    /// Which events become Langfuse events (default [`Events::Ignore`]).
    pub fn events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// Records with this client instead of the global one ([`client`](crate::client), looked up
    /// when each span starts, so the layer may be installed before [`init`](crate::init)).
    pub fn client(mut self, client: Langfuse) -> Self {
        self.client = Some(client);
        self
    }

    /// The layer, with the filter that keeps the spans and events it does not want away from
    /// it (a per-layer filter: other layers still see everything).
    pub fn build<S>(self) -> FilteredLangfuseLayer<S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
        let selection = Selection {
            spans: self.spans,
            events: self.events,
        };
        let layer = LangfuseLayer {
            client: self.client,
            selection: selection.clone(),
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
        };
        layer.with_filter(selection)
    }
}

/// What the layer keeps in a span's extensions: the observation it owns, and, when the span
/// set trace attributes, the context to enter (so they reach everything started inside).
struct SpanObs {
    obs: Observation,
    scope: Option<Context>,
}

/// The observation of the nearest ancestor the layer mapped, starting with `span` itself.
fn mapped_ancestor<S>(span: Option<SpanRef<'_, S>>) -> Option<ObservationRef>
where
    S: for<'a> LookupSpan<'a>,
{
    span?
        .scope()
        .find_map(|s| s.extensions().get::<SpanObs>().map(|o| o.obs.to_ref()))
}

fn level_of(l: &tracing::Level) -> Level {
    match *l {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warning,
        tracing::Level::INFO => Level::Default,
        _ => Level::Debug,
    }
}

impl LangfuseLayer {
    /// False when nothing this layer could start would be recorded (its client is disabled, or
    /// it uses the global client and neither that nor the current observation records): the
    /// span's fields are then not even read.
    fn may_record(&self) -> bool {
        match &self.client {
            Some(lf) => lf.is_enabled(),
            // One relaxed load: whether any client records (the global one's lock is not taken).
            None => crate::instrument::enabled(),
        }
    }

    fn start(&self, ty: ObservationType, name: Cow<'static, str>) -> ObservationBuilder {
        match &self.client {
            Some(lf) => lf.observation(ty, name),
            None => crate::observation(ty, name),
        }
    }

    /// The observation an event belongs to: its explicit parent span's, or the current one.
    fn event_target<S>(&self, event: &Event<'_>, ctx: &LayerContext<'_, S>) -> ObservationRef
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if event.is_root() {
            return ObservationRef::noop();
        }
        match event.parent() {
            Some(p) => mapped_ancestor(ctx.span(p)).unwrap_or_default(),
            None => crate::current_observation(),
        }
    }
}

impl<S> Layer<S> for LangfuseLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        if !self.may_record() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut f = Fields::new(self.client.as_ref());
        attrs.record(&mut f);
        let ty = f.ty.unwrap_or(ObservationType::Span);
        let name: Cow<'static, str> = match f.name.take() {
            Some(n) => n.into(),
            None => attrs.metadata().name().into(),
        };
        let builder = if attrs.is_root() {
            self.start(ty, name).as_root()
        } else if attrs.is_contextual() {
            // The current Langfuse context: the entered span's observation, or an
            // `#[observe]` function's, whichever is innermost on this thread.
            self.start(ty, name)
        } else {
            match mapped_ancestor(span.parent()) {
                Some(p) => p.child(ty, name),
                None => self.start(ty, name),
            }
        };
        let attrs = f.trace_attributes();
        let obs = f.apply_to_builder(builder).start();
        if obs.trace_id().is_none() {
            return; // tracing is off: nothing to make current either
        }
        let scope = attrs.map(|a| obs.context().with_attributes(a));
        span.extensions_mut().insert(SpanObs { obs, scope });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let Some(obs) = span.extensions().get::<SpanObs>().map(|o| o.obs.to_ref()) else {
            return;
        };
        let mut f = Fields::new(self.client.as_ref());
        values.record(&mut f);
        f.apply_to(&obs);
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let guard = match span.extensions().get::<SpanObs>() {
            Some(SpanObs { scope: Some(c), .. }) => c.clone().attach(),
            Some(SpanObs { obs, .. }) => obs.enter(),
            None => return,
        };
        stack::push(self.key, id.into_u64(), guard);
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        stack::pop(self.key, id.into_u64());
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let taken = span.extensions_mut().remove::<SpanObs>();
        // Ends the observation, after the span's extensions are released.
        drop(taken);
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let target = self.event_target(event, &ctx);
        if !target.is_recording() {
            return;
        }
        let meta = event.metadata();
        let mut f = Fields::new(self.client.as_ref());
        event.record(&mut f);
        if let Some(out) = f.output.take() {
            target.set_output(&out);
        }
        let failed = *meta.level() == tracing::Level::ERROR || f.error.is_some();
        if failed {
            let msg = f
                .error
                .clone()
                .or_else(|| f.message.clone())
                .unwrap_or_else(|| meta.name().to_string());
            target.set_error(&msg);
        }
        if !self.selection.records_event(meta) {
            return;
        }
        let name = f.message.take().unwrap_or_else(|| meta.name().to_string());
        let mut b = target
            .child(ObservationType::Event, name)
            .level(level_of(meta.level()));
        if let Some(e) = f.error.take() {
            b = b.status_message(e);
        }
        f.metadata
            .insert("target".into(), meta.target().to_string().into());
        b = b.metadata(&f.metadata);
        drop(b.start());
    }
}
