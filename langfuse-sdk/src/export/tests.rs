use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::Span;

use crate::export::encode::{kv_str, usage_json, Encoder, Spans};
use crate::export::gzip::Gzip;
use crate::export::sink::console::render_tree;
use crate::export::sink::http::{backoff, is_local, parse_retry_after};

#[test]
fn usage_json_is_what_serde_json_writes() {
    use crate::details::UsageDetails;
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
    use crate::capture::ValueRef;
    use crate::export::record::Batch;
    use crate::export::record::Head;
    use crate::fields::ObsData;
    use crate::fields::ObservationType;
    use crate::ids::{ObservationId, TraceId};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    let mut enc = Encoder::new(&crate::config::options::Config::default());
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
    use crate::export::gzip::tests::gunzip;
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
    use crate::capture::Captured;
    use crate::details::UsageDetails;
    use crate::export::record::Batch;
    use crate::export::record::Head;
    use crate::fields::ObsData;
    use crate::fields::ObservationType;
    use crate::ids::{ObservationId, TraceId};
    let mut enc = Encoder::new(&crate::config::options::Config::default());
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
                head(
                    gen_id,
                    Some(crate::ids::ParentRef::local(root)),
                    ObservationType::Generation,
                ),
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
