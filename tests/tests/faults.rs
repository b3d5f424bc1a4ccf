//! Fault injection: after `flush`, every observation is delivered (unique by span id) or counted
//! as failed, and `flush`/`shutdown` return within their timeouts whatever the server does.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use langfuse_sdk::Langfuse;
use langfuse_tests::{CaptureServer, Fault};

const T: Duration = Duration::from_secs(20);

fn client(server: &CaptureServer, retries: u32, timeout: Duration) -> Langfuse {
    Langfuse::builder()
        .public_key("pk-lf-faults")
        .secret_key("sk-lf-faults")
        .base_url(server.url())
        .max_retries(retries)
        .timeout(timeout)
        .flush_at(10)
        .build()
        .unwrap()
}

fn make(lf: &Langfuse, n: usize) {
    for i in 0..n {
        lf.span(format!("s{i}")).start().end();
    }
}

fn unique_delivered(server: &CaptureServer) -> usize {
    let spans = server.spans();
    let ids: HashSet<String> = spans.iter().map(|s| s.id()).collect();
    assert_eq!(ids.len(), spans.len(), "no span is delivered twice");
    ids.len()
}

#[test]
fn server_errors_then_success_deliver_everything() {
    let server = CaptureServer::start();
    server.push_faults([
        Fault::Status(500, "boom", None),
        Fault::Status(502, "bad gateway", None),
        Fault::Status(503, "unavailable", None),
    ]);
    let lf = client(&server, 5, Duration::from_secs(5));
    make(&lf, 25);
    lf.flush(T).unwrap();
    assert_eq!(unique_delivered(&server), 25);
    let st = lf.stats();
    assert_eq!((st.exported, st.failed, st.dropped), (25, 0, 0));
    assert_eq!(st.retried, 3);
}

#[test]
fn rate_limit_with_retry_after_is_honoured() {
    let server = CaptureServer::start();
    server.push_faults([Fault::Status(429, "slow down", Some("1"))]);
    let lf = client(&server, 3, Duration::from_secs(5));
    make(&lf, 3);
    let t0 = Instant::now();
    lf.flush(T).unwrap();
    // The retry waited for Retry-After (a behaviour, not a speed, check: it must not be skipped).
    assert!(t0.elapsed() >= Duration::from_millis(900));
    assert_eq!(unique_delivered(&server), 3);
    assert_eq!(lf.stats().retried, 1);
}

#[test]
fn connection_refused_then_up() {
    let server = CaptureServer::start();
    server.pause();
    let lf = client(&server, 6, Duration::from_secs(2));
    make(&lf, 5);
    // The first attempt is refused; resume once it has been tried.
    let h = std::thread::spawn({
        let lf = lf.clone();
        move || lf.flush(T)
    });
    // Wait until the exporter has retried at least once (a counter, not a sleep).
    let deadline = Instant::now() + T;
    while lf.stats().retried == 0 && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(lf.stats().retried >= 1);
    server.resume();
    h.join().unwrap().unwrap();
    assert_eq!(unique_delivered(&server), 5);
    assert_eq!(lf.stats().failed, 0);
}

#[test]
fn slow_responses_time_out_and_are_retried() {
    let server = CaptureServer::start();
    server.push_faults([Fault::Delay(Duration::from_secs(3)), Fault::Drop]);
    let lf = client(&server, 4, Duration::from_millis(500));
    make(&lf, 4);
    lf.flush(T).unwrap();
    // The slow answer came after the client gave up: the retry delivered (the slow request may
    // also have been recorded, so count unique span ids).
    let spans = server.spans();
    let ids: HashSet<String> = spans.iter().map(|s| s.id()).collect();
    assert_eq!(ids.len(), 4);
    assert!(lf.stats().retried >= 2);
}

