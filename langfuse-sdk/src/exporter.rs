//! The exporter: a thread of its own, which owns a current-thread tokio runtime and HTTP
//! client, turns recorded observations into OTLP spans, batches them by count, size and time, and
//! delivers with retries.
//!
//! The application's threads only append ended observations to a batch of their own (see
//! [`crate::record`]) and hand full batches over a channel; the exporter also collects partial
//! batches on its timer, on `flush` and at shutdown. Everything else (masking, encoding, gzip,
//! HTTP) runs on the exporter thread. The blocking waits of `flush`/`shutdown` are bounded by
//! their timeouts.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::sync::mpsc;

use crate::config::{Config, ExporterKind, SinkChoice};
use crate::diag;
use crate::error::Error;
use crate::observation::{Head, ObsData};
use crate::otlp;
use crate::record::Batch;
use crate::score::Score;

/// A custom destination, chosen in the builder.
#[derive(Clone)]
pub(crate) enum Sink {
    #[cfg(feature = "testing")]
    Memory(crate::testing::InMemoryExporter),
}

/// A thread hands its batch over once it holds this much (or the queue bound allows less).
const BATCH_BYTES: usize = 64 * 1024;
/// Empty batches kept for reuse.
const POOLED_BATCHES: usize = 64;
/// Messages taken from the channel at once by the exporter thread.
const INBOX: usize = 64;

/// A queued item.
pub(crate) enum Msg {
    /// A thread's batch of ended observations.
    Batch(Batch),
    Score(Box<Score>),
}

impl Msg {
    /// Items and estimated memory, counted against the queue's bounds.
    fn size(&self) -> (usize, usize) {
        match self {
            Msg::Batch(b) => (b.count as usize, b.mem()),
            Msg::Score(_) => (1, std::mem::size_of::<Score>() + 256),
        }
    }
}

/// Marks every thread's batch closed once the exporter has stopped (whatever the reason), so
/// observations recorded later are dropped and counted rather than left behind.
fn close_threads(shared: &Shared) {
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
    state: Mutex<ThreadBatch>,
}

#[derive(Default)]
struct ThreadBatch {
    batch: Batch,
    /// Set by the exporter when it stops: later observations are dropped and counted.
    closed: bool,
}

