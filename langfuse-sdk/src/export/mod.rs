//! Everything on or feeding the exporter thread.
//!
//! ```text
//!  application threads                         | exporter thread (its own current-thread runtime)
//!                                              |
//!  Observation ends ──► queue::Exporter::record |
//!     (record::Batch: this thread's batch,      |
//!      bytes appended under its own lock)       |
//!            │ full batch, bounded in count     |
//!            │ and bytes (shared::Shared)       |
//!            └────────── channel ──────────────►| worker::Worker
//!  flush / shutdown ── control channel ────────►|   ├─ collects partial batches (timer, flush)
//!     (blocking waits, bounded by timeouts)     |   ├─ encode::Encoder: mask, size guard,
//!                                              |   │    OTLP span bytes (protobuf)
//!                                              |   ├─ gzip::Gzip
//!                                              |   └─ sink: http (retries, backoff) │ console
//!                                              |        │ memory (tests)
//! ```
//!
//! The application's threads only append ended observations to a batch of their own and hand
//! full batches over a channel; everything else (masking, encoding, gzip, HTTP) runs on the
//! exporter thread.
//!
//! Spans of the application's own OpenTelemetry pipeline (`otel::LangfuseSpanProcessor`) take
//! the same channel as `Msg::Foreign`, converted and size-checked on the exporter thread by
//! [`foreign`], and leave through the same sink, one request per instrumentation scope.

pub(crate) mod encode;
pub(crate) mod foreign;
pub(crate) mod gzip;
pub(crate) mod metrics;
pub(crate) mod open;
pub(crate) mod protobuf;
pub(crate) mod queue;
pub(crate) mod record;
pub(crate) mod shared;
pub(crate) mod sink;
pub(crate) mod worker;

#[cfg(test)]
mod tests;

pub use encode::SDK_VERSION;
pub use shared::Stats;
