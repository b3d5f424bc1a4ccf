//! The exporter: a bounded queue from the application to a thread of its own, which owns a
//! current-thread tokio runtime and HTTP client, turns records into OTLP spans, batches by count,
//! size and time, and delivers with retries.
//!
//! Nothing here runs on the application's threads except [`Exporter::send`] (one `try_send`) and
//! the blocking waits of `flush`/`shutdown`, which are bounded by their timeouts.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::sync::mpsc;

use crate::config::{Config, ExporterKind, SinkChoice};
use crate::diag;
use crate::error::Error;
use crate::observation::ObsInner;
use crate::otlp;
use crate::score::Score;

/// A custom destination, chosen in the builder.
#[derive(Clone)]
pub(crate) enum Sink {
    #[cfg(feature = "testing")]
    Memory(crate::testing::InMemoryExporter),
}

/// Items taken from the queue at once by the exporter thread.
const INBOX: usize = 256;
/// Spare observation allocations handed back at once.
const SPARE_CHUNK: usize = 256;
/// Most chunks of spares waiting to be reused (the rest are freed).
const SPARE_CHUNKS: usize = 16;

/// Observation allocations travelling back from the exporter thread to the threads that record,
/// which reuse them. With glibc's allocator, memory allocated on one thread and freed on another
/// costs both threads arena locks and heap growing and trimming (measured: a quarter of the
/// calling thread's time); reusing the allocation and freeing the old values on the thread that
/// made them avoids it. Values larger than a few KB are not kept.
#[derive(Default)]
pub(crate) struct Recycler {
    /// Oldest first: the allocations handed out are the ones the exporter touched longest ago,
    /// likely gone from its cache, so reusing them moves fewer cache lines between cores.
    chunks: Mutex<std::collections::VecDeque<Vec<Arc<ObsInner>>>>,
    available: AtomicUsize,
}

thread_local! {
    /// This thread's spare allocations (of any client).
    static SPARE: RefCell<Vec<Arc<ObsInner>>> = const { RefCell::new(Vec::new()) };
}

impl Recycler {
    /// A spare allocation for this thread, if there is one.
    pub(crate) fn take(&self) -> Option<Arc<ObsInner>> {
        SPARE
            .try_with(|s| {
                let mut s = s.try_borrow_mut().ok()?;
                if let Some(a) = s.pop() {
                    return Some(a);
                }
                if self.available.load(Ordering::Relaxed) == 0 {
                    return None;
                }
                let chunk = {
                    let mut c = self.chunks.lock().unwrap_or_else(|e| e.into_inner());
                    let chunk = c.pop_front();
                    self.available.store(c.len(), Ordering::Relaxed);
                    chunk
                }?;
                *s = chunk;
                s.pop()
            })
            .ok()
            .flatten()
    }

    fn give(&self, chunk: Vec<Arc<ObsInner>>) {
        let refused = {
            let mut c = self.chunks.lock().unwrap_or_else(|e| e.into_inner());
            if c.len() < SPARE_CHUNKS {
                c.push_back(chunk);
                self.available.store(c.len(), Ordering::Relaxed);
                None
            } else {
                Some(chunk)
            }
        };
        drop(refused);
    }

    /// Frees the spares (they hold the client: the exporter calls this when it stops).
    fn clear(&self) {
        let chunks = std::mem::take(&mut *self.chunks.lock().unwrap_or_else(|e| e.into_inner()));
        self.available.store(0, Ordering::Relaxed);
        drop(chunks);
    }
}

/// A queued item. An ended observation travels as the allocation it was recorded in: nothing
/// is copied or allocated to queue it.
pub(crate) enum Msg {
    /// An ended observation and its estimated memory (counted against `max_queue_bytes`).
    Span(Arc<ObsInner>, u32),
    Score(Box<Score>),
}

impl Msg {
    fn queued_bytes(&self) -> usize {
        match self {
            Msg::Span(_, bytes) => *bytes as usize,
            Msg::Score(_) => std::mem::size_of::<Score>() + 256,
        }
    }
}

enum Ctrl {
    Flush {
        target: u64,
        ack: std::sync::mpsc::Sender<u64>,
    },
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
    /// Wakes the exporter: a batch started, a batch is full, or an item is urgent.
    wake: tokio::sync::Notify,
    /// Items the exporter has taken from the queue (so producers can tell the queue's depth).
    received: AtomicU64,
    /// Estimated memory held by queued items.
    queued_bytes: AtomicUsize,
    /// Observation allocations on their way back to be reused.
    pub recycler: Recycler,
}

impl Shared {
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
    tx: mpsc::Sender<Msg>,
    ctrl: mpsc::UnboundedSender<Ctrl>,
    pub shared: Arc<Shared>,
    max_queue: usize,
    max_queue_bytes: usize,
    /// Queue depth at which producers wake the exporter (a full batch).
    wake_at: u64,
    /// Every finished trace root wakes the exporter (immediate mode, console).
    wake_on_root: bool,
}

