//! Issue 20, part 2: an application's own OpenTelemetry spans sent through the client's exporter
//! (`otel::LangfuseSpanProcessor`, `otel::LangfuseSpanExporter`), checked on the decoded OTLP
//! requests: which spans go (the default filter, a custom one), what they keep (ids, parents,
//! times, status, events, typed attributes, their own instrumentation scope, the client's
//! resource), what is added (trace attributes in scope, environment, the app-root mark), the
//! size limit, and the counting in `Stats`.
#![cfg(all(feature = "opentelemetry", feature = "testing"))]

use std::time::Duration;

use langfuse_sdk::otel::{LangfuseSpanExporter, LangfuseSpanProcessor};
use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::{Langfuse, TraceAttributes};
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, Tracer, TracerProvider as _,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value as Any, KeyValue as OtlpKv};
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span as OtlpSpan};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};

const FLUSH: Duration = Duration::from_secs(10);

fn client(b: langfuse_sdk::LangfuseBuilder) -> (Langfuse, InMemoryExporter) {
    let exporter = InMemoryExporter::new();
    let lf = b
        .public_key("pk-lf-otel")
        .in_memory_exporter(exporter.clone())
        .build()
        .unwrap();
    (lf, exporter)
}

/// Every span sent, with the name of the instrumentation scope it was sent under.
fn sent(reqs: &[ExportTraceServiceRequest]) -> Vec<(String, OtlpSpan)> {
    reqs.iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| {
            let scope = ss
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            ss.spans.iter().map(move |s| (scope.clone(), s.clone()))
        })
        .collect()
}

fn named<'a>(spans: &'a [(String, OtlpSpan)], name: &str) -> &'a (String, OtlpSpan) {
    let mut hits = spans.iter().filter(|(_, s)| s.name == name);
    let hit = hits
        .next()
        .unwrap_or_else(|| panic!("no span {name:?} sent"));
    assert!(hits.next().is_none(), "span {name:?} sent twice");
    hit
}

fn attr<'a>(span: &'a OtlpSpan, key: &str) -> Option<&'a Any> {
    let kv: &OtlpKv = span.attributes.iter().rev().find(|kv| kv.key == key)?;
    kv.value.as_ref()?.value.as_ref()
}

