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
//! | option | meaning |
//! |---|---|
//! | `name = "…"` | observation name (default: the function's name) |
//! | `as_type = "…"` | `span` (default), `generation`, `agent`, `tool`, `chain`, `retriever`, `embedding`, `evaluator`, `guardrail` |
//! | `capture_input = false` | record no input |
//! | `capture_output = false` | record no output |
//! | `skip(a, b)` | leave these parameters out of the input |
//! | `skip_all` | record no parameters (an empty input object) |
//! | `metadata(key = "value", n = 1)` | static metadata |
//! | `version = "…"` | version of the code path |
//! | `err_level = "WARNING"` | level of an `Err` result (default `ERROR`) |
//! | `stream` / `iterator` | treat the returned value as a stream / iterator |
//! | `crate = path` | path of `langfuse_sdk` when it is re-exported under another name |

mod args;
mod expand;
mod shape;

use proc_macro::TokenStream;

/// Traces a function as a Langfuse observation; see the [crate docs](crate) for the options.
#[proc_macro_attribute]
pub fn observe(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}
