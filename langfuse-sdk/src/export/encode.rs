//! Records to OTLP spans (Langfuse's attribute contract), masking and the size guard. Runs on
//! the exporter thread only.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::SystemTime;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::attributes::TraceAttributes;
use crate::capture::Captured;
use crate::capture::ValueRef;
use crate::config::options::{Config, MaskFn};
use crate::diag;
use crate::export::gzip::Opaque;
use crate::export::protobuf::{
    attr_bool_k, attr_int, attr_str, attr_str_array, attr_str_k, delimited_len, key, put_array,
    put_bytes, put_delimited_header, put_fixed32, put_fixed64, put_status, put_varint,
    REQUEST_RESOURCE_SPANS, RESOURCE_SPANS_RESOURCE, RESOURCE_SPANS_SCOPE_SPANS, SCOPE_SPANS_SCOPE,
    SCOPE_SPANS_SPANS, SPAN_END, SPAN_FLAGS, SPAN_KIND, SPAN_NAME, SPAN_PARENT_SPAN_ID,
    SPAN_SPAN_ID, SPAN_START, SPAN_TRACE_ID,
};
use crate::export::record::RecordView;
use crate::fields::Level;
use crate::fields::{MetaEntry, RareData};
use crate::ids::ParentRef;

mod guard;
use guard::{Parts, F};

/// The SDK's version, sent as `x-langfuse-sdk-version` and the scope version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Instrumentation scope name the server treats as first-class Langfuse spans.
pub(crate) const SCOPE_NAME: &str = "langfuse-sdk";
/// What replaces a value whose mask failed.
pub(crate) const MASK_FAILED: &str = "<fully masked: the mask function failed>";
/// Span flags: the parent's remoteness is known (0x100), and it is remote (0x200).
pub(crate) const FLAG_HAS_IS_REMOTE: u32 = 0x100;
pub(crate) const FLAG_IS_REMOTE: u32 = 0x200;

pub(crate) fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}
pub(crate) fn kv_str(key: &str, v: impl Into<String>) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

pub(crate) fn iso(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The rare fields of an observation that has none (not built per span).
pub(crate) static NO_RARE: RareData = RareData {
    metadata: Vec::new(),
    status_message: None,
    version: None,
    model_parameters: None,
    cost: None,
    completion_start: None,
    prompt: None,
    trace: None,
};

/// Encoded spans on their way into a request, and where their ids and times are (which lets
/// gzip pass over them quickly, see [`crate::deflate`]).
#[derive(Default, Clone)]
pub(crate) struct Spans {
    pub bytes: Vec<u8>,
    pub ids: Vec<Opaque>,
}

impl Spans {
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.ids.clear();
    }

    /// Gives back buffers grown past `max` bytes (after an unusually large request).
    pub(crate) fn shrink_past(&mut self, max: usize) {
        if self.bytes.capacity() > max {
            *self = Spans::default();
            self.bytes.reserve(64 * 1024);
        }
    }

    /// Splits off the spans from byte `at` (a span boundary) on.
    pub(crate) fn split_off(&mut self, at: usize) -> Spans {
        let first_moved = self.ids.partition_point(|o| (o.start as usize) < at);
        Spans {
            bytes: self.bytes.split_off(at),
            ids: self
                .ids
                .drain(first_moved..)
                .map(|o| Opaque {
                    start: o.start - at as u32,
                    ..o
                })
                .collect(),
        }
    }
}

/// Turns records into spans and batches into requests.
#[derive(Clone)]
pub(crate) struct Encoder {
    /// The encoded `Resource` and `InstrumentationScope` messages, the same for every request.
    resource: Vec<u8>,
    scope: Vec<u8>,
    /// Reused text buffer (usage details).
    text: String,
    no_trace: TraceAttributes,
    environment: Option<String>,
    release: Option<String>,
    mask: Option<MaskFn>,
    max_observation_bytes: usize,
}

