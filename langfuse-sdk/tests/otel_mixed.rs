//! One program with all three kinds of spans: `#[observe]`, `#[tracing::instrument]` through the
//! `tracing` bridge, and an OpenTelemetry tracer whose spans go through
//! `otel::LangfuseSpanProcessor`. Nested in each other, everything exported (decoded from the
//! one client's requests) forms one tree, in one trace, with each parent id the enclosing span's.
mod bridge_common;

use std::sync::Once;

use bridge_common::{harness, tree};
use langfuse_sdk::observe;
use langfuse_sdk::otel::{self, LangfuseSpanProcessor};
use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_subscriber::prelude::*;

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::registry()
            .with(langfuse_sdk::bridge::layer())
            .init();
    });
}

/// observation → OpenTelemetry span → `tracing` span → observation.
#[observe(skip(tracer))]
fn answer(tracer: &SdkTracer) {
    // The current observation as the OpenTelemetry parent.
    let cx = otel::current_otel_context();
    let mut llm = tracer.start_with_context("chat gpt-4o-mini", &cx);
    llm.set_attribute(KeyValue::new("gen_ai.system", "openai"));
    let cx = cx.with_span(llm);
    {
        let _otel = cx.clone().attach();
        // The OpenTelemetry span as the parent of what Langfuse starts here.
        let _parent = otel::attach_current().expect("an OpenTelemetry span is current");
        parse_reply();
    }
    cx.span().end();
}

#[tracing::instrument]
fn parse_reply() {
    validate();
}

#[observe]
fn validate() {}

#[test]
fn observe_tracing_and_opentelemetry_spans_form_one_tree() {
    install();
    let h = harness();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(LangfuseSpanProcessor::new(&h.client))
        .build();
    let tracer = provider.tracer("my-llm-client");
    answer(&tracer);
    provider.force_flush().unwrap();

    assert_eq!(
        h.tree(),
        tree(&[
            ("answer", "-"),
            ("chat gpt-4o-mini", "answer"),
            ("parse_reply", "chat gpt-4o-mini"),
            ("validate", "parse_reply"),
        ])
    );
    let spans = h.spans();
    let trace = spans[0].trace_id();
    assert!(spans.iter().all(|s| s.trace_id() == trace), "one trace");
    assert_eq!(spans.len(), 4);
    // The OpenTelemetry span went under its own scope, with its attribute.
    let reqs = h.exporter.requests();
    let scope_of_chat = reqs
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .find(|ss| ss.spans.iter().any(|s| s.name == "chat gpt-4o-mini"))
        .and_then(|ss| ss.scope.as_ref())
        .map(|s| s.name.clone());
    assert_eq!(scope_of_chat.as_deref(), Some("my-llm-client"));
    let chat = h.span("chat gpt-4o-mini");
    assert_eq!(chat.attr_str("gen_ai.system"), Some("openai"));
    let s = h.client.stats();
    assert_eq!((s.enqueued, s.exported, s.dropped, s.failed), (4, 4, 0, 0));
}
