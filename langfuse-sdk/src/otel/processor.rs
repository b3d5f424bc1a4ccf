//! [`LangfuseSpanProcessor`]: an `opentelemetry_sdk` span processor that sends the
//! application's own OpenTelemetry spans (those of other instrumentations: GenAI spans with
//! `gen_ai.*` attributes, an LLM framework's spans) through a [`Langfuse`] client's exporter —
//! its queue and bounds, batching, request size limits, retries, gzip and [`Stats`] counters —
//! as the official Python SDK's `LangfuseSpanProcessor` does.
//!
//! [`Stats`]: crate::Stats

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::Span as _;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use crate::attributes::TraceAttributes;
use crate::client::Langfuse;
use crate::context::Context;
use crate::core::Core;
use crate::export::encode::SCOPE_NAME;
use crate::export::shared::ForeignSpan;
use crate::ids::TraceId;
use crate::otel::baggage::otel_baggage_attributes;
use crate::otel::filter::is_default_export_span;

/// A filter deciding which ended spans go to Langfuse.
pub(crate) type SpanFilter = Arc<dyn Fn(&SpanData) -> bool + Send + Sync>;

/// What the processor and the exporter share: the client's core (not its owner: holding a
/// processor does not keep the client from shutting down) and the filter.
#[derive(Clone)]
pub(crate) struct Forwarder {
    core: Arc<Core>,
    filter: Option<SpanFilter>,
}

impl Forwarder {
    pub(crate) fn new(client: &Langfuse, filter: Option<SpanFilter>) -> Forwarder {
        Forwarder {
            core: client.core().clone(),
            filter,
        }
    }

    /// True when `span` goes to Langfuse: sampled (by OpenTelemetry, and by the client's
    /// sample rate, per trace id), not another project's Langfuse span, and kept by the filter
    /// (one that panics drops the span).
    fn keeps(&self, span: &SpanData) -> bool {
        let sc = &span.span_context;
        if !sc.is_sampled()
            || !self
                .core
                .is_sampled(TraceId::from_bytes(sc.trace_id().to_bytes()))
        {
            return false;
        }
        if span.instrumentation_scope.name() == SCOPE_NAME {
            // A Langfuse SDK's span of another project (the official SDKs check this too).
            let key = span
                .instrumentation_scope
                .attributes()
                .find(|kv| kv.key.as_str() == "public_key")
                .map(|kv| kv.value.as_str());
            if key.as_deref() != self.core.cfg.public_key.as_deref() {
                return false;
            }
        }
        match &self.filter {
            None => is_default_export_span(span),
            Some(f) => catch_unwind(AssertUnwindSafe(|| f(span))).unwrap_or_else(|_| {
                crate::diag::debug(|| "the span filter panicked: span not sent".to_string());
                false
            }),
        }
    }

    /// Hands the spans the filter keeps to the exporter thread (no I/O, no waiting).
    pub(crate) fn forward(&self, spans: impl IntoIterator<Item = SpanData>) {
        let Some(exporter) = self.core.exporter.as_ref() else {
            return;
        };
        let kept: Vec<Box<dyn ForeignSpan>> = spans
            .into_iter()
            .filter(|s| self.keeps(s))
            .map(|s| Box::new(Pending(s)) as Box<dyn ForeignSpan>)
            .collect();
        if !kept.is_empty() {
            exporter.send_foreign(kept);
        }
    }

    /// The client's flush within its timeout (`LANGFUSE_TIMEOUT`), in OpenTelemetry's terms.
    pub(crate) fn flush(&self) -> OTelSdkResult {
        self.flush_within(self.core.cfg.timeout)
    }

    /// The client's flush within `timeout`. A client already shut down has nothing left to
    /// deliver: `Ok`.
    pub(crate) fn flush_within(&self, timeout: Duration) -> OTelSdkResult {
        let Some(exporter) = self.core.exporter.as_ref() else {
            return Ok(());
        };
        match exporter.flush(timeout) {
            Ok(()) => Ok(()),
            Err(e) if e.is_shutdown() => Ok(()),
            Err(e) if e.is_timeout() => Err(OTelSdkError::Timeout(timeout)),
            Err(e) => Err(OTelSdkError::InternalFailure(e.to_string())),
        }
    }
}

/// An ended span on its way to the exporter thread, converted there.
struct Pending(SpanData);

