//! Langfuse tracing for Rust.
//!
//! Record what your LLM application does — spans, generations with model, tokens and cost,
//! tool calls, scores — as nested traces in [Langfuse](https://langfuse.com). Observations are
//! sent as OpenTelemetry (OTLP/HTTP protobuf) from a thread of the SDK's own, so the calling code
//! never blocks, never does I/O, and never panics because of tracing.
//!
//! # Quick start
//!
//! Put [`#[observe]`](observe) on the functions you want to see, and keep the guard of
//! [`init`] alive for the whole program:
//!
//! ```no_run
//! use langfuse_sdk::observe;
//!
//! #[observe(as_type = "retriever")]
//! fn search(query: &str) -> Vec<String> {
//!     vec![format!("a document about {query}")]
//! }
//!
//! #[observe] // the outermost observed call starts the trace
//! fn answer(question: &str) -> String {
//!     let docs = search(question); // a child observation
//!     format!("{} documents", docs.len())
//! }
//!
//! fn main() {
//!     // Reads the LANGFUSE_* variables below. Bind the guard to a name: `let _ = init()`
//!     // drops it at once, which shuts the client down and leaves every later observation
//!     // a no-op.
//!     let _langfuse = langfuse_sdk::init();
//!     answer("What is Langfuse?");
//! } // the guard delivers what is queued here
//! ```
//!
//! Model calls through an OpenAI-compatible gateway (LiteLLM, vLLM, OpenAI itself) are recorded
//! as generations — model, tokens, cost, time to first token — by the `langfuse-openai` crate's
//! client, which uses this crate's public API only.
//!
//! # Observations by hand
//!
//! ```no_run
//! use langfuse_sdk::{TraceAttributes, UsageDetails};
//!
//! let _langfuse = langfuse_sdk::init();
//! let lf = langfuse_sdk::client();
//! let root = lf.span("answer-question").input("What is Langfuse?").start();
//! let _in_root = root.enter();
//! let _attrs = langfuse_sdk::propagate_attributes(
//!     TraceAttributes::new().user_id("user-1").session_id("session-1"),
//! );
//!
//! let llm = lf.generation("llm").model("gpt-4o-mini").start();
//! llm.set_output("An open-source LLM observability platform.")
//!     .set_usage_details(UsageDetails::new().input(12).output(9).total(21));
//! llm.end();
//!
//! root.set_output("An open-source LLM observability platform.");
//! ```
//!
//! # Configuration
//!
//! [`init`] and [`Langfuse::from_env`] read these variables; [`LangfuseBuilder`] has a method
//! for each. Invalid values fall back to the default with one warning naming the variable.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY` | none | project keys; without them tracing is off (one warning), unless an OTLP endpoint is set (a collector adds the credentials) |
//! | `LANGFUSE_BASE_URL` (or `LANGFUSE_HOST`) | `https://cloud.langfuse.com` | the Langfuse server |
//! | `LANGFUSE_TRACING_ENVIRONMENT` | none (shown as `default`) | e.g. `production`, `staging` |
//! | `LANGFUSE_RELEASE` | a CI commit variable, if set | the deployed release |
//! | `LANGFUSE_SAMPLE_RATE` | `1.0` | share of traces kept, decided per trace id |
//! | `LANGFUSE_TRACING_ENABLED` | `true` | `false` turns every call into a no-op |
//! | `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED` | `true` | `#[observe]` captures arguments and return values |
//! | `LANGFUSE_FLUSH_AT`, `LANGFUSE_FLUSH_INTERVAL` | `2048`, `5` s | batch size and timer |
//! | `LANGFUSE_TIMEOUT` | `5` s | HTTP timeout, and how long the guard waits at exit |
//! | `LANGFUSE_MAX_QUEUE_SIZE`, `LANGFUSE_MAX_QUEUE_BYTES` | `1000000`, 128 MiB | queue bounds; beyond them observations are dropped and counted |
//! | `LANGFUSE_MAX_RETRIES` | `5` | retries of a failed request |
//! | `LANGFUSE_EXPORTER` | `otlp` | `console` prints each trace as a tree; `none` sends nothing |
//! | `LANGFUSE_DEBUG` | `false` | the SDK's own debug log |
//! | `OTEL_SERVICE_NAME` | `unknown_service:rust` | the resource's service name |
//! | `OTEL_RESOURCE_ATTRIBUTES` | none | `k=v,…` added to the resource |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT` | none (Langfuse's OTel route) | send to a collector instead (the second gets `/v1/traces`) |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_HEADERS` | none | extra headers, `k=v,…` |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION` (`_TRACES_` too) | `gzip` | `gzip` or `none` |
//! | `LANGFUSE_OTEL_TRACES_EXPORT_PATH` | `/api/public/otel/v1/traces` | the path under the base URL |
//! | `LANGFUSE_TRANSPORT` | `auto` | `otlp`, `ingestion` (the legacy batch API, for servers without the OTel route), or `auto`: OTLP, switching for good to ingestion on a 404 |
//!
//! # Context
//!
//! The current observation follows the code: per thread for sync code ([`ObservationRef::enter`]),
//! per future for async code ([`WithContext`]); [`spawn`], [`spawn_blocking`] and
//! [`thread_spawn`] carry it into new tasks and threads. Trace-level attributes
//! ([`TraceAttributes`]: user, session, tags, …) set for a scope land on every observation
//! created inside it.
//!
//! # Values
//!
//! Inputs, outputs and metadata take anything `Serialize`. Strings go out as plain text, other
//! values as JSON; odd values get documented markers rather than errors (NaN, huge integers,
//! bytes, deep nesting, failing `Serialize`, oversized values: see the README's table).
//!
//! # Delivery
//!
//! [`flush`] and [`shutdown`] block the calling thread (never the exporter's) for at most their
//! timeout and say whether everything was delivered; [`Langfuse::stats`] counts every
//! observation enqueued, exported, dropped and failed.
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `tracing` | `bridge`: a `tracing_subscriber::Layer` that turns `tracing` spans into observations, and the trace id in `fmt` log lines |
//! | `opentelemetry` | `otel`: parents both ways with opentelemetry-rust spans, W3C `baggage` for trace attributes, and `LangfuseSpanProcessor`: an OpenTelemetry pipeline's (GenAI) spans sent through the client's exporter |
//! | `metrics` | the SDK's health (enqueued, exported, dropped, failed, retried, queue depth) through the `metrics` facade |
//! | `testing` | `testing::InMemoryExporter`: assert on exactly what would be sent |
//!
//! [`api`] (prompts, datasets, experiments, reads of the public API) needs no feature.
//!
//! # Layout of the crate
//!
//! The modules are layers along the data's path, each importing only those below it: value
//! capture and configuration; the plain data of an observation; the exporter (queue, worker
//! thread, encoding, gzip, sinks: its module documentation draws the pipeline); the client
//! core; the recorded allocation; the thread's context; the handles, builder and start path;
//! the [`instrument`] primitives `#[observe]` expands into; the client and the global client.

