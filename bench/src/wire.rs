//! What the sink does with a request body: gunzip it and count its spans without building the
//! message; and the checks that both agree with the reference implementations.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Reads one protobuf field header and its value; returns (field number, wire type, payload of a
/// length-delimited field) and advances `buf`. `None` on malformed input.
fn next_field<'a>(buf: &mut &'a [u8]) -> Option<(u64, u8, &'a [u8])> {
    fn varint(buf: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = buf.split_first()?;
            *buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    let key = varint(buf)?;
    let (field, wire) = (key >> 3, (key & 7) as u8);
    let payload: &[u8] = match wire {
        0 => {
            varint(buf)?;
            &[]
        }
        1 | 5 => {
            let n = if wire == 1 { 8 } else { 4 };
            let (v, rest) = (buf.get(..n)?, buf.get(n..)?);
            *buf = rest;
            v
        }
        2 => {
            let n = usize::try_from(varint(buf)?).ok()?;
            let (v, rest) = (buf.get(..n)?, buf.get(n..)?);
            *buf = rest;
            v
        }
        _ => return None,
    };
    Some((field, wire, payload))
}

/// Walks an `ExportTraceServiceRequest` down to its spans without building the message:
/// `resource_spans` → `scope_spans` → `spans`. Every span must carry a 16-byte trace id, an
/// 8-byte span id and a name, and every field must parse; returns the span count, or `None`
/// for a malformed request. (Decoding into prost structs would cost the sink more CPU than the
/// exporter spends producing the request, and the sink shares the machine's two cores.)
pub(crate) fn count_spans(mut req: &[u8]) -> Option<u64> {
    let mut n = 0;
    while !req.is_empty() {
        let (f, w, mut rs) = next_field(&mut req)?;
        if f != 1 || w != 2 {
            continue;
        }
        while !rs.is_empty() {
            let (f, w, mut ss) = next_field(&mut rs)?;
            if f != 2 || w != 2 {
                continue;
            }
            while !ss.is_empty() {
                let (f, w, mut span) = next_field(&mut ss)?;
                if f != 2 || w != 2 {
                    continue;
                }
                let (mut trace_id, mut span_id, mut name) = (false, false, false);
                // Until the ids and the name are found (the span's length framed it already).
                while !(span.is_empty() || trace_id && span_id && name) {
                    let (f, _, v) = next_field(&mut span)?;
                    match f {
                        1 => trace_id = v.len() == 16,
                        2 => span_id = v.len() == 8,
                        5 => name = !v.is_empty(),
                        _ => {}
                    }
                }
                if !(trace_id && span_id && name) {
                    return None;
                }
                n += 1;
            }
        }
    }
    Some(n)
}

/// Decompresses a gzip body and checks its CRC-32 and length (`None` when anything is wrong).
/// The common header (no optional fields, as the SDK writes it) is inflated as raw deflate with
/// the CRC computed by `crc32fast` (SIMD); anything else goes through `GzDecoder`. A sink that
/// spends less of the two cores leaves more of them to what is measured.
pub(crate) fn gunzip(body: &[u8]) -> Option<Vec<u8>> {
    if body.len() < 18 || body[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 8);
    if body[3] != 0 {
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .ok()?;
        return Some(out);
    }
    let (deflated, trailer) = body[10..].split_at(body.len() - 18);
    // Inflated into the vector's spare capacity (`read_to_end` would zero it first).
    let mut z = flate2::Decompress::new(false);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1 << 16));
        }
        let at = z.total_in() as usize;
        match z
            .decompress_vec(&deflated[at..], &mut out, flate2::FlushDecompress::Finish)
            .ok()?
        {
            flate2::Status::StreamEnd => break,
            flate2::Status::Ok | flate2::Status::BufError => {
                if z.total_in() as usize == at && out.len() < out.capacity() {
                    return None; // no progress: truncated
                }
            }
        }
    }
    let crc = u32::from_le_bytes(trailer[..4].try_into().ok()?);
    let size = u32::from_le_bytes(trailer[4..].try_into().ok()?);
    (crc32fast::hash(&out) == crc && size == out.len() as u32).then_some(out)
}

/// The sink's gzip reader returns what `GzEncoder` compressed, and rejects a corrupted body.
pub(crate) fn check_gunzip() {
    use std::io::Write as _;
    let data: Vec<u8> = (0..100_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&data).unwrap();
    let mut z = e.finish().unwrap();
    assert_eq!(gunzip(&z).as_deref(), Some(&data[..]), "sink gunzip");
    let n = z.len();
    z[n - 5] ^= 1; // the CRC
    assert_eq!(gunzip(&z), None, "sink gunzip must check the CRC");
}

/// The sink's span counter agrees with prost on a request prost encoded.
pub(crate) fn check_span_counter() {
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    let span = |i: u8| Span {
        trace_id: vec![i; 16],
        span_id: vec![i; 8],
        name: format!("span {i}"),
        start_time_unix_nano: 1,
        ..Default::default()
    };
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource::default()),
            scope_spans: vec![
                ScopeSpans {
                    spans: vec![span(1), span(2)],
                    ..Default::default()
                },
                ScopeSpans {
                    spans: vec![span(3)],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
    };
    let bytes = req.encode_to_vec();
    assert_eq!(count_spans(&bytes), Some(3));
    assert_eq!(count_spans(&bytes[..bytes.len() - 1]), None);
}