fn attr_str<'a>(span: &'a OtlpSpan, key: &str) -> Option<&'a str> {
    match attr(span, key) {
        Some(Any::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn nanos(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

#[test]
fn genai_spans_go_with_their_ids_and_attributes_and_plain_ones_stay_out() {
    let (lf, exporter) = client(Langfuse::builder().environment("staging"));
    let provider = SdkTracerProvider::builder()
        .with_span_processor(LangfuseSpanProcessor::new(&lf))
        .build();
    let app = provider.tracer("my-app");
    let known = provider.tracer_with_scope(
        InstrumentationScope::builder("openinference.instrumentation.foo")
            .with_version("1.2.3")
            .build(),
    );

    let handler = app.start("GET /answer");
    let handler_cx = opentelemetry::Context::current_with_span(handler);
    let chat_ids = {
        let _attrs = langfuse_sdk::propagate_attributes(
            TraceAttributes::new()
                .user_id("user-1")
                .session_id("session-1")
                .tags(["otel"]),
        );
        let mut chat = app
            .span_builder("chat gpt-4o-mini")
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("gen_ai.system", "openai"),
                KeyValue::new("gen_ai.request.model", "gpt-4o-mini"),
                KeyValue::new("gen_ai.usage.input_tokens", 12i64),
                KeyValue::new("gen_ai.request.temperature", 0.5),
            ])
            .start_with_context(&app, &handler_cx);
        chat.add_event(
            "gen_ai.content.prompt",
            vec![KeyValue::new("gen_ai.prompt", "Hi")],
        );
        chat.set_status(Status::error("model overloaded"));
        let ids = chat.span_context().clone();
        chat.end();
        ids
    };
    // A plain span (no gen_ai attribute, unknown scope): filtered out.
    app.start_with_context("SELECT documents", &handler_cx)
        .end();
    // A known LLM instrumentation's span, even without gen_ai attributes.
    let mut retriever = known.start("retrieve");
    retriever.set_attribute(KeyValue::new("retrieval.documents", 3i64));
    let retriever_id = retriever.span_context().span_id();
    retriever.end();
    handler_cx.span().end();

    provider
        .force_flush()
        .expect("force_flush is the client's flush");
    lf.flush(FLUSH).unwrap();

    let spans = sent(&exporter.requests());
    let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
    assert_eq!(names.len(), 2, "only the two LLM spans: {names:?}");
    let (scope, chat) = named(&spans, "chat gpt-4o-mini");
    assert_eq!(scope, "my-app");
    assert_eq!(chat.trace_id, chat_ids.trace_id().to_bytes());
    assert_eq!(chat.span_id, chat_ids.span_id().to_bytes());
    // Its parent (the handler) was not sent; the parent id is kept as it was.
    let handler_id = handler_cx.span().span_context().span_id();
    assert_eq!(chat.parent_span_id, handler_id.to_bytes());
    assert_eq!(chat.kind, 3, "SPAN_KIND_CLIENT");
    assert!(chat.start_time_unix_nano > 0 && chat.end_time_unix_nano >= chat.start_time_unix_nano);
    assert!(chat.end_time_unix_nano <= nanos(std::time::SystemTime::now()));
    let status = chat.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "model overloaded");
    assert_eq!(attr_str(chat, "gen_ai.system"), Some("openai"));
    assert_eq!(attr_str(chat, "gen_ai.request.model"), Some("gpt-4o-mini"));
    assert_eq!(
        attr(chat, "gen_ai.usage.input_tokens"),
        Some(&Any::IntValue(12))
    );
    assert_eq!(
        attr(chat, "gen_ai.request.temperature"),
        Some(&Any::DoubleValue(0.5))
    );
    assert_eq!(chat.events.len(), 1);
    assert_eq!(chat.events[0].name, "gen_ai.content.prompt");
    // Trace attributes in scope when it started, and the client's environment.
    assert_eq!(attr_str(chat, "user.id"), Some("user-1"));
    assert_eq!(attr_str(chat, "session.id"), Some("session-1"));
    match attr(chat, "langfuse.trace.tags") {
        Some(Any::ArrayValue(a)) => assert_eq!(
            a.values.iter().map(|v| v.value.clone()).collect::<Vec<_>>(),
            vec![Some(Any::StringValue("otel".into()))]
        ),
        other => panic!("tags: {other:?}"),
    }
    assert_eq!(attr_str(chat, "langfuse.environment"), Some("staging"));
    assert_eq!(
        attr(chat, "langfuse.internal.is_app_root"),
        None,
        "it has a parent"
    );

    let (scope, retrieve) = named(&spans, "retrieve");
    assert_eq!(scope, "openinference.instrumentation.foo");
    assert_eq!(retrieve.span_id, retriever_id.to_bytes());
    assert!(retrieve.parent_span_id.is_empty());
    assert_eq!(
        attr(retrieve, "retrieval.documents"),
        Some(&Any::IntValue(3))
    );
    assert_eq!(
        attr(retrieve, "langfuse.internal.is_app_root"),
        Some(&Any::BoolValue(true))
    );
    assert_eq!(
        attr(retrieve, "user.id"),
        None,
        "started outside the propagated scope"
    );
    let req = exporter
        .requests()
        .into_iter()
        .find(|r| {
            sent(std::slice::from_ref(r))
                .iter()
                .any(|(_, s)| s.name == "retrieve")
        })
        .unwrap();
    let ss = &req.resource_spans[0].scope_spans;
    assert_eq!(ss.len(), 1);
    assert_eq!(ss[0].scope.as_ref().unwrap().version, "1.2.3");

    // The same resource as the client's own observations.
    lf.span("own").start().end();
    lf.flush(FLUSH).unwrap();
    let reqs = exporter.requests();
    let resource_of = |name: &str| {
        reqs.iter()
            .find(|r| {
                sent(std::slice::from_ref(*r))
                    .iter()
                    .any(|(_, s)| s.name == name)
            })
            .and_then(|r| r.resource_spans[0].resource.clone())
            .unwrap()
    };
    assert_eq!(resource_of("own"), resource_of("chat gpt-4o-mini"));

    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.dropped, s.failed), (3, 3, 0, 0));
}

#[test]
fn a_custom_filter_decides_which_spans_go() {
    let (lf, exporter) = client(Langfuse::builder());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(
            LangfuseSpanProcessor::builder(&lf)
                .filter(|span| span.name.starts_with("db."))
                .build(),
        )
        .build();
    let tracer = provider.tracer("app");
    tracer.start("db.query").end();
    let mut genai = tracer.start("chat");
    genai.set_attribute(KeyValue::new("gen_ai.system", "openai"));
    genai.end();
    provider.force_flush().unwrap();

    let spans = sent(&exporter.requests());
    let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
    assert_eq!(names, ["db.query"]);
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.dropped, s.failed), (1, 1, 0, 0));
}

#[test]
fn a_span_over_the_size_limit_is_cut_with_a_marker() {
    let (lf, exporter) = client(Langfuse::builder().max_observation_bytes(4096));
    let provider = SdkTracerProvider::builder()
        .with_span_processor(LangfuseSpanProcessor::new(&lf))
        .build();
    let tracer = provider.tracer("app");
    let mut span = tracer.start("chat");
    span.set_attribute(KeyValue::new("gen_ai.prompt", "p".repeat(20_000)));
    span.set_attribute(KeyValue::new("gen_ai.system", "openai"));
    span.end();
    provider.force_flush().unwrap();

    let spans = sent(&exporter.requests());
    let (_, chat) = named(&spans, "chat");
    let prompt = attr_str(chat, "gen_ai.prompt").unwrap();
    assert!(prompt.starts_with("pppp"));
    assert!(
        prompt.ends_with("…[truncated: 20000 bytes, limit 4096]"),
        "{}",
        &prompt[prompt.len() - 60..]
    );
    assert_eq!(attr_str(chat, "gen_ai.system"), Some("openai"));
    assert!(prost::Message::encoded_len(chat) <= 4096);
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed), (1, 1, 0));
}

