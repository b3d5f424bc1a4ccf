//! Configuring an experiment: [`ApiClient::experiment`] and the [`Experiment`] builder.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::types::{EvalInput, Evaluation, IntoEvaluations, ItemResult};
use crate::api::client::ApiClient;

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
