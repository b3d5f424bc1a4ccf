//! Records to OTLP spans (Langfuse's attribute contract), masking and size guard, the HTTP sink
//! with retries, and the console sink. Runs on the exporter thread only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::config::{Config, MaskFn};
use crate::context::TraceAttributes;
use crate::deflate::{Gzip, Opaque};
use crate::diag;
use crate::exporter::{backoff_sleep, cap_passed, effective_deadline, Shared};
use crate::observation::{Level, MetaEntry, RareData};
use crate::record::{RecordView, ValueRef};
use crate::value::{prefix_at_boundary, split_marker, truncation_marker, Captured};
use crate::wire::{
    attr_bool_k, attr_int, attr_str, attr_str_array, attr_str_k, delimited_len, key, put_array,
    put_bytes, put_delimited_header, put_fixed32, put_fixed64, put_status, put_varint,
    REQUEST_RESOURCE_SPANS, RESOURCE_SPANS_RESOURCE, RESOURCE_SPANS_SCOPE_SPANS, SCOPE_SPANS_SCOPE,
    SCOPE_SPANS_SPANS, SPAN_END, SPAN_FLAGS, SPAN_KIND, SPAN_NAME, SPAN_PARENT_SPAN_ID,
    SPAN_SPAN_ID, SPAN_START, SPAN_TRACE_ID,
};

/// The SDK's version, sent as `x-langfuse-sdk-version` and the scope version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Instrumentation scope name the server treats as first-class Langfuse spans.
pub(crate) const SCOPE_NAME: &str = "langfuse-sdk";
/// What replaces a value whose mask failed.
pub(crate) const MASK_FAILED: &str = "<fully masked: the mask function failed>";
/// Span flags: the parent's remoteness is known (0x100), and it is remote (0x200).
const FLAG_HAS_IS_REMOTE: u32 = 0x100;
const FLAG_IS_REMOTE: u32 = 0x200;
/// Shortest prefix kept when the size guard truncates a field.
const MIN_PREFIX: usize = 1024;

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}
fn kv_str(key: &str, v: impl Into<String>) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

