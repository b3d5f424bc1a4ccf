//! Siblings of the issue-21 cases on paths the existing tests do not cover (review rev21).
//! Each test states what the README / docs promise and fails on main.

use std::collections::HashMap;
use std::time::Duration;

use langfuse_sdk::{Langfuse, LangfuseBuilder, Score};
use langfuse_tests::{CaptureServer, Captured, Reply, ScriptServer};

const T: Duration = Duration::from_secs(10);

fn from_vars(vars: &[(&str, String)]) -> (LangfuseBuilder, Vec<String>) {
    let m: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    LangfuseBuilder::from_lookup(move |k| m.get(k).cloned())
}

/// docs/COLLECTOR.md: "Scores are not OTLP: they still go to LANGFUSE_BASE_URL's ingestion API,
/// with the keys." The collector's headers (here its own `Authorization`, from the
/// traces-only variable) are meant for the collector: they must not replace the keys on the
/// score batch, nor travel to the Langfuse server at all.
#[test]
fn collector_headers_do_not_replace_the_keys_on_score_batches() {
    let collector = ScriptServer::start(|_| Reply::new(200, "application/x-protobuf", Vec::new()));
    let langfuse = ScriptServer::start(|r: &Captured| {
        let ids: Vec<_> = r.json()["batch"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|e| serde_json::json!({"id": e["id"], "status": 201}))
            .collect();
        Reply::new(
            207,
            "application/json",
            serde_json::json!({"successes": ids, "errors": []}).to_string(),
        )
    });
    let (b, warnings) = from_vars(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", collector.url()),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "Authorization=Bearer%20collector-token".into(),
        ),
        ("LANGFUSE_BASE_URL", langfuse.url()),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-col".into()),
        ("LANGFUSE_SECRET_KEY", "sk-lf-col".into()),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let lf = b.build().expect("valid configuration");
    lf.span("through-the-collector").start().end();
    lf.score(Score::numeric("quality", 1.0).session_id("sess-col"));
    let _ = lf.shutdown(T);

    let traces = collector.requests();
    assert_eq!(traces.len(), 1, "{traces:?}");
    assert_eq!(
        traces[0].header("authorization"),
        Some("Bearer collector-token")
    );
    let scores = langfuse.requests();
    assert_eq!(scores.len(), 1, "{scores:?}");
    assert_eq!(scores[0].path, "/api/public/ingestion");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("pk-lf-col:sk-lf-col");
    assert_eq!(
        scores[0].header("authorization"),
        Some(format!("Basic {basic}").as_str()),
        "the score batch must carry the Langfuse keys, not the collector's credentials"
    );
}

/// README "Configuration": a base URL with a query or fragment fails `build()` naming the
/// variable "rather than send your traces anywhere else". The OTLP base endpoint is a base URL
/// too (`/v1/traces` is appended): with a fragment the path is lost (the request goes to
/// `/otel`), with a query the path lands inside the query.
#[test]
fn otlp_base_endpoint_with_a_query_or_fragment_fails_build() {
    let server = ScriptServer::start(|_| Reply::new(200, "application/x-protobuf", Vec::new()));
    for suffix in ["/otel#frag", "/otel?tenant=a"] {
        let (b, _) = from_vars(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}{suffix}", server.url()),
        )]);
        match b.build() {
            Err(e) => assert_eq!(e.setting(), Some("OTEL_EXPORTER_OTLP_ENDPOINT"), "{e}"),
            Ok(lf) => {
                lf.span("misrouted").start().end();
                let _ = lf.shutdown(T);
                let paths: Vec<_> = server.requests().iter().map(|r| r.path.clone()).collect();
                panic!("{suffix}: build() accepted it; the spans went to {paths:?}");
            }
        }
    }
}

/// README "Delivery": the queue is bounded by LANGFUSE_MAX_QUEUE_BYTES of estimated memory;
/// beyond it new items are dropped and counted. A score's estimate ignores its comment and
/// metadata, so large scores pile up in memory past the bound while the server is slow.
#[test]
fn queue_memory_bound_counts_the_size_of_scores() {
    let server = CaptureServer::start();
    server.hold();
    let lf = Langfuse::builder()
        .public_key("pk-lf-life")
        .secret_key("sk-lf-life")
        .base_url(server.url())
        .flush_at(1)
        .max_queue_bytes(64 * 1024)
        .build()
        .unwrap();
    lf.score(Score::numeric("first", 1.0).session_id("sess-mem"));
    // The server holds the exporter's first request: the exporter waits for it.
    assert!(server.wait_seen(1, T));
    // Each carries a 4 KB comment (under the 5,000-character cap) and 12 KB of metadata
    // (under the 100 KB capture limit): about four fit in 64 KiB.
    let comment = "c".repeat(4 * 1024);
    let blob = "x".repeat(12 * 1024);
    for i in 0..20 {
        lf.score(
            Score::numeric(format!("big{i}"), 1.0)
                .session_id("sess-mem")
                .comment(comment.clone())
                .metadata(&serde_json::json!({ "blob": blob })),
        );
    }
    let st = lf.stats();
    server.release();
    assert_eq!(st.enqueued + st.dropped, 21, "{st:?}");
    assert!(
        (2..=10).contains(&st.enqueued),
        "320 KB of scores held against a 64 KiB bound: {st:?}"
    );
}

