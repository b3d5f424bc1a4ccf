//! A delivery is counted only when the server's answer says it arrived: redirects that would
//! drop the body, 2xx pages that are not OTLP or Langfuse answers, and OTLP partial successes
//! are counted failed (issue 21).

use std::collections::HashSet;
use std::time::Duration;

use langfuse_sdk::{Langfuse, Score};
use langfuse_tests::logs::{logs, logs_now};
use langfuse_tests::{Captured, Reply, ScriptServer};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;

const T: Duration = Duration::from_secs(20);
const TRACES: &str = "/api/public/otel/v1/traces";
const PROTOBUF: &str = "application/x-protobuf";

/// A real Langfuse v4.16 server's answer to an OTLP request (recorded; a queue job, not the
/// empty object its API spec promises).
const LANGFUSE_QUEUE_JOB: &str = r#"{"name":"otel-ingestion-job","data":{"id":"4706cee5-a849-4080-84fa-6a5acefe2ebc","timestamp":"2026-12-04T19:44:37.815Z","name":"otel-ingestion-job","payload":{"data":{"fileKey":"events/otel/lab-project/2026/12/04/19/44/6544adea-865f-492c-ac81-37f541493401.json","publicKey":"pk-lf-lab-public"},"authCheck":{"validKey":true,"scope":{"projectId":"lab-project","accessLevel":"project","orgId":"lab-org"}},"sdkName":"python","sdkVersion":"5.0.4","ingestionVersion":"4"}},"opts":{"attempts":6,"removeOnComplete":true,"removeOnFail":100000,"backoff":{"type":"exponential","delay":5000},"traceparent":"00-bbe1b02df56f5b92bf5b7be3b7017bfa-f4c614e2c5d25f91-01","baggage":"langfuse.header.x-langfuse-sdk-name=python,langfuse.header.x-langfuse-sdk-version=5.0.4,langfuse.header.x-langfuse-public-key=pk-lf-lab-public,langfuse.header.x-langfuse-ingestion-version=4,langfuse.clickhouse.surface=publicapi,langfuse.clickhouse.route=POST%20%2Fapi%2Fpublic%2Fotel%2Fv1%2Ftraces,langfuse.project.id=lab-project,langfuse.api_key.id=cmx9cs6cx00006s7dpechzpk2"},"id":"6","progress":0,"returnvalue":null,"stacktrace":null,"priority":0,"attemptsStarted":0,"attemptsMade":0,"stalledCounter":0,"timestamp":1796413477815,"queueQualifiedName":"bull:otel-ingestion-queue"}"#;

fn client(base_url: String, flush_at: usize) -> Langfuse {
    logs(); // warnings go to the collector from the start
    Langfuse::builder()
        .public_key("pk-lf-delivery")
        .secret_key("sk-lf-delivery")
        .base_url(base_url)
        .max_retries(0)
        .flush_at(flush_at)
        .build()
        .unwrap()
}

fn make(lf: &Langfuse, prefix: &str, n: usize) {
    for i in 0..n {
        lf.span(format!("{prefix}{i}")).start().end();
    }
}

fn names(spans: &[langfuse_sdk::testing::ExportedSpan]) -> HashSet<String> {
    spans.iter().map(|s| s.name().to_string()).collect()
}

/// The answer an OTLP receiver gives when it rejected `rejected` spans.
fn partial_success(rejected: i64, message: &str) -> Vec<u8> {
    ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message: message.into(),
        }),
    }
    .encode_to_vec()
}

#[test]
fn a_302_to_a_login_page_is_a_failed_export_naming_the_location() {
    let server = ScriptServer::start(|r: &Captured| match (r.method.as_str(), r.path.as_str()) {
        ("POST", TRACES) => Reply::redirect(302, "/sso/login?return=otel-302"),
        _ => Reply::new(200, "text/html", "<html><body>Sign in</body></html>"),
    });
    let lf = client(server.url(), 10);
    make(&lf, "r", 3);
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed(), "{err}");
    assert_eq!(err.failed_count(), Some(3));
    let st = lf.stats();
    assert_eq!((st.exported, st.failed), (0, 3));
    // Not followed: the login page never saw a (bodiless) replay of the request.
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.path == TRACES), "{reqs:?}");
    let logs = logs_now();
    assert!(logs.contains("/sso/login?return=otel-302"), "{logs}");
    assert!(logs.contains("302"), "{logs}");
}

