//! Records to OTLP spans (Langfuse's attribute contract), masking and the size guard. Runs on
//! the exporter thread only.

use std::time::SystemTime;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use crate::attributes::TraceAttributes;
use crate::config::options::{Config, MaskFn};
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
use crate::fields::RareData;
use crate::ids::ParentRef;

mod guard;
pub(crate) use guard::shorten;
mod mask;
#[cfg(test)]
mod tests;
mod texts;
use guard::{Parts, F};
use texts::{Settings, Texts, View};

/// The SDK's version, sent as `x-langfuse-sdk-version` and the scope version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Instrumentation scope name the server treats as first-class Langfuse spans.
pub(crate) const SCOPE_NAME: &str = "langfuse-sdk";
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

    /// Appends one record, as a `ScopeSpans.spans` entry with Langfuse's attributes
    /// (CONTRACT.md §1), to `spans`. Returns the bytes added.
    pub(crate) fn encode_span(&mut self, data: &RecordView<'_>, spans: &mut Spans) -> usize {
        self.encode(data, spans, false)
    }

    /// [`Encoder::encode_span`] through the size guard's full path, even for a span that fits.
    #[cfg(test)]
    pub(crate) fn encode_span_full(&mut self, data: &RecordView<'_>, spans: &mut Spans) -> usize {
        self.encode(data, spans, true)
    }

    fn encode(&mut self, data: &RecordView<'_>, spans: &mut Spans, full: bool) -> usize {
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
        let cfg = Settings {
            mask: self.mask.as_ref(),
            environment: self.environment.as_deref(),
            release: self.release.as_deref(),
        };
        // Dropped where it is, at the end of the block (not moved out to be dropped).
        let added = {
            let texts = Texts::new(&cfg, data, rare, trace, &usage);
            // Nearly every span fits as it is: written from where its texts are. The others
            // are copied and cut to the limit first.
            if !full && guard::fits(&texts, self.max_observation_bytes) {
                let s = View {
                    texts: &texts,
                    cut: None,
                };
                put_span(data, rare, trace, &s, spans)
            } else {
                put_cut(data, rare, trace, &texts, self.max_observation_bytes, spans)
            }
        };
        self.text = usage;
        added
    }

    /// The prefix of an `ExportTraceServiceRequest` whose `ScopeSpans.spans` are `batch_len`
    /// bytes that follow it.
    /// The size guard's limit of one observation.
    pub(crate) fn max_observation_bytes(&self) -> usize {
        self.max_observation_bytes
    }

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

/// `s` cut to `limit` first, then written (the rare span that does not fit).
#[cold]
#[inline(never)]
fn put_cut(
    data: &RecordView<'_>,
    rare: &RareData,
    trace: &TraceAttributes,
    s: &Texts<'_>,
    limit: usize,
    spans: &mut Spans,
) -> usize {
    let mut parts = Parts::new(s);
    parts.guard(limit);
    let s = View {
        texts: s,
        cut: Some(&parts),
    };
    put_span(data, rare, trace, &s, spans)
}

/// Writes one span: the record's ids, times and kind, and its texts from `s`. Returns the
/// bytes added.
fn put_span(
    data: &RecordView<'_>,
    rare: &RareData,
    trace: &TraceAttributes,
    s: &View<'_>,
    spans: &mut Spans,
) -> usize {
    let Spans { bytes: batch, ids } = spans;
    let (trace_id, id, parent, ty) = (data.trace_id, data.id, data.parent, data.ty);
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
    if let Some(name) = s.text(F::Name).filter(|n| !n.is_empty()) {
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

    if let Some(v) = s.text(F::TraceName) {
        attr_str_k(b, key!("langfuse.trace.name"), v);
    }
    if let Some(v) = s.text(F::UserId) {
        attr_str_k(b, key!("user.id"), v);
    }
    if let Some(v) = s.text(F::SessionId) {
        attr_str_k(b, key!("session.id"), v);
    }
    let tags = s.tags();
    if !tags.is_empty() {
        attr_str_array(b, &["langfuse.trace.tags"], &tags);
    }
    for (k, v) in s.trace_metadata() {
        attr_str(b, &["langfuse.trace.metadata.", k], v);
    }
    if let Some(p) = trace.public {
        attr_bool_k(b, key!("langfuse.trace.public"), p);
    }
    if let Some(v) = s.text(F::TraceInput) {
        attr_str_k(b, key!("langfuse.trace.input"), v);
    }
    if let Some(v) = s.text(F::TraceOutput) {
        attr_str_k(b, key!("langfuse.trace.output"), v);
    }
    if let Some(v) = s.text(F::Input) {
        attr_str_k(b, key!("langfuse.observation.input"), v);
    }
    if let Some(m) = s.text(F::Model) {
        attr_str_k(b, key!("langfuse.observation.model.name"), m);
    }
    if let Some(t) = s.text(F::Usage) {
        attr_str_k(b, key!("langfuse.observation.usage_details"), t);
    }
    if let Some(t) = s.text(F::Cost) {
        attr_str_k(b, key!("langfuse.observation.cost_details"), t);
    }
    if let Some(p) = s.text(F::ModelParameters) {
        attr_str_k(b, key!("langfuse.observation.model.parameters"), p);
    }
    for (k, v) in s.metadata() {
        attr_str(b, &["langfuse.observation.metadata.", k], v);
    }
    if let Some(l) = data.level {
        attr_str_k(b, key!("langfuse.observation.level"), l.as_str());
    }
    if let Some(m) = s.text(F::StatusMessage) {
        attr_str_k(b, key!("langfuse.observation.status_message"), m);
    }
    if let Some(v) = s.text(F::Version) {
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
        if let Some(name) = s.text(F::PromptName) {
            attr_str_k(b, key!("langfuse.observation.prompt.name"), name);
        }
        attr_int(b, &["langfuse.observation.prompt.version"], *version as i64);
    }
    attr_str_k(b, key!("langfuse.observation.type"), ty.as_str());
    if let Some(v) = s.text(F::Output) {
        attr_str_k(b, key!("langfuse.observation.output"), v);
    }
    if let Some(e) = s.text(F::Environment) {
        attr_str_k(b, key!("langfuse.environment"), e);
    }
    if let Some(r) = s.text(F::Release) {
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