impl Encoder {
    pub(crate) fn new(cfg: &Config) -> Encoder {
        let mut res = vec![
            kv_str("service.name", cfg.service_name.clone()),
            kv_str("telemetry.sdk.language", "rust"),
            kv_str("telemetry.sdk.name", SCOPE_NAME),
            kv_str("telemetry.sdk.version", SDK_VERSION),
            kv_str("service.instance.id", uuid::Uuid::new_v4().to_string()),
        ];
        // `OTEL_RESOURCE_ATTRIBUTES` and the builder's: the SDK's own keys stay as they are.
        for (k, v) in &cfg.resource_attributes {
            if !res.iter().any(|a| a.key == *k) {
                res.push(kv_str(k, v.clone()));
            }
        }
        // The release is not the resource's `service.version`: Langfuse reads that as every
        // observation's `version` (the user's code-path version, for comparing experiments).
        // It travels as `langfuse.release` on each span instead.
        Encoder {
            resource: Resource {
                attributes: res,
                ..Default::default()
            }
            .encode_to_vec(),
            scope: InstrumentationScope {
                name: SCOPE_NAME.to_string(),
                version: SDK_VERSION.to_string(),
                attributes: vec![kv_str(
                    "public_key",
                    cfg.public_key.clone().unwrap_or_default(),
                )],
                ..Default::default()
            }
            .encode_to_vec(),
            text: String::with_capacity(128),
            no_trace: TraceAttributes::default(),
            environment: cfg.environment.clone(),
            release: cfg.release.clone(),
            mask: cfg.mask.clone(),
            max_observation_bytes: cfg.max_observation_bytes,
        }
    }

