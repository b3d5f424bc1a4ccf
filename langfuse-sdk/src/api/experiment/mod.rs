//! Experiments: run a task over a Langfuse dataset or local items, trace every item, score it
//! with evaluators, link it to a dataset run, and summarise.
//!
//! ```no_run
//! # async fn run() -> Result<(), langfuse_sdk::api::ApiError> {
//! use langfuse_sdk::api::{ApiClient, Evaluation, ExperimentItem};
//! let api = ApiClient::from_env()?;
//! let items = vec![ExperimentItem::new("2+2").expected_output("4")];
//! let result = api
//!     .experiment("arithmetic")
//!     .max_concurrency(4)
//!     .evaluator("exact_match", |e| {
//!         Evaluation::boolean("exact_match", e.output == e.expected_output)
//!     })
//!     .run_local(items, |item| async move {
//!         Ok::<_, std::io::Error>(format!("answer to {}", item.input))
//!     })
//!     .await?;
//! result.require_mean_at_least("exact_match", 0.9)?;
//! # Ok(()) }
//! ```
//!
//! Each item is its own trace: a root span `experiment-item-run` (input, output, metadata with
//! the experiment and run names and the dataset item id) in whose context the task runs (so
//! its generations nest under it), and one `evaluator` observation per item evaluator. Scores
//! are posted one `POST /api/public/scores` JSON object each (the official SDK's array is
//! rejected by the server), on the trace and the root observation; run-level scores go on the
//! dataset run (local runs keep them in the result only: the server has no run to attach them
//! to). Dataset items are linked with `POST /api/public/dataset-run-items`.

mod builder;
mod run;
mod summary;
mod types;

pub use builder::Experiment;
pub use summary::{ScoreStats, Summary};
pub use types::{
    EvalInput, EvalValue, Evaluation, ExperimentItem, ExperimentResult, IntoEvaluations, ItemResult,
};