#![warn(missing_docs)]

// The layers, from the ground up: each module imports only modules above it in this list.
mod clock;
mod diag;
mod error;
mod ids;

mod capture;
mod config;

mod attributes;
mod details;
mod fields;
mod score;

mod export;

mod core;
mod live;

mod context;

mod observation;

#[cfg(feature = "tracing")]
pub mod bridge;
mod builder;
mod client;
mod global;
pub mod instrument;
#[cfg(feature = "opentelemetry")]
pub mod otel;

pub mod api;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
#[cfg(feature = "testing")]
pub mod testing;

pub use attributes::TraceAttributes;
pub use builder::LangfuseBuilder;
pub use client::Langfuse;
pub use config::{ExporterKind, Transport, DEFAULT_BASE_URL};
pub use context::{
    spawn, spawn_blocking, thread_spawn, Context, ContextGuard, WithContext, WithContextFuture,
};
pub use details::{CostDetails, UsageDetails};
pub use error::Error;
pub use export::{Stats, SDK_VERSION};
pub use fields::{Level, ObservationType};
pub use global::{client, flush, init, init_with, shutdown, ClientGuard};
pub use ids::{create_trace_id, ObservationId, RemoteParent, TraceId};
pub use instrument::ObserveExt;
pub use observation::{
    current_observation, current_observation_id, current_trace_id, current_trace_url,
    current_traceparent, observation, propagate_attributes, score_current_observation,
    score_current_trace, update_current_trace, Observation, ObservationBuilder, ObservationRef,
};
pub use score::{Score, ScoreValue};

#[doc(inline)]
pub use langfuse_macros::observe;