impl Exporter {
    pub(crate) fn start(cfg: Config) -> Exporter {
        let (tx, rx) = mpsc::channel(cfg.max_queue_size);
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
            wake: tokio::sync::Notify::new(),
            received: AtomicU64::new(0),
            queued_bytes: AtomicUsize::new(0),
            recycler: Recycler::default(),
        });
        let max_queue = cfg.max_queue_size;
        let max_queue_bytes = cfg.max_queue_bytes;
        let wake_at = cfg.flush_at as u64;
        let wake_on_root =
            cfg.immediate || matches!(cfg.sink, SinkChoice::Kind(ExporterKind::Console));
        let sh = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("langfuse-exporter".into())
            .spawn(move || {
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
            wake_at,
            wake_on_root,
        }
    }

    /// Hands an item to the exporter thread; never blocks. A full queue drops and counts.
    ///
    /// The exporter is not woken for every item (a wake-up can cost a syscall): only when a batch
    /// starts, when it is full, or for a finished root in immediate mode. Otherwise its timer
    /// picks the items up within `flush_interval`.
    pub(crate) fn send(&self, msg: Msg) {
        let c = &self.shared.counters;
        let root = matches!(&msg, Msg::Span(r, _) if r.parent.is_none());
        let bytes = msg.queued_bytes();
        let queued = self.shared.queued_bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if queued > self.max_queue_bytes {
            self.shared.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            drop(msg);
            self.dropped_full();
            return;
        }
        match self.tx.try_send(msg) {
            Ok(()) => {
                let enqueued = c.enqueued.fetch_add(1, Ordering::AcqRel) + 1;
                let depth = enqueued.saturating_sub(self.shared.received.load(Ordering::Acquire));
                if depth <= 1 || depth >= self.wake_at || (root && self.wake_on_root) {
                    self.shared.wake.notify_one();
                }
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
                self.dropped_full();
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.shared.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
                c.dropped.fetch_add(1, Ordering::Relaxed);
                if !self.shared.warned_closed.swap(true, Ordering::Relaxed) {
                    diag::warn(
                        "Langfuse client is shut down: dropping observations created after shutdown",
                    );
                }
            }
        }
    }

    fn dropped_full(&self) {
        self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
        if !self.shared.warned_full.swap(true, Ordering::Relaxed) {
            diag::warn(&format!(
                "Langfuse queue is full ({} items or {} MiB): dropping new observations and counting \
                 them (stats().dropped); raise LANGFUSE_MAX_QUEUE_SIZE / LANGFUSE_MAX_QUEUE_BYTES or \
                 check that the server keeps up",
                self.max_queue,
                self.max_queue_bytes >> 20
            ));
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            enqueued: c.enqueued.load(Ordering::Relaxed),
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
        let target = self.shared.counters.enqueued.load(Ordering::Acquire);
        let (ack, rx) = std::sync::mpsc::channel();
        if self.ctrl.send(Ctrl::Flush { target, ack }).is_err() {
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
    rx: mpsc::Receiver<Msg>,
    ctrl_rx: mpsc::UnboundedReceiver<Ctrl>,
    dest: Dest,
    encoder: otlp::Encoder,
    received: u64,
    /// Encoded `ScopeSpans.spans` entries waiting to be sent.
    batch: Vec<u8>,
    batch_spans: usize,
    scores: Vec<serde_json::Value>,
    oldest: Option<Instant>,
    /// Encoded observations whose allocations go back to be reused.
    spare: Vec<Arc<ObsInner>>,
    /// Queued bytes taken from the queue, not yet subtracted from the shared count.
    taken_bytes: usize,
}

impl Worker {
    fn new(
        cfg: Config,
        shared: Arc<Shared>,
        rx: mpsc::Receiver<Msg>,
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
            received: 0,
            batch: Vec::with_capacity(64 * 1024),
            batch_spans: 0,
            scores: Vec::new(),
            oldest: None,
            spare: Vec::with_capacity(SPARE_CHUNK),
            taken_bytes: 0,
        })
    }

    async fn run(mut self) {
        let mut inbox: Vec<Msg> = Vec::with_capacity(INBOX);
        loop {
            // Wake at the oldest item's deadline, and at least every flush interval (a producer's
            // wake-up can be missed in a race; the timer then picks its items up).
            let due = self.oldest.map(|t| t + self.cfg.flush_interval);
            let tick = Instant::now() + self.cfg.flush_interval;
            let wake_at = due.map_or(tick, |d| d.min(tick));
            tokio::select! {
                biased;
                c = self.ctrl_rx.recv() => match c {
                    Some(Ctrl::Flush { target, ack }) => {
                        let failed_before = self.shared.counters.failed.load(Ordering::Acquire);
                        self.drain_to(target).await;
                        self.send_all(true).await;
                        let failed = self.shared.counters.failed.load(Ordering::Acquire) - failed_before;
                        let _ = ack.send(failed);
                    }
                    Some(Ctrl::Shutdown) | None => break,
                },
                _ = self.shared.wake.notified() => {
                    if !self.drain_available(&mut inbox).await {
                        break;
                    }
                }
                _ = tokio::time::sleep_until(wake_at.into()) => {
                    if !self.drain_available(&mut inbox).await {
                        break;
                    }
                    if self.oldest.is_some_and(|t| t + self.cfg.flush_interval <= Instant::now()) {
                        self.send_all(false).await;
                    }
                }
            }
        }
        // Shutdown: refuse new items, deliver everything already queued.
        self.rx.close();
        while self.rx.recv_many(&mut inbox, INBOX).await > 0 {
            for m in inbox.drain(..) {
                self.accept(m).await;
            }
        }
        self.send_all(true).await;
        // The spares hold the client; keeping them would keep it alive.
        self.spare.clear();
        self.shared.recycler.clear();
        diag::debug(|| format!("exporter stopped: {:?}", self.shared.counters.snapshot()));
    }

    /// Takes what is in the queue now, without waiting (and without registering for a wake-up
    /// per item). False when the queue is closed and empty.
    async fn drain_available(&mut self, inbox: &mut Vec<Msg>) -> bool {
        loop {
            while inbox.len() < INBOX {
                match self.rx.try_recv() {
                    Ok(m) => inbox.push(m),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        for m in inbox.drain(..) {
                            self.accept(m).await;
                        }
                        return false;
                    }
                }
            }
            if inbox.is_empty() {
                return true;
            }
            let full = inbox.len() == INBOX;
            for m in inbox.drain(..) {
                self.accept(m).await;
            }
            self.release_bytes();
            if !full {
                return true;
            }
        }
    }

    async fn drain_to(&mut self, target: u64) {
        let mut inbox = Vec::with_capacity(INBOX);
        while self.received < target {
            let want = ((target - self.received) as usize).min(INBOX);
            if self.rx.recv_many(&mut inbox, want).await == 0 {
                break;
            }
            for m in inbox.drain(..) {
                self.accept(m).await;
            }
            self.release_bytes();
        }
    }

    async fn accept(&mut self, msg: Msg) {
        self.taken_bytes += msg.queued_bytes();
        if self.taken_bytes >= 1 << 20 {
            self.release_bytes();
        }
        self.received += 1;
        self.shared.received.store(self.received, Ordering::Release);
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
        match msg {
            Msg::Span(obs, _) => {
                let is_root = obs.parent.is_none();
                let before = self.batch.len();
                let added = self.encoder.encode_span(&obs, &mut self.batch);
                self.recycle(obs);
                self.batch_spans += 1;
                if before > 0 && before + added > self.cfg.max_batch_bytes {
                    // Over the size limit: send what came before, keep this one for the next.
                    let tail = self.batch.split_off(before);
                    self.batch_spans -= 1;
                    self.send_spans(false).await;
                    self.batch = tail;
                    self.batch_spans = 1;
                }
                let immediate = self.cfg.immediate || matches!(self.dest, Dest::Console(_));
                if self.batch_spans >= self.cfg.flush_at || (immediate && is_root) {
                    self.send_spans(false).await;
                }
            }
            Msg::Score(score) => {
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

    /// Subtracts the memory of the items taken so far from the queue's count (in bulk: the count
    /// is shared with every producer).
    fn release_bytes(&mut self) {
        let n = std::mem::take(&mut self.taken_bytes);
        if n > 0 {
            self.shared.queued_bytes.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// Hands an encoded observation's allocation back for reuse when nothing else holds it and
    /// its values are small; otherwise it is freed here.
    fn recycle(&mut self, mut obs: Arc<ObsInner>) {
        if Arc::get_mut(&mut obs).is_none() || !obs.lock().is_small() {
            return;
        }
        self.spare.push(obs);
        if self.spare.len() >= SPARE_CHUNK {
            let chunk = std::mem::replace(&mut self.spare, Vec::with_capacity(SPARE_CHUNK));
            self.shared.recycler.give(chunk);
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
                let spans = decode_spans(&self.encoder.request(&self.batch));
                let printed = console.add(spans, force);
                c.exported.fetch_add(printed, Ordering::Relaxed);
            }
            #[cfg(feature = "testing")]
            Dest::Memory(m) => {
                if n > 0 {
                    let bytes = self.encoder.request(&self.batch);
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
                    let delivered = http
                        .send_traces(&prefix, &self.batch, &self.shared, &self.cfg)
                        .await;
                    if delivered {
                        c.exported.fetch_add(n, Ordering::Relaxed);
                    } else {
                        c.failed.fetch_add(n, Ordering::Relaxed);
                    }
                }
            }
        }
        self.batch.clear();
        if self.batch.capacity() > 4 * self.cfg.max_batch_bytes.max(1 << 20) {
            self.batch = Vec::with_capacity(64 * 1024);
        }
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
                let failed = http.send_scores(events, &self.shared, &self.cfg).await;
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