impl ThreadBuf {
    fn lock(&self) -> MutexGuard<'_, ThreadBatch> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

thread_local! {
    /// This thread's batch for the exporter it recorded for last.
    static OUTBOX: RefCell<Option<(Arc<Shared>, Arc<ThreadBuf>)>> = const { RefCell::new(None) };
}

enum Ctrl {
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

/// A snapshot of a client's counters. Observations and scores both count as items.
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
    warned_full: AtomicBool,
    warned_closed: AtomicBool,
    shutdown_started: AtomicBool,
    done: Mutex<bool>,
    done_cv: Condvar,
    /// Deadline for retries, set by shutdown so the thread finishes in time.
    cap: Mutex<Option<Instant>>,
    cap_notify: tokio::sync::Notify,
    /// Items handed over and not yet taken by the exporter, and their estimated memory.
    queued_items: AtomicUsize,
    queued_bytes: AtomicUsize,
    /// Every recording thread's batch.
    threads: Mutex<Vec<Arc<ThreadBuf>>>,
    /// Empty batches for reuse (their buffers keep their capacity).
    pool: Mutex<Vec<Batch>>,
}

impl Shared {
    fn pooled_batch(&self, bytes: usize) -> Batch {
        self.pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| Batch::with_capacity(bytes + bytes / 4))
    }
    fn return_batch(&self, mut b: Batch) {
        b.clear();
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOLED_BATCHES {
            pool.push(b);
        }
    }
    fn set_done(&self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.done_cv.notify_all();
    }
    fn cap(&self) -> Option<Instant> {
        *self.cap.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The application's end of the exporter.
pub(crate) struct Exporter {
    tx: mpsc::UnboundedSender<Msg>,
    ctrl: mpsc::UnboundedSender<Ctrl>,
    pub shared: Arc<Shared>,
    max_queue: usize,
    max_queue_bytes: usize,
    /// Size and count at which a thread hands its batch over.
    batch_bytes: usize,
    batch_items: u32,
    /// Every observation is handed over as it ends (immediate mode, console).
    hand_over_each: bool,
}

impl Exporter {
    pub(crate) fn start(cfg: Config) -> Exporter {
        let (tx, rx) = mpsc::unbounded_channel();
        let (ctrl, ctrl_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            warned_full: AtomicBool::new(false),
            warned_closed: AtomicBool::new(false),
            shutdown_started: AtomicBool::new(false),
            done: Mutex::new(false),
            done_cv: Condvar::new(),
            cap: Mutex::new(None),
            cap_notify: tokio::sync::Notify::new(),
            queued_items: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            threads: Mutex::new(Vec::new()),
            pool: Mutex::new(Vec::new()),
        });
        let max_queue = cfg.max_queue_size;
        let max_queue_bytes = cfg.max_queue_bytes;
        // A small queue bound hands batches over sooner, so the bound is felt item by item.
        let batch_bytes = BATCH_BYTES.min(max_queue_bytes / 8).max(1);
        let batch_items = (max_queue / 8).clamp(1, 4096) as u32;
        let hand_over_each =
            cfg.immediate || matches!(cfg.sink, SinkChoice::Kind(ExporterKind::Console));
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("langfuse-exporter".into())
            .spawn(move || {
                // Calibrates the observation clock here, off the application's threads.
                crate::clock::sync();
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match rt {
                    Ok(rt) => match Worker::new(cfg, sh.clone(), rx, ctrl_rx) {
                        Ok(w) => rt.block_on(w.run()),
                        Err(e) => diag::warn(&format!(
                            "Langfuse exporter could not start its HTTP client ({e}); nothing will be sent"
                        )),
                    },
                    Err(e) => diag::warn(&format!(
                        "Langfuse exporter could not start its runtime ({e}); nothing will be sent"
                    )),
                }
                close_threads(&sh);
                sh.set_done();
            });
        if let Err(e) = spawned {
            diag::warn(&format!(
                "Langfuse exporter thread could not start ({e}); nothing will be sent"
            ));
            shared.set_done();
        }
        Exporter {
            tx,
            ctrl,
            shared,
            max_queue,
            max_queue_bytes,
            batch_bytes,
            batch_items,
            hand_over_each,
        }
    }

    /// Records an ended observation: appends it to this thread's batch (no I/O, no waiting but
    /// for this thread's own batch lock), handing the batch over when it is full.
    pub(crate) fn record(&self, head: Head<'_>, data: &mut ObsData) {
        if self.shared.shutdown_started.load(Ordering::Acquire) {
            self.dropped_closed(1);
            return;
        }
        let appended = OUTBOX
            .try_with(|ob| {
                // Held while appending: nothing below calls back into this thread's outbox (a
                // re-entrant call would find it borrowed and take the path for exiting threads).
                let Ok(mut ob) = ob.try_borrow_mut() else {
                    return false;
                };
                if !matches!(&*ob, Some((sh, _)) if Arc::ptr_eq(sh, &self.shared)) {
                    let tb = Arc::new(ThreadBuf::default());
                    self.shared
                        .threads
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(tb.clone());
                    // The previous exporter's batch stays registered there.
                    *ob = Some((self.shared.clone(), tb));
                }
                let Some((_, tb)) = &*ob else {
                    return false;
                };
                let mut st = tb.lock();
                if st.closed {
                    drop(st);
                    self.dropped_closed(1);
                    return true;
                }
                st.batch.push(head, data);
                // Immediate mode (and the console) hands every observation over at once, so a
                // finished root's request carries everything that ended before it, on any thread.
                if st.batch.size() >= self.batch_bytes
                    || st.batch.count >= self.batch_items
                    || self.hand_over_each
                {
                    let full = std::mem::replace(
                        &mut st.batch,
                        self.shared.pooled_batch(self.batch_bytes),
                    );
                    drop(st);
                    self.hand_off(Msg::Batch(full));
                }
                true
            })
            .unwrap_or(false);
        if !appended {
            // This thread's batch is gone (the thread is exiting): send this one on its own.
            let mut b = Batch::default();
            b.push(head, data);
            self.hand_off(Msg::Batch(b));
        }
    }

    /// Sends a score in the background.
    pub(crate) fn send_score(&self, score: Score) {
        if self.shared.shutdown_started.load(Ordering::Acquire) {
            self.dropped_closed(1);
            return;
        }
        self.hand_off(Msg::Score(Box::new(score)));
    }

    /// Hands an item to the exporter thread; never blocks. Beyond the queue's bounds it is
    /// dropped and counted.
    fn hand_off(&self, msg: Msg) {
        let (items, bytes) = msg.size();
        if items == 0 {
            if let Msg::Batch(b) = msg {
                self.shared.return_batch(b);
            }
            return;
        }
        let sh = &self.shared;
        let queued_items = sh.queued_items.fetch_add(items, Ordering::AcqRel) + items;
        let queued_bytes = sh.queued_bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if queued_items > self.max_queue || queued_bytes > self.max_queue_bytes {
            sh.queued_items.fetch_sub(items, Ordering::AcqRel);
            sh.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.dropped_full(items);
            if let Msg::Batch(b) = msg {
                sh.return_batch(b);
            }
            return;
        }
        sh.counters
            .enqueued
            .fetch_add(items as u64, Ordering::AcqRel);
        if self.tx.send(msg).is_err() {
            sh.queued_items.fetch_sub(items, Ordering::AcqRel);
            sh.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            sh.counters
                .enqueued
                .fetch_sub(items as u64, Ordering::AcqRel);
            self.dropped_closed(items);
        }
    }

    /// Counts `n` dropped items; the first drop of each kind warns once.
    fn dropped(&self, n: usize, warned: &AtomicBool, warning: impl FnOnce() -> String) {
        self.shared
            .counters
            .dropped
            .fetch_add(n as u64, Ordering::Relaxed);
        if !warned.swap(true, Ordering::Relaxed) {
            diag::warn(&warning());
        }
    }

    fn dropped_closed(&self, n: usize) {
        self.dropped(n, &self.shared.warned_closed, || {
            "Langfuse client is shut down: dropping observations created after shutdown".into()
        });
    }

    fn dropped_full(&self, n: usize) {
        self.dropped(n, &self.shared.warned_full, || {
            format!(
                "Langfuse queue is full ({} items or {} MiB): dropping new observations and \
                 counting them (stats().dropped); raise LANGFUSE_MAX_QUEUE_SIZE / \
                 LANGFUSE_MAX_QUEUE_BYTES or check that the server keeps up",
                self.max_queue,
                self.max_queue_bytes >> 20
            )
        });
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        // Observations still in the recording threads' batches are accepted too.
        let pending: u64 = self
            .shared
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|t| u64::from(t.lock().batch.count))
            .sum();
        Stats {
            enqueued: c.enqueued.load(Ordering::Relaxed) + pending,
            exported: c.exported.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            bytes_sent: c.bytes_sent.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
        }
    }

