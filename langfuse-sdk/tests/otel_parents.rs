//! Issue 20, part 2: parents across `opentelemetry` spans and Langfuse observations, in both
//! directions, checked on what each side exported (our in-memory exporter decodes the OTLP
//! request; a recording span processor keeps what the OpenTelemetry SDK ended).
#![cfg(all(feature = "opentelemetry", feature = "testing"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use langfuse_sdk::otel::{self, OtelParentExt};
use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::Langfuse;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};

/// Keeps every span the OpenTelemetry SDK ends.
#[derive(Clone, Debug, Default)]
struct Recorded(Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Recorded {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().unwrap().push(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn otel() -> (SdkTracerProvider, Recorded) {
    let rec = Recorded::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(rec.clone())
        .build();
    (provider, rec)
}

fn client() -> (Langfuse, InMemoryExporter) {
    let exporter = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exporter.clone())
        .build()
        .unwrap();
    (lf, exporter)
}

#[test]
fn observation_started_in_an_otel_span_is_its_child() {
    let (provider, _rec) = otel();
    let tracer = provider.tracer("app");
    let (lf, exporter) = client();

    let span = tracer.start("http-request");
    let sc = span.span_context().clone();
    assert!(sc.is_valid() && sc.is_sampled());
    let cx = opentelemetry::Context::current_with_span(span);
    {
        let _otel = cx.clone().attach();
        let _parent = otel::attach_current().expect("an OpenTelemetry span is current");
        lf.span("inside-otel").start().end();
    }
    // The builder route, with no OpenTelemetry context current.
    lf.span("explicit-otel-parent")
        .otel_parent(&cx)
        .start()
        .end();
    // Without a span, the builder is unchanged: a new trace.
    lf.span("no-otel-span")
        .otel_parent(&opentelemetry::Context::new())
        .start()
        .end();
    lf.flush(Duration::from_secs(5)).unwrap();

    let spans = exporter.spans();
    assert_eq!(spans.len(), 3, "{spans:?}");
    for name in ["inside-otel", "explicit-otel-parent"] {
        let s = spans.iter().find(|s| s.name() == name).unwrap();
        assert_eq!(s.trace_id(), sc.trace_id().to_string(), "{name}");
        assert_eq!(s.parent_id(), Some(sc.span_id().to_string()), "{name}");
    }
    let lone = spans.iter().find(|s| s.name() == "no-otel-span").unwrap();
    assert_ne!(lone.trace_id(), sc.trace_id().to_string());
    assert_eq!(lone.parent_id(), None);
}

#[test]
fn no_current_otel_span_changes_nothing() {
    assert!(otel::attach_current().is_none());
    assert!(otel::context_from_otel(&opentelemetry::Context::new()).is_none());
}

#[test]
fn unsampled_otel_parent_makes_an_unsampled_observation() {
    let (lf, exporter) = client();
    let sc = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::default(),
        true,
        TraceState::NONE,
    );
    let cx = opentelemetry::Context::new().with_remote_span_context(sc);
    let lf_cx = otel::context_from_otel(&cx).unwrap();
    assert_eq!(
        lf_cx.traceparent().as_deref(),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
    );
    lf.span("unsampled").parent_context(&lf_cx).start().end();
    lf.span("sampled").start().end();
    lf.flush(Duration::from_secs(5)).unwrap();
    let names: Vec<String> = exporter
        .spans()
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    assert_eq!(names, ["sampled"]);
}

#[test]
fn otel_span_started_in_an_observation_is_its_child() {
    let (provider, rec) = otel();
    let tracer = provider.tracer("app");
    let (lf, exporter) = client();

    let obs = lf.span("llm-step").start();
    {
        let _in = obs.enter();
        let cx = otel::current_otel_context();
        let child = tracer.start_with_context("db-query", &cx);
        // And a Langfuse observation inside that OpenTelemetry span: a grandchild.
        let _otel = opentelemetry::Context::current_with_span(child).attach();
        let _parent = otel::attach_current().unwrap();
        lf.span("after-db").start().end();
    } // ends the OpenTelemetry span
    obs.end();
    lf.flush(Duration::from_secs(5)).unwrap();

    let ours = exporter.spans();
    let step = ours.iter().find(|s| s.name() == "llm-step").unwrap();
    let ended = rec.0.lock().unwrap().clone();
    assert_eq!(ended.len(), 1);
    let db = &ended[0];
    assert_eq!(db.name, "db-query");
    assert_eq!(db.span_context.trace_id().to_string(), step.trace_id());
    assert_eq!(db.parent_span_id.to_string(), step.id());
    assert!(db.parent_span_is_remote);
    assert!(db.span_context.is_sampled());

    let after = ours.iter().find(|s| s.name() == "after-db").unwrap();
    assert_eq!(after.trace_id(), step.trace_id());
    assert_eq!(
        after.parent_id(),
        Some(db.span_context.span_id().to_string())
    );
}

#[test]
fn otel_context_of_an_empty_context_is_none() {
    assert!(otel::otel_context_of(&langfuse_sdk::Context::empty()).is_none());
    // Nothing current: OpenTelemetry's context as it is, without a span.
    assert!(!otel::current_otel_context()
        .span()
        .span_context()
        .is_valid());
}
