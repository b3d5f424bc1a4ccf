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

mod run;
mod summary;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::client::ApiClient;
use super::datasets::DatasetItem;

pub use summary::{ScoreStats, Summary};

/// One item of an experiment: input, expected output, metadata.
#[derive(Clone, Debug, Default)]
pub struct ExperimentItem {
    /// The dataset item id (`None` for local items).
    pub id: Option<String>,
    /// The task's input.
    pub input: Value,
    /// What the task should produce (for evaluators).
    pub expected_output: Value,
    /// Metadata.
    pub metadata: Value,
    cost_bits: Arc<AtomicU64>,
}

impl ExperimentItem {
    /// A local item with `input`.
    pub fn new(input: impl Into<Value>) -> Self {
        ExperimentItem {
            input: input.into(),
            ..Default::default()
        }
    }
    /// Sets the expected output.
    pub fn expected_output(mut self, v: impl Into<Value>) -> Self {
        self.expected_output = v.into();
        self
    }
    /// Sets the metadata.
    pub fn metadata(mut self, v: impl Into<Value>) -> Self {
        self.metadata = v.into();
        self
    }
    /// Adds to the cost (USD) of this item's run, for the summary (e.g. from the model
    /// answer's usage). Safe from any clone of the item.
    pub fn add_cost(&self, usd: f64) {
        if !usd.is_finite() {
            return;
        }
        let _ = self
            .cost_bits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                Some((f64::from_bits(b) + usd).to_bits())
            });
    }
    /// The cost added so far (USD).
    pub fn cost(&self) -> f64 {
        f64::from_bits(self.cost_bits.load(Ordering::Acquire))
    }
    fn fresh(&self) -> Self {
        ExperimentItem {
            cost_bits: Arc::new(AtomicU64::new(0f64.to_bits())),
            ..self.clone()
        }
    }
}

impl From<&DatasetItem> for ExperimentItem {
    fn from(i: &DatasetItem) -> Self {
        ExperimentItem {
            id: Some(i.id.clone()),
            input: i.input.clone(),
            expected_output: i.expected_output.clone(),
            metadata: i.metadata.clone(),
            cost_bits: Arc::default(),
        }
    }
}

/// A score value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EvalValue {
    /// A number.
    Number(f64),
    /// A boolean (sent as 1 / 0).
    Bool(bool),
    /// A category.
    Category(String),
}

impl EvalValue {
    /// The numeric value (booleans 1/0; categories none).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            EvalValue::Number(n) => Some(*n),
            EvalValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            EvalValue::Category(_) => None,
        }
    }
}

/// A score an evaluator gives.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Evaluation {
    /// Score name.
    pub name: String,
    /// Value.
    pub value: EvalValue,
    /// Comment.
    pub comment: Option<String>,
}

impl Evaluation {
    /// A numeric score.
    pub fn number(name: impl Into<String>, value: f64) -> Self {
        Self::with(name, EvalValue::Number(value))
    }
    /// A boolean score.
    pub fn boolean(name: impl Into<String>, value: bool) -> Self {
        Self::with(name, EvalValue::Bool(value))
    }
    /// A categorical score.
    pub fn category(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::with(name, EvalValue::Category(value.into()))
    }
    fn with(name: impl Into<String>, value: EvalValue) -> Self {
        Evaluation {
            name: name.into(),
            value,
            comment: None,
        }
    }
    /// Adds a comment.
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(c.into());
        self
    }
}

/// What evaluators return: one evaluation, several, none, or an error.
pub trait IntoEvaluations {
    /// The evaluations, or an error message.
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String>;
}
impl IntoEvaluations for Evaluation {
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String> {
        Ok(vec![self])
    }
}
impl IntoEvaluations for Vec<Evaluation> {
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String> {
        Ok(self)
    }
}
impl IntoEvaluations for Option<Evaluation> {
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String> {
        Ok(self.into_iter().collect())
    }
}
impl<T: IntoEvaluations, E: fmt::Display> IntoEvaluations for Result<T, E> {
    fn into_evaluations(self) -> Result<Vec<Evaluation>, String> {
        self.map_err(|e| e.to_string())?.into_evaluations()
    }
}

/// What an item evaluator sees.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EvalInput {
    /// The item's input.
    pub input: Value,
    /// The task's output.
    pub output: Value,
    /// The item's expected output.
    pub expected_output: Value,
    /// The item's metadata.
    pub metadata: Value,
}

/// The outcome of one item.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ItemResult {
    /// Position in the input.
    pub index: usize,
    /// The item.
    pub item: ExperimentItem,
    /// The task's output (`None` when it failed).
    pub output: Option<Value>,
    /// Why the task failed (error, timeout).
    pub error: Option<String>,
    /// Item-level evaluations.
    pub evaluations: Vec<Evaluation>,
    /// Evaluators that failed, with their errors.
    pub evaluator_errors: Vec<String>,
    /// The item's trace (`None` when tracing is off).
    pub trace_id: Option<String>,
    /// The item's root observation.
    pub observation_id: Option<String>,
    /// How long the task took.
    pub latency: Duration,
    /// Cost the task reported ([`ExperimentItem::add_cost`]), USD.
    pub cost_usd: f64,
}