#[test]
fn a_303_and_a_301_are_not_followed_either() {
    for status in [301, 303] {
        let location = format!("/moved-{status}");
        let loc = location.clone();
        let server = ScriptServer::start(move |r: &Captured| {
            if r.path == TRACES {
                Reply::redirect(status, &loc)
            } else {
                Reply::new(200, "application/json", "{}")
            }
        });
        let lf = client(server.url(), 10);
        make(&lf, "m", 2);
        assert!(lf.flush(T).unwrap_err().is_export_failed());
        assert_eq!((lf.stats().exported, lf.stats().failed), (0, 2));
        assert_eq!(server.requests().len(), 1, "not followed");
        assert!(logs_now().contains(&location));
    }
}

#[test]
fn a_307_to_the_otlp_path_resends_the_request_with_its_body() {
    let server = ScriptServer::start(|r: &Captured| match r.path.as_str() {
        "/old/api/public/otel/v1/traces" => Reply::redirect(307, TRACES),
        TRACES => Reply::new(200, PROTOBUF, Vec::new()),
        _ => Reply::new(404, "text/plain", "no"),
    });
    let lf = client(format!("{}/old", server.url()), 10);
    make(&lf, "t", 3);
    lf.flush(T).unwrap();
    let st = lf.stats();
    assert_eq!((st.exported, st.failed), (3, 0));
    let delivered = server.spans_answered(TRACES, 200);
    assert_eq!(names(&delivered), names_of("t", 3));
    let resent = server
        .requests()
        .into_iter()
        .find(|r| r.path == TRACES)
        .unwrap();
    assert_eq!(resent.method, "POST");
    assert!(resent.header("authorization").is_some());
}

#[test]
fn a_307_to_another_origin_is_not_followed() {
    // reqwest would drop the credentials there: the traces would go to another server unsigned.
    let other = ScriptServer::start(|_: &Captured| Reply::new(200, PROTOBUF, Vec::new()));
    let target = format!("{}{TRACES}?other-origin", other.url());
    let location = target.clone();
    let server = ScriptServer::start(move |_: &Captured| Reply::redirect(307, &location));
    let lf = client(server.url(), 10);
    make(&lf, "o", 2);
    assert!(lf.flush(T).unwrap_err().is_export_failed());
    assert_eq!((lf.stats().exported, lf.stats().failed), (0, 2));
    assert!(other.requests().is_empty(), "not followed");
    assert!(logs_now().contains(&target));
}

#[test]
fn a_307_loop_ends_as_a_failed_export() {
    let server = ScriptServer::start(|r: &Captured| {
        let hop = r.path.len();
        Reply::redirect(307, &format!("{TRACES}{}", "/x".repeat(hop % 50)))
    });
    let lf = client(server.url(), 10);
    make(&lf, "l", 1);
    assert!(lf.flush(T).unwrap_err().is_export_failed());
    assert_eq!((lf.stats().exported, lf.stats().failed), (0, 1));
    assert!(server.requests().len() <= 10, "{}", server.requests().len());
}

#[test]
fn a_200_html_page_is_not_a_delivery() {
    let server = ScriptServer::start(|_: &Captured| {
        Reply::new(
            200,
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>Acme SSO</title></head><body>Sign in to continue</body></html>",
        )
    });
    let lf = client(server.url(), 10);
    make(&lf, "h", 4);
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed(), "{err}");
    assert_eq!(err.failed_count(), Some(4));
    let st = lf.stats();
    assert_eq!((st.exported, st.failed), (0, 4));
    let logs = logs_now();
    assert!(
        logs.contains("Acme SSO"),
        "what came back is logged: {logs}"
    );
}

#[test]
fn a_200_with_garbage_is_not_a_delivery() {
    let server = ScriptServer::start(|_: &Captured| Reply::new(200, PROTOBUF, vec![0x0f, 0xff]));
    let lf = client(server.url(), 10);
    make(&lf, "g", 2);
    assert!(lf.flush(T).unwrap_err().is_export_failed());
    assert_eq!((lf.stats().exported, lf.stats().failed), (0, 2));
}

