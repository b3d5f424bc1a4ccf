//! Scores on traces, observations and sessions (sent as `score-create` to the ingestion API).

use std::time::SystemTime;

use serde::Serialize;

use crate::attributes::{limited, Kind, MAX_PROPAGATED_LEN};
use crate::capture::{capture, Captured};
use crate::ids::{ObservationId, TraceId};

/// Longest text score the server accepts, in characters (longer ones are cut to it).
const MAX_TEXT_VALUE: usize = 500;
/// Longest score comment kept, in characters (the server's limit for comments).
const MAX_COMMENT: usize = 5000;

/// A score value held to its limits: labels like ids, texts to [`MAX_TEXT_VALUE`].
fn limited_value(v: ScoreValue) -> ScoreValue {
    match v {
        ScoreValue::Categorical(s) => {
            ScoreValue::Categorical(limited(Kind::ScoreValue, s, MAX_PROPAGATED_LEN))
        }
        ScoreValue::Text(s) => ScoreValue::Text(limited(Kind::ScoreValue, s, MAX_TEXT_VALUE)),
        other => other,
    }
}

/// A score value; its variant sets the score's data type.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ScoreValue {
    /// `NUMERIC`: any finite number.
    Numeric(f64),
    /// `BOOLEAN`: sent as 1 or 0.
    Boolean(bool),
    /// `CATEGORICAL`: a label.
    Categorical(String),
    /// `TEXT`: 1 to 500 characters.
    Text(String),
}

/// A score to record with [`Langfuse::score`](crate::Langfuse::score), or on an observation with
/// [`ObservationRef::score`](crate::ObservationRef::score).
///
/// Names, ids and label values longer than 200 characters, comments longer than 5000 and text
/// values longer than 500 are cut to that length (at a character boundary), with one warning
/// per kind of value.
///
/// ```
/// use langfuse_sdk::Score;
/// let s = Score::numeric("accuracy", 0.92).comment("checked by hand");
/// let b = Score::boolean("helpful", true).session_id("session-1");
/// # drop((s, b));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Score {
    pub(crate) name: String,
    pub(crate) value: ScoreValue,
    pub(crate) id: Option<String>,
    pub(crate) trace_id: Option<TraceId>,
    pub(crate) observation_id: Option<ObservationId>,
    pub(crate) session_id: Option<String>,
    pub(crate) comment: Option<String>,
    pub(crate) metadata: Option<Captured>,
    pub(crate) config_id: Option<String>,
    pub(crate) timestamp: SystemTime,
}

impl Score {
    /// Estimated memory, counted against the queue's bounds: the struct and what its strings
    /// and metadata hold (their lengths, read without walking them).
    pub(crate) fn mem(&self) -> usize {
        fn len(s: &Option<String>) -> usize {
            s.as_ref().map_or(0, String::len)
        }
        let value = match &self.value {
            ScoreValue::Categorical(s) | ScoreValue::Text(s) => s.len(),
            _ => 0,
        };
        std::mem::size_of::<Score>()
            + self.name.len()
            + value
            + len(&self.id)
            + len(&self.session_id)
            + len(&self.comment)
            + self.metadata.as_ref().map_or(0, Captured::len)
            + len(&self.config_id)
    }

