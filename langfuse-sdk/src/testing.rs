//! Test support (feature `testing`): an in-memory exporter that keeps exactly the OTLP spans and
//! score events that would be sent, and a view over decoded spans for assertions.

use std::fmt;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

/// Keeps what a client would send, for tests to assert on.
///
/// ```
/// use std::time::Duration;
/// use langfuse_sdk::{testing::InMemoryExporter, Langfuse};
///
/// let exporter = InMemoryExporter::new();
/// let lf = Langfuse::builder().in_memory_exporter(exporter.clone()).build().unwrap();
/// lf.span("work").input("x").start().end();
/// lf.flush(Duration::from_secs(5)).unwrap();
/// let spans = exporter.spans();
/// assert_eq!(spans[0].name(), "work");
/// assert_eq!(spans[0].attr_str("langfuse.observation.input"), Some("x"));
/// ```
#[derive(Clone, Default)]
pub struct InMemoryExporter {
    inner: Arc<Mutex<Store>>,
}

#[derive(Default)]
struct Store {
    requests: Vec<ExportTraceServiceRequest>,
    scores: Vec<serde_json::Value>,
}

impl fmt::Debug for InMemoryExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("InMemoryExporter")
            .field("requests", &s.requests.len())
            .field("scores", &s.scores.len())
            .finish()
    }
}

impl InMemoryExporter {
    /// An empty exporter.
    pub fn new() -> Self {
        Self::default()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn push_spans(&self, req: ExportTraceServiceRequest) {
        self.lock().requests.push(req);
    }
    pub(crate) fn push_scores(&self, events: Vec<serde_json::Value>) {
        self.lock().scores.extend(events);
    }
    /// Every span exported so far, in export order.
    pub fn spans(&self) -> Vec<ExportedSpan> {
        ExportedSpan::from_requests(&self.lock().requests)
    }
    /// The OTLP requests as they would be sent (resource, scope and spans).
    pub fn requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.lock().requests.clone()
    }
    /// Every `score-create` event exported so far.
    pub fn scores(&self) -> Vec<serde_json::Value> {
        self.lock().scores.clone()
    }
    /// Forgets everything exported so far.
    pub fn clear(&self) {
        let mut s = self.lock();
        s.requests.clear();
        s.scores.clear();
    }
}

/// A decoded span with helpers to read Langfuse's attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedSpan {
    /// The span as on the wire.
    pub span: Span,
}

/// Each span's name with its parent's name (`"-"` for a root, `"?<id>"` for a parent that was not
/// exported), to assert the shape of a trace in one comparison.
///
/// ```
/// # use langfuse_sdk::testing::parent_names;
/// assert!(parent_names(&[]).is_empty());
/// ```
pub fn parent_names(spans: &[ExportedSpan]) -> std::collections::HashMap<String, String> {
    let by_id: std::collections::HashMap<String, &str> =
        spans.iter().map(|s| (s.id(), s.name())).collect();
    spans
        .iter()
        .map(|s| {
            let parent = match s.parent_id() {
                None => "-".to_string(),
                Some(p) => by_id
                    .get(&p)
                    .map_or_else(|| format!("?{p}"), |n| n.to_string()),
            };
            (s.name().to_string(), parent)
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl ExportedSpan {
    /// Every span of the given requests.
    pub fn from_requests(reqs: &[ExportTraceServiceRequest]) -> Vec<ExportedSpan> {
        reqs.iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| ExportedSpan { span: s.clone() })
            .collect()
    }
    /// Span name.
    pub fn name(&self) -> &str {
        &self.span.name
    }
    /// Trace id as 32 hex.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }
    /// Observation id as 16 hex.
    pub fn id(&self) -> String {
        hex(&self.span.span_id)
    }
    /// Parent observation id as 16 hex, if any.
    pub fn parent_id(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex(&self.span.parent_span_id))
    }
    /// `langfuse.observation.type`.
    pub fn observation_type(&self) -> Option<&str> {
        self.attr_str("langfuse.observation.type")
    }
    /// A raw attribute value.
    pub fn attr(&self, key: &str) -> Option<&AnyValue> {
        self.span
            .attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }
    /// A string attribute.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        match self.attr(key) {
            Some(AnyValue::StringValue(s)) => Some(s),
            _ => None,
        }
    }
    /// A string attribute parsed as JSON.
    pub fn attr_json(&self, key: &str) -> Option<serde_json::Value> {
        self.attr_str(key)
            .and_then(|s| serde_json::from_str(s).ok())
    }
    /// A bool attribute.
    pub fn attr_bool(&self, key: &str) -> Option<bool> {
        match self.attr(key) {
            Some(AnyValue::BoolValue(b)) => Some(*b),
            _ => None,
        }
    }
    /// An integer attribute.
    pub fn attr_int(&self, key: &str) -> Option<i64> {
        match self.attr(key) {
            Some(AnyValue::IntValue(i)) => Some(*i),
            _ => None,
        }
    }
    /// A string-array attribute (such as `langfuse.trace.tags`).
    pub fn attr_strings(&self, key: &str) -> Option<Vec<String>> {
        match self.attr(key) {
            Some(AnyValue::ArrayValue(a)) => Some(
                a.values
                    .iter()
                    .filter_map(|v| match &v.value {
                        Some(AnyValue::StringValue(s)) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
    /// Attribute keys in order.
    pub fn attr_keys(&self) -> Vec<&str> {
        self.span
            .attributes
            .iter()
            .map(|a| a.key.as_str())
            .collect()
    }
    /// Span status code (0 unset, 1 ok, 2 error).
    pub fn status_code(&self) -> i32 {
        self.span.status.as_ref().map_or(0, |s| s.code)
    }
    /// Span status message.
    pub fn status_message(&self) -> &str {
        self.span.status.as_ref().map_or("", |s| s.message.as_str())
    }
}