    /// True once `shutdown` was called (by anyone).
    pub(crate) fn shutdown_requested(&self) -> bool {
        self.shared.shutdown_started.load(Ordering::Acquire)
    }

    fn is_done(&self) -> bool {
        *self.shared.done.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.shared.shutdown_started.load(Ordering::Acquire) || self.is_done() {
            return Err(Error::shutdown());
        }
        let (ack, rx) = std::sync::mpsc::channel();
        if self.ctrl.send(Ctrl::Flush { ack }).is_err() {
            return Err(Error::shutdown());
        }
        match rx.recv_timeout(timeout) {
            Ok(0) => Ok(()),
            Ok(failed) => Err(Error::export_failed("flush", failed)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                Err(Error::timeout("flush", timeout))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::shutdown()),
        }
    }

    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let failed_before = self.shared.counters.failed.load(Ordering::Acquire);
        if !self.shared.shutdown_started.swap(true, Ordering::AcqRel) {
            *self.shared.cap.lock().unwrap_or_else(|e| e.into_inner()) = Some(deadline);
            self.shared.cap_notify.notify_one();
            let _ = self.ctrl.send(Ctrl::Shutdown);
        }
        let mut done = self.shared.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::timeout("shutdown", timeout));
            }
            done = self
                .shared
                .done_cv
                .wait_timeout(done, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        let failed = self.shared.counters.failed.load(Ordering::Acquire) - failed_before;
        if failed > 0 {
            Err(Error::export_failed("shutdown", failed))
        } else {
            Ok(())
        }
    }
}

