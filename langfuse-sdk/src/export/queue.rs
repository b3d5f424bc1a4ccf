//! The application's end of the exporter: ended observations into per-thread batches, full
//! batches over the bounded queue, and the blocking `flush` / `shutdown` waits.
//!
//! # Open observations at shutdown
//!
//! `shutdown` first ends and sends the observations still open that it can reach (see
//! [`open`](crate::export::open)): handles, observed async roots, sync roots of any thread, and
//! (through `Langfuse::shutdown`) the calling thread's current observation.
//!
//! # How a process ends
//!
//! - Returning from `main` (or a panic that unwinds) drops the `init` guard: queued observations
//!   are delivered within the configured timeout.
//! - `std::process::exit` and signals that kill the process (SIGKILL, an unhandled SIGTERM or
//!   SIGINT) run no destructors: what was not flushed is lost. Call `flush` (or `shutdown`)
//!   before `process::exit`, and handle SIGTERM/SIGINT (e.g. `tokio::signal`) to shut down.
//! - `fork`: the child has no exporter thread. An inherited client notices (it compares the
//!   process id stored when it started, at flush, shutdown and each full batch's hand-over, never
//!   per observation): its `flush` and `shutdown` return an error at once
//!   ([`Error::is_forked`](crate::Error::is_forked)) and warn once; what it recorded in the
//!   child is dropped and counted. Build a new client in the child (`init()` again): starting a
//!   client reseeds the starting thread's id generator with the process id mixed in, so children
//!   draw ids that differ from the parent's and from each other's. A lock another thread held
//!   at the moment of the fork stays held in the child: fork before starting a client, or
//!   `exec` at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::config::options::Config;
use crate::config::ExporterKind;
use crate::diag;
use crate::error::Error;
use crate::export::open::{self, Handles, Open};
use crate::export::record::{Batch, Head};
use crate::export::shared::{
    close_threads, Counters, Ctrl, Msg, Shared, Stats, ThreadBuf, BATCH_BYTES, OUTBOX,
};
use crate::export::sink::Custom;
use crate::export::worker::Worker;
use crate::fields::ObsData;
use crate::score::Score;

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
    /// The drop and failure counts the last flush reported: the next one reports what came since.
    reported: Mutex<(u64, u64)>,
    /// The first shutdown's outcome, which every later shutdown returns.
    outcome: OnceLock<Result<(), Error>>,
    /// Observations started through handles, which shutdown ends if they are still open.
    open: Handles,
    /// The process the exporter thread runs in: another one is a child made by `fork`.
    pid: u32,
}

impl Exporter {
    pub(crate) fn start(cfg: Config, custom: Option<Custom>) -> Exporter {
        // A child made by `fork` copied its parent's id generator: a client started there
        // reseeds it (rare: once per client), so its ids differ from the parent's.
        crate::ids::reseed();
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
            cfg.immediate || (custom.is_none() && cfg.exporter == ExporterKind::Console);
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
                    Ok(rt) => match Worker::new(cfg, custom, sh.clone(), rx, ctrl_rx) {
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
            reported: Mutex::new((0, 0)),
            outcome: OnceLock::new(),
            open: Handles::default(),
            pid: std::process::id(),
        }
    }

    /// Registers an observation started through a handle, for shutdown (see
    /// [`open`](crate::export::open)): its slot, or `None` once shutdown started (nothing would
    /// end it).
    pub(crate) fn register_open(&self, obs: Weak<dyn Open>) -> Option<u32> {
        if self.shared.shutdown_started.load(Ordering::Acquire) {
            return None;
        }
        self.open.register(obs)
    }

    /// Forgets the observation in `slot` (it ended).
    pub(crate) fn deregister_open(&self, slot: u32) {
        self.open.deregister(slot);
    }

    /// Registers a sync root in this thread's list, for shutdown; false once shutdown started.
    #[inline]
    pub(crate) fn register_thread_root(&self, obs: Arc<dyn Open>) -> bool {
        !self.shared.shutdown_started.load(Ordering::Acquire)
            && open::push_thread_root(self.key(), obs)
    }

