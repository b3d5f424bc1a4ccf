//! The exporter thread: a current-thread tokio runtime of its own that collects batches, encodes
//! them into OTLP requests, and delivers them through the sink with retries.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::config::options::Config;
use crate::diag;
use crate::export::encode::{Encoder, Spans};
use crate::export::foreign::Foreign;
use crate::export::record::Batch;
use crate::export::shared::{Ctrl, Msg, Shared, INBOX};
use crate::export::sink::{Custom, Sink};

// ---- the exporter thread ---------------------------------------------------------------------

pub(crate) struct Worker {
    cfg: Config,
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<Msg>,
    ctrl_rx: mpsc::UnboundedReceiver<Ctrl>,
    sink: Sink,
    encoder: Encoder,
    /// Encoded `ScopeSpans.spans` entries waiting to be sent.
    batch: Spans,
    batch_spans: usize,
    scores: Vec<serde_json::Value>,
    /// Spans of other instrumentations, by scope.
    foreign: Foreign,
    oldest: Option<Instant>,
}

impl Worker {
    pub(crate) fn new(
        cfg: Config,
        custom: Option<Custom>,
        shared: Arc<Shared>,
        rx: mpsc::UnboundedReceiver<Msg>,
        ctrl_rx: mpsc::UnboundedReceiver<Ctrl>,
    ) -> Result<Worker, String> {
        let sink = Sink::open(&cfg, custom)?;
        Ok(Worker {
            encoder: Encoder::new(&cfg),
            foreign: Foreign::new(&cfg),
            cfg,
            shared,
            rx,
            ctrl_rx,
            sink,
            batch: Spans::default(),
            batch_spans: 0,
            scores: Vec::new(),
            oldest: None,
        })
    }

    pub(crate) async fn run(mut self) {
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
                        crate::export::metrics::publish(&self.shared);
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
        crate::export::metrics::publish(&self.shared);
        diag::debug(|| format!("exporter stopped: {:?}", self.shared.counters.snapshot()));
    }

    /// Collects what the recording threads hold, and sends what waited long enough.
    async fn on_tick(&mut self) {
        crate::clock::sync();
        // A finished request's outcome is counted now rather than at the next send.
        if self.sink.in_flight_done() {
            self.settle().await;
        }
        self.sweep(false).await;
        if self
            .oldest
            .is_some_and(|t| t + self.cfg.flush_interval <= Instant::now())
        {
            self.send_all(false).await;
        }
        crate::export::metrics::publish(&self.shared);
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
            Msg::Foreign(spans) => {
                self.oldest.get_or_insert_with(Instant::now);
                self.foreign
                    .accept(spans, &mut self.sink, &self.encoder, &self.shared)
                    .await;
            }
        }
        if self.batch_spans == 0 && self.scores.is_empty() && self.foreign.is_empty() {
            self.oldest = None;
        }
    }

    async fn accept_batch(&mut self, b: Batch) {
        if b.is_empty() {
            self.shared.return_batch(b);
            return;
        }
        self.oldest.get_or_insert_with(Instant::now);
        let immediate = self.cfg.immediate || self.sink.hands_over_each();
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
        if self.batch_spans == 0 && self.scores.is_empty() && self.foreign.is_empty() {
            self.oldest = None;
        }
    }

    /// Waits for the request in flight (if any) and counts its outcome.
    async fn settle(&mut self) {
        self.sink.settle(&self.encoder, &self.shared).await;
    }

    async fn send_all(&mut self, force: bool) {
        self.send_spans(force).await;
        self.foreign
            .send(&mut self.sink, &self.encoder, force, &self.shared)
            .await;
        self.send_scores().await;
        self.oldest = None;
    }

    async fn send_spans(&mut self, force: bool) {
        let n = std::mem::take(&mut self.batch_spans) as u64;
        self.sink
            .send_spans(&self.encoder, &mut self.batch, n, force, &self.shared)
            .await;
        self.batch.clear();
        self.batch
            .shrink_past(4 * self.cfg.max_batch_bytes.max(1 << 20));
    }

    async fn send_scores(&mut self) {
        if self.scores.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.scores);
        self.sink.send_scores(events, &self.shared).await;
    }
}