// ---- the exporter thread ---------------------------------------------------------------------

enum Dest {
    Http(Box<otlp::HttpSink>),
    Console(otlp::ConsoleSink),
    #[cfg(feature = "testing")]
    Memory(crate::testing::InMemoryExporter),
}

struct Worker {
    cfg: Config,
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<Msg>,
    ctrl_rx: mpsc::UnboundedReceiver<Ctrl>,
    dest: Dest,
    encoder: otlp::Encoder,
    /// Encoded `ScopeSpans.spans` entries waiting to be sent.
    batch: otlp::Spans,
    batch_spans: usize,
    scores: Vec<serde_json::Value>,
    oldest: Option<Instant>,
}

impl Worker {
    fn new(
        cfg: Config,
        shared: Arc<Shared>,
        rx: mpsc::UnboundedReceiver<Msg>,
        ctrl_rx: mpsc::UnboundedReceiver<Ctrl>,
    ) -> Result<Worker, String> {
        let dest = match &cfg.sink {
            SinkChoice::Kind(ExporterKind::Console) => Dest::Console(otlp::ConsoleSink::default()),
            #[cfg(feature = "testing")]
            SinkChoice::Custom(Sink::Memory(m)) => Dest::Memory(m.clone()),
            #[cfg(not(feature = "testing"))]
            SinkChoice::Custom(s) => match *s {},
            SinkChoice::Kind(_) => Dest::Http(Box::new(otlp::HttpSink::new(&cfg)?)),
        };
        Ok(Worker {
            encoder: otlp::Encoder::new(&cfg),
            cfg,
            shared,
            rx,
            ctrl_rx,
            dest,
            batch: otlp::Spans::default(),
            batch_spans: 0,
            scores: Vec::new(),
            oldest: None,
        })
    }

    async fn run(mut self) {
        let mut inbox: Vec<Msg> = Vec::with_capacity(INBOX);
        let mut tick = Instant::now() + self.cfg.flush_interval;
        loop {
            tokio::select! {
                biased;
                c = self.ctrl_rx.recv() => match c {
                    Some(Ctrl::Flush { ack }) => {
                        let failed_before = self.shared.counters.failed.load(Ordering::Acquire);
                        self.drain_available(&mut inbox).await;
                        self.sweep(false).await;
                        self.send_all(true).await;
                        self.settle().await;
                        let failed = self.shared.counters.failed.load(Ordering::Acquire) - failed_before;
                        let _ = ack.send(failed);
                    }
                    Some(Ctrl::Shutdown) | None => break,
                },
                n = self.rx.recv_many(&mut inbox, INBOX) => {
                    if n == 0 {
                        break;
                    }
                    for m in inbox.drain(..) {
                        self.accept(m).await;
                    }
                    // A steady stream of batches must not starve the timer's work.
                    if Instant::now() >= tick {
                        self.on_tick().await;
                        tick = Instant::now() + self.cfg.flush_interval;
                    }
                }
                _ = tokio::time::sleep_until(tick.into()) => {
                    self.on_tick().await;
                    tick = Instant::now() + self.cfg.flush_interval;
                }
            }
        }
        // Shutdown: refuse new items, deliver everything already recorded.
        self.rx.close();
        while self.rx.recv_many(&mut inbox, INBOX).await > 0 {
            for m in inbox.drain(..) {
                self.accept(m).await;
            }
        }
        self.sweep(true).await;
        self.send_all(true).await;
        self.settle().await;
        diag::debug(|| format!("exporter stopped: {:?}", self.shared.counters.snapshot()));
    }

