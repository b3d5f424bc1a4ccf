//! The application's own OpenTelemetry spans (`otel::LangfuseSpanProcessor`) over real HTTP:
//! the same delivery as the client's observations — gzip, retries, a 413 split (each part still
//! under the span's own instrumentation scope) — and, on the ingestion API, counted failed with
//! one warning. Every request is decoded as the server got it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use langfuse_sdk::otel::LangfuseSpanProcessor;
use langfuse_sdk::{Langfuse, LangfuseBuilder, Transport};
use langfuse_tests::logs::{logs, logs_now};
use langfuse_tests::{Captured, Reply, ScriptServer};
use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;

const T: Duration = Duration::from_secs(20);
const TRACES: &str = "/api/public/otel/v1/traces";
const INGESTION: &str = "/api/public/ingestion";

fn client(server: &ScriptServer, b: LangfuseBuilder) -> Langfuse {
    logs();
    b.public_key("pk-lf-otel")
        .secret_key("sk-lf-otel")
        .base_url(server.url())
        .flush_at(1000)
        .build()
        .unwrap()
}

fn provider(lf: &Langfuse) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_span_processor(LangfuseSpanProcessor::new(lf))
        .build()
}

fn chat(provider: &SdkTracerProvider, name: &str) {
    let mut span = provider.tracer("my-llm").start(name.to_string());
    span.set_attribute(KeyValue::new("gen_ai.system", "openai"));
    span.end();
}

/// (scope name, span name) of every span in the OTLP requests answered `status`.
fn scoped(requests: &[Captured], status: u16) -> Vec<(String, String)> {
    requests
        .iter()
        .filter(|r| r.path == TRACES && r.status == status)
        .flat_map(|r| r.otlp().resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| {
            let scope = ss.scope.map(|s| s.name).unwrap_or_default();
            ss.spans.into_iter().map(move |s| (scope.clone(), s.name))
        })
        .collect()
}

#[test]
fn foreign_spans_are_gzipped_retried_and_counted() {
    // The first request is refused with a 503; the rest are accepted.
    let seen = Arc::new(AtomicUsize::new(0));
    let first = seen.clone();
    let server = ScriptServer::start(move |r: &Captured| {
        if r.path == TRACES && first.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::new(503, "text/plain", "busy")
        } else {
            Reply::new(200, "application/x-protobuf", Vec::new())
        }
    });
    let lf = client(&server, Langfuse::builder());
    let provider = provider(&lf);
    chat(&provider, "chat-1");
    chat(&provider, "chat-2");
    provider.force_flush().expect("delivered after a retry");
    lf.span("own").start().end();
    lf.flush(T).unwrap();

    let reqs = server.requests();
    let traces: Vec<&Captured> = reqs.iter().filter(|r| r.path == TRACES).collect();
    assert_eq!(
        traces.len(),
        3,
        "the refused request, its retry, the own span's"
    );
    for r in &traces {
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert_ne!(r.raw_body, r.body, "sent compressed");
    }
    assert_eq!(traces[0].status, 503);
    assert_eq!(
        traces[0].body, traces[1].body,
        "the retry resends the same request"
    );
    let mut delivered = scoped(&reqs, 200);
    delivered.sort();
    assert_eq!(
        delivered,
        [
            ("langfuse-sdk".to_string(), "own".to_string()),
            ("my-llm".to_string(), "chat-1".to_string()),
            ("my-llm".to_string(), "chat-2".to_string()),
        ]
    );
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.dropped, s.failed), (3, 3, 0, 0));
    assert_eq!(s.retried, 1);
}

#[test]
fn a_foreign_request_refused_as_too_large_is_split_under_its_own_scope() {
    // More than one span in a request is "too large".
    let server = ScriptServer::start(|r: &Captured| {
        let spans: usize = r
            .otlp()
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum();
        if r.path == TRACES && spans > 1 {
            Reply::new(
                413,
                "text/html",
                "<html>413 Request Entity Too Large</html>",
            )
        } else {
            Reply::new(200, "application/x-protobuf", Vec::new())
        }
    });
    let lf = client(&server, Langfuse::builder().max_retries(0));
    let provider = provider(&lf);
    for i in 0..3 {
        chat(&provider, &format!("chat-{i}"));
    }
    provider.force_flush().unwrap();

    let reqs = server.requests();
    assert_eq!(
        reqs.iter().filter(|r| r.status == 413).count(),
        2,
        "3 spans, then 2"
    );
    let mut delivered = scoped(&reqs, 200);
    delivered.sort();
    let want: Vec<(String, String)> = (0..3)
        .map(|i| ("my-llm".to_string(), format!("chat-{i}")))
        .collect();
    assert_eq!(delivered, want);
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed), (3, 3, 0));
}

#[test]
fn on_the_ingestion_api_foreign_spans_are_counted_failed_with_a_warning() {
    let server = ScriptServer::start(|c: &Captured| {
        if c.path != INGESTION {
            return Reply::new(404, "text/plain", "Not Found");
        }
        Reply::ingestion_accepting(c)
    });
    let lf = client(&server, Langfuse::builder().transport(Transport::Ingestion));
    let provider = provider(&lf);
    lf.span("own").start().end();
    chat(&provider, "chat-on-ingestion");
    chat(&provider, "chat-on-ingestion-2");
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed(), "{err}");

    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.path == INGESTION));
    let names: Vec<String> = reqs
        .iter()
        .flat_map(|r| r.json()["batch"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["body"]["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.iter().any(|n| n == "own"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("chat")), "{names:?}");
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.dropped, s.failed), (3, 1, 0, 2));
    let warned = logs_now()
        .matches("OpenTelemetry spans of other instrumentations need Langfuse's OTel endpoint")
        .count();
    assert_eq!(warned, 1, "one warning for both spans");
}

#[test]
fn a_foreign_request_that_meets_the_404_of_auto_is_resent_through_ingestion() {
    let server = ScriptServer::start(|c: &Captured| {
        if c.path != INGESTION {
            return Reply::new(404, "text/plain", "Not Found");
        }
        Reply::ingestion_accepting(c)
    });
    // `auto`, the default: the OTel route's 404 switches to the ingestion API for good.
    let lf = client(&server, Langfuse::builder());
    let provider = provider(&lf);
    chat(&provider, "chat-a");
    chat(&provider, "chat-b");
    provider.force_flush().expect("resent, not lost");

    let reqs = server.requests();
    assert_eq!(reqs[0].path, TRACES);
    assert_eq!(reqs[0].status, 404);
    let events: Vec<serde_json::Value> = reqs
        .iter()
        .filter(|r| r.path == INGESTION)
        .flat_map(|r| r.json()["batch"].as_array().cloned().unwrap_or_default())
        .collect();
    let mut created: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "span-create")
        .filter_map(|e| e["body"]["name"].as_str())
        .collect();
    created.sort();
    assert_eq!(created, ["chat-a", "chat-b"]);
    let s = lf.stats();
    assert_eq!((s.enqueued, s.exported, s.failed), (2, 2, 0));
}
