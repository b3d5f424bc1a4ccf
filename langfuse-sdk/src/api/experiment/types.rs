//! What an experiment works on and produces: items, evaluations, per-item and run results.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::datasets::DatasetItem;

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
    /// A copy with its own cost counter (one per run of the item).
    pub(super) fn fresh(&self) -> Self {
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
