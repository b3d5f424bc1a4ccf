//! Queue overflow, shutdown paths and immediate mode: nothing is lost that is not counted.

use std::collections::HashSet;
use std::time::Duration;

use langfuse_sdk::{Langfuse, Score};
use langfuse_tests::CaptureServer;

const T: Duration = Duration::from_secs(20);

fn builder(server: &CaptureServer) -> langfuse_sdk::LangfuseBuilder {
    Langfuse::builder()
        .public_key("pk-lf-life")
        .secret_key("sk-lf-life")
        .base_url(server.url())
}

fn names(server: &CaptureServer) -> HashSet<String> {
    server
        .spans()
        .iter()
        .map(|s| s.name().to_string())
        .collect()
}

#[test]
fn queue_overflow_is_counted_exactly() {
    let server = CaptureServer::start();
    server.hold();
    let lf = builder(&server)
        .flush_at(1)
        .max_queue_size(10)
        .build()
        .unwrap();
    lf.span("first").start().end();
    // The server holds the exporter's first request; the queue is empty.
    assert!(server.wait_seen(1, T));
    for i in 0..17 {
        lf.span(format!("q{i}")).start().end();
    }
    // The queue holds 10. The exporter may have taken one more (it prepares the next request
    // while the first is in flight, then waits for it): 6 or 7 dropped, every one counted.
    let st = lf.stats();
    assert!((6..=7).contains(&st.dropped), "{st:?}");
    assert_eq!(st.enqueued + st.dropped, 18, "{st:?}");
    server.release();
    // The flush says what was not delivered: the drops since the last report, once.
    let err = lf.flush(T).unwrap_err();
    assert!(err.is_export_failed(), "{err}");
    assert_eq!(err.dropped_count(), Some(st.dropped), "{err}");
    assert_eq!(err.failed_count(), Some(0), "{err}");
    assert!(err.to_string().contains("dropped"), "{err}");
    lf.flush(T).unwrap();
    let after = lf.stats();
    assert_eq!(
        (after.exported, after.dropped, after.failed),
        (st.enqueued, st.dropped, 0)
    );
    assert_eq!(server.spans().len() as u64, st.enqueued);
    // Shutdown reports everything since the start, and so does every later shutdown.
    let first = lf.shutdown(T).unwrap_err();
    assert_eq!(first.dropped_count(), Some(st.dropped), "{first}");
    let second = lf.shutdown(T).unwrap_err();
    assert_eq!(second.to_string(), first.to_string());
}

#[test]
fn queue_memory_bound_drops_and_counts_large_observations() {
    let server = CaptureServer::start();
    server.hold();
    let lf = builder(&server)
        .flush_at(1)
        .max_queue_bytes(64 * 1024)
        .build()
        .unwrap();
    lf.span("first").start().end();
    assert!(server.wait_seen(1, T));
    // Each holds an 8 KB input: about seven fit in 64 KiB, whatever the count bound says (and
    // the exporter may hold one more, for its next request).
    let big = "x".repeat(8 * 1024);
    for i in 0..20 {
        lf.span(format!("big{i}")).input(&big).start().end();
    }
    let st = lf.stats();
    assert_eq!(st.enqueued + st.dropped, 21, "{st:?}");
    assert!((2..=10).contains(&st.enqueued), "{st:?}");
    server.release();
    let err = lf.flush(T).unwrap_err();
    assert_eq!(err.dropped_count(), Some(st.dropped), "{err}");
    let st = lf.stats();
    assert_eq!(st.exported, st.enqueued, "{st:?}");
    assert_eq!(server.spans().len() as u64, st.enqueued);
    // Once delivered, the memory is free again: the next one is accepted.
    lf.span("after").input(&big).start().end();
    lf.flush(T).unwrap();
    assert!(names(&server).contains("after"));
}

