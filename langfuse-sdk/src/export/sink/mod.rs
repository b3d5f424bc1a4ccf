//! Where encoded requests go: Langfuse over HTTP, the console, or (tests) memory. One enum, one
//! method per operation, so the worker never asks which sink it has.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::config::options::Config;
use crate::config::ExporterKind;
use crate::export::encode::{Encoder, Spans};
use crate::export::shared::Shared;
use crate::export::sink::console::ConsoleSink;
use crate::export::sink::http::HttpSink;

pub(crate) mod console;
pub(crate) mod http;
pub(crate) mod ingestion;
pub(crate) mod post;
pub(crate) mod response;
pub(crate) mod split;

/// A destination chosen in the builder instead of an [`ExporterKind`].
#[derive(Clone)]
pub(crate) enum Custom {
    /// The in-memory exporter of the `testing` feature.
    #[cfg(feature = "testing")]
    Memory(crate::testing::InMemoryExporter),
}

impl Custom {
    /// The exporter's name, for `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        match *self {
            #[cfg(feature = "testing")]
            Custom::Memory(_) => "in-memory",
        }
    }
}

/// The exporter thread's destination.
pub(crate) enum Sink {
    Http(Box<HttpSink>),
    Console(ConsoleSink),
    #[cfg(feature = "testing")]
    Memory(crate::testing::InMemoryExporter),
}

impl Sink {
    /// The sink a configuration names (an error when its HTTP client cannot be built).
    pub(crate) fn open(cfg: &Config, custom: Option<Custom>) -> Result<Sink, String> {
        Ok(match custom {
            #[cfg(feature = "testing")]
            Some(Custom::Memory(m)) => Sink::Memory(m),
            #[cfg(not(feature = "testing"))]
            Some(c) => match c {},
            None if cfg.exporter == ExporterKind::Console => Sink::Console(ConsoleSink::default()),
            None => Sink::Http(Box::new(HttpSink::new(cfg)?)),
        })
    }

    /// True when every observation is handed over as it ends (the console prints whole traces).
    pub(crate) fn hands_over_each(&self) -> bool {
        matches!(self, Sink::Console(_))
    }

    /// True when spans go to the legacy ingestion API (configured, or after a 404 in `auto`).
    pub(crate) fn on_ingestion(&self) -> bool {
        matches!(self, Sink::Http(h) if h.on_ingestion())
    }

    /// True when a request in flight has finished (its outcome is counted by [`settle`](Self::settle)).
    pub(crate) fn in_flight_done(&self) -> bool {
        matches!(self, Sink::Http(h) if h.traces_done())
    }

    /// Waits for the request in flight (if any) and counts its outcome (HTTP: splitting and
    /// resending it, encoded by `encoder`, when the server found it too large).
    pub(crate) async fn settle(&mut self, encoder: &Encoder, shared: &Shared) {
        if let Sink::Http(http) = self {
            http.finish_traces(encoder, shared).await;
        }
    }

    /// Sends the `n` encoded spans of `batch` (HTTP: starts the request; its outcome is counted
    /// when it finishes, and it keeps the spans until then: `batch` may get another buffer).
    pub(crate) async fn send_spans(
        &mut self,
        encoder: &Encoder,
        batch: &mut Spans,
        n: u64,
        force: bool,
        shared: &Arc<Shared>,
    ) {
        let c = &shared.counters;
        match self {
            Sink::Console(console) => {
                let spans = decode_spans(&encoder.request(&batch.bytes));
                let printed = console.add(spans, force);
                c.exported.fetch_add(printed, Ordering::Relaxed);
            }
            #[cfg(feature = "testing")]
            Sink::Memory(m) => {
                if n > 0 {
                    let bytes = encoder.request(&batch.bytes);
                    match ExportTraceServiceRequest::decode(&bytes[..]) {
                        Ok(req) => m.push_spans(req),
                        Err(e) => crate::diag::warn(&format!("encoded spans do not decode: {e}")),
                    }
                }
                c.exported.fetch_add(n, Ordering::Relaxed);
            }
            Sink::Http(http) => {
                if n > 0 {
                    http.start_traces(encoder, batch, n, shared).await;
                }
            }
        }
    }

    /// Sends score events and counts them exported or failed.
    pub(crate) async fn send_scores(&mut self, events: Vec<serde_json::Value>, shared: &Shared) {
        let n = events.len() as u64;
        let c = &shared.counters;
        match self {
            Sink::Console(console) => {
                console.scores(&events);
                c.exported.fetch_add(n, Ordering::Relaxed);
            }
            #[cfg(feature = "testing")]
            Sink::Memory(m) => {
                m.push_scores(events);
                c.exported.fetch_add(n, Ordering::Relaxed);
            }
            Sink::Http(http) => {
                let failed = http.send_scores(events, shared).await;
                c.exported.fetch_add(n - failed, Ordering::Relaxed);
                c.failed.fetch_add(failed, Ordering::Relaxed);
            }
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
