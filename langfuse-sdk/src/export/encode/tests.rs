//! The size guard's fast path: a span that fits is written as the full path writes it.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::attributes::TraceAttributes;
use crate::capture::Captured;
use crate::config::options::{Config, MaskFn};
use crate::details::{CostDetails, UsageDetails};
use crate::export::encode::guard;
use crate::export::encode::texts::{Settings, Texts};
use crate::export::encode::{Encoder, Spans, NO_RARE};
use crate::export::record::{Batch, Head};
use crate::fields::{Level, MetaEntry, ObsData, ObservationType, RareData};
use crate::ids::{ObservationId, ParentRef, TraceId};

/// Trace attributes with every field, `n` bytes each (set directly: the builder would cut).
fn trace(n: usize) -> TraceAttributes {
    let t = |c: &str| Some(c.repeat(n));
    TraceAttributes {
        name: t("a"),
        user_id: t("u"),
        session_id: t("s"),
        version: t("v"),
        release: t("r"),
        environment: t("e"),
        public: Some(true),
        tags: vec!["x".repeat(n), "tag".into()],
        metadata: vec![
            ("k".into(), Captured::Json(format!("\"{}\"", "m".repeat(n)))),
            ("plain".into(), Captured::Text("p\"q".repeat(n / 3 + 1))),
        ],
        input: Some(Captured::Json(format!("[\"{}\"]", "i".repeat(n)))),
        output: Some(Captured::Text("o".repeat(n))),
    }
}

/// Rare fields, every one set, `n` bytes each.
fn rare(n: usize, with_trace: bool) -> RareData {
    RareData {
        metadata: vec![
            MetaEntry::Object(Captured::Json(format!(
                "{{\"a\":\"{}\",\"b\":1}}",
                "x".repeat(n)
            ))),
            MetaEntry::Key("c".into(), Captured::Text("y".repeat(n))),
            MetaEntry::Object(Captured::Json("[1,2]".into())),
        ],
        status_message: Some("s".repeat(n)),
        version: Some("v".repeat(n)),
        model_parameters: Some(Captured::Json(format!("{{\"t\":\"{}\"}}", "p".repeat(n)))),
        cost: Some(
            CostDetails::new()
                .input(0.5)
                .total(1.25)
                .with("k".repeat(n), 2.0),
        ),
        completion_start: Some(SystemTime::UNIX_EPOCH + Duration::from_micros(1_234_567)),
        prompt: Some(("n".repeat(n), 3)),
        trace: with_trace.then(|| {
            Box::new(TraceAttributes {
                user_id: Some("other".into()),
                tags: vec!["more".into()],
                ..Default::default()
            })
        }),
    }
}

/// Observations from the bench's kind to ones with every field, of growing sizes.
fn corpus() -> Vec<(Option<Arc<TraceAttributes>>, ObsData, Option<ParentRef>)> {
    let mut out = Vec::new();
    let parent = Some(ParentRef {
        id: ObservationId::from_bytes([9; 8]),
        remote: false,
    });
    // The bench's two: a span, and a generation with model and usage.
    out.push((
        None,
        ObsData {
            name: Cow::Borrowed("handle"),
            start: 1,
            end: 2,
            input: Some(Captured::Json("\"what is rust?\"".into())),
            output: Some(Captured::Json("\"ok\"".into())),
            ..Default::default()
        },
        None,
    ));
    out.push((
        None,
        ObsData {
            name: Cow::Borrowed("llm"),
            start: 1,
            end: 2,
            input: Some(Captured::Json("\"what is rust?\"".into())),
            output: Some(Captured::Text("ok".into())),
            model: Some("gpt-4o-mini".into()),
            usage: Some(UsageDetails::new().input(12).output(2).total(14)),
            ..Default::default()
        },
        parent,
    ));
    for n in [0, 1, 30, 200, 1_000, 3_000, 20_000, 300_000] {
        for (attrs, with_rare, trace_in_rare) in [
            (false, true, false),
            (true, false, false),
            (true, true, true),
            (false, true, true),
        ] {
            let usage = UsageDetails::new().input(n as u64).with("z".repeat(n), 7);
            out.push((
                attrs.then(|| Arc::new(trace(n))),
                ObsData {
                    level: Some(if n % 2 == 0 {
                        Level::Error
                    } else {
                        Level::Warning
                    }),
                    name: Cow::Owned("N".repeat(n)),
                    start: 5,
                    end: 6,
                    input: Some(Captured::Json(format!("\"{}\"", "I".repeat(n)))),
                    output: Some(Captured::Text("O".repeat(n))),
                    model: Some("M".repeat(n)),
                    usage: Some(usage),
                    rare: with_rare.then(|| Box::new(rare(n, trace_in_rare))),
                    ..Default::default()
                },
                parent,
            ));
        }
    }
    out
}

