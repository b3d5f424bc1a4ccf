//! Statistics of an experiment's results, the printed table, and threshold checks.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use super::types::{EvalValue, ExperimentResult, ItemResult};
use crate::api::error::{ApiError, Kind};

/// Distribution of one numeric score (booleans as 1/0) or of latencies (seconds).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ScoreStats {
    /// Values.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Smallest.
    pub min: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Largest.
    pub max: f64,
}

impl ScoreStats {
    /// Stats of `values` (`None` when empty; NaNs are left out).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<ScoreStats> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
            v[i - 1]
        };
        Some(ScoreStats {
            count: v.len(),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            min: v[0],
            p50: rank(0.5),
            p90: rank(0.9),
            p95: rank(0.95),
            max: v[v.len() - 1],
        })
    }
}

/// The numbers of [`ExperimentResult::summary`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// Items run.
    pub items: usize,
    /// Items whose task failed.
    pub failed: usize,
    /// Per numeric score name.
    pub scores: BTreeMap<String, ScoreStats>,
    /// Per categorical score name: count per category.
    pub categories: BTreeMap<String, BTreeMap<String, usize>>,
    /// Task latency in seconds.
    pub latency: Option<ScoreStats>,
    /// Total cost reported by tasks, USD.
    pub total_cost: f64,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl ExperimentResult {
    /// The numbers behind the summary table.
    pub fn stats(&self) -> Summary {
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut categories: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for e in self.items.iter().flat_map(|i| &i.evaluations) {
            match &e.value {
                EvalValue::Category(c) => {
                    *categories
                        .entry(e.name.clone())
                        .or_default()
                        .entry(c.clone())
                        .or_default() += 1
                }
                v => values.entry(e.name.clone()).or_default().extend(v.as_f64()),
            }
        }
        Summary {
            items: self.items.len(),
            failed: self.items.iter().filter(|i| i.failed()).count(),
            scores: values
                .into_iter()
                .filter_map(|(k, v)| Some((k, ScoreStats::of(v)?)))
                .collect(),
            categories,
            latency: ScoreStats::of(self.items.iter().map(|i| secs(i.latency))),
            total_cost: self.items.iter().map(|i| i.cost_usd).sum(),
        }
    }

    /// Stats of one score over all items.
    pub fn score(&self, name: &str) -> Option<ScoreStats> {
        self.stats().scores.remove(name)
    }

    /// Items whose task failed.
    pub fn failures(&self) -> impl Iterator<Item = &ItemResult> {
        self.items.iter().filter(|i| i.failed())
    }

    /// Fails unless the mean of score `name` over the items is at least `min` (use it to
    /// fail a test or a CI job). A score nobody gave fails too.
    pub fn require_mean_at_least(&self, name: &str, min: f64) -> Result<(), ApiError> {
        let Some(s) = self.score(name) else {
            return Err(ApiError::new(
                Kind::Threshold,
                format!("experiment '{}': no item has a score '{name}'", self.name),
            ));
        };
        if s.mean >= min {
            return Ok(());
        }
        Err(ApiError::new(
            Kind::Threshold,
            format!(
                "experiment '{}': mean of '{name}' is {:.4} over {} items, below the required {min}",
                self.name, s.mean, s.count
            ),
        ))
    }

    /// Fails when more than `max` items failed.
    pub fn require_failures_at_most(&self, max: usize) -> Result<(), ApiError> {
        let failed = self.failures().count();
        if failed <= max {
            return Ok(());
        }
        Err(ApiError::new(
            Kind::Threshold,
            format!(
                "experiment '{}': {failed} items failed, at most {max} allowed",
                self.name
            ),
        ))
    }

    /// The summary table as text (what the runner prints).
    pub fn summary(&self) -> String {
        let s = self.stats();
        let mut out = String::new();
        let _ = write!(out, "Experiment '{}', run '{}'", self.name, self.run_name);
        if let Some(d) = &self.dataset_name {
            let _ = write!(out, " on dataset '{d}'");
        }
        let _ = writeln!(out);
        let _ = write!(out, "items: {}  failed: {}", s.items, s.failed);
        if s.total_cost > 0.0 {
            let _ = write!(
                out,
                "  cost: ${:.6} total, ${:.6} per item",
                s.total_cost,
                s.total_cost / s.items.max(1) as f64
            );
        }
        let _ = writeln!(out);
        if let Some(l) = &s.latency {
            let _ = writeln!(
                out,
                "latency (s): mean {:.3}  p50 {:.3}  p90 {:.3}  p95 {:.3}  max {:.3}",
                l.mean, l.p50, l.p90, l.p95, l.max
            );
        }
        if !s.scores.is_empty() {
            let w = s
                .scores
                .keys()
                .map(|k| k.chars().count())
                .max()
                .unwrap_or(5)
                .max(5);
            let _ = writeln!(
                out,
                "{:<w$}  {:>5}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
                "score", "n", "mean", "min", "p50", "p90", "p95", "max"
            );
            for (name, st) in &s.scores {
                let _ = writeln!(
                    out,
                    "{name:<w$}  {:>5}  {:>8.4}  {:>8.4}  {:>8.4}  {:>8.4}  {:>8.4}  {:>8.4}",
                    st.count, st.mean, st.min, st.p50, st.p90, st.p95, st.max
                );
            }
        }
        for (name, counts) in &s.categories {
            let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{c}: {n}")).collect();
            let _ = writeln!(out, "{name}: {}", parts.join(", "));
        }
        for e in &self.run_evaluations {
            let v = match &e.value {
                EvalValue::Category(c) => c.clone(),
                v => format!("{:.4}", v.as_f64().unwrap_or(f64::NAN)),
            };
            let _ = writeln!(out, "run: {} = {v}", e.name);
        }
        for i in self.failures() {
            let _ = writeln!(
                out,
                "failed item #{}: {}",
                i.index,
                i.error.as_deref().unwrap_or("")
            );
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }
}

impl fmt::Display for ExperimentResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = ScoreStats::of((1..=10).map(f64::from)).unwrap();
        assert_eq!((s.count, s.min, s.max, s.mean), (10, 1.0, 10.0, 5.5));
        assert_eq!((s.p50, s.p90, s.p95), (5.0, 9.0, 10.0));
        assert_eq!(ScoreStats::of([f64::NAN]), None);
        assert_eq!(ScoreStats::of([2.0]).unwrap().p95, 2.0);
    }
}