    /// A score with any value.
    pub fn new(name: impl Into<String>, value: ScoreValue) -> Self {
        Score {
            name: limited(Kind::ScoreName, name.into(), MAX_PROPAGATED_LEN),
            value: limited_value(value),
            id: None,
            trace_id: None,
            observation_id: None,
            session_id: None,
            comment: None,
            metadata: None,
            config_id: None,
            timestamp: SystemTime::now(),
        }
    }
    /// A `NUMERIC` score.
    pub fn numeric(name: impl Into<String>, value: f64) -> Self {
        Self::new(name, ScoreValue::Numeric(value))
    }
    /// A `BOOLEAN` score.
    pub fn boolean(name: impl Into<String>, value: bool) -> Self {
        Self::new(name, ScoreValue::Boolean(value))
    }
    /// A `CATEGORICAL` score.
    pub fn categorical(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, ScoreValue::Categorical(value.into()))
    }
    /// A `TEXT` score.
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, ScoreValue::Text(value.into()))
    }
    /// Score id (an idempotency key: the same id updates the score). Default: a new UUID.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(limited(Kind::ScoreId, id.into(), MAX_PROPAGATED_LEN));
        self
    }
    /// The trace scored.
    pub fn trace_id(mut self, id: TraceId) -> Self {
        self.trace_id = Some(id);
        self
    }
    /// The observation scored (with its trace id).
    pub fn observation_id(mut self, id: ObservationId) -> Self {
        self.observation_id = Some(id);
        self
    }
    /// The session scored.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(limited(Kind::ScoreId, id.into(), MAX_PROPAGATED_LEN));
        self
    }
    /// A comment.
    pub fn comment(mut self, c: impl Into<String>) -> Self {
        self.comment = Some(limited(Kind::ScoreComment, c.into(), MAX_COMMENT));
        self
    }
    /// Metadata (any `Serialize`).
    pub fn metadata<T: Serialize + ?Sized>(mut self, m: &T) -> Self {
        self.metadata = Some(capture(m, 100_000));
        self
    }
    /// A score config id.
    pub fn config_id(mut self, id: impl Into<String>) -> Self {
        self.config_id = Some(limited(Kind::ScoreId, id.into(), MAX_PROPAGATED_LEN));
        self
    }

    /// Why the server would refuse this score, if it would.
    pub(crate) fn problem(&self) -> Option<String> {
        if self.name.trim().is_empty() {
            return Some("a score needs a name".into());
        }
        if self.trace_id.is_none() && self.session_id.is_none() {
            return Some(format!(
                "score {:?} names no trace and no session; set trace_id or session_id",
                self.name
            ));
        }
        match &self.value {
            ScoreValue::Numeric(v) if !v.is_finite() => Some(format!(
                "score {:?} has the non-finite value {v}",
                self.name
            )),
            ScoreValue::Text(t) if t.is_empty() => Some(format!(
                "text score {:?} is empty: it must be 1 to {MAX_TEXT_VALUE} characters",
                self.name
            )),
            _ => None,
        }
    }

    /// The `score-create` ingestion event.
    pub(crate) fn to_event(&self, environment: Option<&str>) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let (value, data_type) = match &self.value {
            ScoreValue::Numeric(v) => (json!(v), "NUMERIC"),
            ScoreValue::Boolean(b) => (json!(if *b { 1 } else { 0 }), "BOOLEAN"),
            ScoreValue::Categorical(s) => (json!(s), "CATEGORICAL"),
            ScoreValue::Text(s) => (json!(s), "TEXT"),
        };
        let mut body = Map::new();
        let id = self
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        body.insert("id".into(), json!(id));
        if let Some(t) = self.trace_id {
            body.insert("traceId".into(), json!(t.to_string()));
        }
        if let Some(o) = self.observation_id {
            body.insert("observationId".into(), json!(o.to_string()));
        }
        if let Some(s) = &self.session_id {
            body.insert("sessionId".into(), json!(s));
        }
        body.insert("name".into(), json!(self.name));
        body.insert("value".into(), value);
        body.insert("dataType".into(), json!(data_type));
        if let Some(c) = &self.comment {
            body.insert("comment".into(), json!(c));
        }
        if let Some(m) = &self.metadata {
            body.insert("metadata".into(), m.to_json_value());
        }
        if let Some(e) = environment {
            body.insert("environment".into(), json!(e));
        }
        if let Some(c) = &self.config_id {
            body.insert("configId".into(), json!(c));
        }
        let ts: chrono::DateTime<chrono::Utc> = self.timestamp.into();
        json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "timestamp": ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "type": "score-create",
            "body": Value::Object(body),
        })
    }
}
