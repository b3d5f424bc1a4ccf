//! State the application's threads and the exporter thread share: queue items, per-thread
//! batches, counters, and the shutdown deadline.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::export::record::Batch;
use crate::score::Score;

/// A thread hands its batch over once it holds this much (or the queue bound allows less).
pub(crate) const BATCH_BYTES: usize = 64 * 1024;
/// Empty batches kept for reuse.
pub(crate) const POOLED_BATCHES: usize = 64;
/// Messages taken from the channel at once by the exporter thread.
pub(crate) const INBOX: usize = 64;

/// An ended span of another instrumentation, converted to OTLP only on the exporter thread
/// (implemented above this module, by the OpenTelemetry integration; `export::foreign` sends
/// them).
pub(crate) trait ForeignSpan: Send {
    /// Estimated memory, counted against the queue's bounds.
    fn mem(&self) -> usize;
    /// The span and the instrumentation scope that produced it, as OTLP messages.
    fn into_otlp(self: Box<Self>) -> (InstrumentationScope, Span);
}

/// A queued item.
pub(crate) enum Msg {
    /// A thread's batch of ended observations.
    Batch(Batch),
    Score(Box<Score>),
    /// Ended spans of the application's own OpenTelemetry pipeline (`export::foreign`).
    #[cfg_attr(not(feature = "opentelemetry"), allow(dead_code))]
    Foreign(Vec<Box<dyn ForeignSpan>>),
}

impl Msg {
    /// Items and estimated memory, counted against the queue's bounds.
    pub(crate) fn size(&self) -> (usize, usize) {
        match self {
            Msg::Batch(b) => (b.count as usize, b.mem()),
            Msg::Score(s) => (1, std::mem::size_of::<Box<Score>>() + s.mem()),
            Msg::Foreign(s) => (s.len(), s.iter().map(|s| s.mem()).sum()),
        }
    }
}

/// Marks every thread's batch closed once the exporter has stopped (whatever the reason), so
/// observations recorded later are dropped and counted rather than left behind.
pub(crate) fn close_threads(shared: &Shared) {
    for tb in shared
        .threads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let mut st = tb.lock();
        st.closed = true;
        let n = st.batch.count;
        if n > 0 {
            st.batch.clear();
            shared
                .counters
                .dropped
                .fetch_add(u64::from(n), Ordering::Relaxed);
        }
    }
}

/// One recording thread's current batch, reachable by the exporter (which collects partial
/// batches on its timer, on flush and at shutdown).
#[derive(Default)]
pub(crate) struct ThreadBuf {
    pub(crate) state: Mutex<ThreadBatch>,
}

#[derive(Default)]
pub(crate) struct ThreadBatch {
    pub(crate) batch: Batch,
    /// Set by the exporter when it stops: later observations are dropped and counted.
    pub(crate) closed: bool,
}

impl ThreadBuf {
    pub(crate) fn lock(&self) -> MutexGuard<'_, ThreadBatch> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

thread_local! {
    /// This thread's batch for the exporter it recorded for last.
    pub(crate) static OUTBOX: RefCell<Option<(Arc<Shared>, Arc<ThreadBuf>)>> = const { RefCell::new(None) };
}

pub(crate) enum Ctrl {
    Flush { ack: std::sync::mpsc::Sender<u64> },
    Shutdown,
}

/// Counters readable at run time through [`Langfuse::stats`](crate::Langfuse::stats).
#[derive(Default)]
pub(crate) struct Counters {
    pub enqueued: AtomicU64,
    pub exported: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub requests: AtomicU64,
}

/// A snapshot of a client's counters. Observations, scores and the OpenTelemetry spans of other
/// instrumentations sent through the client (feature `opentelemetry`) all count as items.
///
/// Once everything is flushed, `enqueued == exported + failed`, and every item ever created is
/// `enqueued + dropped`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Items accepted into the queue.
    pub enqueued: u64,
    /// Items delivered (the server accepted them).
    pub exported: u64,
    /// Items refused at the queue (full, or after shutdown).
    pub dropped: u64,
    /// Items that could not be delivered (refused by the server, or retries exhausted).
    pub failed: u64,
    /// Retried requests.
    pub retried: u64,
    /// Bytes sent on the wire (request bodies, after gzip).
    pub bytes_sent: u64,
    /// HTTP requests that got an answer.
    pub requests: u64,
}

pub(crate) struct Shared {
    pub counters: Counters,
    pub(crate) warned_full: AtomicBool,
    pub(crate) warned_closed: AtomicBool,
    pub(crate) shutdown_started: AtomicBool,
    pub(crate) done: Mutex<bool>,
    pub(crate) done_cv: Condvar,
    /// Deadline for retries, set by shutdown so the thread finishes in time.
    pub(crate) cap: Mutex<Option<Instant>>,
    pub(crate) cap_notify: tokio::sync::Notify,
    /// Items handed over and not yet taken by the exporter, and their estimated memory.
    pub(crate) queued_items: AtomicUsize,
    pub(crate) queued_bytes: AtomicUsize,
    /// Every recording thread's batch.
    pub(crate) threads: Mutex<Vec<Arc<ThreadBuf>>>,
    /// Empty batches for reuse (their buffers keep their capacity).
    pub(crate) pool: Mutex<Vec<Batch>>,
}

impl Shared {
    pub(crate) fn pooled_batch(&self, bytes: usize) -> Batch {
        self.pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| Batch::with_capacity(bytes + bytes / 4))
    }
    pub(crate) fn return_batch(&self, mut b: Batch) {
        b.clear();
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOLED_BATCHES {
            pool.push(b);
        }
    }
    pub(crate) fn set_done(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.done_cv.notify_all();
    }
    pub(crate) fn cap(&self) -> Option<Instant> {
        *self.cap.lock().unwrap_or_else(|e| e.into_inner())
    }
}
impl Counters {
    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            enqueued: self.enqueued.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}
/// Waits `d`, cut short when shutdown sets a deadline.
pub(crate) async fn backoff_sleep(shared: &Shared, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shared.cap_notify.notified() => {}
    }
}

/// Resolves once shutdown has set a deadline and it has passed.
pub(crate) async fn cap_passed(shared: &Shared) {
    loop {
        if let Some(c) = shared.cap() {
            tokio::time::sleep_until(c.into()).await;
            return;
        }
        shared.cap_notify.notified().await;
    }
}

pub(crate) fn effective_deadline(shared: &Shared, batch_deadline: Instant) -> Instant {
    match shared.cap() {
        Some(c) if c < batch_deadline => c,
        _ => batch_deadline,
    }
}
