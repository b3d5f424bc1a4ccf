//! The SDK's own health through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`), published by the exporter thread: on its timer, after each flush, and once
//! it has stopped. Nothing runs on the application's threads; without the feature, [`publish`]
//! is empty.
//!
//! Counters are set to the client's running totals (`absolute`), so they equal
//! [`Langfuse::stats`](crate::Langfuse::stats) at the moment of publishing:
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `langfuse_sdk_items_enqueued_total` | counter | observations and scores accepted into the queue |
//! | `langfuse_sdk_items_exported_total` | counter | items the server accepted |
//! | `langfuse_sdk_items_dropped_total` | counter | items refused at the queue (full, or after shutdown) |
//! | `langfuse_sdk_items_failed_total` | counter | items refused by the server, or out of retries |
//! | `langfuse_sdk_requests_retried_total` | counter | retried requests |
//! | `langfuse_sdk_requests_total` | counter | requests that got an answer |
//! | `langfuse_sdk_bytes_sent_total` | counter | request bytes sent (after gzip) |
//! | `langfuse_sdk_queue_depth` | gauge | items handed to the exporter thread and not yet taken |
//! | `langfuse_sdk_queue_bytes` | gauge | their estimated memory |
//!
//! The metrics carry no labels: with several clients in one process they overwrite each
//! other's totals.

use crate::export::shared::Shared;

/// Publishes the counters and queue depth of `shared` to the installed `metrics` recorder.
#[cfg(feature = "metrics")]
pub(crate) fn publish(shared: &Shared) {
    use std::sync::atomic::Ordering;

    let s = shared.counters.snapshot();
    let counters = [
        ("langfuse_sdk_items_enqueued_total", s.enqueued),
        ("langfuse_sdk_items_exported_total", s.exported),
        ("langfuse_sdk_items_dropped_total", s.dropped),
        ("langfuse_sdk_items_failed_total", s.failed),
        ("langfuse_sdk_requests_retried_total", s.retried),
        ("langfuse_sdk_requests_total", s.requests),
        ("langfuse_sdk_bytes_sent_total", s.bytes_sent),
    ];
    for (name, value) in counters {
        metrics::counter!(name).absolute(value);
    }
    let items = shared.queued_items.load(Ordering::Relaxed);
    let bytes = shared.queued_bytes.load(Ordering::Relaxed);
    // Exact below 2^53 items or bytes, which a bounded queue never reaches.
    metrics::gauge!("langfuse_sdk_queue_depth").set(items as f64);
    metrics::gauge!("langfuse_sdk_queue_bytes").set(bytes as f64);
}

/// Without the `metrics` feature: nothing to publish.
#[cfg(not(feature = "metrics"))]
#[inline(always)]
pub(crate) fn publish(_shared: &Shared) {}
