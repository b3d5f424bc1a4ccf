//! Spans the application's own OpenTelemetry pipeline produced (`otel::LangfuseSpanProcessor`),
//! on the exporter thread: converted to OTLP, held to the per-observation size limit, batched
//! per instrumentation scope and sent through the same sink as Langfuse's own spans (retries,
//! gzip, 413 splitting, counting in `Stats`). Runs on the exporter thread only.
//!
//! A foreign span keeps its ids, parent id, times, kind, status, events, links and attributes
//! as its instrumentation made them (the server maps `gen_ai.*` itself), under its own
//! instrumentation scope and the client's resource. Added only when absent: the client's
//! `langfuse.environment` and `langfuse.release`, and `langfuse.internal.is_app_root` on a span
//! without a parent (what the SDK's own root observations carry). The client's mask does not
//! apply: it is defined over observation input, output and metadata.
//!
//! A span whose encoding is over `max_observation_bytes` has its largest string attribute
//! values (the span's and its events') cut, each with a truncation marker, until it fits; one
//! that still does not fit (too many small attributes) is counted failed, with one warning.
//! On the ingestion transport (`LANGFUSE_TRANSPORT=ingestion`, or `auto` once a 404 of the
//! OTel route switched it) foreign spans are counted failed, with one warning: the legacy API
//! has no place for their attributes. (A foreign request that itself got the 404 is resent
//! through the ingestion API like any other, its spans as plain spans: nothing is lost.)

use std::sync::atomic::Ordering;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::capture::{prefix_at_boundary, truncation_marker};
use crate::config::options::Config;
use crate::diag;
use crate::export::encode::{Encoder, Spans};
use crate::export::protobuf::SCOPE_SPANS_SPANS;
use crate::export::shared::{ForeignSpan, Shared};
use crate::export::sink::Sink;

/// String values at most this long are not cut (a marker would not make them shorter).
const MIN_CUT: usize = 128;
/// Room for the truncation marker after a cut prefix.
const MARKER_ROOM: usize = 64;
/// Scopes kept between requests (with their buffers) before those with nothing waiting go.
const KEPT_SCOPES: usize = 16;

/// The spans of one instrumentation scope waiting to be sent.
struct ScopeBatch {
    scope: InstrumentationScope,
    /// The client's encoder with this scope in the request prefix.
    encoder: Encoder,
    spans: Spans,
    n: u64,
}

/// Foreign spans waiting to be sent, by scope.
pub(crate) struct Foreign {
    scopes: Vec<ScopeBatch>,
    n: usize,
    environment: Option<String>,
    release: Option<String>,
    max_span_bytes: usize,
    max_batch_bytes: usize,
    flush_at: usize,
    immediate: bool,
    warned_size: bool,
    warned_ingestion: bool,
}