pub(crate) fn iso(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The rare fields of an observation that has none (not built per span).
static NO_RARE: RareData = RareData {
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
        if let Some(r) = &cfg.release {
            res.push(kv_str("service.version", r.clone()));
        }
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

        let mut input = data.input.map(|v| self.mask_value(v));
        let mut output = data.output.map(|v| self.mask_value(v));
        let mut metadata = self.metadata(&rare.metadata);
        self.size_guard(&mut input, &mut output, &mut metadata);

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
        if let Some((p, _)) = parent {
            put_array(b, SPAN_PARENT_SPAN_ID, &p.to_bytes());
            ids.push(Opaque::id(b.len(), 8));
        }
        if !data.name.is_empty() {
            put_bytes(b, SPAN_NAME, data.name.as_bytes());
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

        if let Some(v) = &trace.name {
            attr_str_k(b, key!("langfuse.trace.name"), v);
        }
        if let Some(v) = &trace.user_id {
            attr_str_k(b, key!("user.id"), v);
        }
        if let Some(v) = &trace.session_id {
            attr_str_k(b, key!("session.id"), v);
        }
        if !trace.tags.is_empty() {
            let tags: Vec<&str> = trace.tags.iter().map(String::as_str).collect();
            attr_str_array(b, &["langfuse.trace.tags"], &tags);
        }
        if !trace.metadata.is_empty() {
            let m = match &self.mask {
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
            let b = &mut *batch;
            for (k, v) in m {
                attr_str(b, &["langfuse.trace.metadata.", &k], &v);
            }
        }
        let b = &mut *batch;
        if let Some(p) = trace.public {
            attr_bool_k(b, key!("langfuse.trace.public"), p);
        }
        if let Some(c) = &trace.input {
            let v = self.mask_value(c.as_value_ref());
            attr_str_k(&mut *batch, key!("langfuse.trace.input"), &v);
        }
        if let Some(c) = &trace.output {
            let v = self.mask_value(c.as_value_ref());
            attr_str_k(&mut *batch, key!("langfuse.trace.output"), &v);
        }
        let b = &mut *batch;
        if let Some(v) = &input {
            attr_str_k(b, key!("langfuse.observation.input"), v);
        }
        if let Some(m) = data.model {
            attr_str_k(b, key!("langfuse.observation.model.name"), m);
        }
        if let Some(u) = data.usage.as_ref().filter(|u| !u.is_empty()) {
            let mut t = std::mem::take(&mut self.text);
            t.clear();
            usage_json(u, &mut t);
            attr_str_k(&mut *batch, key!("langfuse.observation.usage_details"), &t);
            self.text = t;
        }
        let b = &mut *batch;
        if let Some(c) = rare.cost.as_ref().filter(|c| !c.is_empty()) {
            let t = serde_json::to_string(c).unwrap_or_default();
            attr_str_k(b, key!("langfuse.observation.cost_details"), &t);
        }
        if let Some(p) = &rare.model_parameters {
            attr_str_k(
                b,
                key!("langfuse.observation.model.parameters"),
                &p.to_json_text(),
            );
        }
        for (k, v) in &metadata {
            attr_str(b, &["langfuse.observation.metadata.", k], v);
        }
        if let Some(l) = data.level {
            attr_str_k(b, key!("langfuse.observation.level"), l.as_str());
        }
        if let Some(m) = &rare.status_message {
            attr_str_k(b, key!("langfuse.observation.status_message"), m);
        }
        if let Some(v) = rare.version.as_ref().or(trace.version.as_ref()) {
            attr_str_k(b, key!("langfuse.version"), v);
        }
        if let Some(t) = rare.completion_start {
            attr_str_k(
                b,
                key!("langfuse.observation.completion_start_time"),
                &iso(t),
            );
        }
        if let Some((name, version)) = &rare.prompt {
            attr_str_k(b, key!("langfuse.observation.prompt.name"), name);
            attr_int(b, &["langfuse.observation.prompt.version"], *version as i64);
        }
        attr_str_k(b, key!("langfuse.observation.type"), ty.as_str());
        if let Some(v) = &output {
            attr_str_k(b, key!("langfuse.observation.output"), v);
        }
        if let Some(e) = trace.environment.as_ref().or(self.environment.as_ref()) {
            attr_str_k(b, key!("langfuse.environment"), e);
        }
        if let Some(r) = trace.release.as_ref().or(self.release.as_ref()) {
            attr_str_k(b, key!("langfuse.release"), r);
        }
        if parent.is_none() {
            attr_bool_k(b, key!("langfuse.internal.is_app_root"), true);
        }
        let error = (data.level == Some(Level::Error))
            .then(|| rare.status_message.as_deref().unwrap_or(""));
        put_status(b, error);
        let flags = match parent {
            Some((_, true)) => FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE,
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

    /// Keeps an observation under the size limit by truncating its largest fields.
    fn size_guard(
        &self,
        input: &mut Option<Cow<'_, str>>,
        output: &mut Option<Cow<'_, str>>,
        metadata: &mut Vec<(String, String)>,
    ) {
        let limit = self.max_observation_bytes;
        for _ in 0..3 {
            let sizes = [
                input.as_ref().map_or(0, |c| c.len()),
                output.as_ref().map_or(0, |c| c.len()),
                metadata.iter().map(|(k, v)| k.len() + v.len()).sum(),
            ];
            let total: usize = sizes.iter().sum();
            if total <= limit {
                return;
            }
            let (largest, &len) = sizes
                .iter()
                .enumerate()
                .max_by_key(|(_, l)| **l)
                .unwrap_or((0, &0));
            let keep = limit
                .saturating_sub(total - len)
                .saturating_sub(100)
                .max(MIN_PREFIX);
            if keep >= len {
                return;
            }
            let shorten = |s: &str| -> String {
                // A value truncated at capture keeps its original size in the marker.
                let (body, original) = split_marker(s);
                let mut t = prefix_at_boundary(body, keep).to_string();
                t.push_str(&truncation_marker(original.unwrap_or(s.len()), limit));
                t
            };
            match largest {
                0 => *input = input.take().map(|c| Cow::Owned(shorten(&c))),
                1 => *output = output.take().map(|c| Cow::Owned(shorten(&c))),
                _ => {
                    let text = serde_json::Value::Object(
                        metadata
                            .drain(..)
                            .map(|(k, v)| {
                                let parsed = serde_json::from_str(&v)
                                    .unwrap_or(serde_json::Value::String(v));
                                (k, parsed)
                            })
                            .collect(),
                    )
                    .to_string();
                    *metadata = vec![(
                        "truncated".to_string(),
                        serde_json::Value::String(shorten(&text)).to_string(),
                    )];
                }
            }
        }
    }
}

/// Usage details as a JSON object (what `serde_json` writes, without its machinery: this runs
/// for every generation).
fn usage_json(u: &crate::observation::UsageDetails, out: &mut String) {
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
        crate::value::push_json_string(out, k);
        out.push(':');
        number(*v, out);
    }
    out.push('}');
}

/// Runs the user's mask; `None` when it failed or panicked.
fn run_mask(m: &MaskFn, v: serde_json::Value) -> Option<serde_json::Value> {
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

// ---- HTTP ------------------------------------------------------------------------------------

/// Sends OTLP and score requests with retries.
pub(crate) struct HttpSink {
    poster: Poster,
    traces_url: Arc<str>,
    ingestion_url: String,
    /// Set after a failed delivery until one succeeds: an outage warns once, not per batch.
    failing: bool,
    gzip: Gzip,
    /// The OTLP request being delivered (by a task of the exporter's runtime) while the
    /// exporter encodes the next one, and how many spans it carries.
    in_flight: Option<(tokio::task::JoinHandle<PostResult>, u64)>,
}

/// A delivery's outcome: the status and body, or why it failed.
type PostResult = Result<(u16, String), String>;

/// What a request needs, cheap to clone into the task that delivers it.
#[derive(Clone)]
struct Poster {
    client: reqwest::Client,
    headers: HeaderMap,
    /// Statuses already warned about (a refusal warns once per status).
    warned_status: Arc<Mutex<std::collections::HashSet<u16>>>,
    timeout: Duration,
    max_retries: u32,
}

enum Attempt {
    Done(u16, String),
    Retry(String, Option<Duration>),
    Fail(String),
}

impl HttpSink {
    pub(crate) fn new(cfg: &Config) -> Result<HttpSink, String> {
        use base64::Engine as _;
        let mut headers = HeaderMap::new();
        let pk = cfg.public_key.clone().unwrap_or_default();
        let sk = cfg
            .secret_key
            .as_ref()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{pk}:{sk}"));
        let mut auth = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| "the keys contain characters not allowed in a header".to_string())?;
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        headers.insert("x-langfuse-sdk-name", HeaderValue::from_static("rust"));
        headers.insert(
            "x-langfuse-sdk-version",
            HeaderValue::from_static(SDK_VERSION),
        );
        headers.insert(
            "x-langfuse-public-key",
            HeaderValue::from_str(&pk)
                .map_err(|_| "the public key is not a valid header".to_string())?,
        );
        headers.insert(
            "x-langfuse-ingestion-version",
            HeaderValue::from_static("4"),
        );
        let client = reqwest::Client::builder()
            .user_agent(concat!("langfuse-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(cfg.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let host = url_host(&cfg.base_url);
        if cfg.base_url.starts_with("http://") && !is_local(&host) {
            diag::warn(&format!(
                "LANGFUSE_BASE_URL {} uses plain http:// to a non-local host: keys and traces travel unencrypted",
                cfg.base_url
            ));
        }
        Ok(HttpSink {
            poster: Poster {
                client,
                headers,
                warned_status: Default::default(),
                timeout: cfg.timeout,
                max_retries: cfg.max_retries,
            },
            traces_url: format!("{}/api/public/otel/v1/traces", cfg.base_url).into(),
            ingestion_url: format!("{}/api/public/ingestion", cfg.base_url),
            failing: false,
            gzip: Gzip::default(),
            in_flight: None,
        })
    }

    /// Starts delivering one OTLP request of `spans` spans (compressed here, sent by a task of
    /// the exporter's runtime), once the request before it is finished: the exporter encodes
    /// the next request while the server handles this one, instead of waiting for its answer.
    pub(crate) async fn start_traces(
        &mut self,
        prefix: &[u8],
        batch: &Spans,
        spans: u64,
        shared: &Arc<Shared>,
        cfg: &Config,
    ) {
        let (payload, gzip) = if cfg.gzip {
            (self.gzip.compress(prefix, &batch.bytes, &batch.ids), true)
        } else {
            ([prefix, &batch.bytes].concat(), false)
        };
        // One request at a time on the wire: its connection is free again for the next.
        self.finish_traces(shared).await;
        let (poster, url, task_shared) =
            (self.poster.clone(), self.traces_url.clone(), shared.clone());
        let task = tokio::spawn(async move {
            poster
                .post(&url, payload, "application/x-protobuf", gzip, &task_shared)
                .await
        });
        self.in_flight = Some((task, spans));
        // Let the task write the request before this thread goes back to encoding.
        tokio::task::yield_now().await;
    }

    /// Waits for the request in flight, if any, and counts its spans exported or failed.
    pub(crate) async fn finish_traces(&mut self, shared: &Shared) {
        let Some((task, spans)) = self.in_flight.take() else {
            return;
        };
        let r = task
            .await
            .unwrap_or_else(|e| Err(format!("the request's task failed: {e}")));
        self.outcome(r.as_ref().err().map(String::as_str));
        let c = &shared.counters;
        if r.is_ok() {
            c.exported.fetch_add(spans, Ordering::Relaxed);
        } else {
            c.failed.fetch_add(spans, Ordering::Relaxed);
        }
    }

    /// True when a request is in flight and has finished (its outcome not counted yet).
    pub(crate) fn traces_done(&self) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|(t, _)| t.is_finished())
    }

    /// Sends score events; returns how many failed.
    pub(crate) async fn send_scores(
        &mut self,
        events: Vec<serde_json::Value>,
        shared: &Shared,
    ) -> u64 {
        let n = events.len() as u64;
        let body = serde_json::json!({ "batch": events })
            .to_string()
            .into_bytes();
        match self
            .poster
            .post(&self.ingestion_url, body, "application/json", false, shared)
            .await
        {
            Ok((status, text)) => {
                self.outcome(None);
                // 207: per-event errors arrive inside the body.
                let errors = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
                    .unwrap_or_default();
                if !errors.is_empty() {
                    diag::warn(&format!(
                        "Langfuse refused {} score(s) (HTTP {status}): {}",
                        errors.len(),
                        truncate_for_log(&serde_json::Value::Array(errors.clone()).to_string())
                    ));
                }
                (errors.len() as u64).min(n)
            }
            Err(e) => {
                self.outcome(Some(&e));
                n
            }
        }
    }

    /// Warns once when deliveries start failing, and notes the recovery in debug mode.
    fn outcome(&mut self, error: Option<&str>) {
        match (error, self.failing) {
            (Some(e), false) => {
                self.failing = true;
                diag::warn(&format!(
                    "Langfuse export failed: {e}; failed items are counted (stats().failed), \
                     further failures are not logged until a delivery succeeds"
                ));
            }
            (None, true) => {
                self.failing = false;
                diag::debug(|| "Langfuse export recovered".to_string());
            }
            _ => {}
        }
    }
}

impl Poster {
    async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        content_type: &'static str,
        gzip: bool,
        shared: &Shared,
    ) -> PostResult {
        let budget = self.timeout * (self.max_retries + 1) + Duration::from_secs(30);
        let batch_deadline = Instant::now() + budget;
        let mut attempt: u32 = 0;
        loop {
            let deadline = effective_deadline(shared, batch_deadline);
            let now = Instant::now();
            if now >= deadline {
                return Err("gave up: out of time (shutdown deadline or retry budget)".into());
            }
            let timeout = self.timeout.min(deadline - now);
            let mut req = self
                .client
                .post(url)
                .headers(self.headers.clone())
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .timeout(timeout)
                .body(body.clone());
            if gzip {
                req = req.header(reqwest::header::CONTENT_ENCODING, "gzip");
            }
            let attempt_result = tokio::select! {
                r = req.send() => Some(r),
                _ = cap_passed(shared) => None,
            };
            let Some(attempt_result) = attempt_result else {
                return Err("gave up: shutdown deadline passed during the request".into());
            };
            let outcome = match attempt_result {
                Ok(resp) => {
                    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
                    let status = resp.status().as_u16();
                    let retry_after = retry_after(resp.headers());
                    let text = resp.text().await.unwrap_or_default();
                    if (200..300).contains(&status) {
                        shared
                            .counters
                            .bytes_sent
                            .fetch_add(body.len() as u64, Ordering::Relaxed);
                        Attempt::Done(status, text)
                    } else if status == 408 || status == 429 || status >= 500 {
                        Attempt::Retry(
                            format!("HTTP {status}: {}", truncate_for_log(&text)),
                            retry_after,
                        )
                    } else {
                        let msg = format!(
                            "HTTP {status} from {url}: {}{}",
                            truncate_for_log(&text),
                            match status {
                                401 | 403 => " (check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL)",
                                404 => " (is LANGFUSE_BASE_URL a Langfuse server with OpenTelemetry ingestion, v3 or newer?)",
                                413 => " (request too large: lower max_batch_bytes)",
                                _ => "",
                            }
                        );
                        let first = self
                            .warned_status
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(status);
                        if first {
                            diag::warn(&format!("Langfuse refused a request, not retrying: {msg}"));
                        }
                        Attempt::Fail(msg)
                    }
                }
                Err(e) => Attempt::Retry(describe_reqwest_error(&e), None),
            };
            match outcome {
                Attempt::Done(status, text) => return Ok((status, text)),
                Attempt::Fail(m) => return Err(m),
                Attempt::Retry(reason, retry_after) => {
                    if attempt >= self.max_retries {
                        return Err(format!("{reason} (after {} retries)", self.max_retries));
                    }
                    let wait = retry_after
                        .map(|d| d.min(Duration::from_secs(60)))
                        .unwrap_or_else(|| backoff(attempt));
                    let deadline = effective_deadline(shared, batch_deadline);
                    if Instant::now() + wait >= deadline {
                        return Err(format!("{reason} (no time left to retry)"));
                    }
                    diag::debug(|| format!("retrying in {wait:?}: {reason}"));
                    shared.counters.retried.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    backoff_sleep(shared, wait).await;
                }
            }
        }
    }
}

/// Exponential backoff with jitter: 0.5–1 × 200 ms × 2^attempt, at most 10 s.
fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1u64 << attempt.min(16)).min(10_000);
    let jitter = 0.5 + (crate::ids::next_u64() % 1000) as f64 / 2000.0;
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// The `Retry-After` header (seconds or an HTTP date), capped at an hour.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(3600.0)));
        }
        return None;
    }
    let t = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let now = chrono::Utc::now();
    let d = t.with_timezone(&chrono::Utc) - now;
    Some(d.to_std().unwrap_or(Duration::ZERO))
}

