//! Langfuse tracing for Rust.
//!
//! Record what your LLM application does — spans, generations with model, tokens and cost,
//! tool calls, scores — as nested traces in [Langfuse](https://langfuse.com). Observations are
//! sent as OpenTelemetry (OTLP/HTTP protobuf) from a thread of the SDK's own, so the calling code
//! never blocks, never does I/O, and never panics because of tracing.
//!
//! # Quick start
//!
//! ```no_run
//! use langfuse_sdk::{TraceAttributes, UsageDetails};
//!
//! fn main() {
//!     // Reads LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_BASE_URL, …
//!     // The guard flushes and shuts down when main returns.
//!     let _langfuse = langfuse_sdk::init();
//!
//!     let lf = langfuse_sdk::client();
//!     let root = lf.span("answer-question").input("What is Langfuse?").start();
//!     let _in_root = root.enter();
//!     let _attrs = langfuse_sdk::propagate_attributes(
//!         TraceAttributes::new().user_id("user-1").session_id("session-1"),
//!     );
//!
//!     let gen = lf.generation("llm").model("gpt-4o-mini").start();
//!     gen.set_output("An open-source LLM observability platform.")
//!         .set_usage_details(UsageDetails::new().input(12).output(9).total(21));
//!     gen.end();
//!
//!     root.set_output("An open-source LLM observability platform.");
//! }
//! ```
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
//! values as JSON; odd values get documented markers rather than errors (see the table in the
//! README: NaN, huge integers, bytes, deep nesting, failing `Serialize`, oversized values).

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

#[doc(hidden)]
pub mod fuzz;
#[cfg(feature = "testing")]
pub mod testing;

pub use attributes::TraceAttributes;
pub use builder::LangfuseBuilder;
pub use client::Langfuse;
pub use config::{ExporterKind, DEFAULT_BASE_URL};
pub use context::{
    spawn, spawn_blocking, thread_spawn, Context, ContextGuard, WithContext, WithContextFuture,
};
pub use details::{CostDetails, UsageDetails};
pub use error::Error;
pub use export::{Stats, SDK_VERSION};
pub use fields::{Level, ObservationType};
pub use global::{client, flush, init, init_with, shutdown, ClientGuard};
pub use ids::{create_trace_id, ObservationId, RemoteParent, TraceId};
pub use observation::{
    current_observation, current_observation_id, current_trace_id, current_trace_url,
    current_traceparent, observation, propagate_attributes, score_current_observation,
    score_current_trace, update_current_trace, Observation, ObservationBuilder, ObservationRef,
};
pub use score::{Score, ScoreValue};

/// `#[observe]`: trace a function as an observation. See the [`langfuse_macros`] crate docs.
pub use langfuse_macros::observe;