    /// Collects what the recording threads hold, and sends what waited long enough.
    async fn on_tick(&mut self) {
        crate::clock::sync();
        // A finished request's outcome is counted now rather than at the next send.
        if matches!(&self.dest, Dest::Http(h) if h.traces_done()) {
            self.settle().await;
        }
        self.sweep(false).await;
        if self
            .oldest
            .is_some_and(|t| t + self.cfg.flush_interval <= Instant::now())
        {
            self.send_all(false).await;
        }
    }

    /// Takes what is in the channel now, without waiting.
    async fn drain_available(&mut self, inbox: &mut Vec<Msg>) {
        while let Ok(m) = self.rx.try_recv() {
            inbox.push(m);
            if inbox.len() == INBOX {
                for m in inbox.drain(..) {
                    self.accept(m).await;
                }
            }
        }
        for m in inbox.drain(..) {
            self.accept(m).await;
        }
    }

    /// Takes the recording threads' partial batches (and forgets threads that are gone). With
    /// `close`, later observations on those threads are dropped and counted.
    async fn sweep(&mut self, close: bool) {
        let mut taken = Vec::new();
        {
            let mut threads = self
                .shared
                .threads
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            threads.retain(|tb| {
                let mut st = tb.lock();
                st.closed |= close;
                if !st.batch.is_empty() {
                    // Most threads are idle when swept: no buffer for them until they record.
                    let b = std::mem::take(&mut st.batch);
                    taken.push(b);
                }
                // Only the registry holds it: the thread is gone.
                Arc::strong_count(tb) > 1
            });
        }
        for b in taken {
            self.shared
                .counters
                .enqueued
                .fetch_add(u64::from(b.count), Ordering::AcqRel);
            self.accept_batch(b).await;
        }
    }

    async fn accept(&mut self, msg: Msg) {
        let (items, bytes) = msg.size();
        self.shared.queued_items.fetch_sub(items, Ordering::AcqRel);
        self.shared.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
        match msg {
            Msg::Batch(b) => self.accept_batch(b).await,
            Msg::Score(score) => {
                self.oldest.get_or_insert_with(Instant::now);
                match score.problem() {
                    Some(p) => {
                        self.shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                        diag::warn(&format!("Langfuse score not sent: {p}"));
                    }
                    None => self
                        .scores
                        .push(score.to_event(self.cfg.environment.as_deref())),
                }
                if self.scores.len() >= self.cfg.flush_at {
                    self.send_scores().await;
                }
            }
        }
        if self.batch_spans == 0 && self.scores.is_empty() {
            self.oldest = None;
        }
    }

