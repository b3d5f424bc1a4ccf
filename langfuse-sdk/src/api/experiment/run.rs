//! Running an experiment: bounded concurrency, per-item tracing, timeout, evaluators, scores,
//! dataset links, progress, flush.

use std::fmt;
use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use super::builder::Experiment;
use super::types::{
    EvalInput, EvalValue, Evaluation, ExperimentItem, ExperimentResult, ItemResult,
};
use crate::api::datasets::CreateDatasetRunItem;
use crate::api::error::ApiError;
use crate::api::read::CreateScore;
use crate::{Level, ObservationType, WithContext};

/// Polls every future until all are done (runtime-agnostic; the futures may borrow).
struct JoinAll<'a> {
    futs: Vec<Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>>,
}

impl Future for JoinAll<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let mut pending = false;
        for slot in self.futs.iter_mut() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(()) => *slot = None,
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// Turns a panic while polling the inner future into an error (a panicking task or evaluator
/// is a failed item, not a failed run).
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, String>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                Poll::Ready(Err(format!("panicked: {msg}")))
            }
        }
    }
}

fn flatten<T>(r: Result<Result<T, String>, String>) -> Result<T, String> {
    r.and_then(|x| x)
}

struct Shared<'a> {
    exp: &'a Experiment,
    run_name: String,
    dataset: Option<String>,
    lf: crate::Langfuse,
    total: usize,
    done: AtomicUsize,
    failed: AtomicUsize,
    progress: bool,
    dataset_run_id: Mutex<Option<String>>,
    warnings: Mutex<Vec<String>>,
}

impl Shared<'_> {
    fn warn(&self, w: String) {
        tracing::warn!(target: "langfuse::api", "experiment '{}': {w}", self.exp.name);
        if let Ok(mut ws) = self.warnings.lock() {
            ws.push(w);
        }
    }
    fn tick(&self, failed: bool) {
        let done = self.done.fetch_add(1, Ordering::AcqRel) + 1;
        let f = self.failed.fetch_add(failed as usize, Ordering::AcqRel) + failed as usize;
        if self.progress {
            eprint!(
                "\r{}: {done}/{} items, {f} failed",
                self.exp.name, self.total
            );
        }
    }
}

pub(crate) fn score_request(e: &Evaluation) -> CreateScore {
    let (value, data_type) = match &e.value {
        EvalValue::Number(n) => (json!(n), "NUMERIC"),
        EvalValue::Bool(b) => (json!(if *b { 1 } else { 0 }), "BOOLEAN"),
        EvalValue::Category(c) => (json!(c), "CATEGORICAL"),
    };
    CreateScore {
        name: e.name.clone(),
        value,
        data_type: Some(data_type.into()),
        comment: e.comment.clone(),
        ..Default::default()
    }
}

fn eval_json(evals: &[Evaluation]) -> Value {
    Value::Array(
        evals
            .iter()
            .map(|e| {
                let v = match &e.value {
                    EvalValue::Number(n) => json!(n),
                    EvalValue::Bool(b) => json!(b),
                    EvalValue::Category(c) => json!(c),
                };
                json!({"name": e.name, "value": v, "comment": e.comment})
            })
            .collect(),
    )
}

impl Experiment {
    /// Runs `task` over every active item of the Langfuse dataset `dataset`, linking each
    /// item's trace to the dataset run (run name: [`Experiment::run_name`]).
    ///
    /// Errors only when the dataset cannot be read; failed items are recorded in the result.
    pub async fn run_on_dataset<T, Fut, O, E>(
        self,
        dataset: &str,
        task: T,
    ) -> Result<ExperimentResult, ApiError>
    where
        T: Fn(ExperimentItem) -> Fut + Sync,
        Fut: Future<Output = Result<O, E>> + Send,
        O: Serialize,
        E: fmt::Display,
    {
        let items = self.api.all_dataset_items(dataset).await?;
        let items = items.iter().map(ExperimentItem::from).collect();
        Ok(self.execute(Some(dataset.to_string()), items, task).await)
    }

    /// Runs `task` over local items (no dataset run; run-level scores stay in the result).
    pub async fn run_local<T, Fut, O, E>(
        self,
        items: Vec<ExperimentItem>,
        task: T,
    ) -> Result<ExperimentResult, ApiError>
    where
        T: Fn(ExperimentItem) -> Fut + Sync,
        Fut: Future<Output = Result<O, E>> + Send,
        O: Serialize,
        E: fmt::Display,
    {
        Ok(self.execute(None, items, task).await)
    }

