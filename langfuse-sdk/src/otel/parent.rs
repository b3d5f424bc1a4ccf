//! Parents across the two APIs: an OpenTelemetry span context as a Langfuse remote parent, and
//! the current observation as an OpenTelemetry remote span context.

use opentelemetry::trace::{
    SpanContext, SpanId as OtelSpanId, TraceContextExt, TraceFlags, TraceId as OtelTraceId,
    TraceState,
};

use crate::context::scope::Parent;
use crate::context::{Context, ContextGuard};
use crate::ids::{ObservationId, RemoteParent, TraceId};
use crate::observation::ObservationBuilder;

/// The Langfuse parent an OpenTelemetry context's span stands for, if it has a valid one.
fn remote_parent_of(cx: &opentelemetry::Context) -> Option<RemoteParent> {
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let trace_id = TraceId::from_bytes(sc.trace_id().to_bytes());
    let observation_id = ObservationId::from_bytes(sc.span_id().to_bytes());
    if !trace_id.is_valid() || !observation_id.is_valid() {
        return None;
    }
    let mut p = RemoteParent::new(trace_id, observation_id);
    p.sampled = sc.is_sampled();
    Some(p)
}

/// The current Langfuse context with the span of `cx` as its parent: observations started in it
/// join the OpenTelemetry span's trace as its children. `None` when `cx` has no valid span.
///
/// The trace attributes in scope are kept. The span's sampled flag carries over: an unsampled
/// OpenTelemetry span makes its Langfuse children unsampled too.
pub fn context_from_otel(cx: &opentelemetry::Context) -> Option<Context> {
    remote_parent_of(cx).map(|p| Context::current().with_remote_parent(p))
}

/// Makes the current OpenTelemetry span (of [`opentelemetry::Context::current`]) the parent of
/// the observations started on this thread until the guard drops. `None` (and nothing changes)
/// when no valid OpenTelemetry span is current.
///
/// Call it where an OpenTelemetry span is entered and Langfuse observations are made inside;
/// the start path of an observation never looks at OpenTelemetry's context by itself.
pub fn attach_current() -> Option<ContextGuard> {
    context_from_otel(&opentelemetry::Context::current()).map(Context::attach)
}

/// The span context `ctx`'s observation stands for in OpenTelemetry; `None` without a trace.
fn span_context_of(ctx: &Context) -> Option<SpanContext> {
    let (trace_id, span_id, sampled) = match &ctx.parent {
        Parent::None => return None,
        Parent::Recording(o) => (o.trace_id, o.id, true),
        Parent::Remote(r) => (r.trace_id, r.observation_id, r.sampled),
        // No observation to point at: a fresh span id with the flag unset, as the
        // `traceparent` of an unsampled trace has, so OpenTelemetry's parent-based samplers
        // drop the children too.
        Parent::Unsampled(t) => (*t, ObservationId::random(), false),
    };
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Some(SpanContext::new(
        OtelTraceId::from_bytes(trace_id.to_bytes()),
        OtelSpanId::from_bytes(span_id.to_bytes()),
        flags,
        true,
        TraceState::NONE,
    ))
}

/// [`opentelemetry::Context::current`] with `ctx`'s observation as its remote span: a span an
/// OpenTelemetry tracer starts with this context as parent is the observation's child, in the
/// same trace. `None` when `ctx` has no trace.
pub fn otel_context_of(ctx: &Context) -> Option<opentelemetry::Context> {
    span_context_of(ctx).map(|sc| opentelemetry::Context::current().with_remote_span_context(sc))
}

/// [`otel_context_of`] the current Langfuse context: the current observation as an
/// OpenTelemetry parent. Without a current observation (or trace), OpenTelemetry's current
/// context unchanged.
///
/// ```
/// use langfuse_sdk::{Context, RemoteParent};
/// use opentelemetry::trace::TraceContextExt;
///
/// let parent = RemoteParent::from_traceparent(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// let _in = Context::empty().with_remote_parent(parent).attach();
/// let cx = langfuse_sdk::otel::current_otel_context();
/// let span = cx.span();
/// assert_eq!(span.span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(span.span_context().span_id().to_string(), "00f067aa0ba902b7");
/// assert!(span.span_context().is_sampled());
/// ```
pub fn current_otel_context() -> opentelemetry::Context {
    otel_context_of(&Context::current()).unwrap_or_else(opentelemetry::Context::current)
}

/// Sets an OpenTelemetry span as the parent of one observation.
pub trait OtelParentExt: Sized {
    /// Makes the span of `cx` this observation's parent (same trace); unchanged when `cx` has
    /// no valid span.
    fn otel_parent(self, cx: &opentelemetry::Context) -> Self;
}

impl OtelParentExt for ObservationBuilder {
    fn otel_parent(self, cx: &opentelemetry::Context) -> Self {
        match remote_parent_of(cx) {
            Some(p) => self.remote_parent(p),
            None => self,
        }
    }
}