    async fn accept_batch(&mut self, b: Batch) {
        if b.is_empty() {
            self.shared.return_batch(b);
            return;
        }
        self.oldest.get_or_insert_with(Instant::now);
        let immediate = self.cfg.immediate || matches!(self.dest, Dest::Console(_));
        let mut read = 0u32;
        for rec in b.records() {
            read += 1;
            let is_root = rec.parent.is_none();
            let before = self.batch.len();
            let added = self.encoder.encode_span(&rec, &mut self.batch);
            self.batch_spans += 1;
            if before > 0 && before + added > self.cfg.max_batch_bytes {
                // Over the size limit: send what came before, keep this one for the next.
                let tail = self.batch.split_off(before);
                self.batch_spans -= 1;
                self.send_spans(false).await;
                self.batch = tail;
                self.batch_spans = 1;
            }
            if self.batch_spans >= self.cfg.flush_at || (immediate && is_root) {
                self.send_spans(false).await;
            }
        }
        if read < b.count {
            // Cannot happen unless the batch format has a bug; count rather than lose silently.
            let lost = u64::from(b.count - read);
            self.shared
                .counters
                .failed
                .fetch_add(lost, Ordering::Relaxed);
            diag::warn(&format!(
                "Langfuse exporter could not read {lost} recorded observation(s)"
            ));
        }
        self.shared.return_batch(b);
        if self.batch_spans == 0 && self.scores.is_empty() {
            self.oldest = None;
        }
    }

    /// Waits for the request in flight (if any) and counts its outcome.
    async fn settle(&mut self) {
        if let Dest::Http(http) = &mut self.dest {
            http.finish_traces(&self.shared).await;
        }
    }

    async fn send_all(&mut self, force: bool) {
        self.send_spans(force).await;
        self.send_scores().await;
        self.oldest = None;
    }

    async fn send_spans(&mut self, force: bool) {
        let n = std::mem::take(&mut self.batch_spans) as u64;
        let c = &self.shared.counters;
        match &mut self.dest {
            Dest::Console(console) => {
                let spans = decode_spans(&self.encoder.request(&self.batch.bytes));
                let printed = console.add(spans, force);
                c.exported.fetch_add(printed, Ordering::Relaxed);
            }
            #[cfg(feature = "testing")]
            Dest::Memory(m) => {
                if n > 0 {
                    let bytes = self.encoder.request(&self.batch.bytes);
                    match ExportTraceServiceRequest::decode(&bytes[..]) {
                        Ok(req) => m.push_spans(req),
                        Err(e) => diag::warn(&format!("encoded spans do not decode: {e}")),
                    }
                }
                c.exported.fetch_add(n, Ordering::Relaxed);
            }
            Dest::Http(http) => {
                if n > 0 {
                    let prefix = self.encoder.request_prefix(self.batch.len());
                    // Counted exported or failed when it finishes (see `settle`).
                    http.start_traces(&prefix, &self.batch, n, &self.shared, &self.cfg)
                        .await;
                }
            }
        }
        self.batch.clear();
        self.batch
            .shrink_past(4 * self.cfg.max_batch_bytes.max(1 << 20));
    }

    async fn send_scores(&mut self) {
        if self.scores.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.scores);
        let n = events.len() as u64;
        let c = &self.shared.counters;
        match &mut self.dest {
            Dest::Console(console) => {
                console.scores(&events);
                c.exported.fetch_add(n, Ordering::Relaxed);
            }
            #[cfg(feature = "testing")]
            Dest::Memory(m) => {
                m.push_scores(events);
                c.exported.fetch_add(n, Ordering::Relaxed);
            }
            Dest::Http(http) => {
                let failed = http.send_scores(events, &self.shared).await;
                c.exported.fetch_add(n - failed, Ordering::Relaxed);
                c.failed.fetch_add(failed, Ordering::Relaxed);
            }
        }
    }
}

impl Counters {
    fn snapshot(&self) -> Stats {
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

fn decode_spans(request: &[u8]) -> Vec<Span> {
    ExportTraceServiceRequest::decode(request)
        .map(|r| {
            r.resource_spans
                .into_iter()
                .flat_map(|rs| rs.scope_spans)
                .flat_map(|ss| ss.spans)
                .collect()
        })
        .unwrap_or_default()
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
