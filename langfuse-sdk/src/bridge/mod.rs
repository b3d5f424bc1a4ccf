//! A `tracing` bridge (feature `tracing`): code instrumented with `tracing` spans
//! (`#[tracing::instrument]`, `info_span!`) shows up in Langfuse as observations, with no
//! rewrite.
//!
//! Add [`layer()`] (or a configured [`LangfuseLayer::builder`]) to a `tracing_subscriber`
//! registry, beside `fmt` or any other layer. Each span it selects starts an observation when
//! it is created and ends it when it closes; while the span is entered its observation is the
//! current one, so the two ways of tracing nest into one tree, in sync and async code alike:
//!
//! - an `#[observe]` function (or any observation) started inside an entered span is the
//!   span's child;
//! - a span created inside an observation (an `#[observe]` function, an entered
//!   [`Observation`](crate::Observation)) is that observation's child. A span with an explicit
//!   `parent:` goes under that span's observation; `parent: None` starts a new trace.
//!
//! # Example
//!
//! ```
//! use langfuse_sdk::bridge::{self, Events, WithTraceId};
//! use langfuse_sdk::{observe, Langfuse};
//! use tracing_subscriber::prelude::*;
//!
//! #[tracing::instrument(fields(langfuse.observation.type = "generation", model = "gpt-4o-mini",
//!     usage.input = 12, output = tracing::field::Empty))]
//! fn call_llm(question: &str) -> String {
//!     let answer = "An open-source LLM observability platform.".to_string();
//!     tracing::Span::current().record("output", answer.as_str());
//!     answer
//! }
//!
//! #[observe]
//! fn retrieve(question: &str) -> Vec<String> {
//!     tracing::info!(hits = 2, "searched the index"); // a Langfuse event (Events::AtLeast(INFO))
//!     vec!["doc-1".into(), "doc-2".into()]
//! }
//!
//! #[tracing::instrument(fields(user.id = "user-1", session.id = "session-1"))]
//! fn answer(question: &str) -> String {
//!     let _docs = retrieve(question); // an #[observe] child of the span
//!     call_llm(question)
//! }
//!
//! # let lf = Langfuse::builder().tracing_enabled(false).build().unwrap();
//! // let lf = Langfuse::builder().build()?;  // LANGFUSE_PUBLIC_KEY, … as usual
//! let _langfuse = langfuse_sdk::init_with(lf);
//! let subscriber = tracing_subscriber::registry()
//!     .with(bridge::LangfuseLayer::builder().events(Events::AtLeast(tracing::Level::INFO)).build())
//!     .with(tracing_subscriber::fmt::layer().event_format(WithTraceId::new(
//!         tracing_subscriber::fmt::format(),
//!     )));
//! tracing::subscriber::with_default(subscriber, || {
//!     answer("What is Langfuse?");
//! });
//! ```
//!
//! Gives the trace `answer` (span, user and session set) → `retrieve` (span, with the event
//! `searched the index`) and `call_llm` (generation with model, usage and output).
//!
//! # Which spans
//!
//! [`Spans::All`] (the default), [`Spans::Target`] (a crate or module prefix), or
//! [`Spans::WithLangfuseFields`] (spans declaring a `langfuse.*` field). The choice is a
//! per-layer filter decided per callsite: spans and events the bridge does not want never
//! reach it (other layers still get them), and the SDK's own diagnostics are always left out.
//! While nothing records (tracing disabled, no client), selected spans are not even read.
//!
//! # Fields
//!
//! | field | becomes |
//! | --- | --- |
//! | `langfuse.observation.type`, `langfuse.type`, `as_type` (at creation) | the type: `span`, `generation`, `tool`, `agent`, … |
//! | `langfuse.name`, `otel.name` | the name (default: the span's name) |
//! | `input`, `langfuse.input` | input |
//! | `output`, `langfuse.output` | output (usually recorded later: declare it `Empty`) |
//! | `model`, `gen_ai.request.model` | model |
//! | `usage.input` / `usage.output` / `usage.total`, `gen_ai.usage.input_tokens` / `output_tokens` / `total_tokens` | usage details |
//! | `user.id`, `session.id` (also `langfuse.`…) | trace attributes; given at creation, in scope for everything inside the span |
//! | `langfuse.level` | level (`DEBUG`, `DEFAULT`, `WARNING`, `ERROR`) |
//! | `error`, `exception.message` | level ERROR, status message = the value |
//! | `langfuse.version` | version |
//! | `langfuse.trace_id` | nothing (left for log lines) |
//! | anything else | a metadata key |
//!
//! Text that holds a JSON object or array (`input = %serde_json::json!(…)`) goes out as JSON,
//! other text as text, numbers and booleans as JSON. Fields recorded later
//! (`Span::record`) update the observation; the type is fixed when the span is created.
//!
//! # Events
//!
//! [`Events::Ignore`] (the default) or [`Events::AtLeast`]: events inside an observation
//! become Langfuse events under it, named by their message, with their level and fields. In
//! either case an ERROR event or one with an `error` field (`#[instrument(err)]`) marks the
//! enclosing observation failed, and one with a `return` or `output` field
//! (`#[instrument(ret)]`) sets its output.
//!
//! # Log lines
//!
//! [`WithTraceId`] wraps a `fmt` event format so that lines written inside an observation end
//! with `langfuse.trace_id=<id>`.

mod fields;
mod format;
mod layer;
mod select;
mod stack;

pub use format::WithTraceId;
pub use layer::{FilteredLangfuseLayer, LangfuseLayer, LangfuseLayerBuilder};
pub use select::{Events, Selection, Spans};

/// The layer with the defaults: every span, no Langfuse events, the global client.
pub fn layer<S>() -> FilteredLangfuseLayer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    LangfuseLayer::builder().build()
}
