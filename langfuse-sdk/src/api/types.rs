//! Read types of the public API: pages, traces, observations, sessions, scores, score configs.
//!
//! Lenient by design: every field is optional or defaulted, unknown fields land in `extra`,
//! timestamps stay RFC 3339 strings (as sent).

use serde::Deserialize;
use serde_json::{Map, Value};

/// Paging information of a page-based list.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct PageMeta {
    /// This page, from 1.
    #[serde(deserialize_with = "super::types::nd")]
    pub page: u32,
    /// Items per page.
    #[serde(deserialize_with = "super::types::nd")]
    pub limit: u32,
    /// Items in all pages.
    #[serde(deserialize_with = "super::types::nd")]
    pub total_items: u64,
    /// Number of pages.
    #[serde(deserialize_with = "super::types::nd")]
    pub total_pages: u32,
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
#[non_exhaustive]
pub struct Page<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Paging.
    #[serde(default)]
    pub meta: PageMeta,
}

impl<T> Page<T> {
    /// Whether a page follows this one.
    pub fn has_next(&self) -> bool {
        self.meta.page < self.meta.total_pages
    }
}

/// A trace (list item or, with `observations`/`scores` filled, `GET /traces/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct TraceRecord {
    /// Trace id (32 hex).
    #[serde(deserialize_with = "super::types::nd")]
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Start (RFC 3339).
    pub timestamp: Option<String>,
    /// Input.
    pub input: Value,
    /// Output.
    pub output: Value,
    /// Metadata.
    pub metadata: Value,
    /// Session id.
    pub session_id: Option<String>,
    /// User id.
    pub user_id: Option<String>,
    /// Release.
    pub release: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Tags.
    #[serde(deserialize_with = "super::types::nd")]
    pub tags: Vec<String>,
    /// Public link enabled.
    #[serde(deserialize_with = "super::types::nd")]
    pub public: bool,
    /// Latency in seconds.
    pub latency: Option<f64>,
    /// Total cost in USD.
    pub total_cost: Option<f64>,
    /// Path of the trace in the UI.
    pub html_path: Option<String>,
    /// Observations: ids in lists, full objects in `GET /traces/{id}` (see
    /// [`TraceRecord::observation_records`]).
    #[serde(deserialize_with = "super::types::nd")]
    pub observations: Vec<Value>,
    /// Scores: ids in lists, full objects in `GET /traces/{id}`.
    #[serde(deserialize_with = "super::types::nd")]
    pub scores: Vec<Value>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TraceRecord {
    /// The observations of a `GET /traces/{id}` answer, typed (empty for list items).
    pub fn observation_records(&self) -> Vec<ObservationRecord> {
        self.observations
            .iter()
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect()
    }
    /// The scores of a `GET /traces/{id}` answer, typed (empty for list items).
    pub fn score_records(&self) -> Vec<ScoreRecord> {
        self.scores
            .iter()
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect()
    }
}

/// An observation (span, generation, …) as the v1 observations API returns it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ObservationRecord {
    /// Observation id (16 hex).
    #[serde(deserialize_with = "super::types::nd")]
    pub id: String,
    /// Trace id.
    pub trace_id: Option<String>,
    /// Parent observation id.
    pub parent_observation_id: Option<String>,
    /// `SPAN`, `GENERATION`, `EVENT`, `TOOL`, …
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Start (RFC 3339).
    pub start_time: Option<String>,
    /// End (RFC 3339).
    pub end_time: Option<String>,
    /// First token (generations).
    pub completion_start_time: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Model parameters.
    pub model_parameters: Value,
    /// Input.
    pub input: Value,
    /// Output.
    pub output: Value,
    /// Metadata.
    pub metadata: Value,
    /// `DEBUG`, `DEFAULT`, `WARNING`, `ERROR`.
    pub level: Option<String>,
    /// Status message.
    pub status_message: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Linked prompt name.
    pub prompt_name: Option<String>,
    /// Linked prompt version.
    pub prompt_version: Option<u32>,
    /// Usage by kind (`input`, `output`, `total`, …).
    #[serde(deserialize_with = "super::types::nd")]
    pub usage_details: Map<String, Value>,
    /// Cost by kind in USD.
    #[serde(deserialize_with = "super::types::nd")]
    pub cost_details: Map<String, Value>,
    /// Total cost computed by Langfuse.
    pub calculated_total_cost: Option<f64>,
    /// Latency in seconds.
    pub latency: Option<f64>,
    /// Time to first token in seconds.
    pub time_to_first_token: Option<f64>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A session and its traces.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct SessionRecord {
    /// Session id.
    #[serde(deserialize_with = "super::types::nd")]
    pub id: String,
    /// Creation (RFC 3339).
    pub created_at: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Traces (only in `GET /sessions/{id}`).
    #[serde(deserialize_with = "super::types::nd")]
    pub traces: Vec<TraceRecord>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A score as the v2 scores API returns it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ScoreRecord {
    /// Score id.
    #[serde(deserialize_with = "super::types::nd")]
    pub id: String,
    /// Name.
    #[serde(deserialize_with = "super::types::nd")]
    pub name: String,
    /// Numeric value (1/0 for booleans; absent for categorical scores without mapping).
    pub value: Option<f64>,
    /// Text value (categorical, boolean `"True"`/`"False"`).
    pub string_value: Option<String>,
    /// `NUMERIC`, `CATEGORICAL`, `BOOLEAN`.
    pub data_type: Option<String>,
    /// `API`, `EVAL`, `ANNOTATION`.
    pub source: Option<String>,
    /// Trace id.
    pub trace_id: Option<String>,
    /// Observation id.
    pub observation_id: Option<String>,
    /// Session id.
    pub session_id: Option<String>,
    /// Dataset run id (run-level scores).
    pub dataset_run_id: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// Score config id.
    pub config_id: Option<String>,
    /// Metadata.
    pub metadata: Value,
    /// When (RFC 3339).
    pub timestamp: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A score config (the schema scores of a name must follow).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ScoreConfig {
    /// Config id.
    #[serde(deserialize_with = "super::types::nd")]
    pub id: String,
    /// Name.
    #[serde(deserialize_with = "super::types::nd")]
    pub name: String,
    /// `NUMERIC`, `CATEGORICAL`, `BOOLEAN`.
    #[serde(deserialize_with = "super::types::nd")]
    pub data_type: String,
    /// Archived.
    #[serde(deserialize_with = "super::types::nd")]
    pub is_archived: bool,
    /// Minimum (numeric).
    pub min_value: Option<f64>,
    /// Maximum (numeric).
    pub max_value: Option<f64>,
    /// Categories (`{label, value}`).
    #[serde(deserialize_with = "super::types::nd")]
    pub categories: Vec<Value>,
    /// Description.
    pub description: Option<String>,
    /// Fields not named above.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `null` (or absent, with `#[serde(default)]`) as the type's default.
pub(crate) fn nd<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