#[test]
fn the_real_langfuse_queue_job_answer_is_a_delivery() {
    let server = ScriptServer::start(|_: &Captured| {
        Reply::new(200, "application/json; charset=utf-8", LANGFUSE_QUEUE_JOB)
    });
    let lf = client(server.url(), 10);
    make(&lf, "q", 3);
    lf.flush(T).unwrap();
    let st = lf.stats();
    assert_eq!((st.exported, st.failed), (3, 0));
    assert_eq!(names(&server.spans_answered(TRACES, 200)), names_of("q", 3));
}

#[test]
fn an_otlp_partial_success_counts_the_rejected_spans_failed() {
    let server = ScriptServer::start(|_: &Captured| {
        Reply::new(
            200,
            PROTOBUF,
            partial_success(2, "2 spans are older than the retention"),
        )
    });
    let lf = client(server.url(), 10);
    make(&lf, "p", 5);
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed(), "{err}");
    assert_eq!(err.failed_count(), Some(2));
    let st = lf.stats();
    assert_eq!((st.exported, st.failed), (3, 2));
    assert_eq!(server.requests().len(), 1, "one request of 5 spans");
    let logs = logs_now();
    assert!(
        logs.contains("2 spans are older than the retention"),
        "{logs}"
    );
}

#[test]
fn a_json_partial_success_counts_the_rejected_spans_failed() {
    let server = ScriptServer::start(|_: &Captured| {
        Reply::new(
            200,
            "application/json",
            r#"{"partialSuccess":{"rejectedSpans":"1","errorMessage":"json rejection"}}"#,
        )
    });
    let lf = client(server.url(), 10);
    make(&lf, "j", 3);
    assert_eq!(lf.flush(T).unwrap_err().failed_count(), Some(1));
    assert_eq!((lf.stats().exported, lf.stats().failed), (2, 1));
}

#[test]
fn a_score_batch_answered_with_an_html_page_is_failed() {
    let server = ScriptServer::start(|_: &Captured| {
        Reply::new(
            200,
            "text/html",
            "<html><body>Score login wall</body></html>",
        )
    });
    let lf = client(server.url(), 10);
    lf.score(Score::numeric("quality", 0.5).session_id("sess-delivery"));
    lf.score(Score::numeric("quality", 0.7).session_id("sess-delivery"));
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed(), "{err}");
    assert_eq!((lf.stats().exported, lf.stats().failed), (0, 2));
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json()["batch"].as_array().map(Vec::len), Some(2));
    assert!(logs_now().contains("Score login wall"));
}

/// A gateway's own JSON (a quota or auth error at 200) is not the ingestion API's answer,
/// which always lists `successes` and `errors`: nothing was ingested.
#[test]
fn a_score_batch_answered_with_other_json_is_failed() {
    let server = ScriptServer::start(|_: &Captured| {
        Reply::new(
            200,
            "application/json",
            r#"{"error":"score quota exceeded"}"#,
        )
    });
    let lf = client(server.url(), 10);
    lf.score(Score::numeric("quality", 0.5).session_id("sess-delivery"));
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed(), "{err}");
    assert_eq!((lf.stats().exported, lf.stats().failed), (0, 1));
    assert_eq!(server.requests().len(), 1);
    assert!(logs_now().contains("score quota exceeded"));
}

#[test]
fn a_score_batch_redirected_by_302_is_failed() {
    let server = ScriptServer::start(|r: &Captured| {
        if r.method == "POST" {
            Reply::redirect(302, "/login?scores-302")
        } else {
            Reply::new(200, "application/json", r#"{"successes":[],"errors":[]}"#)
        }
    });
    let lf = client(server.url(), 10);
    lf.score(Score::numeric("q", 1.0).session_id("sess-delivery"));
    assert!(lf.flush(T).unwrap_err().is_export_failed());
    assert_eq!((lf.stats().exported, lf.stats().failed), (0, 1));
    assert!(server.requests().iter().all(|r| r.method == "POST"));
    assert!(logs_now().contains("/login?scores-302"));
}

fn names_of(prefix: &str, n: usize) -> HashSet<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}
