//! Interplay with [`opentelemetry`] (feature `opentelemetry`, the 0.33 API and SDK crates).
//!
//! Langfuse observations are OpenTelemetry spans on the wire: a trace id of 16 bytes and an
//! observation id of 8 bytes, the span id. This module hands parents across in both
//! directions, explicitly — the start path of an observation never looks at OpenTelemetry's
//! context, so code that does not use this module pays nothing for it:
//!
//! - **OpenTelemetry span → observation**: [`attach_current`] makes the current OpenTelemetry
//!   span the parent of the observations started until its guard drops;
//!   [`context_from_otel`] gives the same as a [`Context`](crate::Context) to carry, and
//!   [`OtelParentExt::otel_parent`] sets it on one [`ObservationBuilder`](crate::ObservationBuilder).
//! - **Observation → OpenTelemetry span**: [`current_otel_context`] is an
//!   [`opentelemetry::Context`] whose remote span context is the current observation, so a span
//!   an OpenTelemetry tracer starts in it becomes the observation's child (same trace).
//! - **Trace attributes across HTTP boundaries**: [`to_baggage`] and [`from_baggage`] write and
//!   read a W3C `baggage` header carrying user id, session id and the other propagated
//!   attributes under the official SDKs' `langfuse_…` keys; `traceparent` itself is
//!   [`Context::from_traceparent`](crate::Context::from_traceparent) and
//!   [`current_traceparent`](crate::current_traceparent).
//! - **The application's own OpenTelemetry spans → Langfuse**: [`LangfuseSpanProcessor`] (or
//!   [`LangfuseSpanExporter`] behind a `BatchSpanProcessor`) in an `opentelemetry_sdk` tracer
//!   provider sends the spans of other instrumentations through the client's exporter (its
//!   queue, batching, retries, gzip and `Stats`). By default only LLM-related spans go
//!   ([`is_default_export_span`]: spans of a Langfuse SDK, spans with a `gen_ai…` attribute,
//!   spans of a known LLM instrumentation); a filter over `&SpanData` replaces it.
//!
//! ```
//! use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
//!
//! // An OpenTelemetry span is current (here a remote one; a tracer's span works the same).
//! let span = SpanContext::new(
//!     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
//!     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
//!     TraceFlags::SAMPLED,
//!     true,
//!     TraceState::NONE,
//! );
//! let _otel = opentelemetry::Context::new().with_remote_span_context(span).attach();
//!
//! let _parent = langfuse_sdk::otel::attach_current().expect("an OpenTelemetry span is current");
//! assert_eq!(
//!     langfuse_sdk::current_trace_id().map(|t| t.to_string()).as_deref(),
//!     Some("4bf92f3577b34da6a3ce929d0e0e4736"),
//! );
//! ```

mod baggage;
mod exporter;
mod filter;
mod parent;
mod processor;

pub use baggage::{current_baggage, from_baggage, to_baggage, BAGGAGE_PREFIX};
pub use exporter::LangfuseSpanExporter;
pub use filter::{
    is_default_export_span, is_genai_span, is_known_llm_instrumentor, is_langfuse_span,
    KNOWN_LLM_INSTRUMENTATION_SCOPE_PREFIXES,
};
pub use parent::{
    attach_current, context_from_otel, current_otel_context, otel_context_of, OtelParentExt,
};
pub use processor::{LangfuseSpanProcessor, LangfuseSpanProcessorBuilder};