/// Every corpus observation encoded by `enc`, with the fast path or (`full`) the guard's.
fn encode_all(enc: &mut Encoder, full: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, (attrs, mut d, parent)) in corpus().into_iter().enumerate() {
        let head = Head {
            trace_id: TraceId::from_bytes([i as u8 + 1; 16]),
            id: ObservationId::from_bytes([i as u8 + 1; 8]),
            parent,
            ty: ObservationType::Generation,
            attrs: &attrs,
        };
        let mut b = Batch::default();
        b.push(head, &mut d);
        for rec in b.records() {
            let mut spans = Spans::default();
            if full {
                enc.encode_span_full(&rec, &mut spans);
            } else {
                enc.encode_span(&rec, &mut spans);
            }
            out.push(spans.bytes);
        }
    }
    out
}

/// Encoders with limits from tiny to the default, with and without masks.
fn encoders() -> Vec<Encoder> {
    let upper: MaskFn = Arc::new(|v| {
        Ok(match v {
            serde_json::Value::String(s) => serde_json::Value::String(s.to_uppercase() + "!!"),
            other => other,
        })
    });
    let failing: MaskFn = Arc::new(|_| Err("no".into()));
    let mut out = Vec::new();
    for limit in [0, 400, 2_000, 9_000, 60_000, 1_000_000, usize::MAX / 4] {
        for mask in [None, Some(upper.clone()), Some(failing.clone())] {
            let cfg = Config {
                max_observation_bytes: limit,
                mask,
                environment: Some("prod".into()),
                release: Some("1.0".into()),
                ..Config::default()
            };
            out.push(Encoder::new(&cfg));
        }
    }
    out
}

#[test]
fn spans_that_fit_are_written_as_the_guard_writes_them() {
    for mut enc in encoders() {
        let fast = encode_all(&mut enc, false);
        let full = encode_all(&mut enc, true);
        assert_eq!(fast.len(), full.len());
        for (i, (a, b)) in fast.iter().zip(&full).enumerate() {
            assert!(
                a == b,
                "observation {i}, limit {}",
                enc.max_observation_bytes
            );
        }
    }
}

/// The quick test never lets a span the guard would cut past it, and is not so loose that a
/// span well under the limit misses the fast path.
#[test]
fn fits_is_never_more_than_the_guards_total() {
    let cfg = Settings {
        mask: None,
        environment: Some("prod"),
        release: None,
    };
    let no_trace = TraceAttributes::default();
    let (mut checked, mut bench) = (0, 0);
    for (i, (attrs, mut d, parent)) in corpus().into_iter().enumerate() {
        let head = Head {
            trace_id: TraceId::from_bytes([1; 16]),
            id: ObservationId::from_bytes([1; 8]),
            parent,
            ty: ObservationType::Span,
            attrs: &attrs,
        };
        let mut b = Batch::default();
        b.push(head, &mut d);
        for rec in b.records() {
            let rare = rec.rare.unwrap_or(&NO_RARE);
            let trace = rec.attrs.or(rare.trace.as_deref()).unwrap_or(&no_trace);
            let texts = Texts::new(&cfg, &rec, rare, trace, "{\"input\":1}");
            let total = guard::total(&texts);
            assert!(!guard::fits(&texts, total - 1), "observation {i}");
            assert!(guard::fits(&texts, 2 * total), "observation {i}");
            if i < 2 {
                // The bench's two observations.
                assert!(guard::fits(&texts, 2_000), "observation {i}");
                bench += 1;
            }
            checked += 1;
        }
    }
    assert_eq!((checked, bench), (corpus().len(), 2));
}
