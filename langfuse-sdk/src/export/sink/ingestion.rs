//! The legacy ingestion API (`POST /api/public/ingestion`), for Langfuse servers without the
//! OpenTelemetry endpoint: the spans of an encoded OTLP request turned back into the events the
//! official Python SDK 2.x sends (`trace-create`, `span-create`/`-update`,
//! `generation-create`/`-update`, `event-create`). Runs on the exporter thread only.
//!
//! Each span becomes what Python sends for an observation that started and ended: a
//! `*-create` event with the fields known at its start, a `*-update` with those known at its
//! end (an event is one `event-create`); the server merges them by id. Observation types the ingestion API has no event for (`agent`, `tool`, `chain`,
//! `retriever`, `evaluator`, `guardrail`) go as spans, `embedding` as a generation. A root
//! span, or one carrying trace attributes, also sends a `trace-create` event.
//!
//! The size guard measured the OTLP encoding; the JSON of an event can be far larger (every
//! control character is escaped to six bytes, and a root's input goes again in its
//! `trace-create`). So each event is held to `max_observation_bytes` as well: one over it has
//! its largest values cut, with the guard's truncation marker. Other events go out as they are.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{json, Map, Value};

use crate::capture::split_marker;
use crate::capture::truncation_marker;
use crate::export::encode::{iso, shorten, SDK_VERSION};

/// An ingestion batch made of a request's spans.
pub(crate) struct Batch {
    /// The JSON body.
    pub body: Vec<u8>,
    /// Its size (the body itself is moved into the request).
    pub body_len: usize,
    /// Each event's id, with the index of the observation it came from.
    pub events: HashMap<String, usize>,
    /// Observations in the batch.
    pub observations: usize,
}

impl Batch {
    /// How many observations the answer's per-event `errors` concern (each counted once).
    pub(crate) fn failed(&self, errors: &[Value]) -> u64 {
        let mut hit = vec![false; self.observations];
        let mut unknown = 0u64;
        for e in errors {
            match e
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| self.events.get(id))
            {
                Some(&i) => hit[i] = true,
                None => unknown += 1,
            }
        }
        let known = hit.iter().filter(|h| **h).count() as u64;
        (known + unknown).min(self.observations as u64)
    }
}