impl Foreign {
    pub(crate) fn new(cfg: &Config) -> Foreign {
        Foreign {
            scopes: Vec::new(),
            n: 0,
            environment: cfg.environment.clone(),
            release: cfg.release.clone(),
            max_span_bytes: cfg.max_observation_bytes,
            max_batch_bytes: cfg.max_batch_bytes,
            flush_at: cfg.flush_at.max(1),
            immediate: cfg.immediate,
            warned_size: false,
            warned_ingestion: false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Takes spans from the queue: encodes each into its scope's batch, sending first what a
    /// batch holds when the span would take it over the request size limit, and sending when
    /// `flush_at` spans wait (or at once in immediate mode and on the console).
    pub(crate) async fn accept(
        &mut self,
        spans: Vec<Box<dyn ForeignSpan>>,
        sink: &mut Sink,
        base: &Encoder,
        shared: &Arc<Shared>,
    ) {
        for s in spans {
            if sink.on_ingestion() {
                self.refuse_ingestion(shared);
                continue;
            }
            let (scope, mut span) = s.into_otlp();
            self.stamp(&mut span);
            if !fit(&mut span, self.max_span_bytes) {
                self.refuse_size(&span, shared);
                continue;
            }
            let mut bytes = Vec::with_capacity(span.encoded_len() + 8);
            prost::encoding::message::encode(SCOPE_SPANS_SPANS, &span, &mut bytes);
            // The index stays valid: only `scope_index` changes the list.
            let i = self.scope_index(scope, base);
            let held = self.scopes.get(i).map_or(0, |b| b.spans.len());
            if held > 0 && held + bytes.len() > self.max_batch_bytes {
                self.send(sink, base, false, shared).await;
            }
            let Some(b) = self.scopes.get_mut(i) else {
                shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            b.spans.bytes.extend_from_slice(&bytes);
            b.n += 1;
            self.n += 1;
            if self.n >= self.flush_at || self.immediate || sink.hands_over_each() {
                self.send(sink, base, false, shared).await;
            }
        }
    }

    /// Sends every scope's spans, one request each; the request of Langfuse's own spans that
    /// may be in flight is settled first, and each of these before the next (a request split
    /// on a 413 is re-framed with the encoder it was sent with).
    pub(crate) async fn send(
        &mut self,
        sink: &mut Sink,
        base: &Encoder,
        force: bool,
        shared: &Arc<Shared>,
    ) {
        if self.n == 0 {
            return;
        }
        sink.settle(base, shared).await;
        for b in &mut self.scopes {
            if b.n == 0 {
                continue;
            }
            let n = std::mem::take(&mut b.n);
            sink.send_spans(&b.encoder, &mut b.spans, n, force, shared)
                .await;
            sink.settle(&b.encoder, shared).await;
            b.spans.clear();
            b.spans.shrink_past(4 * self.max_batch_bytes.max(1 << 20));
        }
        self.n = 0;
    }

    /// The batch of `scope`, made on its first span.
    fn scope_index(&mut self, scope: InstrumentationScope, base: &Encoder) -> usize {
        if let Some(i) = self.scopes.iter().position(|b| b.scope == scope) {
            return i;
        }
        if self.scopes.len() >= KEPT_SCOPES {
            // Many scopes: forget those with nothing waiting (indexes change only here).
            self.scopes.retain(|b| b.n > 0);
        }
        self.scopes.push(ScopeBatch {
            encoder: base.for_scope(scope.encode_to_vec()),
            scope,
            spans: Spans::default(),
            n: 0,
        });
        self.scopes.len() - 1
    }

    /// Adds the client's environment and release, and the app-root mark of a span without a
    /// parent, unless the span has them.
    fn stamp(&self, span: &mut Span) {
        let root = span.parent_span_id.is_empty();
        let attrs = &mut span.attributes;
        let mut add = |k: &str, v: any_value::Value| {
            if !attrs.iter().any(|a| a.key == k) {
                attrs.push(KeyValue {
                    key: k.to_string(),
                    value: Some(AnyValue { value: Some(v) }),
                    ..Default::default()
                });
            }
        };
        if let Some(e) = &self.environment {
            add(
                "langfuse.environment",
                any_value::Value::StringValue(e.clone()),
            );
        }
        if let Some(r) = &self.release {
            add("langfuse.release", any_value::Value::StringValue(r.clone()));
        }
        if root {
            add(
                "langfuse.internal.is_app_root",
                any_value::Value::BoolValue(true),
            );
        }
    }

    fn refuse_size(&mut self, span: &Span, shared: &Shared) {
        shared.counters.failed.fetch_add(1, Ordering::Relaxed);
        if !std::mem::replace(&mut self.warned_size, true) {
            diag::warn(&format!(
                "an OpenTelemetry span ({:?}, {} attributes, {} events) is over \
                 max_observation_bytes ({}) even with its long values cut, so it is not sent \
                 (counted in stats().failed); further ones are counted without a warning",
                diag::truncate_for_log(&span.name),
                span.attributes.len(),
                span.events.len(),
                self.max_span_bytes
            ));
        }
    }

    fn refuse_ingestion(&mut self, shared: &Shared) {
        shared.counters.failed.fetch_add(1, Ordering::Relaxed);
        if !std::mem::replace(&mut self.warned_ingestion, true) {
            diag::warn(
                "OpenTelemetry spans of other instrumentations need Langfuse's OTel endpoint; \
                 the client sends through the ingestion API, so they are not sent (counted in \
                 stats().failed); set LANGFUSE_TRANSPORT=otlp with a Langfuse v3+ server",
            );
        }
    }
}

/// Cuts the longest string attribute values of `span` (its own and its events') until its
/// encoding is at most `max` bytes; false when it still is not.
fn fit(span: &mut Span, max: usize) -> bool {
    // Each cut makes the span shorter by at least the excess, or leaves a value only its
    // marker (never cut again): bounded by the number of values.
    let values = span.attributes.len()
        + span
            .events
            .iter()
            .map(|e| e.attributes.len())
            .sum::<usize>();
    for _ in 0..=values {
        let len = span.encoded_len();
        if len <= max {
            return true;
        }
        let Some(v) = longest_string(span) else {
            return false;
        };
        let total = v.len();
        let keep = total.saturating_sub(len - max + MARKER_ROOM);
        let mut cut = prefix_at_boundary(v, keep).to_string();
        cut.push_str(&truncation_marker(total, max));
        *v = cut;
    }
    span.encoded_len() <= max
}

/// The longest string attribute value worth cutting, among the span's and its events'.
fn longest_string(span: &mut Span) -> Option<&mut String> {
    let events = span.events.iter_mut().flat_map(|e| e.attributes.iter_mut());
    span.attributes
        .iter_mut()
        .chain(events)
        .filter_map(|kv| match kv.value.as_mut()?.value.as_mut()? {
            any_value::Value::StringValue(s) if s.len() > MIN_CUT && !is_marked(s) => Some(s),
            _ => None,
        })
        .max_by_key(|s| s.len())
}

/// True when `s` already ends with a truncation marker (cut once: not cut again).
fn is_marked(s: &str) -> bool {
    s.ends_with(']') && s.contains("…[truncated: ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::span::Event;

    fn attr(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn text(kv: &KeyValue) -> &str {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s,
            _ => "",
        }
    }

    fn genai_span() -> Span {
        Span {
            name: "chat".into(),
            attributes: vec![
                attr("gen_ai.prompt", &"p".repeat(5000)),
                attr("gen_ai.system", "openai"),
            ],
            events: vec![Event {
                name: "e".into(),
                attributes: vec![attr("gen_ai.completion", &"c".repeat(3000))],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn fit_cuts_the_longest_values_with_a_marker() {
        // Over by about 4 100 bytes: the longest value absorbs it.
        let mut span = genai_span();
        assert!(fit(&mut span, 4000));
        assert!(span.encoded_len() <= 4000);
        let prompt = text(&span.attributes[0]);
        assert!(prompt.starts_with("ppp") && prompt.len() < 1000, "{prompt}");
        assert!(
            prompt.ends_with("p…[truncated: 5000 bytes, limit 4000]"),
            "{prompt}"
        );
        assert_eq!(text(&span.attributes[1]), "openai");
        assert_eq!(text(&span.events[0].attributes[0]), "c".repeat(3000));

        // Over by more than the longest value: it keeps only its marker, the next is cut.
        let mut span = genai_span();
        assert!(fit(&mut span, 2000));
        assert!(span.encoded_len() <= 2000);
        assert_eq!(
            text(&span.attributes[0]),
            "…[truncated: 5000 bytes, limit 2000]"
        );
        assert_eq!(text(&span.attributes[1]), "openai");
        let completion = text(&span.events[0].attributes[0]);
        assert!(completion.starts_with("ccc") && completion.len() < 3000);
        assert!(
            completion.ends_with("c…[truncated: 3000 bytes, limit 2000]"),
            "{completion}"
        );
    }

    #[test]
    fn fit_refuses_what_cutting_cannot_shrink() {
        let mut span = Span {
            attributes: (0..200).map(|i| attr(&format!("k{i}"), "short")).collect(),
            ..Default::default()
        };
        assert!(!fit(&mut span, 500));
        let mut small = Span {
            attributes: vec![attr("a", "b")],
            ..Default::default()
        };
        assert!(fit(&mut small, 500));
        assert_eq!(text(&small.attributes[0]), "b");
    }
}
