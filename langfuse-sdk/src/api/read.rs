//! Typed reads of traces, observations, sessions, scores and score configs; creating scores.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::ApiClient;
use super::error::ApiError;
use super::http::{segment, Req};
use super::types::{ObservationRecord, Page, ScoreConfig, ScoreRecord, SessionRecord, TraceRecord};

/// Filters and paging of [`ApiClient::list_traces`] (all optional).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TraceQuery {
    /// Page, from 1.
    pub page: Option<u32>,
    /// Items per page (server default 50).
    pub limit: Option<u32>,
    /// Only this user.
    pub user_id: Option<String>,
    /// Only this session.
    pub session_id: Option<String>,
    /// Only this name.
    pub name: Option<String>,
    /// Only traces with all of these tags.
    pub tags: Vec<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// From this timestamp (RFC 3339).
    pub from_timestamp: Option<String>,
    /// Before this timestamp (RFC 3339).
    pub to_timestamp: Option<String>,
    /// E.g. `timestamp.asc`.
    pub order_by: Option<String>,
    /// Field groups, e.g. `core,io` (server default: all).
    pub fields: Option<String>,
}

/// Filters and paging of [`ApiClient::list_observations`] (all optional).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ObservationQuery {
    /// Page, from 1.
    pub page: Option<u32>,
    /// Items per page.
    pub limit: Option<u32>,
    /// Only this trace.
    pub trace_id: Option<String>,
    /// Only this type (`GENERATION`, `SPAN`, …).
    pub kind: Option<String>,
    /// Only this name.
    pub name: Option<String>,
    /// Only children of this observation.
    pub parent_observation_id: Option<String>,
    /// Only this user.
    pub user_id: Option<String>,
    /// Only this environment.
    pub environment: Option<String>,
    /// Started at or after (RFC 3339).
    pub from_start_time: Option<String>,
    /// Started before (RFC 3339).
    pub to_start_time: Option<String>,
}

/// Filters and paging of [`ApiClient::list_scores`] (all optional).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ScoreQuery {
    /// Page, from 1.
    pub page: Option<u32>,
    /// Items per page.
    pub limit: Option<u32>,
    /// Only this trace.
    pub trace_id: Option<String>,
    /// Only this observation.
    pub observation_id: Option<String>,
    /// Only this session.
    pub session_id: Option<String>,
    /// Only this dataset run.
    pub dataset_run_id: Option<String>,
    /// Only this name.
    pub name: Option<String>,
    /// Only this config.
    pub config_id: Option<String>,
    /// Only this source (`API`, `EVAL`, `ANNOTATION`).
    pub source: Option<String>,
    /// Only this data type.
    pub data_type: Option<String>,
}

/// A score to create with [`ApiClient::create_score`] (one `POST /api/public/scores`, a JSON
/// object as the server requires).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateScore {
    /// Score id (idempotency); the server makes one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Number, or a string for categorical scores. Booleans must be 1/0.
    pub value: Value,
    /// `NUMERIC`, `CATEGORICAL`, `BOOLEAN` (server infers when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// Trace scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Observation scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation_id: Option<String>,
    /// Session scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Dataset run scored (run-level scores).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_run_id: Option<String>,
    /// Comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Score config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_id: Option<String>,
    /// Metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl CreateScore {
    /// A numeric score named `name`.
    pub fn numeric(name: impl Into<String>, value: f64) -> Self {
        CreateScore {
            name: name.into(),
            value: serde_json::Number::from_f64(value)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            ..Default::default()
        }
    }
}

#[derive(Deserialize)]
struct Created {
    #[serde(default)]
    id: String,
}

fn page_q(req: Req, page: Option<u32>, limit: Option<u32>) -> Req {
    req.query_opt("page", page).query_opt("limit", limit)
}

impl ApiClient {
    /// Lists traces (page-based).
    pub async fn list_traces(&self, q: TraceQuery) -> Result<Page<TraceRecord>, ApiError> {
        let mut req = page_q(
            Req::get("/api/public/traces", "list traces"),
            q.page,
            q.limit,
        )
        .query_opt("userId", q.user_id)
        .query_opt("sessionId", q.session_id)
        .query_opt("name", q.name)
        .query_opt("environment", q.environment)
        .query_opt("fromTimestamp", q.from_timestamp)
        .query_opt("toTimestamp", q.to_timestamp)
        .query_opt("orderBy", q.order_by)
        .query_opt("fields", q.fields);
        for t in q.tags {
            req = req.query("tags", t);
        }
        self.json(req).await
    }