    /// This exporter's key in the thread lists.
    fn key(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Ends every registered observation that is still open (see the module docs).
    fn end_open(&self) {
        open::end_open(self.key(), &self.open);
    }

    /// True in a child process made by `fork` after this exporter started (its thread is not
    /// there). A syscall: call only where it is rare (flush, shutdown, batch hand-over). The
    /// first time, warns, reseeds this thread's id generator and refuses everything from now on.
    fn forked(&self) -> bool {
        if std::process::id() == self.pid {
            return false;
        }
        crate::ids::reseed();
        if !self.shared.shutdown_started.swap(true, Ordering::AcqRel) {
            diag::warn(
                "Langfuse client was inherited through fork(): its exporter thread runs in the \
                 parent process only, so this process drops what it records; start a new \
                 client in the child (langfuse_sdk::init())",
            );
        }
        true
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
        // The fork check is a syscall: made per full batch, not per observation when each is
        // handed over at once (immediate mode, the console), where flush and shutdown notice.
        if !self.hand_over_each && self.forked() {
            self.dropped_closed(items);
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

    /// Drops and failures counted since the last report (a flush's), now reported.
    fn take_unreported(&self) -> (u64, u64) {
        let c = &self.shared.counters;
        let mut last = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        let now = (
            c.dropped.load(Ordering::Acquire),
            c.failed.load(Ordering::Acquire),
        );
        let new = (now.0 - last.0, now.1 - last.1);
        *last = now;
        new
    }

    /// Waits until everything enqueued before the call was delivered or definitively failed;
    /// then reports every drop and failure since the last report.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.forked() {
            return Err(Error::forked());
        }
        if self.shared.shutdown_started.load(Ordering::Acquire) || self.is_done() {
            return Err(Error::shutdown());
        }
        let (ack, rx) = std::sync::mpsc::channel();
        if self.ctrl.send(Ctrl::Flush { ack }).is_err() {
            return Err(Error::shutdown());
        }
        match rx.recv_timeout(timeout) {
            Ok(_) => match self.take_unreported() {
                (0, 0) => Ok(()),
                (dropped, failed) => Err(Error::not_delivered("flush", failed, dropped)),
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                Err(Error::timeout("flush", timeout))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::shutdown()),
        }
    }

    /// Stops the exporter, delivering what is queued within `timeout`, and reports every drop
    /// and failure since the client started. Every later call returns the first one's outcome.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        let outcome = self.shutdown_once(timeout);
        self.outcome.get_or_init(|| outcome).clone()
    }

    fn shutdown_once(&self, timeout: Duration) -> Result<(), Error> {
        if let Some(o) = self.outcome.get() {
            return o.clone();
        }
        if self.forked() {
            return Err(Error::forked());
        }
        if !self.shared.shutdown_started.load(Ordering::Acquire) {
            // Recorded like any other ending, before recording closes.
            self.end_open();
        }
        let deadline = Instant::now() + timeout;
        if !self.shared.shutdown_started.swap(true, Ordering::AcqRel) {
            *self.shared.cap.lock().unwrap_or_else(|e| e.into_inner()) = Some(deadline);
            self.shared.cap_notify.notify_one();
            let _ = self.ctrl.send(Ctrl::Shutdown);
        }
        let mut done = self.shared.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                let s = self.stats();
                let abandoned = s.enqueued.saturating_sub(s.exported + s.failed);
                return Err(Error::shutdown_timeout(timeout, abandoned));
            }
            done = self
                .shared
                .done_cv
                .wait_timeout(done, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        drop(done);
        let c = &self.shared.counters;
        match (
            c.failed.load(Ordering::Acquire),
            c.dropped.load(Ordering::Acquire),
        ) {
            (0, 0) => Ok(()),
            (failed, dropped) => Err(Error::not_delivered("shutdown", failed, dropped)),
        }
    }
}

// The OpenTelemetry integration's entry point (`export::foreign`).
impl Exporter {
    /// Hands ended spans of other instrumentations to the exporter thread, like a batch of
    /// observations: never blocks; beyond the queue's bounds, or after shutdown, they are
    /// dropped and counted.
    #[cfg_attr(not(feature = "opentelemetry"), allow(dead_code))]
    pub(crate) fn send_foreign(&self, spans: Vec<Box<dyn crate::export::shared::ForeignSpan>>) {
        if self.shared.shutdown_started.load(Ordering::Acquire) {
            self.dropped_closed(spans.len());
            return;
        }
        self.hand_off(Msg::Foreign(spans));
    }
}