    /// The value's text as sent, after the mask (if any).
    fn mask_value<'a>(&self, v: ValueRef<'a>) -> Cow<'a, str> {
        match &self.mask {
            None => Cow::Borrowed(v.text),
            Some(m) => Cow::Owned(match run_mask(m, v.to_captured().to_json_value()) {
                Some(v) => Captured::from_json_value(v).into_string(),
                None => MASK_FAILED.to_string(),
            }),
        }
    }

    /// Merged, masked metadata as (key, JSON text) pairs in insertion order.
    fn metadata(&self, entries: &[MetaEntry]) -> Vec<(String, String)> {
        if entries.is_empty() {
            return Vec::new();
        }
        let mut map = serde_json::Map::new();
        for e in entries {
            match e {
                MetaEntry::Object(c) => match c.to_json_value() {
                    serde_json::Value::Object(o) => map.extend(o),
                    other => {
                        map.insert("value".into(), other);
                    }
                },
                MetaEntry::Key(k, c) => {
                    map.insert(k.clone(), c.to_json_value());
                }
            }
        }
        let mut value = serde_json::Value::Object(map);
        if let Some(m) = &self.mask {
            value =
                run_mask(m, value).unwrap_or_else(|| serde_json::json!({ "masked": MASK_FAILED }));
        }
        match value {
            serde_json::Value::Object(o) => {
                o.into_iter().map(|(k, v)| (k, v.to_string())).collect()
            }
            other => vec![("value".into(), other.to_string())],
        }
    }

    /// Every guarded text of an observation, as it will be sent (masked).
    fn parts<'a>(
        &'a self,
        data: &RecordView<'a>,
        rare: &'a RareData,
        trace: &'a TraceAttributes,
        usage: &'a str,
    ) -> Parts<'a> {
        let mut p = Parts::default();
        let s = |v: &'a Option<String>| v.as_deref().map(Cow::Borrowed);
        p.set(F::Name, Some(Cow::Borrowed(data.name)));
        p.set(F::TraceName, s(&trace.name));
        p.set(F::UserId, s(&trace.user_id));
        p.set(F::SessionId, s(&trace.session_id));
        p.tags = trace
            .tags
            .iter()
            .map(|t| Cow::Borrowed(t.as_str()))
            .collect();
        if !trace.metadata.is_empty() {
            p.trace_metadata = match &self.mask {
                // Without a mask, the captured JSON text is the attribute value as it is.
                None => trace
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json_text()))
                    .collect(),
                Some(_) => self.metadata(
                    &trace
                        .metadata
                        .iter()
                        .map(|(k, v)| MetaEntry::Key(k.clone(), v.clone()))
                        .collect::<Vec<_>>(),
                ),
            };
        }
        let value = |c: &'a Option<Captured>| c.as_ref().map(|c| self.mask_value(c.as_value_ref()));
        p.set(F::TraceInput, value(&trace.input));
        p.set(F::TraceOutput, value(&trace.output));
        p.set(F::Input, data.input.map(|v| self.mask_value(v)));
        p.set(F::Output, data.output.map(|v| self.mask_value(v)));
        p.metadata = self.metadata(&rare.metadata);
        p.set(F::Model, data.model.map(Cow::Borrowed));
        p.set(
            F::Usage,
            (!usage.is_empty()).then_some(Cow::Borrowed(usage)),
        );
        if let Some(c) = rare.cost.as_ref().filter(|c| !c.is_empty()) {
            p.set(
                F::Cost,
                Some(Cow::Owned(serde_json::to_string(c).unwrap_or_default())),
            );
        }
        p.set(
            F::ModelParameters,
            rare.model_parameters
                .as_ref()
                .map(|m| Cow::Owned(m.to_json_text())),
        );
        p.set(F::StatusMessage, s(&rare.status_message));
        p.set(
            F::Version,
            s(rare
                .version
                .as_ref()
                .map_or(&trace.version, |_| &rare.version)),
        );
        p.set(
            F::PromptName,
            rare.prompt.as_ref().map(|(n, _)| Cow::Borrowed(n.as_str())),
        );
        p.set(
            F::Environment,
            s(trace
                .environment
                .as_ref()
                .map_or(&self.environment, |_| &trace.environment)),
        );
        p.set(
            F::Release,
            s(trace
                .release
                .as_ref()
                .map_or(&self.release, |_| &trace.release)),
        );
        p
    }

    /// Appends one record, as a `ScopeSpans.spans` entry with Langfuse's attributes
    /// (CONTRACT.md §1), to `spans`. Returns the bytes added.
    pub(crate) fn encode_span(&mut self, data: &RecordView<'_>, spans: &mut Spans) -> usize {
        let Spans { bytes: batch, ids } = spans;
        let (trace_id, id, parent, ty) = (data.trace_id, data.id, data.parent, data.ty);
        let rare = data.rare.unwrap_or(&NO_RARE);
        // Trace attributes: propagated ones, overlaid by those set through this observation.
        let merged;
        let trace: &TraceAttributes = match (data.attrs, rare.trace.as_deref()) {
            (Some(a), Some(o)) => {
                let mut m = a.clone();
                m.merge_from(o);
                merged = m;
                &merged
            }
            (Some(a), None) => a,
            (None, Some(o)) => o,
            (None, None) => &self.no_trace,
        };

        let mut usage = std::mem::take(&mut self.text);
        usage.clear();
        if let Some(u) = data.usage.as_ref().filter(|u| !u.is_empty()) {
            usage_json(u, &mut usage);
        }
        let mut parts = self.parts(data, rare, trace, &usage);
        parts.guard(self.max_observation_bytes);

        // The span is written in place, after its field key and a two-byte length (spans of
        // 128 to 16 383 bytes, the usual size), which is filled in at the end.
        let before = batch.len();
        batch.extend_from_slice(&[
            (SCOPE_SPANS_SPANS << 3) as u8 | prost::encoding::WireType::LengthDelimited as u8,
            0,
            0,
        ]);
        let body = batch.len();
        let b = &mut *batch;
        // Where the ids are, for gzip: random bytes that can only repeat as a whole.
        let ids_before = ids.len();
        put_array(b, SPAN_TRACE_ID, &trace_id.to_bytes());
        ids.push(Opaque::id(b.len(), 16));
        put_array(b, SPAN_SPAN_ID, &id.to_bytes());
        ids.push(Opaque::id(b.len(), 8));
        if let Some(ParentRef { id: p, .. }) = parent {
            put_array(b, SPAN_PARENT_SPAN_ID, &p.to_bytes());
            ids.push(Opaque::id(b.len(), 8));
        }
        if let Some(name) = parts.get(F::Name).filter(|n| !n.is_empty()) {
            put_bytes(b, SPAN_NAME, name.as_bytes());
        }
        put_varint(b, SPAN_KIND, 1); // SPAN_KIND_INTERNAL
        let (start, end) = (data.start, data.end);
        // A time's two low bytes (65 µs) differ from span to span: gzip need not look there.
        if start != 0 {
            put_fixed64(b, SPAN_START, start);
            ids.push(Opaque::noise(b.len() - 6, 2));
        }
        if end != 0 {
            put_fixed64(b, SPAN_END, end);
            ids.push(Opaque::noise(b.len() - 6, 2));
        }

        if let Some(v) = parts.get(F::TraceName) {
            attr_str_k(b, key!("langfuse.trace.name"), v);
        }
        if let Some(v) = parts.get(F::UserId) {
            attr_str_k(b, key!("user.id"), v);
        }
        if let Some(v) = parts.get(F::SessionId) {
            attr_str_k(b, key!("session.id"), v);
        }
        if !parts.tags.is_empty() {
            let tags: Vec<&str> = parts.tags.iter().map(|t| t.as_ref()).collect();
            attr_str_array(b, &["langfuse.trace.tags"], &tags);
        }
        for (k, v) in &parts.trace_metadata {
            attr_str(b, &["langfuse.trace.metadata.", k], v);
        }
        if let Some(p) = trace.public {
            attr_bool_k(b, key!("langfuse.trace.public"), p);
        }
        if let Some(v) = parts.get(F::TraceInput) {
            attr_str_k(b, key!("langfuse.trace.input"), v);
        }
        if let Some(v) = parts.get(F::TraceOutput) {
            attr_str_k(b, key!("langfuse.trace.output"), v);
        }
        if let Some(v) = parts.get(F::Input) {
            attr_str_k(b, key!("langfuse.observation.input"), v);
        }
        if let Some(m) = parts.get(F::Model) {
            attr_str_k(b, key!("langfuse.observation.model.name"), m);
        }
        if let Some(t) = parts.get(F::Usage) {
            attr_str_k(b, key!("langfuse.observation.usage_details"), t);
        }
        if let Some(t) = parts.get(F::Cost) {
            attr_str_k(b, key!("langfuse.observation.cost_details"), t);
        }
        if let Some(p) = parts.get(F::ModelParameters) {
            attr_str_k(b, key!("langfuse.observation.model.parameters"), p);
        }
        for (k, v) in &parts.metadata {
            attr_str(b, &["langfuse.observation.metadata.", k], v);
        }
        if let Some(l) = data.level {
            attr_str_k(b, key!("langfuse.observation.level"), l.as_str());
        }
        if let Some(m) = parts.get(F::StatusMessage) {
            attr_str_k(b, key!("langfuse.observation.status_message"), m);
        }
        if let Some(v) = parts.get(F::Version) {
            attr_str_k(b, key!("langfuse.version"), v);
        }
        if let Some(t) = rare.completion_start {
            attr_str_k(
                b,
                key!("langfuse.observation.completion_start_time"),
                &iso(t),
            );
        }
        if let Some((_, version)) = &rare.prompt {
            if let Some(name) = parts.get(F::PromptName) {
                attr_str_k(b, key!("langfuse.observation.prompt.name"), name);
            }
            attr_int(b, &["langfuse.observation.prompt.version"], *version as i64);
        }
        attr_str_k(b, key!("langfuse.observation.type"), ty.as_str());
        if let Some(v) = parts.get(F::Output) {
            attr_str_k(b, key!("langfuse.observation.output"), v);
        }
        if let Some(e) = parts.get(F::Environment) {
            attr_str_k(b, key!("langfuse.environment"), e);
        }
        if let Some(r) = parts.get(F::Release) {
            attr_str_k(b, key!("langfuse.release"), r);
        }
        if parent.is_none() {
            attr_bool_k(b, key!("langfuse.internal.is_app_root"), true);
        }
        // The status message goes once, as `langfuse.observation.status_message` (what the
        // server reads, and what the official SDKs' `update(status_message=…)` sends): the
        // span status says only that it failed.
        let error = (data.level == Some(Level::Error)).then_some("");
        put_status(b, error);
        let flags = match parent {
            Some(ParentRef { remote: true, .. }) => FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE,
            _ => FLAG_HAS_IS_REMOTE,
        };
        put_fixed32(b, SPAN_FLAGS, flags);
        drop(parts);
        self.text = usage;

        let len = batch.len() - body;
        if (0x80..0x4000).contains(&len) {
            batch[body - 2] = len as u8 | 0x80;
            batch[body - 1] = (len >> 7) as u8;
        } else {
            // Shorter or longer: the length takes one byte, or three or more.
            let mut framed = Vec::with_capacity(10);
            prost::encoding::encode_varint(len as u64, &mut framed);
            // The ids written above move with the bytes after the length.
            let framed_len = framed.len() as u32;
            batch.splice(body - 2..body, framed);
            for o in &mut ids[ids_before..] {
                o.start = o.start + framed_len - 2;
            }
        }
        batch.len() - before
    }

    /// The prefix of an `ExportTraceServiceRequest` whose `ScopeSpans.spans` are `batch_len`
    /// bytes that follow it.
    pub(crate) fn request_prefix(&self, batch_len: usize) -> Vec<u8> {
        let scope_spans = delimited_len(SCOPE_SPANS_SCOPE, self.scope.len()) + batch_len;
        let resource_spans = delimited_len(RESOURCE_SPANS_RESOURCE, self.resource.len())
            + delimited_len(RESOURCE_SPANS_SCOPE_SPANS, scope_spans);
        let mut p = Vec::with_capacity(self.resource.len() + self.scope.len() + 32);
        put_delimited_header(&mut p, REQUEST_RESOURCE_SPANS, resource_spans);
        put_bytes(&mut p, RESOURCE_SPANS_RESOURCE, &self.resource);
        put_delimited_header(&mut p, RESOURCE_SPANS_SCOPE_SPANS, scope_spans);
        put_bytes(&mut p, SCOPE_SPANS_SCOPE, &self.scope);
        p
    }

    /// A whole request (for sinks that decode it).
    pub(crate) fn request(&self, batch: &[u8]) -> Vec<u8> {
        let mut r = self.request_prefix(batch.len());
        r.extend_from_slice(batch);
        r
    }
}