/// The ingestion batch for an encoded OTLP `request`, each event held to `max_event_bytes` of
/// JSON.
pub(crate) fn batch(
    request: &[u8],
    public_key: Option<&str>,
    max_event_bytes: usize,
) -> Result<Batch, String> {
    let req = ExportTraceServiceRequest::decode(request)
        .map_err(|e| format!("the encoded spans do not decode ({e})"))?;
    let spans: Vec<Span> = req
        .resource_spans
        .into_iter()
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect();
    let mut events = Vec::with_capacity(spans.len() + 1);
    let mut ids = HashMap::with_capacity(spans.len() + 1);
    for (i, span) in spans.iter().enumerate() {
        let a = Attrs::of(span);
        if let Some(trace) = trace_body(span, &a) {
            let id = uuid::Uuid::new_v4().to_string();
            ids.insert(id.clone(), i);
            events.push(event(id, "trace-create", trace, span.end_time_unix_nano));
        }
        for (kind, body, nanos) in observation_events(span, &a) {
            let id = uuid::Uuid::new_v4().to_string();
            ids.insert(id.clone(), i);
            events.push(event(id, kind, body, nanos));
        }
    }
    let metadata = json!({
        "batch_size": events.len(),
        "sdk_integration": "default",
        "sdk_name": "rust",
        "sdk_version": SDK_VERSION,
        "public_key": public_key.unwrap_or_default(),
    });
    // What `{"batch": [..], "metadata": {..}}` serialises to, each event written (and measured)
    // on its own.
    let mut body = String::from(r#"{"batch":["#);
    for (i, mut e) in events.into_iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let mut text = e.to_string();
        if text.len() > max_event_bytes {
            if let Some(b) = e.get_mut("body") {
                fit(b, text.len() - max_event_bytes, max_event_bytes);
            }
            text = e.to_string();
        }
        body.push_str(&text);
    }
    body.push_str(r#"],"metadata":"#);
    body.push_str(&metadata.to_string());
    body.push('}');
    Ok(Batch {
        body_len: body.len(),
        body: body.into_bytes(),
        events: ids,
        observations: spans.len(),
    })
}

/// Fields of an event body that are never cut (ids and times).
const KEPT: &[&str] = &[
    "id",
    "traceId",
    "parentObservationId",
    "timestamp",
    "startTime",
    "endTime",
    "completionStartTime",
];

/// Bytes `v` takes as JSON text.
fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// Bytes `c` takes inside a JSON string (as serde_json escapes it).
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Cuts the largest values of an event `body` until its JSON is `excess` bytes shorter, each
/// with the truncation marker of the size guard (`limit`: `max_observation_bytes`).
fn fit(body: &mut Value, mut excess: usize, limit: usize) {
    // Each round cuts one value by at least what is left over, or gives up.
    for _ in 0..16 {
        let Value::Object(m) = body else {
            return;
        };
        let Some((_, v)) = m
            .iter_mut()
            .filter(|(k, _)| !KEPT.contains(&k.as_str()))
            .map(|(_, v)| (json_len(v), v))
            .max_by_key(|(n, _)| *n)
        else {
            return;
        };
        let before = json_len(v);
        cut(v, excess, limit);
        let after = json_len(v);
        if after >= before {
            return; // nothing left to cut
        }
        if before - after >= excess {
            return;
        }
        excess -= before - after;
    }
}

/// Makes `v`'s JSON at least `excess` bytes shorter: an object by cutting its largest member
/// (when that is enough), a string by cutting it, anything else by turning it into its cut
/// JSON text (as the size guard leaves a cut JSON value: text).
fn cut(v: &mut Value, excess: usize, limit: usize) {
    if let Value::Object(m) = &mut *v {
        if let Some((n, largest)) = m
            .iter_mut()
            .map(|(_, v)| (json_len(v), v))
            .max_by_key(|(n, _)| *n)
        {
            if n > excess + 64 {
                return cut(largest, excess, limit);
            }
        }
    }
    let text = match &mut *v {
        Value::String(s) => std::mem::take(s),
        other => other.to_string(),
    };
    let (body, original) = split_marker(&text);
    let marker = original.map_or_else(|| truncation_marker(text.len(), limit), |m| m.marker(limit));
    // Quotes, the kept prefix (escaped) and the marker (not escaped) in what remains.
    let room = json_len(&Value::String(text.clone()))
        .saturating_sub(excess)
        .saturating_sub(2 + marker.len());
    let mut keep = 0;
    let mut used = 0;
    for (i, c) in body.char_indices() {
        used += escaped_len(c);
        if used > room {
            break;
        }
        keep = i + c.len_utf8();
    }
    *v = Value::String(shorten(&text, keep, limit));
}

fn event(id: String, kind: &str, body: Value, nanos: u64) -> Value {
    json!({ "id": id, "type": kind, "body": body, "timestamp": time(nanos) })
}

fn time(nanos: u64) -> String {
    iso(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A span's attributes by key.
struct Attrs<'a>(HashMap<&'a str, &'a Any>);

impl<'a> Attrs<'a> {
    fn of(span: &'a Span) -> Attrs<'a> {
        Attrs(
            span.attributes
                .iter()
                .filter_map(|kv| Some((kv.key.as_str(), kv.value.as_ref()?.value.as_ref()?)))
                .collect(),
        )
    }
    fn str(&self, k: &str) -> Option<&'a str> {
        match self.0.get(k) {
            Some(Any::StringValue(s)) => Some(s),
            _ => None,
        }
    }
    /// A value the encoder wrote as text: JSON when it parses as JSON, else the text.
    fn value(&self, k: &str) -> Option<Value> {
        self.str(k).map(text_value)
    }
    /// The `prefix.*` attributes as an object.
    fn map(&self, prefix: &str) -> Option<Value> {
        let m: Map<String, Value> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix(prefix)?;
                // Metadata values are JSON text.
                match v {
                    Any::StringValue(s) => Some((
                        key.to_string(),
                        serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
                    )),
                    _ => None,
                }
            })
            .collect();
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

fn text_value(s: &str) -> Value {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
        _ => Value::String(s.to_string()),
    }
}

/// Sets `key` when there is a value.
fn put(body: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        body.insert(key.to_string(), v);
    }
}

/// The `trace-create` body of a root span, or of a span carrying trace attributes.
fn trace_body(span: &Span, a: &Attrs<'_>) -> Option<Value> {
    let root = span.parent_span_id.is_empty() || a.0.contains_key("langfuse.internal.is_app_root");
    let has_trace_attrs =
        a.0.keys()
            .any(|k| k.starts_with("langfuse.trace.") || *k == "user.id" || *k == "session.id");
    if !root && !has_trace_attrs {
        return None;
    }
    let mut b = Map::new();
    b.insert("id".into(), Value::String(hex(&span.trace_id)));
    b.insert(
        "timestamp".into(),
        Value::String(time(span.start_time_unix_nano)),
    );
    let name = a
        .str("langfuse.trace.name")
        .or(root.then_some(span.name.as_str()));
    put(&mut b, "name", name.map(|n| Value::String(n.into())));
    let s = |k: &str| a.str(k).map(|v| Value::String(v.into()));
    put(&mut b, "userId", s("user.id"));
    put(&mut b, "sessionId", s("session.id"));
    put(&mut b, "release", s("langfuse.release"));
    put(&mut b, "version", s("langfuse.version"));
    put(&mut b, "environment", s("langfuse.environment"));
    put(&mut b, "metadata", a.map("langfuse.trace.metadata."));
    if let Some(Any::ArrayValue(tags)) = a.0.get("langfuse.trace.tags") {
        let tags: Vec<Value> = tags
            .values
            .iter()
            .filter_map(|v| match &v.value {
                Some(Any::StringValue(s)) => Some(Value::String(s.clone())),
                _ => None,
            })
            .collect();
        b.insert("tags".into(), Value::Array(tags));
    }
    if let Some(Any::BoolValue(p)) = a.0.get("langfuse.trace.public") {
        b.insert("public".into(), Value::Bool(*p));
    }
    // A root's input and output are the trace's unless set for the trace.
    let io = |trace: &str, obs: &str| {
        a.value(trace)
            .or_else(|| root.then(|| a.value(obs)).flatten())
    };
    put(
        &mut b,
        "input",
        io("langfuse.trace.input", "langfuse.observation.input"),
    );
    put(
        &mut b,
        "output",
        io("langfuse.trace.output", "langfuse.observation.output"),
    );
    Some(Value::Object(b))
}

/// The event type and body of a span's observation.
/// The fields a `*-update` event carries: what the Python SDK learns when the observation ends.
const UPDATE_FIELDS: &[&str] = &[
    "endTime",
    "output",
    "level",
    "statusMessage",
    "model",
    "modelParameters",
    "usageDetails",
    "costDetails",
    "completionStartTime",
];

/// A span's observation as the Python SDK sends one: a `*-create` event with what is known at
/// its start and a `*-update` with what is known at its end (an event: one `event-create`),
/// with the time of each.
fn observation_events(span: &Span, a: &Attrs<'_>) -> Vec<(&'static str, Value, u64)> {
    let (kind, body) = observation_body(span, a);
    let Value::Object(mut create) = body else {
        return vec![(kind, body, span.end_time_unix_nano)];
    };
    let update_kind = match kind {
        "span-create" => "span-update",
        "generation-create" => "generation-update",
        _ => return vec![(kind, Value::Object(create), span.start_time_unix_nano)],
    };
    let mut update = Map::new();
    for k in ["id", "traceId"] {
        put(&mut update, k, create.get(k).cloned());
    }
    for k in UPDATE_FIELDS {
        put(&mut update, k, create.remove(*k));
    }
    vec![
        (kind, Value::Object(create), span.start_time_unix_nano),
        (update_kind, Value::Object(update), span.end_time_unix_nano),
    ]
}

/// Every field of a span's observation, with the type of its create event.
fn observation_body(span: &Span, a: &Attrs<'_>) -> (&'static str, Value) {
    let ty = a.str("langfuse.observation.type").unwrap_or("span");
    let kind = match ty {
        "generation" | "embedding" => "generation-create",
        "event" => "event-create",
        _ => "span-create",
    };
    let mut b = Map::new();
    b.insert("id".into(), Value::String(hex(&span.span_id)));
    b.insert("traceId".into(), Value::String(hex(&span.trace_id)));
    b.insert("name".into(), Value::String(span.name.clone()));
    b.insert(
        "startTime".into(),
        Value::String(time(span.start_time_unix_nano)),
    );
    if kind != "event-create" {
        b.insert(
            "endTime".into(),
            Value::String(time(span.end_time_unix_nano)),
        );
    }
    if !span.parent_span_id.is_empty() {
        b.insert(
            "parentObservationId".into(),
            Value::String(hex(&span.parent_span_id)),
        );
    }
    let s = |k: &str| a.str(k).map(|v| Value::String(v.into()));
    put(&mut b, "input", a.value("langfuse.observation.input"));
    put(&mut b, "output", a.value("langfuse.observation.output"));
    put(&mut b, "metadata", a.map("langfuse.observation.metadata."));
    put(&mut b, "level", s("langfuse.observation.level"));
    put(
        &mut b,
        "statusMessage",
        s("langfuse.observation.status_message"),
    );
    put(&mut b, "version", s("langfuse.version"));
    put(&mut b, "environment", s("langfuse.environment"));
    if kind == "generation-create" {
        put(&mut b, "model", s("langfuse.observation.model.name"));
        put(
            &mut b,
            "modelParameters",
            a.value("langfuse.observation.model.parameters")
                .map(model_parameters),
        );
        put(
            &mut b,
            "usageDetails",
            a.value("langfuse.observation.usage_details"),
        );
        put(
            &mut b,
            "costDetails",
            a.value("langfuse.observation.cost_details"),
        );
        put(
            &mut b,
            "completionStartTime",
            s("langfuse.observation.completion_start_time"),
        );
        put(&mut b, "promptName", s("langfuse.observation.prompt.name"));
        if let Some(Any::IntValue(v)) = a.0.get("langfuse.observation.prompt.version") {
            b.insert("promptVersion".into(), json!(v));
        }
    }
    (kind, Value::Object(b))
}

/// Model parameters as the ingestion API takes them (a map of strings, integers and booleans):
/// other values as text, as the Python SDK sends them.
fn model_parameters(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Number(n) if n.is_i64() || n.is_u64() => Value::Number(n),
                        b @ Value::Bool(_) => b,
                        Value::String(s) => Value::String(s),
                        other => Value::String(other.to_string()),
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_of(events: &[(&str, usize)], observations: usize) -> Batch {
        Batch {
            body: Vec::new(),
            body_len: 0,
            events: events.iter().map(|(id, i)| (id.to_string(), *i)).collect(),
            observations,
        }
    }

    #[test]
    fn errors_count_each_observation_once() {
        // Observation 0 sent a trace-create ("t0") and a span-create ("s0").
        let b = batch_of(&[("t0", 0), ("s0", 0), ("s1", 1), ("s2", 2)], 3);
        assert_eq!(b.failed(&[]), 0);
        let errs = [
            json!({"id": "t0"}),
            json!({"id": "s0"}),
            json!({"id": "s2"}),
        ];
        assert_eq!(b.failed(&errs), 2);
        // An error without a known id still counts, within the batch's size.
        let unknown = [
            json!({"status": 500}),
            json!({"id": "x"}),
            json!({"id": "y"}),
            json!({"id": "z"}),
        ];
        assert_eq!(b.failed(&unknown), 3);
    }

    #[test]
    fn an_event_over_the_limit_is_cut_to_it_with_the_guards_marker() {
        let limit = 100_000;
        let mut e = json!({"id": "e1", "type": "span-create", "timestamp": "t", "body": {
            "id": "s1", "traceId": "t1", "name": "n",
            "input": "\u{1}".repeat(50_000),
            "metadata": {"k": "small", "big": "x".repeat(30_000)},
        }});
        let n = e.to_string().len();
        assert!(n > 300_000, "control characters take six bytes each");
        fit(e.get_mut("body").unwrap(), n - limit, limit);
        assert!(e.to_string().len() <= limit, "{}", e.to_string().len());
        let input = e["body"]["input"].as_str().unwrap();
        assert!(input.starts_with('\u{1}'));
        assert!(input.ends_with("…[truncated: 50000 bytes, limit 100000]"));
        assert_eq!(
            e["body"]["metadata"]["big"].as_str().map(str::len),
            Some(30_000)
        );
        assert_eq!(
            (&e["body"]["id"], &e["body"]["traceId"]),
            (&json!("s1"), &json!("t1"))
        );

        // A value capture already cut keeps the size capture stated.
        let marked = format!(
            "{}…[truncated: at least 9000000 bytes, limit 900000]",
            "\u{1}".repeat(40_000)
        );
        let mut b = json!({"id": "s", "input": marked});
        let n = json_len(&b);
        fit(&mut b, n - limit, limit);
        assert!(json_len(&b) <= limit);
        let input = b["input"].as_str().unwrap();
        assert!(input.ends_with("…[truncated: at least 9000000 bytes, limit 100000]"));
        assert_eq!(input.matches("…[truncated").count(), 1);

        // A large object of small members becomes its cut JSON text.
        let many: Map<String, Value> = (0..20_000).map(|i| (format!("k{i}"), json!(i))).collect();
        let mut b = json!({"id": "s", "metadata": many});
        let n = json_len(&b);
        fit(&mut b, n - limit, limit);
        assert!(json_len(&b) <= limit);
        assert!(b["metadata"].as_str().unwrap().starts_with(r#"{"k"#));
    }

    #[test]
    fn values_and_parameters_map_back() {
        assert_eq!(text_value("plain"), json!("plain"));
        assert_eq!(text_value("42"), json!("42"), "a string stays a string");
        assert_eq!(text_value(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(
            model_parameters(json!({"t": 0.2, "n": 64, "s": "x", "b": true, "l": [1]})),
            json!({"t": "0.2", "n": 64, "s": "x", "b": true, "l": "[1]"})
        );
        assert!(batch(b"\xff\xff", None, 1_000_000).is_err());
    }
}