impl ItemResult {
    /// Whether the task failed.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// Everything an experiment produced (also what [`ExperimentResult::summary`] prints).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExperimentResult {
    /// Experiment name.
    pub name: String,
    /// Run name.
    pub run_name: String,
    /// Description.
    pub description: Option<String>,
    /// The dataset, when run on one.
    pub dataset_name: Option<String>,
    /// The dataset run id (from the first linked item).
    pub dataset_run_id: Option<String>,
    /// Per-item results, in input order.
    pub items: Vec<ItemResult>,
    /// Run-level evaluations.
    pub run_evaluations: Vec<Evaluation>,
    /// What went wrong besides failed items (score posts, links, flush, evaluators).
    pub warnings: Vec<String>,
}

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub(crate) type ItemEvaluator =
    Arc<dyn Fn(EvalInput) -> BoxFuture<Result<Vec<Evaluation>, String>> + Send + Sync>;
pub(crate) type RunEvaluator =
    Arc<dyn Fn(&[ItemResult]) -> Result<Vec<Evaluation>, String> + Send + Sync>;

/// An experiment to run: [`ApiClient::experiment`]; ends with [`Experiment::run_on_dataset`]
/// or [`Experiment::run_local`].
#[must_use]
pub struct Experiment {
    pub(crate) api: ApiClient,
    pub(crate) name: String,
    pub(crate) run_name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) metadata: Option<Value>,
    pub(crate) concurrency: usize,
    pub(crate) item_timeout: Option<Duration>,
    pub(crate) evaluators: Vec<(String, ItemEvaluator)>,
    pub(crate) run_evaluators: Vec<(String, RunEvaluator)>,
    pub(crate) langfuse: Option<crate::Langfuse>,
    pub(crate) progress: Option<bool>,
    pub(crate) print_summary: bool,
    pub(crate) post_scores: bool,
}

impl fmt::Debug for Experiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Experiment")
            .field("name", &self.name)
            .field("run_name", &self.run_name)
            .field("concurrency", &self.concurrency)
            .field("evaluators", &self.evaluators.len())
            .field("run_evaluators", &self.run_evaluators.len())
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    /// An experiment named `name` (see the [`experiment`](crate::api::Experiment) docs).
    pub fn experiment(&self, name: impl Into<String>) -> Experiment {
        Experiment {
            api: self.clone(),
            name: name.into(),
            run_name: None,
            description: None,
            metadata: None,
            concurrency: 4,
            item_timeout: None,
            evaluators: Vec::new(),
            run_evaluators: Vec::new(),
            langfuse: None,
            progress: None,
            print_summary: true,
            post_scores: true,
        }
    }
}

impl Experiment {
    /// The run name (default: `<name> - <UTC time>`).
    pub fn run_name(mut self, n: impl Into<String>) -> Self {
        self.run_name = Some(n.into());
        self
    }
    /// The run description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Run metadata (on the dataset run and every item's root span).
    pub fn metadata(mut self, m: impl Serialize) -> Self {
        self.metadata = serde_json::to_value(m).ok();
        self
    }
    /// Items run at the same time (default 4, at least 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
    /// Time each task may take; a task over it is a failed item.
    pub fn item_timeout(mut self, d: Duration) -> Self {
        self.item_timeout = Some(d);
        self
    }
    /// The Langfuse client that traces items (default: the global [`crate::client()`]).
    pub fn langfuse(mut self, lf: crate::Langfuse) -> Self {
        self.langfuse = Some(lf);
        self
    }
    /// Show a progress line (default: when stderr is a terminal).
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = Some(on);
        self
    }
    /// Print the summary table on stdout at the end (default true).
    pub fn print_summary(mut self, on: bool) -> Self {
        self.print_summary = on;
        self
    }
    /// Post scores to Langfuse (default true); `false` keeps them in the result only (e.g. for
    /// a local run without a Langfuse server).
    pub fn post_scores(mut self, on: bool) -> Self {
        self.post_scores = on;
        self
    }
    /// Adds a synchronous item evaluator, traced as an `evaluator` observation named `name`.
    pub fn evaluator<F, R>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&EvalInput) -> R + Send + Sync + 'static,
        R: IntoEvaluations,
    {
        let f = Arc::new(f);
        let ev: ItemEvaluator = Arc::new(move |input: EvalInput| {
            let r = f(&input).into_evaluations();
            Box::pin(std::future::ready(r)) as BoxFuture<_>
        });
        self.evaluators.push((name.into(), ev));
        self
    }
    /// Adds an async item evaluator (e.g. LLM-as-a-judge).
    pub fn async_evaluator<F, Fut, R>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(EvalInput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoEvaluations,
    {
        let ev: ItemEvaluator = Arc::new(move |input: EvalInput| {
            let fut = f(input);
            Box::pin(async move { fut.await.into_evaluations() }) as BoxFuture<_>
        });
        self.evaluators.push((name.into(), ev));
        self
    }
    /// Adds a run-level evaluator over all item results (e.g. a mean, a pass rate).
    pub fn run_evaluator<F, R>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&[ItemResult]) -> R + Send + Sync + 'static,
        R: IntoEvaluations,
    {
        let ev: RunEvaluator = Arc::new(move |items: &[ItemResult]| f(items).into_evaluations());
        self.run_evaluators.push((name.into(), ev));
        self
    }
}