impl ForeignSpan for Pending {
    fn mem(&self) -> usize {
        fn value(v: &Value) -> usize {
            match v {
                Value::String(s) => s.as_str().len(),
                Value::Array(Array::String(a)) => a.iter().map(|s| s.as_str().len() + 24).sum(),
                Value::Array(_) => 64,
                _ => 8,
            }
        }
        let attrs = |a: &[KeyValue]| -> usize {
            a.iter()
                .map(|kv| {
                    std::mem::size_of::<KeyValue>() + kv.key.as_str().len() + value(&kv.value)
                })
                .sum()
        };
        let s = &self.0;
        std::mem::size_of::<SpanData>()
            + s.name.len()
            + attrs(&s.attributes)
            + s.events
                .iter()
                .map(|e| 64 + e.name.len() + attrs(&e.attributes))
                .sum::<usize>()
            + s.links
                .iter()
                .map(|l| 64 + attrs(&l.attributes))
                .sum::<usize>()
    }

    fn into_otlp(self: Box<Self>) -> (InstrumentationScope, OtlpSpan) {
        let scope = InstrumentationScope::from((&self.0.instrumentation_scope, None));
        (scope, OtlpSpan::from(self.0))
    }
}

/// Sends the spans of an `opentelemetry_sdk` tracer provider to Langfuse through a client's
/// exporter: its queue and bounds, batching, request size limits, retries, gzip and
/// [`Stats`](crate::Stats) counters, as the official Python SDK's `LangfuseSpanProcessor` does.
///
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
/// use opentelemetry::KeyValue;
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use langfuse_sdk::otel::LangfuseSpanProcessor;
///
/// let langfuse = langfuse_sdk::Langfuse::builder()
///     .exporter(langfuse_sdk::ExporterKind::Disabled)
///     .build()
///     .unwrap();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(LangfuseSpanProcessor::new(&langfuse))
///     .build();
/// let tracer = provider.tracer("my-llm-client");
/// tracer.in_span("chat gpt-4o-mini", |cx| {
///     use opentelemetry::trace::TraceContextExt as _;
///     cx.span().set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4o-mini"));
/// });
/// provider.force_flush().unwrap(); // the client's flush
/// ```
///
/// - **Which spans**: by default those of [`is_default_export_span`] — spans a Langfuse SDK
///   made, spans with any `gen_ai…` attribute, and spans of a known LLM instrumentation
///   ([`KNOWN_LLM_INSTRUMENTATION_SCOPE_PREFIXES`](super::KNOWN_LLM_INSTRUMENTATION_SCOPE_PREFIXES));
///   plain HTTP or database spans stay out. [`LangfuseSpanProcessorBuilder::filter`] replaces
///   it. Spans OpenTelemetry did not sample, and traces the client's `LANGFUSE_SAMPLE_RATE`
///   leaves out, are not sent either.
/// - **What is sent**: each span as its instrumentation made it (ids, parent, times, kind,
///   status, events, links, attributes; the server maps `gen_ai.*`), under its own
///   instrumentation scope and the client's resource, with the client's environment and
///   release. A span over `max_observation_bytes` has its longest string attributes cut with a
///   truncation marker; one that still does not fit is counted failed with one warning. The
///   client's mask does not apply to these spans. They need the OTLP transport: on the
///   ingestion API they are counted failed, with one warning.
/// - **Trace attributes**: when a span starts, the trace attributes in scope on that thread
///   ([`propagate_attributes`](crate::propagate_attributes), those set through the current
///   observation), over those of the parent context's OpenTelemetry baggage (its `langfuse_…`
///   entries, see [`to_baggage`](super::to_baggage)), are set on it — `langfuse.trace.name`, `user.id`, `session.id`,
///   `langfuse.trace.tags`, `langfuse.trace.metadata.<key>` (left out when the client has a
///   mask), `langfuse.version`, `langfuse.release`, `langfuse.environment`,
///   `langfuse.trace.public` — as the official SDKs put them on every span of a trace.
/// - **Counting**: the spans are items of [`Langfuse::stats`] like observations (enqueued,
///   exported, dropped at a full queue or after shutdown, failed).
/// - **Flush and shutdown**: `force_flush` is the client's [`Langfuse::flush`] (within
///   `LANGFUSE_TIMEOUT`); `shutdown` flushes too, and does **not** shut the client down (its
///   owner does: the [`init`](crate::init) guard, or the last clone of the client). The
///   processor holds no clone of the client: once the client has shut down, spans that end
///   are dropped and counted, and `shutdown` returns `Ok`.
///
/// `on_end` only filters and hands the span over (no I/O, no waiting): the conversion to OTLP
/// runs on the exporter thread.
#[derive(Clone)]
pub struct LangfuseSpanProcessor {
    fwd: Forwarder,
}

