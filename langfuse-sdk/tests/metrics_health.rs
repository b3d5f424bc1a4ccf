//! Issue 20, part 5b: the exporter thread publishes the SDK's health through the `metrics`
//! facade; a debugging recorder shows the counters equal to the client's own stats after
//! observations were exported and dropped.
#![cfg(all(feature = "metrics", feature = "testing"))]

use std::collections::HashMap;
use std::time::Duration;

use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::Langfuse;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;

/// The last value of every counter and gauge, by name.
fn read(snapshotter: &Snapshotter) -> HashMap<String, f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let v = match value {
                DebugValue::Counter(c) => c as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(_) => f64::NAN,
            };
            assert_ne!(key.kind(), MetricKind::Histogram);
            (key.key().name().to_string(), v)
        })
        .collect()
}

// One test in this binary: the recorder is global, and the exporter thread publishes to it.
#[test]
fn counters_follow_exports_and_drops() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let exporter = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exporter.clone())
        // No timer tick during the test: only flush collects, so the queue bound decides.
        .flush_interval(Duration::from_secs(3600))
        .max_queue_size(3)
        .build()
        .unwrap();
    for i in 0..20 {
        lf.span(format!("obs-{i}")).start().end();
    }
    // The flush reports the drops.
    let err = lf.flush(Duration::from_secs(5)).unwrap_err();
    assert!(err.to_string().contains("dropped"), "{err}");

    let st = lf.stats();
    assert!(st.dropped > 0, "{st:?}");
    assert!(st.exported > 0, "{st:?}");
    assert_eq!(st.enqueued + st.dropped, 20, "{st:?}");
    assert_eq!(exporter.spans().len() as u64, st.exported);

    let m = read(&snapshotter);
    assert_eq!(m["langfuse_sdk_items_enqueued_total"], st.enqueued as f64);
    assert_eq!(m["langfuse_sdk_items_exported_total"], st.exported as f64);
    assert_eq!(m["langfuse_sdk_items_dropped_total"], st.dropped as f64);
    assert_eq!(m["langfuse_sdk_items_failed_total"], 0.0);
    assert_eq!(m["langfuse_sdk_requests_retried_total"], 0.0);
    assert_eq!(m["langfuse_sdk_queue_depth"], 0.0);
    assert!(m.contains_key("langfuse_sdk_queue_bytes"));

    // More work moves the counters on; shutdown publishes the final totals.
    lf.span("last").start().end();
    // (It reports the earlier drops again; what matters here is what it published.)
    let _ = lf.shutdown(Duration::from_secs(5));
    let end = lf.stats();
    assert_eq!(end.exported, st.exported + 1);
    let m = read(&snapshotter);
    assert_eq!(m["langfuse_sdk_items_exported_total"], end.exported as f64);
    assert_eq!(m["langfuse_sdk_items_enqueued_total"], end.enqueued as f64);
}