/// docs/COLLECTOR.md: with `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, spans go to that endpoint
/// (the keys become optional). With `LANGFUSE_TRANSPORT=ingestion` as well, the endpoint is
/// ignored without a word and the spans go to `LANGFUSE_BASE_URL` instead — by default
/// https://cloud.langfuse.com, keyless. Either `build()` refuses the combination, or the spans go
/// to the collector.
#[test]
fn a_traces_endpoint_is_not_silently_ignored_on_the_ingestion_transport() {
    let collector = ScriptServer::start(|_| Reply::new(200, "application/x-protobuf", Vec::new()));
    let elsewhere = ScriptServer::start(|_| {
        Reply::new(207, "application/json", r#"{"successes":[],"errors":[]}"#)
    });
    let (b, _) = from_vars(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", collector.url()),
        ),
        ("LANGFUSE_TRANSPORT", "ingestion".into()),
        // Stands in for the default https://cloud.langfuse.com.
        ("LANGFUSE_BASE_URL", elsewhere.url()),
    ]);
    let Ok(lf) = b.build() else {
        return; // refused: fine
    };
    lf.span("meant-for-the-collector").start().end();
    let _ = lf.shutdown(T);
    let went_elsewhere: Vec<_> = elsewhere
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        went_elsewhere.is_empty(),
        "spans meant for the collector went to LANGFUSE_BASE_URL: {went_elsewhere:?}"
    );
    assert_eq!(collector.requests().len(), 1);
}

/// README "Servers without the OTel endpoint": the ingestion transport has "the same batching,
/// size guard, retries and counters as OTLP"; README "Values": an observation over the limit is
/// cut "and still sent". The guard measures the OTLP encoding only: turned into ingestion JSON
/// (every control character escaped to six bytes, and a root's input sent again in its
/// `trace-create`) an observation the guard let through is over the server's ~4.5 MB body limit
/// (CONTRACT.md) and is lost, counted failed, where OTLP delivers it.
#[test]
fn the_size_guard_holds_on_the_ingestion_transport_as_on_otlp() {
    const LIMIT: usize = 4_500_000;
    let server = ScriptServer::start(|r: &Captured| {
        if r.body.len() > LIMIT {
            return Reply::new(
                413,
                "text/html",
                "<html>413 Request Entity Too Large</html>",
            );
        }
        if r.path == "/api/public/ingestion" {
            let ok: Vec<_> = r.json()["batch"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|e| serde_json::json!({"id": e["id"], "status": 201}))
                .collect();
            let body = serde_json::json!({"successes": ok, "errors": []}).to_string();
            return Reply::new(207, "application/json", body);
        }
        Reply::new(200, "application/x-protobuf", Vec::new())
    });
    // 500 KB of text (a binary blob read as text, terminal output with escapes): half the limit.
    let input = "\u{1}".repeat(500_000);
    let mut outcome = Vec::new();
    for transport in [
        langfuse_sdk::Transport::Otlp,
        langfuse_sdk::Transport::Ingestion,
    ] {
        let lf = Langfuse::builder()
            .public_key("pk-lf-size")
            .secret_key("sk-lf-size")
            .base_url(server.url())
            .max_retries(0)
            .transport(transport)
            .build()
            .unwrap();
        lf.span("blob-root").input(&input).start().end();
        let _ = lf.flush(T);
        let st = lf.stats();
        outcome.push((transport, st.exported, st.failed));
    }
    let sizes: Vec<_> = server
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.body.len(), r.status))
        .collect();
    assert_eq!(
        outcome,
        [
            (langfuse_sdk::Transport::Otlp, 1, 0),
            (langfuse_sdk::Transport::Ingestion, 1, 0)
        ],
        "requests (path, bytes, status): {sizes:?}"
    );
}

/// `OTEL_EXPORTER_OTLP_COMPRESSION=zstd` (a value this SDK cannot honour) fails `build()` naming
/// the variable (collector_env.rs). `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` — the same kind of
/// mistake, and the OTel default of many collectors' docs (port 4317) — is ignored without a
/// word: the SDK then posts HTTP/1.1 protobuf to a gRPC port and every span fails.
#[test]
fn an_otlp_protocol_this_sdk_does_not_speak_fails_build_naming_the_variable() {
    for (name, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
    ] {
        let (b, warnings) = from_vars(&[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://otel-collector:4317".into(),
            ),
            (name, value.into()),
        ]);
        let said = warnings.iter().any(|w| w.contains(name));
        match b.build() {
            Err(e) => assert_eq!(e.setting(), Some(name), "{e}"),
            Ok(_) => assert!(said, "{name}={value}: accepted without a word"),
        }
    }
}