    /// One trace with its observations and scores.
    pub async fn get_trace(&self, id: &str) -> Result<TraceRecord, ApiError> {
        let path = format!("/api/public/traces/{}", segment(id));
        self.json(Req::get(path, format!("trace {id}"))).await
    }

    /// Lists observations (page-based, v1 API).
    pub async fn list_observations(
        &self,
        q: ObservationQuery,
    ) -> Result<Page<ObservationRecord>, ApiError> {
        let req = page_q(
            Req::get("/api/public/observations", "list observations"),
            q.page,
            q.limit,
        )
        .query_opt("traceId", q.trace_id)
        .query_opt("type", q.kind)
        .query_opt("name", q.name)
        .query_opt("parentObservationId", q.parent_observation_id)
        .query_opt("userId", q.user_id)
        .query_opt("environment", q.environment)
        .query_opt("fromStartTime", q.from_start_time)
        .query_opt("toStartTime", q.to_start_time);
        self.json(req).await
    }

    /// One observation.
    pub async fn get_observation(&self, id: &str) -> Result<ObservationRecord, ApiError> {
        let path = format!("/api/public/observations/{}", segment(id));
        self.json(Req::get(path, format!("observation {id}"))).await
    }

    /// Lists sessions (page-based; traces not included).
    pub async fn list_sessions(
        &self,
        page: Option<u32>,
        limit: Option<u32>,
    ) -> Result<Page<SessionRecord>, ApiError> {
        self.json(page_q(
            Req::get("/api/public/sessions", "list sessions"),
            page,
            limit,
        ))
        .await
    }

    /// One session with its traces.
    pub async fn get_session(&self, id: &str) -> Result<SessionRecord, ApiError> {
        let path = format!("/api/public/sessions/{}", segment(id));
        self.json(Req::get(path, format!("session {id}"))).await
    }

    /// Lists scores (page-based, v2 API).
    pub async fn list_scores(&self, q: ScoreQuery) -> Result<Page<ScoreRecord>, ApiError> {
        let req = page_q(
            Req::get("/api/public/v2/scores", "list scores"),
            q.page,
            q.limit,
        )
        .query_opt("traceId", q.trace_id)
        .query_opt("observationId", q.observation_id)
        .query_opt("sessionId", q.session_id)
        .query_opt("datasetRunId", q.dataset_run_id)
        .query_opt("name", q.name)
        .query_opt("configId", q.config_id)
        .query_opt("source", q.source)
        .query_opt("dataType", q.data_type);
        self.json(req).await
    }

    /// One score.
    pub async fn get_score(&self, id: &str) -> Result<ScoreRecord, ApiError> {
        let path = format!("/api/public/v2/scores/{}", segment(id));
        self.json(Req::get(path, format!("score {id}"))).await
    }

    /// Creates one score (`POST /api/public/scores` with a JSON object); returns its id.
    ///
    /// Validation against a score config happens later on the server: an out-of-range value
    /// is accepted here and dropped by the server's worker.
    pub async fn create_score(&self, score: &CreateScore) -> Result<String, ApiError> {
        let req = Req::new(
            Method::POST,
            "/api/public/scores",
            format!("create score '{}'", score.name),
        )
        .json(score)?;
        let c: Created = self.json(req).await?;
        Ok(c.id)
    }

    /// Lists score configs (page-based).
    pub async fn list_score_configs(
        &self,
        page: Option<u32>,
        limit: Option<u32>,
    ) -> Result<Page<ScoreConfig>, ApiError> {
        let req = page_q(
            Req::get("/api/public/score-configs", "list score configs"),
            page,
            limit,
        );
        self.json(req).await
    }

    /// One score config.
    pub async fn get_score_config(&self, id: &str) -> Result<ScoreConfig, ApiError> {
        let path = format!("/api/public/score-configs/{}", segment(id));
        self.json(Req::get(path, format!("score config {id}")))
            .await
    }
}