#[test]
fn shutting_the_processor_down_leaves_the_client_running() {
    let (lf, exporter) = client(Langfuse::builder());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(LangfuseSpanProcessor::new(&lf))
        .build();
    let tracer = provider.tracer("ai");
    tracer.start("generate").end();
    provider
        .shutdown()
        .expect("the processor's shutdown is a flush");
    assert_eq!(sent(&exporter.requests()).len(), 1);

    // The client still records and delivers.
    lf.span("after").start().end();
    lf.flush(FLUSH).unwrap();
    assert!(sent(&exporter.requests())
        .iter()
        .any(|(_, s)| s.name == "after"));

    // Once the client shut down, spans are dropped and counted, and the processor's shutdown
    // has nothing left to deliver.
    lf.shutdown(FLUSH).unwrap();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(LangfuseSpanProcessor::new(&lf))
        .build();
    provider.tracer("ai").start("late").end();
    provider.shutdown().unwrap();
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.dropped, s.failed), (2, 2, 1, 0));
}

#[test]
fn the_exporter_behind_a_batch_processor_sends_through_the_client() {
    let (lf, exporter) = client(Langfuse::builder());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(LangfuseSpanExporter::new(&lf)).build())
        .build();
    let tracer = provider.tracer("app");
    let mut chat = tracer.start("chat");
    chat.set_attribute(KeyValue::new("gen_ai.operation.name", "chat"));
    let id = chat.span_context().span_id();
    chat.end();
    tracer.start("plain").end();
    // The batch processor's flush exports its batch (into the client's queue), without
    // flushing its exporter: the client's flush delivers.
    provider.force_flush().unwrap();
    lf.flush(FLUSH).unwrap();

    let spans = sent(&exporter.requests());
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].1.span_id, id.to_bytes());
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported), (1, 1));

    // Its shutdown shuts the exporter down: a flush of the client, which keeps running.
    let mut late = tracer.start("late");
    late.set_attribute(KeyValue::new("gen_ai.operation.name", "chat"));
    late.end();
    provider.shutdown().unwrap();
    assert!(sent(&exporter.requests())
        .iter()
        .any(|(_, s)| s.name == "late"));
    lf.span("after").start().end();
    lf.flush(FLUSH).unwrap();
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.dropped, s.failed), (3, 3, 0, 0));
}

#[test]
fn langfuse_baggage_of_the_parent_context_lands_on_the_span_under_what_is_in_scope() {
    use opentelemetry::baggage::BaggageExt as _;
    let (lf, exporter) = client(Langfuse::builder());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(LangfuseSpanProcessor::new(&lf))
        .build();
    let tracer = provider.tracer("ai");
    // What a BaggagePropagator reads from an incoming request's `baggage` header.
    let incoming = opentelemetry::Context::new().with_baggage([
        KeyValue::new("langfuse_user_id", "user-from-baggage"),
        KeyValue::new("langfuse_session_id", "session-from-baggage"),
        KeyValue::new("langfuse_metadata_tenant", "acme"),
        KeyValue::new("other", "ignored"),
    ]);
    {
        let _attrs =
            langfuse_sdk::propagate_attributes(TraceAttributes::new().user_id("user-in-scope"));
        tracer.start_with_context("generate", &incoming).end();
    }
    provider.force_flush().unwrap();

    let spans = sent(&exporter.requests());
    let (_, span) = named(&spans, "generate");
    assert_eq!(attr_str(span, "user.id"), Some("user-in-scope"));
    assert_eq!(attr_str(span, "session.id"), Some("session-from-baggage"));
    assert_eq!(
        attr_str(span, "langfuse.trace.metadata.tenant"),
        Some("\"acme\"")
    );
    assert_eq!(attr(span, "other"), None);
}

#[test]
fn many_scopes_each_keep_their_own_and_all_arrive() {
    // Sent by count (flush_at), and by size: a scope's second span would take its request
    // over max_batch_bytes, which sends everything waiting first.
    for builder in [
        Langfuse::builder().flush_at(3),
        Langfuse::builder().flush_at(1000).max_batch_bytes(1024),
    ] {
        let (lf, exporter) = client(builder);
        let provider = SdkTracerProvider::builder()
            .with_span_processor(LangfuseSpanProcessor::new(&lf))
            .build();
        for i in 0..40 {
            let mut span = provider
                .tracer(format!("scope-{}", i % 20))
                .start(format!("s{i}"));
            span.set_attribute(KeyValue::new("gen_ai.prompt", "p".repeat(600)));
            span.end();
        }
        provider.force_flush().unwrap();

        let spans = sent(&exporter.requests());
        assert_eq!(spans.len(), 40);
        for (scope, span) in &spans {
            let i: usize = span.name[1..].parse().unwrap();
            assert_eq!(scope, &format!("scope-{}", i % 20), "{}", span.name);
        }
        let s = lf.stats();
        assert_eq!(
            (s.enqueued, s.exported, s.dropped, s.failed),
            (40, 40, 0, 0)
        );
    }
}