    async fn execute<T, Fut, O, E>(
        &self,
        dataset: Option<String>,
        items: Vec<ExperimentItem>,
        task: T,
    ) -> ExperimentResult
    where
        T: Fn(ExperimentItem) -> Fut + Sync,
        Fut: Future<Output = Result<O, E>> + Send,
        O: Serialize,
        E: fmt::Display,
    {
        let run_name = self.run_name.clone().unwrap_or_else(|| {
            format!(
                "{} - {}",
                self.name,
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            )
        });
        let lf = self.langfuse.clone().unwrap_or_else(crate::client);
        let shared = Shared {
            exp: self,
            run_name,
            dataset,
            lf,
            total: items.len(),
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            progress: self
                .progress
                .unwrap_or_else(|| std::io::stderr().is_terminal()),
            dataset_run_id: Mutex::new(None),
            warnings: Mutex::new(Vec::new()),
        };
        if !shared.lf.is_enabled() {
            shared.warn("tracing is disabled: items get no traces, scores or dataset links".into());
        }
        let queue: Mutex<std::vec::IntoIter<(usize, ExperimentItem)>> = Mutex::new(
            items
                .into_iter()
                .enumerate()
                .collect::<Vec<_>>()
                .into_iter(),
        );
        let results: Mutex<Vec<ItemResult>> = Mutex::new(Vec::new());
        let workers = (0..self.concurrency.min(shared.total.max(1)))
            .map(|_| {
                let f: Pin<Box<dyn Future<Output = ()> + Send + '_>> = Box::pin(async {
                    for _ in 0..shared.total {
                        let next = queue.lock().ok().and_then(|mut q| q.next());
                        let Some((index, item)) = next else { break };
                        let r = run_item(&shared, index, item.fresh(), &task).await;
                        shared.tick(r.failed());
                        if let Ok(mut rs) = results.lock() {
                            rs.push(r);
                        }
                    }
                });
                Some(f)
            })
            .collect();
        JoinAll { futs: workers }.await;
        if shared.progress {
            eprintln!();
        }
        let mut items = results.into_inner().unwrap_or_default();
        items.sort_by_key(|r| r.index);
        let run_evaluations = run_evaluators(&shared, &items).await;
        if let Err(e) = shared.lf.flush(Duration::from_secs(30)) {
            shared.warn(format!("flushing traces: {e}"));
        }
        let result = ExperimentResult {
            name: self.name.clone(),
            run_name: shared.run_name.clone(),
            description: self.description.clone(),
            dataset_name: shared.dataset.clone(),
            dataset_run_id: shared.dataset_run_id.lock().ok().and_then(|g| g.clone()),
            items,
            run_evaluations,
            warnings: shared.warnings.into_inner().unwrap_or_default(),
        };
        if self.print_summary {
            println!("{}", result.summary());
        }
        result
    }
}

async fn run_evaluators(shared: &Shared<'_>, items: &[ItemResult]) -> Vec<Evaluation> {
    let mut all = Vec::new();
    for (name, ev) in &shared.exp.run_evaluators {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ev(items)))
            .unwrap_or_else(|_| Err("panicked".into()));
        match r {
            Ok(evals) => all.extend(evals),
            Err(e) => shared.warn(format!("run evaluator '{name}' failed: {e}")),
        }
    }
    let run_id = shared.dataset_run_id.lock().ok().and_then(|g| g.clone());
    if let (true, Some(run_id)) = (shared.exp.post_scores, run_id) {
        for e in &all {
            let mut s = score_request(e);
            s.dataset_run_id = Some(run_id.clone());
            if let Err(err) = shared.exp.api.create_score(&s).await {
                shared.warn(format!("posting run score '{}': {err}", e.name));
            }
        }
    }
    all
}

/// Waits `d` on the client's own runtime (works in any executor).
async fn timer(shared: &Shared<'_>, d: Duration) {
    let api = &shared.exp.api;
    let r = api
        .call(move |_| async move {
            tokio::time::sleep(d).await;
            Ok(())
        })
        .await;
    if r.is_err() {
        // No timer available: never time out rather than at once.
        std::future::pending::<()>().await;
    }
}