#[test]
fn an_idle_threads_observation_is_collected_while_another_floods() {
    let server = CaptureServer::start();
    let lf = builder(&server)
        .flush_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    // One observation on a thread that then stays alive and idle: its batch is never full, so
    // only the exporter's timer can collect it.
    let (ended, ended_rx) = std::sync::mpsc::channel();
    let (finish, finish_rx) = std::sync::mpsc::channel::<()>();
    let idle_lf = lf.clone();
    let idle = std::thread::spawn(move || {
        idle_lf.span("idle").start().end();
        ended.send(()).unwrap();
        let _ = finish_rx.recv();
    });
    ended_rx.recv().unwrap();
    // Meanwhile another thread keeps the exporter's channel busy with full batches.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood_stop = stop.clone();
    let flood_lf = lf.clone();
    let flood = std::thread::spawn(move || {
        let value = "x".repeat(512);
        while !flood_stop.load(std::sync::atomic::Ordering::Relaxed) {
            flood_lf.span("flood").input(&value).start().end();
        }
    });
    let deadline = std::time::Instant::now() + T;
    let mut seen = false;
    while !seen && std::time::Instant::now() < deadline {
        // Wait for the next request (bounded), then look for the idle thread's span.
        let n = server.requests().len();
        server.wait_seen(n + 1, Duration::from_millis(200));
        seen = names(&server).contains("idle");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flood.join().unwrap();
    finish.send(()).unwrap();
    idle.join().unwrap();
    // The flood's backlog is not this test's business.
    let _ = lf.shutdown(Duration::from_millis(200));
    assert!(
        seen,
        "the idle thread's observation was not delivered during the flood"
    );
}

#[test]
fn init_guard_delivers_from_sync_main() {
    let server = CaptureServer::start();
    {
        let _guard = langfuse_sdk::init_with(builder(&server).build().unwrap());
        let lf = langfuse_sdk::client();
        assert!(lf.is_enabled());
        let root = lf.span("main").start();
        let _g = root.enter();
        // The free function picks the current observation's client.
        langfuse_sdk::observation(langfuse_sdk::ObservationType::Tool, "tool")
            .start()
            .end();
    }
    assert_eq!(
        names(&server),
        HashSet::from(["main".into(), "tool".into()])
    );
    // After the guard, the global client is disabled again.
    assert!(!langfuse_sdk::client().is_enabled());
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_last_client_delivers_in_a_current_thread_runtime() {
    let server = CaptureServer::start();
    let lf = builder(&server)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    for i in 0..50 {
        lf.span(format!("s{i}")).start().end();
    }
    drop(lf); // blocks this thread only; the exporter has its own
    assert_eq!(server.spans().len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_in_a_multi_thread_runtime() {
    let server = CaptureServer::start();
    let lf = builder(&server)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let lf = lf.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let o = lf.span(format!("t{t}-{i}")).start();
                    tokio::task::yield_now().await;
                    o.end();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    lf.shutdown(T).unwrap();
    assert_eq!(server.spans().len(), 100);
    assert!(lf.shutdown(T).is_ok(), "idempotent");
}

#[test]
fn dropping_a_runtime_with_open_observations_ends_them() {
    let server = CaptureServer::start();
    let lf = builder(&server).build().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let lf2 = lf.clone();
    rt.spawn(async move {
        let _open = lf2.span("never-finishes").start();
        tx.send(()).unwrap();
        std::future::pending::<()>().await;
    });
    rx.recv().unwrap();
    drop(rt);
    lf.flush(T).unwrap();
    assert_eq!(names(&server), HashSet::from(["never-finishes".into()]));
}

#[test]
fn a_panic_unwinding_through_observations_delivers_them() {
    let server = CaptureServer::start();
    let lf = builder(&server).build().unwrap();
    let lf2 = lf.clone();
    let r = std::thread::spawn(move || {
        let root = lf2.span("worker").start();
        let _g = root.enter();
        let _child = lf2.span("child").start();
        panic!("worker failed");
    })
    .join();
    assert!(r.is_err());
    lf.flush(T).unwrap();
    let spans = server.spans();
    assert_eq!(spans.len(), 2);
    let child = spans.iter().find(|s| s.name() == "child").unwrap();
    let worker = spans.iter().find(|s| s.name() == "worker").unwrap();
    assert_eq!(child.parent_id(), Some(worker.id()));
}

#[test]
fn immediate_mode_sends_when_the_root_ends() {
    let server = CaptureServer::start();
    let lf = builder(&server)
        .immediate(true)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let root = lf.span("lambda").start();
    {
        let _g = root.enter();
        lf.span("step").start().end();
        // A child that ends on another thread before the root ends.
        langfuse_sdk::thread_spawn(move || {
            langfuse_sdk::observation(langfuse_sdk::ObservationType::Tool, "worker")
                .start()
                .end();
        })
        .join()
        .unwrap();
    }
    root.end();
    // No flush: the whole trace arrives because the root ended.
    assert!(server.wait_seen(1, T));
    assert!(lf.flush(T).is_ok());
    let first = &server.trace_requests()[0];
    assert_eq!(
        first.otlp().resource_spans[0].scope_spans[0].spans.len(),
        3,
        "the root's request carries every observation that ended before it"
    );
}

#[test]
fn requests_go_one_at_a_time_over_one_connection() {
    // The exporter prepares the next request while one is in flight, but sends it only once
    // the answer is in: one request at a time, on one kept-alive connection, in order.
    let server = CaptureServer::start();
    let lf = builder(&server).flush_at(10).build().unwrap();
    for i in 0..100 {
        lf.span(format!("s{i}")).start().end();
    }
    lf.flush(T).unwrap();
    let st = lf.stats();
    assert_eq!(
        (st.exported, st.failed, st.requests),
        (100, 0, 10),
        "{st:?}"
    );
    assert_eq!(server.trace_requests().len(), 10);
    assert_eq!(server.connections(), 1);
    let order: Vec<String> = server
        .spans()
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    let expected: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
    assert_eq!(order, expected);
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
