//! Siblings of the issue-21 cases on paths the existing tests do not cover (review rev21).
//! Each test states what the README / docs promise and fails on main.

use std::time::Duration;

use langfuse_sdk::{Langfuse, Score};
use langfuse_tests::{CaptureServer, Captured, Reply, ScriptServer};

const T: Duration = Duration::from_secs(10);

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