#[test]
fn a_400_is_not_retried_and_counts_failed() {
    let server = CaptureServer::start();
    server.push_faults([Fault::Status(400, "{\"message\":\"bad span\"}", None)]);
    let lf = client(&server, 5, Duration::from_secs(5));
    make(&lf, 3);
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed());
    assert_eq!(err.failed_count(), Some(3));
    let st = lf.stats();
    assert_eq!((st.failed, st.retried, st.exported), (3, 0, 0));
    // Later batches still go through.
    make(&lf, 2);
    lf.flush(T).unwrap();
    assert_eq!(unique_delivered(&server), 2);
}

#[test]
fn retries_exhausted_count_failed_and_the_program_goes_on() {
    let server = CaptureServer::start();
    server.push_faults([
        Fault::Status(500, "a", None),
        Fault::Status(500, "b", None),
        Fault::Status(500, "c", None),
    ]);
    let lf = client(&server, 2, Duration::from_secs(5));
    make(&lf, 4);
    let err = lf.flush(T).unwrap_err();
    assert_eq!(err.failed_count(), Some(4));
    make(&lf, 3);
    lf.flush(T).unwrap();
    assert_eq!(unique_delivered(&server), 3);
    let st = lf.stats();
    assert_eq!(st.enqueued, st.exported + st.failed);
}

#[test]
fn flush_and_shutdown_return_within_their_timeouts_against_a_stalled_server() {
    let server = CaptureServer::start();
    server.push_faults((0..50).map(|_| Fault::Stall));
    let lf = client(&server, 10, Duration::from_secs(30));
    make(&lf, 5);
    let t0 = Instant::now();
    let err = lf.flush(Duration::from_millis(300)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    let t0 = Instant::now();
    let err = lf.shutdown(Duration::from_millis(300)).unwrap_err();
    assert!(err.is_timeout() || err.is_export_failed(), "{err}");
    if err.is_timeout() {
        // What was still queued is abandoned, and the message says so.
        assert!(err.abandoned_count().is_some_and(|n| n > 0), "{err}");
        assert!(err.to_string().contains("abandoned"), "{err}");
        assert!(!err.to_string().contains("in the background"), "{err}");
    }
    // A second shutdown reports the first one's outcome, not Ok.
    let again = lf.shutdown(Duration::from_millis(100)).unwrap_err();
    assert_eq!(again.to_string(), err.to_string());
    assert!(t0.elapsed() < Duration::from_secs(5));
    // Idempotent, and flush after shutdown says so at once.
    assert!(lf
        .flush(Duration::from_millis(100))
        .unwrap_err()
        .is_shutdown());
    let _ = lf.shutdown(Duration::from_millis(100));
}

/// Nobody gets the outcome of the shutdown that dropping the last client runs: it is said, so
/// that what it abandoned is not lost without a word.
#[test]
fn dropping_the_last_client_says_what_its_shutdown_could_not_deliver() {
    let server = CaptureServer::start();
    server.push_faults((0..50).map(|_| Fault::Stall));
    let lf = client(&server, 10, Duration::from_millis(300));
    make(&lf, 5);
    let ((), said) = langfuse_tests::logs::on_this_thread(move || drop(lf));
    assert!(
        said.contains("the last Langfuse client was dropped"),
        "{said}"
    );
    assert!(
        said.contains("abandoned") || said.contains("failed"),
        "the warning says what became of the observations: {said}"
    );
}

#[test]
fn concurrent_flushes_from_many_threads_all_return_truthfully() {
    let server = CaptureServer::start();
    let lf = client(&server, 3, Duration::from_secs(5));
    let handles: Vec<_> = (0..6)
        .map(|t| {
            let lf = lf.clone();
            std::thread::spawn(move || {
                for i in 0..20 {
                    lf.span(format!("t{t}-{i}")).start().end();
                }
                lf.flush(T)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert_eq!(unique_delivered(&server), 120);
    lf.shutdown(T).unwrap();
    lf.shutdown(T).unwrap();
}