async fn run_item<T, Fut, O, E>(
    shared: &Shared<'_>,
    index: usize,
    item: ExperimentItem,
    task: &T,
) -> ItemResult
where
    T: Fn(ExperimentItem) -> Fut + Sync,
    Fut: Future<Output = Result<O, E>> + Send,
    O: Serialize,
    E: fmt::Display,
{
    let exp = shared.exp;
    let meta = json!({
        "experiment_name": exp.name,
        "experiment_run_name": shared.run_name,
        "experiment_description": exp.description,
        "experiment_metadata": exp.metadata,
        "dataset_name": shared.dataset,
        "dataset_item_id": item.id,
        "item_metadata": item.metadata,
    });
    let root = shared
        .lf
        .span("experiment-item-run")
        .as_root()
        .input(&item.input)
        .metadata(&meta)
        .start();
    let started = Instant::now();
    let call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task(item.clone())));
    let outcome: Result<Value, String> = match call {
        Err(_) => Err("panicked while starting".to_string()),
        Ok(fut) => {
            let fut = CatchPanic(Box::pin(fut.with_context(root.context())));
            match exp.item_timeout {
                None => flatten(fut.await.map(|r| r.map_err(|e| e.to_string()))),
                Some(d) => tokio::select! {
                    biased;
                    r = fut => flatten(r.map(|r| r.map_err(|e| e.to_string()))),
                    _ = timer(shared, d) => Err(format!("timed out after {d:?}")),
                },
            }
        }
    }
    .and_then(|o| serde_json::to_value(o).map_err(|e| format!("output is not JSON: {e}")));
    let latency = started.elapsed();
    let trace_id = root.trace_id().map(|t| t.to_string());
    let observation_id = root.id().map(|o| o.to_string());
    let mut result = ItemResult {
        index,
        output: None,
        error: None,
        evaluations: Vec::new(),
        evaluator_errors: Vec::new(),
        trace_id,
        observation_id,
        latency,
        cost_usd: item.cost(),
        item,
    };
    match outcome {
        Ok(output) => {
            root.set_output(&output);
            result.output = Some(output);
            evaluate(shared, &root, &mut result).await;
        }
        Err(e) => {
            root.set_level(Level::Error).set_status_message(e.clone());
            result.error = Some(e);
        }
    }
    root.end();
    post_scores(shared, &result).await;
    link(shared, &result).await;
    result
}

async fn evaluate(shared: &Shared<'_>, root: &crate::Observation, result: &mut ItemResult) {
    for (name, ev) in &shared.exp.evaluators {
        let input = EvalInput {
            input: result.item.input.clone(),
            output: result.output.clone().unwrap_or(Value::Null),
            expected_output: result.item.expected_output.clone(),
            metadata: result.item.metadata.clone(),
        };
        let obs = shared
            .lf
            .observation(ObservationType::Evaluator, name.clone())
            .parent_context(&root.context())
            .input(&json!({"input": input.input, "output": input.output, "expected_output": input.expected_output}))
            .start();
        let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ev(input))) {
            Ok(fut) => flatten(CatchPanic(Box::pin(fut.with_context(obs.context()))).await),
            Err(_) => Err("panicked".to_string()),
        };
        match r {
            Ok(evals) => {
                obs.set_output(&eval_json(&evals));
                result.evaluations.extend(evals);
            }
            Err(e) => {
                obs.set_level(Level::Error).set_status_message(e.clone());
                result.evaluator_errors.push(format!("{name}: {e}"));
            }
        }
        obs.end();
    }
}

async fn post_scores(shared: &Shared<'_>, result: &ItemResult) {
    let (true, Some(trace_id)) = (shared.exp.post_scores, &result.trace_id) else {
        return;
    };
    for e in &result.evaluations {
        let mut s = score_request(e);
        s.trace_id = Some(trace_id.clone());
        s.observation_id = result.observation_id.clone();
        if let Err(err) = shared.exp.api.create_score(&s).await {
            shared.warn(format!(
                "posting score '{}' of item {}: {err}",
                e.name, result.index
            ));
        }
    }
}

async fn link(shared: &Shared<'_>, result: &ItemResult) {
    let (Some(_), Some(item_id), Some(trace_id)) =
        (&shared.dataset, &result.item.id, &result.trace_id)
    else {
        return;
    };
    let exp = shared.exp;
    let link = CreateDatasetRunItem {
        run_name: shared.run_name.clone(),
        run_description: exp.description.clone(),
        metadata: exp.metadata.clone(),
        dataset_item_id: item_id.clone(),
        trace_id: trace_id.clone(),
        observation_id: result.observation_id.clone(),
    };
    match exp.api.create_dataset_run_item(&link).await {
        Ok(ri) => {
            if let Ok(mut id) = shared.dataset_run_id.lock() {
                if id.is_none() && !ri.dataset_run_id.is_empty() {
                    *id = Some(ri.dataset_run_id);
                }
            }
        }
        Err(e) => shared.warn(format!("linking item {item_id} to the run: {e}")),
    }
}
