//! A request refused as too large (HTTP 413) is split in halves and resent, down to single
//! observations, before anything is counted failed (issue 21).

use std::collections::HashSet;
use std::time::Duration;

use langfuse_sdk::{Langfuse, Score};
use langfuse_tests::logs::{logs, logs_now};
use langfuse_tests::{Captured, Reply, ScriptServer};

const T: Duration = Duration::from_secs(20);
const TRACES: &str = "/api/public/otel/v1/traces";

fn client(server: &ScriptServer, flush_at: usize) -> Langfuse {
    logs();
    Langfuse::builder()
        .public_key("pk-lf-split")
        .secret_key("sk-lf-split")
        .base_url(server.url())
        .max_retries(0)
        .flush_at(flush_at)
        .build()
        .unwrap()
}

fn span_count(r: &Captured) -> usize {
    r.otlp()
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Answers 413 to an OTLP request of more than `max` spans (or holding a span named `huge`).
fn limited(max: usize) -> ScriptServer {
    ScriptServer::start(move |r: &Captured| {
        let huge = r.path == TRACES
            && r.otlp()
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| &ss.spans)
                .any(|s| s.name == "huge");
        if r.path == TRACES && (span_count(r) > max || huge) {
            Reply::new(
                413,
                "text/html",
                "<html>413 Request Entity Too Large</html>",
            )
        } else {
            Reply::new(200, "application/x-protobuf", Vec::new())
        }
    })
}

/// The names of the spans delivered (answered 200), checking none arrived twice.
fn delivered(server: &ScriptServer) -> HashSet<String> {
    let spans = server.spans_answered(TRACES, 200);
    let ids: HashSet<String> = spans.iter().map(|s| s.id()).collect();
    assert_eq!(ids.len(), spans.len(), "no span is delivered twice");
    spans.iter().map(|s| s.name().to_string()).collect()
}

#[test]
fn a_413_splits_the_request_until_every_part_fits() {
    let server = limited(3);
    let lf = client(&server, 20);
    for i in 0..20 {
        lf.span(format!("s{i}")).start().end();
    }
    lf.flush(T).unwrap();
    let st = lf.stats();
    assert_eq!((st.exported, st.failed), (20, 0));
    let expected: HashSet<String> = (0..20).map(|i| format!("s{i}")).collect();
    assert_eq!(delivered(&server), expected);
    let reqs = server.requests();
    assert_eq!(span_count(&reqs[0]), 20, "first sent whole");
    assert!(reqs.iter().filter(|r| r.status == 413).count() >= 1);
    // Every request that got through held at most 3 spans.
    assert!(reqs
        .iter()
        .filter(|r| r.status == 200)
        .all(|r| span_count(r) <= 3));
    let logs = logs_now();
    assert!(logs.contains("resent in smaller parts"), "{logs}");
}

#[test]
fn an_observation_too_large_even_alone_is_counted_failed_with_a_warning() {
    let server = limited(100);
    let lf = client(&server, 10);
    for i in 0..7 {
        lf.span(format!("ok{i}")).start().end();
    }
    lf.span("huge").start().end();
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed(), "{err}");
    assert_eq!(err.failed_count(), Some(1));
    let st = lf.stats();
    assert_eq!((st.exported, st.failed), (7, 1));
    let expected: HashSet<String> = (0..7).map(|i| format!("ok{i}")).collect();
    assert_eq!(delivered(&server), expected);
    let logs = logs_now();
    assert!(logs.contains("too large even alone"), "{logs}");
}

#[test]
fn a_server_refusing_everything_as_too_large_gets_a_bounded_number_of_requests() {
    let server = limited(0);
    let lf = client(&server, 16);
    for i in 0..16 {
        lf.span(format!("z{i}")).start().end();
    }
    let err = lf.flush(T).unwrap_err();
    assert_eq!(err.failed_count(), Some(16));
    assert_eq!((lf.stats().exported, lf.stats().failed), (0, 16));
    // Halving down to single spans: 1 + 2 + 4 + 8 + 16 requests, none twice for a part.
    assert_eq!(server.requests().len(), 31);
}

#[test]
fn a_413_on_a_score_batch_splits_it() {
    let server = ScriptServer::start(|r: &Captured| {
        let n = r.json()["batch"].as_array().map_or(0, Vec::len);
        if n > 2 {
            Reply::new(413, "text/plain", "too large")
        } else {
            Reply::new(207, "application/json", r#"{"successes":[],"errors":[]}"#)
        }
    });
    let lf = client(&server, 10);
    for i in 0..7 {
        lf.score(Score::numeric(format!("q{i}"), 1.0).session_id("sess-split"));
    }
    lf.flush(T).unwrap();
    assert_eq!((lf.stats().exported, lf.stats().failed), (7, 0));
    let names: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.status == 207)
        .flat_map(|r| r.json()["batch"].as_array().cloned().unwrap_or_default())
        .map(|e| e["body"]["name"].as_str().unwrap_or_default().to_string())
        .collect();
    let unique: HashSet<&String> = names.iter().collect();
    assert_eq!((names.len(), unique.len()), (7, 7), "{names:?}");
}