/// Usage details as a JSON object (what `serde_json` writes, without its machinery: this runs
/// for every generation).
pub(crate) fn usage_json(u: &crate::details::UsageDetails, out: &mut String) {
    #[inline]
    fn number(v: u64, out: &mut String) {
        if v < 10 {
            out.push((b'0' + v as u8) as char);
            return;
        }
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut n = v;
        while n > 0 {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        // ASCII digits: one byte each.
        out.extend(digits[i..].iter().map(|&d| d as char));
    }
    out.push('{');
    // The known keys, already quoted, each a fixed-size copy.
    let [input, output, total] = u.known();
    let mut first = true;
    let mut known = |k: &'static str, v: Option<u64>, out: &mut String| {
        if let Some(v) = v {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            number(v, out);
        }
    };
    known("\"input\":", input, out);
    known("\"output\":", output, out);
    known("\"total\":", total, out);
    for (k, v) in u.others() {
        if !first {
            out.push(',');
        }
        first = false;
        crate::capture::push_json_string(out, k);
        out.push(':');
        number(*v, out);
    }
    out.push('}');
}

/// Runs the user's mask; `None` when it failed or panicked.
pub(crate) fn run_mask(m: &MaskFn, v: serde_json::Value) -> Option<serde_json::Value> {
    match catch_unwind(AssertUnwindSafe(|| m(v))) {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            diag::debug(|| format!("mask function failed: {e}"));
            None
        }
        Err(_) => {
            diag::debug(|| "mask function panicked".to_string());
            None
        }
    }
}

impl Encoder {
    /// An encoder of requests whose spans another instrumentation scope (its encoded
    /// `InstrumentationScope`) produced, with the same resource: `export::foreign`.
    pub(crate) fn for_scope(&self, scope: Vec<u8>) -> Encoder {
        Encoder {
            scope,
            ..self.clone()
        }
    }
}
