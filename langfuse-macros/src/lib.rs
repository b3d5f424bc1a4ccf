//! `#[observe]`: trace a function as a Langfuse observation.
//!
//! Use it through `langfuse-sdk`, which re-exports it as `langfuse_sdk::observe`; the expansion
//! names nothing else you need to depend on.
//!
//! ```
//! use langfuse_sdk::observe;
//!
//! #[observe(as_type = "retriever")]
//! fn search(query: &str, k: usize) -> Vec<String> {
//!     vec![format!("doc about {query}"); k]
//! }
//!
//! #[observe(name = "answer-question", skip(api_key))]
//! async fn answer(question: String, api_key: String) -> Result<String, std::io::Error> {
//!     let docs = search(&question, 2); // a child observation
//!     Ok(docs.join(" "))
//! }
//! # let _ = answer("hi".into(), "k".into());
//! ```
//!
//! # What it records
//!
//! - **Input**: a JSON object of the parameters by name (receivers left out). Values that
//!   implement `Serialize` are captured as JSON, others through `Debug`, the rest as their type
//!   name — no bounds needed.
//! - **Output**: the return value (`Ok` of a `Result`). An `Err` sets level `ERROR` (or
//!   `err_level`), the status message to the error's text and the span status ERROR.
//! - **Panics** end the observation with level `ERROR` and the panic message, then keep unwinding.
//! - **Cancellation**: an async function's future dropped before completion ends its
//!   observation with level `WARNING` and the status message `cancelled: …`.
//! - **Nesting**: the observation is current while the body runs (per poll for async bodies), so
//!   observed calls inside become children; the outermost one starts the trace.
//! - **Streams and iterators**: a sync function returning `impl Stream<Item = T>` or
//!   `impl Iterator<Item = T>` (or marked `stream` / `iterator`) keeps its observation open until
//!   the stream ends or is dropped, and records the items as output (strings joined).
//!
//! With tracing disabled, an unsampled trace, or
//! `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED=false`, no argument is serialised.
//!
//! # Options
//!
//! Options are written inside the attribute, separated by commas, each at most once:
//! `#[observe(name = "rerank", as_type = "retriever", skip(api_key))]`.
//!
//! | option | meaning |
//! |---|---|
//! | `name = "…"` | observation name (default: the function's name) |
//! | `as_type = "…"` | `span` (default), `generation`, `agent`, `tool`, `chain`, `retriever`, `embedding`, `evaluator`, `guardrail` |
//! | `capture_input = false` | record no input |
//! | `capture_output = false` | record no output |
//! | `skip(a, b)` | leave these parameters out of the input |
//! | `skip_all` | record no parameters (an empty input object) |
//! | `metadata(key = literal, …)` | static metadata on every observation |
//! | `version = "…"` | version of the code path |
//! | `err_level = "…"` | level of an `Err` result: `DEBUG`, `DEFAULT`, `WARNING`, `ERROR` (default) |
//! | `stream` / `iterator` | treat the returned value as a stream / an iterator |
//! | `crate = path` | path of `langfuse_sdk` when it is re-exported under another name |
//!
//! A misspelt or repeated option, a value of the wrong kind, or an `as_type` / `err_level`
//! outside the lists above is a compile error naming the valid choices.
//!
//! ## `name = "…"`
//!
//! The observation's name, a string literal. Default: the function's name (a raw identifier
//! without its `r#`).
//!
//! ```
//! # use langfuse_sdk::observe;
//! #[observe(name = "answer-question")]
//! fn answer(question: &str) -> String {
//!     format!("42 ({question})")
//! }
//! # answer("why");
//! ```
//!
//! ## `as_type = "…"`
//!
//! The observation type, a string literal: `"span"` (the default, a unit of work),
//! `"generation"` (a model call), `"agent"`, `"tool"`, `"chain"`, `"retriever"`, `"embedding"`,
//! `"evaluator"` or `"guardrail"`.
//!
//! ```
//! # use langfuse_sdk::observe;
//! #[observe(as_type = "tool")]
//! fn weather(city: &str) -> String {
//!     format!("sunny in {city}")
//! }
//! # weather("Oslo");
//! ```
//!
//! ## `capture_input = false` and `capture_output = false`
//!
//! Boolean literals (`true` is the default for both). With `capture_input = false` no argument is
//! looked at and the observation has no input; with `capture_output = false` the return value is
//! not recorded (an `Err` still sets the level and status message).
//!
//! ```
//! # use langfuse_sdk::observe;
//! #[observe(capture_input = false, capture_output = false)]
//! fn decrypt(secret: &str) -> String {
//!     secret.chars().rev().collect()
//! }
//! # decrypt("abc");
//! ```
//!
//! ## `skip(a, b, …)` and `skip_all`
//!
//! `skip` leaves the named parameters out of the input object; naming a parameter the function
//! does not have is a compile error listing its parameters. `skip_all` records an empty input
//! object (unlike `capture_input = false`, which records no input at all).
//!
//! ```
//! # use langfuse_sdk::observe;
//! #[observe(skip(api_key))]
//! fn complete(prompt: &str, api_key: &str) -> usize {
//!     prompt.len() + api_key.len()
//! }
//!
//! #[observe(skip_all)]
//! fn checksum(blob: &[u8]) -> u32 {
//!     blob.iter().map(|&b| u32::from(b)).sum()
//! }
//! # complete("p", "k");
//! # checksum(b"x");
//! ```
//!
//! ## `metadata(key = literal, …)`
//!
//! Static metadata set on every observation of the function: keys are identifiers, values are
//! literals (strings, integers, floats, booleans), recorded as JSON. For values known only at
//! run time, set them on the current observation from inside the body.
//!
//! ```
//! # use langfuse_sdk::observe;
//! #[observe(metadata(team = "search", retries = 3, beta = true))]
//! fn rank(query: &str) -> Vec<String> {
//!     vec![query.to_string()]
//! }
//! # rank("q");
//! ```
//!
//! ## `version = "…"`
//!
//! The version of the code path (a string literal), recorded on every observation.
//!
//! ```
//! # use langfuse_sdk::observe;
//! #[observe(version = "2.1.0")]
//! fn summarize(text: &str) -> String {
//!     text.split_whitespace().take(5).collect::<Vec<_>>().join(" ")
//! }
//! # summarize("a b c");
//! ```
//!
//! ## `err_level = "…"`
//!
//! The level an `Err` result sets, a string literal: `"DEBUG"`, `"DEFAULT"`, `"WARNING"` or
//! `"ERROR"` (the default). It applies to functions returning a `Result` (by the name of the
//! return type's last path segment, so aliases such as `io::Result<T>` count).
//!
//! ```
//! # use langfuse_sdk::observe;
//! #[observe(err_level = "WARNING")]
//! fn cached(key: &str) -> Result<String, String> {
//!     Err(format!("cache miss: {key}"))
//! }
//! # let _ = cached("k");
//! ```
//!
//! ## `stream` and `iterator`
//!
//! A sync function returning `impl Stream<Item = T>` or `impl Iterator<Item = T>` is recognised
//! by that return type. For a boxed one (`Box<dyn …>` or `Pin<Box<dyn …>>`), say which it is
//! with `stream` or `iterator` (not both). The observation then stays open until the stream or
//! iterator ends or is dropped, and records the items as its output (strings joined). On an `async fn`,
//! or a sync function with another return type, these options are a compile error.
//!
//! ```
//! # use langfuse_sdk::observe;
//! use std::pin::Pin;
//! use futures::stream::{self, Stream};
//!
//! #[observe(stream)]
//! fn chunks() -> Pin<Box<dyn Stream<Item = String> + Send>> {
//!     Box::pin(stream::iter(vec!["Hel".to_string(), "lo".to_string()]))
//! }
//!
//! #[observe(iterator)]
//! fn words(text: &'static str) -> Box<dyn Iterator<Item = &'static str>> {
//!     Box::new(text.split(' '))
//! }
//! # let _ = chunks();
//! # let _: Vec<_> = words("a b").collect();
//! ```
//!
//! ## `crate = path`
//!
//! The path of the `langfuse_sdk` crate, for a crate that re-exports it under another name (the
//! expansion names its items through this path; default `::langfuse_sdk`). A path, or the same
//! as a string literal: `crate = my_sdk::langfuse` or `crate = "my_sdk::langfuse"`.
//!
//! ```
//! mod my_sdk {
//!     pub use langfuse_sdk as langfuse;
//! }
//!
//! #[my_sdk::langfuse::observe(crate = my_sdk::langfuse)]
//! fn step() -> u8 {
//!     1
//! }
//! # step();
//! ```
//!
//! # Functions it applies to
//!
//! - `fn` and `async fn`, free or in an `impl` block, with any receiver, generics, `where`
//!   clauses and `impl Trait` arguments or return types. Not a `const fn` (an observation
//!   records run-time values) and not a trait method without a body.
//! - A sync function whose body is just `Box::pin(async { … })` and which returns
//!   `Pin<Box<dyn Future<Output = T> + …>>` (any spelling of those paths) has its future observed,
//!   not the call creating it: this is what `#[async_trait]` makes of an `async fn`, so
//!   `#[observe]` works on `#[async_trait]` methods, with or without `#[tracing::instrument]`.
//! - A function whose body does not parse (a syntax error in it) is compiled as written, without
//!   an observation, next to an error saying so: the compiler's own errors for the body are
//!   reported as they would be without the attribute.

mod args;
mod expand;
mod shape;

use proc_macro::TokenStream;

/// Traces a function as a Langfuse observation; see the [crate docs](crate) for the options.
#[proc_macro_attribute]
pub fn observe(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}