fn describe_reqwest_error(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL but never headers, so no key can leak here.
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut msg = format!("{what}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

fn truncate_for_log(s: &str) -> String {
    let p = prefix_at_boundary(s, 300);
    if p.len() < s.len() {
        format!("{p}…")
    } else {
        p.to_string()
    }
}

fn url_host(base: &str) -> String {
    reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

fn is_local(host: &str) -> bool {
    host == "localhost"
        || host.starts_with("127.")
        || host == "[::1]"
        || host == "::1"
        || host.ends_with(".local")
        || host.ends_with(".svc")
        || host.ends_with(".internal")
        || host.contains(".svc.")
        || !host.contains('.')
}

// ---- console ---------------------------------------------------------------------------------

/// Prints each finished trace as an indented tree.
#[derive(Default)]
pub(crate) struct ConsoleSink {
    pending: HashMap<Vec<u8>, Vec<Span>>,
}

impl ConsoleSink {
    /// Adds spans; prints traces whose root arrived (or all, when forced). Returns spans printed.
    pub(crate) fn add(&mut self, spans: Vec<Span>, force: bool) -> u64 {
        let mut ready = Vec::new();
        for s in spans {
            let root = s.parent_span_id.is_empty() || s.flags & FLAG_IS_REMOTE != 0;
            let t = s.trace_id.clone();
            self.pending.entry(t.clone()).or_default().push(s);
            if root {
                ready.push(t);
            }
        }
        if force {
            ready.extend(self.pending.keys().cloned());
        }
        let mut n = 0;
        let mut out = String::new();
        for t in ready {
            if let Some(spans) = self.pending.remove(&t) {
                n += spans.len() as u64;
                render_tree(&spans, &mut out);
            }
        }
        if !out.is_empty() {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
        }
        n
    }

    pub(crate) fn scores(&mut self, events: &[serde_json::Value]) {
        let mut out = String::new();
        for e in events {
            let b = &e["body"];
            out.push_str(&format!(
                "score {} = {} ({}) on trace {}{}\n",
                b["name"].as_str().unwrap_or("?"),
                b["value"],
                b["dataType"].as_str().unwrap_or("?"),
                b["traceId"]
                    .as_str()
                    .or(b["sessionId"].as_str())
                    .unwrap_or("-"),
                b["observationId"]
                    .as_str()
                    .map(|o| format!(" / observation {o}"))
                    .unwrap_or_default()
            ));
        }
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
    }
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    s.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn span_attr_str<'a>(s: &'a Span, key: &str) -> Option<&'a str> {
    match attr(s, key) {
        Some(any_value::Value::StringValue(v)) => Some(v),
        _ => None,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Renders spans of one trace as an indented tree.
pub(crate) fn render_tree(spans: &[Span], out: &mut String) {
    let ids: std::collections::HashSet<&[u8]> = spans.iter().map(|s| &s.span_id[..]).collect();
    let mut children: HashMap<&[u8], Vec<&Span>> = HashMap::new();
    let mut roots = Vec::new();
    for s in spans {
        if s.parent_span_id.is_empty() || !ids.contains(&s.parent_span_id[..]) {
            roots.push(s);
        } else {
            children.entry(&s.parent_span_id[..]).or_default().push(s);
        }
    }
    roots.sort_by_key(|s| s.start_time_unix_nano);
    for c in children.values_mut() {
        c.sort_by_key(|s| s.start_time_unix_nano);
    }
    if let Some(r) = roots.first() {
        let trace_name = span_attr_str(r, "langfuse.trace.name").unwrap_or(&r.name);
        out.push_str(&format!("trace {} {}", hex(&r.trace_id), trace_name));
        if let Some(u) = span_attr_str(r, "user.id") {
            out.push_str(&format!(" user={u}"));
        }
        if let Some(sid) = span_attr_str(r, "session.id") {
            out.push_str(&format!(" session={sid}"));
        }
        out.push('\n');
    }
    fn line(s: &Span, out: &mut String) {
        let ty = span_attr_str(s, "langfuse.observation.type").unwrap_or("span");
        let ms = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano) as f64 / 1e6;
        out.push_str(&format!("{ty} {} {ms:.1}ms", s.name));
        if let Some(m) = span_attr_str(s, "langfuse.observation.model.name") {
            out.push_str(&format!(" model={m}"));
        }
        if let Some(u) = span_attr_str(s, "langfuse.observation.usage_details")
            .and_then(|u| serde_json::from_str::<serde_json::Value>(u).ok())
        {
            let g = |k: &str| u.get(k).and_then(|v| v.as_u64());
            out.push_str(&format!(
                " tokens={}/{}/{}",
                g("input").map_or("-".into(), |v| v.to_string()),
                g("output").map_or("-".into(), |v| v.to_string()),
                g("total").map_or("-".into(), |v| v.to_string())
            ));
        }
        if let Some(c) = span_attr_str(s, "langfuse.observation.cost_details")
            .and_then(|u| serde_json::from_str::<serde_json::Value>(u).ok())
            .and_then(|u| u.get("total").and_then(|v| v.as_f64()))
        {
            out.push_str(&format!(" cost=${c:.6}"));
        }
        if let Some(l) = span_attr_str(s, "langfuse.observation.level") {
            if l != "DEFAULT" {
                out.push_str(&format!(" [{l}"));
                if let Some(m) = span_attr_str(s, "langfuse.observation.status_message") {
                    out.push_str(&format!(": {}", truncate_for_log(m)));
                }
                out.push(']');
            }
        }
        out.push('\n');
    }
    fn walk(
        s: &Span,
        prefix: &str,
        last: bool,
        children: &HashMap<&[u8], Vec<&Span>>,
        out: &mut String,
    ) {
        out.push_str(prefix);
        out.push_str(if last { "└─ " } else { "├─ " });
        line(s, out);
        if let Some(cs) = children.get(&s.span_id[..]) {
            let p = format!("{prefix}{}", if last { "   " } else { "│  " });
            for (i, c) in cs.iter().enumerate() {
                walk(c, &p, i + 1 == cs.len(), children, out);
            }
        }
    }
    let n = roots.len();
    for (i, r) in roots.into_iter().enumerate() {
        walk(r, "", i + 1 == n, &children, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_json_is_what_serde_json_writes() {
        use crate::observation::UsageDetails;
        for u in [
            UsageDetails::new().input(12).output(2).total(14),
            UsageDetails::new().total(0),
            UsageDetails::new()
                .output(u64::MAX)
                .with("input_cached_tokens", 7)
                .with("odd \"key\"", 1),
            UsageDetails::new()
                .with("only_other", 10)
                .with("second", 99),
            UsageDetails::new(),
        ]
        .into_iter()
        .chain(
            [9, 10, 99, 100, 101, 65_535, 1_000_000, 10_u64.pow(19)].map(|n| {
                UsageDetails::new()
                    .input(n)
                    .total(n + 1)
                    .with("input_cached_tokens", n - 1)
            }),
        ) {
            let mut t = String::new();
            usage_json(&u, &mut t);
            assert_eq!(t, serde_json::to_string(&u).unwrap());
        }
    }

    /// Spans are written in place with a two-byte length; shorter (under 128 bytes) and longer
    /// (16 KB and more) spans are re-framed. Every size decodes to the span that was recorded.
    #[test]
    fn spans_of_every_size_are_framed() {
        use crate::ids::{ObservationId, TraceId};
        use crate::observation::{Head, ObsData, ObservationType};
        use crate::record::{Batch, ValueRef};
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use prost::Message;
        let mut enc = Encoder::new(&crate::config::LangfuseBuilder::default().cfg);
        let sizes = [
            0, 1, 10, 40, 60, 100, 16_000, 16_300, 16_400, 20_000, 2_100_000,
        ];
        let (mut batch, mut n) = (Spans::default(), 0);
        for (i, &len) in sizes.iter().enumerate() {
            let attrs = None;
            let head = Head {
                trace_id: TraceId::from_bytes([i as u8 + 1; 16]),
                id: ObservationId::from_bytes([i as u8 + 1; 8]),
                parent: None,
                ty: ObservationType::Span,
                attrs: &attrs,
            };
            let mut d = ObsData {
                name: std::borrow::Cow::Borrowed(if len == 0 { "" } else { "s" }),
                start: 0,
                end: 0,
                ..Default::default()
            };
            let mut b = Batch::default();
            b.push(head, &mut d);
            for mut rec in b.records() {
                let text = "x".repeat(len);
                if len > 0 {
                    rec.input = Some(ValueRef {
                        json: false,
                        text: &text,
                    });
                }
                let before = batch.len();
                let added = enc.encode_span(&rec, &mut batch);
                n += 1;
                assert_eq!(added, batch.len() - before);
            }
        }
        // The ids' positions, as gzip gets them, moved with spans that were re-framed.
        assert_eq!(batch.ids.len(), 2 * n);
        for (i, o) in batch.ids.iter().enumerate() {
            let (start, len) = (o.start as usize, o.len as usize);
            let want = vec![i as u8 / 2 + 1; if i % 2 == 0 { 16 } else { 8 }];
            assert_eq!(batch.bytes[start..start + len], want[..], "id {i}");
        }
        // gzip, told where they are, gives back the request.
        use crate::deflate::tests::gunzip;
        let mut gzip = Gzip::default();
        let prefix = enc.request_prefix(batch.len());
        let z = gzip.compress(&prefix, &batch.bytes, &batch.ids);
        assert!(gunzip(&z) == [&prefix[..], &batch.bytes].concat());
        // Positions survive a split at a span boundary (the size limit splits requests).
        let mut head = batch.clone();
        let at = head.ids[6].start as usize - 3;
        let tail = head.split_off(at);
        assert_eq!((head.ids.len(), tail.ids.len()), (6, 2 * n - 6));
        assert_eq!(tail.ids[0].start, 3);
        assert_eq!(tail.bytes[3..19], [4; 16]);
        for part in [head, tail] {
            let z = gzip.compress(b"prefix", &part.bytes, &part.ids);
            assert!(gunzip(&z) == [&b"prefix"[..], &part.bytes].concat());
        }
        let bytes = enc.request(&batch.bytes);
        let req = ExportTraceServiceRequest::decode(&bytes[..]).unwrap();
        // Canonical: byte for byte what prost writes for the decoded request.
        assert!(req.encode_to_vec() == bytes, "not prost's encoding");
        let spans = &req.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), n);
        for (i, (s, &len)) in spans.iter().zip(&sizes).enumerate() {
            assert_eq!(s.span_id, vec![i as u8 + 1; 8], "span {i}");
            let input = s
                .attributes
                .iter()
                .find(|a| a.key == "langfuse.observation.input")
                .map(|a| format!("{:?}", a.value));
            assert_eq!(input.is_some(), len > 0, "span {i}");
            if len > 0 && len <= 100_000 {
                assert!(input.unwrap().contains(&"x".repeat(len)), "span {i}");
            }
        }
        // Lengths of one, two and three bytes were all written.
        let lens: Vec<usize> = spans.iter().map(|s| s.encoded_len()).collect();
        assert!(lens.iter().any(|&l| l < 0x80), "{lens:?}");
        assert!(
            lens.iter().any(|&l| (0x80..0x4000).contains(&l)),
            "{lens:?}"
        );
        assert!(lens.iter().any(|&l| l >= 0x4000), "{lens:?}");
    }

    /// Not a test: a fixed amount of the exporter's work (the benchmark's two-level workload,
    /// 200 000 spans read from batches, encoded into 2048-span requests and gzipped), for
    /// `valgrind --tool=callgrind`, whose counts then do not depend on thread timing:
    /// `cargo test --release -p langfuse-sdk --lib exporter_work -- --ignored`.
    #[test]
    #[ignore]
    fn exporter_work() {
        use crate::ids::{ObservationId, TraceId};
        use crate::observation::{Head, ObsData, ObservationType, UsageDetails};
        use crate::record::Batch;
        use crate::value::Captured;
        let mut enc = Encoder::new(&crate::config::LangfuseBuilder::default().cfg);
        let mut gzip = Gzip::default();
        let (mut spans, mut out, mut sent) = (0, Spans::default(), 0usize);
        let attrs = None;
        while spans < 200_000 {
            let mut b = Batch::default();
            for i in 0..200u64 {
                let t = TraceId::from_bytes([(i % 251) as u8 + 1; 16]);
                let root = ObservationId::from_bytes([(i % 241) as u8 + 1; 8]);
                let mut gen = ObsData {
                    name: "llm".into(),
                    start: 1_795_795_978_683_581_374 + i * 1000,
                    end: 1_795_795_978_683_581_374 + i * 1000 + 400,
                    input: Some(Captured::Json("{\"prompt\":\"what is rust?\"}".into())),
                    output: Some(Captured::Text("ok".into())),
                    model: Some("gpt-4o-mini".into()),
                    usage: Some(UsageDetails::new().input(12).output(2).total(14)),
                    ..Default::default()
                };
                let head = |id, parent, ty| Head {
                    trace_id: t,
                    id,
                    parent,
                    ty,
                    attrs: &attrs,
                };
                let gen_id = ObservationId::from_bytes([(i % 239) as u8 + 2; 8]);
                b.push(
                    head(gen_id, Some((root, false)), ObservationType::Generation),
                    &mut gen,
                );
                let mut span = ObsData {
                    name: "handle".into(),
                    start: 1_795_795_978_683_581_000 + i * 1000,
                    end: 1_795_795_978_683_581_000 + i * 1000 + 900,
                    input: Some(Captured::Json("{\"req\":\"what is rust?\"}".into())),
                    output: Some(Captured::Text("ok".into())),
                    ..Default::default()
                };
                b.push(head(root, None, ObservationType::Span), &mut span);
            }
            for rec in b.records() {
                enc.encode_span(&rec, &mut out);
                spans += 1;
                if spans % 2048 == 0 {
                    let prefix = enc.request_prefix(out.len());
                    sent += gzip.compress(&prefix, &out.bytes, &out.ids).len();
                    out.clear();
                }
            }
        }
        assert!(sent > 0);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for a in 0..40 {
            let d = backoff(a);
            assert!(d <= Duration::from_secs(10), "{a}: {d:?}");
            assert!(d >= Duration::from_millis(100).min(Duration::from_millis(100 << a.min(6))));
        }
    }

    #[test]
    fn console_tree_shape() {
        let mk = |id: u8, parent: Option<u8>, name: &str, start: u64| Span {
            trace_id: vec![1; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: name.into(),
            start_time_unix_nano: start,
            end_time_unix_nano: start + 2_000_000,
            attributes: vec![kv_str("langfuse.observation.type", "span")],
            ..Default::default()
        };
        let mut out = String::new();
        render_tree(
            &[
                mk(3, Some(1), "b", 3),
                mk(2, Some(1), "a", 2),
                mk(4, Some(2), "a1", 4),
                mk(1, None, "root", 1),
            ],
            &mut out,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "trace 01010101010101010101010101010101 root");
        assert_eq!(lines[1], "└─ span root 2.0ms");
        assert_eq!(lines[2], "   ├─ span a 2.0ms");
        assert_eq!(lines[3], "   │  └─ span a1 2.0ms");
        assert_eq!(lines[4], "   └─ span b 2.0ms");
    }

    #[test]
    fn local_hosts() {
        for h in [
            "localhost",
            "127.0.0.1",
            "langfuse-web",
            "langfuse.langfuse.svc.cluster.local",
        ] {
            assert!(is_local(h), "{h}");
        }
        assert!(!is_local("cloud.langfuse.com"));
    }
}