impl std::fmt::Debug for LangfuseSpanProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LangfuseSpanProcessor")
            .field("enabled", &self.fwd.core.is_recording())
            .field("custom_filter", &self.fwd.filter.is_some())
            .finish()
    }
}

impl LangfuseSpanProcessor {
    /// A processor sending through `client`'s exporter, with the default filter.
    pub fn new(client: &Langfuse) -> LangfuseSpanProcessor {
        LangfuseSpanProcessor::builder(client).build()
    }

    /// A builder, to set the filter.
    pub fn builder(client: &Langfuse) -> LangfuseSpanProcessorBuilder {
        LangfuseSpanProcessorBuilder {
            client: client.clone(),
            filter: None,
        }
    }
}

/// Builds a [`LangfuseSpanProcessor`].
#[must_use]
pub struct LangfuseSpanProcessorBuilder {
    client: Langfuse,
    filter: Option<SpanFilter>,
}

impl std::fmt::Debug for LangfuseSpanProcessorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LangfuseSpanProcessorBuilder")
            .field("custom_filter", &self.filter.is_some())
            .finish()
    }
}

impl LangfuseSpanProcessorBuilder {
    /// Decides which ended spans are sent, instead of [`is_default_export_span`] (combine with
    /// it to widen the default). Runs in `on_end`, on the thread that ended the span: keep it
    /// cheap. A filter that panics drops the span.
    ///
    /// ```
    /// use langfuse_sdk::otel::{is_default_export_span, LangfuseSpanProcessor};
    ///
    /// let lf = langfuse_sdk::Langfuse::disabled();
    /// let processor = LangfuseSpanProcessor::builder(&lf)
    ///     .filter(|span| is_default_export_span(span) || span.name.starts_with("agent."))
    ///     .build();
    /// # drop(processor);
    /// ```
    pub fn filter(mut self, f: impl Fn(&SpanData) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(f));
        self
    }

    /// The processor.
    pub fn build(self) -> LangfuseSpanProcessor {
        LangfuseSpanProcessor {
            fwd: Forwarder::new(&self.client, self.filter),
        }
    }
}

impl SpanProcessor for LangfuseSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &opentelemetry::Context) {
        if !self.fwd.core.is_recording() {
            return;
        }
        // Those of the OpenTelemetry baggage, overlaid by those in scope here.
        let mut attrs = otel_baggage_attributes(cx);
        attrs.merge_from(&Context::current().trace_attributes());
        let masked = self.fwd.core.cfg.mask.is_some();
        span.set_attributes(trace_attribute_values(&attrs, masked));
    }

    fn on_end(&self, span: SpanData) {
        self.fwd.forward([span]);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.fwd.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.fwd.flush_within(timeout)
    }
}

/// `attrs` as the span attributes the SDK's own spans carry (CONTRACT.md's trace-level
/// attributes); metadata left out when `masked` (the mask runs on observations only).
pub(crate) fn trace_attribute_values(attrs: &TraceAttributes, masked: bool) -> Vec<KeyValue> {
    let mut out = Vec::new();
    let strings = [
        ("langfuse.trace.name", &attrs.name),
        ("user.id", &attrs.user_id),
        ("session.id", &attrs.session_id),
        ("langfuse.version", &attrs.version),
        ("langfuse.release", &attrs.release),
        ("langfuse.environment", &attrs.environment),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            out.push(KeyValue::new(k, v.clone()));
        }
    }
    if !attrs.tags.is_empty() {
        let tags: Vec<StringValue> = attrs.tags.iter().cloned().map(StringValue::from).collect();
        out.push(KeyValue::new(
            "langfuse.trace.tags",
            Value::Array(Array::String(tags)),
        ));
    }
    if !masked {
        for (k, v) in &attrs.metadata {
            out.push(KeyValue::new(
                format!("langfuse.trace.metadata.{k}"),
                v.to_json_text(),
            ));
        }
    }
    if let Some(p) = attrs.public {
        out.push(KeyValue::new("langfuse.trace.public", p));
    }
    out
}
