//! Protobuf encoding of OTLP spans straight from a record, with `prost`'s encoding primitives.
//!
//! Building `opentelemetry_proto` structs first would allocate a `String` per attribute key and
//! value and a struct per attribute, only to serialise and drop them; writing the fields directly
//! into the batch buffer costs one pass. Field numbers are those of
//! `opentelemetry/proto/trace/v1/trace.proto` and `common/v1/common.proto`; the unit test below
//! checks the bytes decode to the same `Span` the generated structs describe.

use prost::encoding::{encoded_len_varint, WireType};

/// Appends a base-128 varint. `prost::encoding::encode_varint` writes through `BufMut` one byte
/// at a time as a slice copy; this is the same encoding with plain pushes (the unit test below
/// checks the bytes are identical to what prost writes).
#[inline]
fn encode_varint(mut v: u64, buf: &mut Vec<u8>) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a field key (field number and wire type).
#[inline]
fn encode_key(tag: u32, wire_type: WireType, buf: &mut Vec<u8>) {
    encode_varint(u64::from(tag << 3 | wire_type as u32), buf);
}

// Span
pub(crate) const SPAN_TRACE_ID: u32 = 1;
pub(crate) const SPAN_SPAN_ID: u32 = 2;
pub(crate) const SPAN_PARENT_SPAN_ID: u32 = 4;
pub(crate) const SPAN_NAME: u32 = 5;
pub(crate) const SPAN_KIND: u32 = 6;
pub(crate) const SPAN_START: u32 = 7;
pub(crate) const SPAN_END: u32 = 8;
pub(crate) const SPAN_ATTRIBUTES: u32 = 9;
pub(crate) const SPAN_STATUS: u32 = 15;
pub(crate) const SPAN_FLAGS: u32 = 16;
// Status
const STATUS_MESSAGE: u32 = 2;
const STATUS_CODE: u32 = 3;
// KeyValue / AnyValue / ArrayValue
const KV_KEY: u32 = 1;
const KV_VALUE: u32 = 2;
const ANY_STRING: u32 = 1;
const ANY_BOOL: u32 = 2;
const ANY_INT: u32 = 3;
const ANY_ARRAY: u32 = 5;
const ARRAY_VALUES: u32 = 1;
// Containers
pub(crate) const SCOPE_SPANS_SPANS: u32 = 2;
pub(crate) const SCOPE_SPANS_SCOPE: u32 = 1;
pub(crate) const RESOURCE_SPANS_RESOURCE: u32 = 1;
pub(crate) const RESOURCE_SPANS_SCOPE_SPANS: u32 = 2;
pub(crate) const REQUEST_RESOURCE_SPANS: u32 = 1;

/// Length of a length-delimited field's key + length prefix + body.
#[inline]
pub(crate) fn delimited_len(tag: u32, body: usize) -> usize {
    prost::encoding::key_len(tag) + encoded_len_varint(body as u64) + body
}

#[inline]
pub(crate) fn put_delimited_header(buf: &mut Vec<u8>, tag: u32, body: usize) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(body as u64, buf);
}

#[inline]
pub(crate) fn put_bytes(buf: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_delimited_header(buf, tag, bytes.len());
    buf.extend_from_slice(bytes);
}

#[inline]
pub(crate) fn put_varint(buf: &mut Vec<u8>, tag: u32, v: u64) {
    encode_key(tag, WireType::Varint, buf);
    encode_varint(v, buf);
}

/// A fixed-size bytes field (ids): key and length, then the bytes, each one fixed-size copy.
#[inline]
pub(crate) fn put_array<const N: usize>(buf: &mut Vec<u8>, tag: u32, bytes: &[u8; N]) {
    if tag < 16 && N < 0x80 {
        buf.extend_from_slice(&[(tag << 3) as u8 | WireType::LengthDelimited as u8, N as u8]);
        buf.extend_from_slice(bytes);
    } else {
        put_bytes(buf, tag, bytes);
    }
}

#[inline]
pub(crate) fn put_fixed64(buf: &mut Vec<u8>, tag: u32, v: u64) {
    if tag < 16 {
        // One-byte key: key and value in one fixed-size copy.
        let mut a = [0u8; 9];
        a[0] = (tag << 3) as u8 | WireType::SixtyFourBit as u8;
        a[1..].copy_from_slice(&v.to_le_bytes());
        buf.extend_from_slice(&a);
    } else {
        encode_key(tag, WireType::SixtyFourBit, buf);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

#[inline]
pub(crate) fn put_fixed32(buf: &mut Vec<u8>, tag: u32, v: u32) {
    if (16..2048).contains(&tag) {
        // Two-byte key (span flags are field 16).
        let k = tag << 3 | WireType::ThirtyTwoBit as u32;
        let mut a = [0u8; 6];
        a[0] = k as u8 | 0x80;
        a[1] = (k >> 7) as u8;
        a[2..].copy_from_slice(&v.to_le_bytes());
        buf.extend_from_slice(&a);
    } else {
        encode_key(tag, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// Writes the status message (always present, as the official exporters send it).
pub(crate) fn put_status(buf: &mut Vec<u8>, error_message: Option<&str>) {
    match error_message {
        None => put_delimited_header(buf, SPAN_STATUS, 0),
        Some(m) => {
            let body = if m.is_empty() {
                0
            } else {
                delimited_len(STATUS_MESSAGE, m.len())
            } + prost::encoding::key_len(STATUS_CODE)
                + 1;
            put_delimited_header(buf, SPAN_STATUS, body);
            if !m.is_empty() {
                put_bytes(buf, STATUS_MESSAGE, m.as_bytes());
            }
            put_varint(buf, STATUS_CODE, 2); // STATUS_CODE_ERROR
        }
    }
}

/// Writes one `attributes` entry whose key is the concatenation of `key` parts.
fn put_kv_header(buf: &mut Vec<u8>, key: &[&str], value_body: usize) {
    let key_len: usize = key.iter().map(|k| k.len()).sum();
    let kv_body = delimited_len(KV_KEY, key_len) + delimited_len(KV_VALUE, value_body);
    put_delimited_header(buf, SPAN_ATTRIBUTES, kv_body);
    put_delimited_header(buf, KV_KEY, key_len);
    for k in key {
        buf.extend_from_slice(k.as_bytes());
    }
    put_delimited_header(buf, KV_VALUE, value_body);
}

/// An attribute key with its `KeyValue.key` framing (field tag and length), built at compile
/// time by [`key!`](crate::export::protobuf::key): written with one fixed-size copy.
pub(crate) const fn framed_key<const N: usize>(key: &str) -> [u8; N] {
    let b = key.as_bytes();
    assert!(
        b.len() + 2 == N && b.len() < 128,
        "a key shorter than 128 bytes"
    );
    let mut out = [0u8; N];
    out[0] = (KV_KEY << 3) as u8 | WireType::LengthDelimited as u8;
    out[1] = b.len() as u8;
    let mut i = 0;
    while i < b.len() {
        out[i + 2] = b[i];
        i += 1;
    }
    out
}

/// `key!("langfuse.observation.type")`: the key, framed at compile time (see [`framed_key`]).
macro_rules! key {
    ($k:literal) => {{
        const K: [u8; $k.len() + 2] = $crate::export::protobuf::framed_key::<{ $k.len() + 2 }>($k);
        &K
    }};
}
pub(crate) use key;

// Field keys (one byte each) of an attribute written by the `_k` functions.
const ATTR: u8 = (SPAN_ATTRIBUTES << 3) as u8 | WireType::LengthDelimited as u8;
const VALUE: u8 = (KV_VALUE << 3) as u8 | WireType::LengthDelimited as u8;
const STRING: u8 = (ANY_STRING << 3) as u8 | WireType::LengthDelimited as u8;
const BOOL: u8 = (ANY_BOOL << 3) as u8 | WireType::Varint as u8;

/// Appends a varint whose value is usually below 128 (lengths of small fields).
#[inline(always)]
fn put_len(buf: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        buf.push(n as u8);
    } else {
        encode_varint(n as u64, buf);
    }
}

/// A string attribute whose key was framed at compile time ([`key!`]): the same bytes as
/// [`attr_str`] (a test checks it), with fewer steps.
#[inline]
pub(crate) fn attr_str_k<const N: usize>(buf: &mut Vec<u8>, key: &[u8; N], v: &str) {
    if N + v.len() + 5 < 0x80 {
        // Every length fits in one byte (the usual attribute): framing in fixed-size copies.
        let (any, kv) = (2 + v.len(), N + 4 + v.len());
        buf.reserve(2 + kv);
        buf.extend_from_slice(&[ATTR, kv as u8]);
        buf.extend_from_slice(key);
        buf.extend_from_slice(&[VALUE, any as u8, STRING, v.len() as u8]);
        buf.extend_from_slice(v.as_bytes());
        return;
    }
    let any = 1 + encoded_len_varint(v.len() as u64) + v.len();
    let kv = N + 1 + encoded_len_varint(any as u64) + any;
    buf.reserve(1 + encoded_len_varint(kv as u64) + kv);
    buf.push(ATTR);
    put_len(buf, kv);
    buf.extend_from_slice(key);
    buf.push(VALUE);
    put_len(buf, any);
    buf.push(STRING);
    put_len(buf, v.len());
    buf.extend_from_slice(v.as_bytes());
}

/// A bool attribute whose key was framed at compile time ([`key!`]).
#[inline]
pub(crate) fn attr_bool_k<const N: usize>(buf: &mut Vec<u8>, key: &[u8; N], v: bool) {
    // KeyValue { key, value: AnyValue { bool_value } }: the value is 4 bytes framed.
    let kv = N + 4;
    buf.reserve(2 + kv);
    buf.push(ATTR);
    put_len(buf, kv);
    buf.extend_from_slice(key);
    buf.extend_from_slice(&[VALUE, 2, BOOL, u8::from(v)]);
}

/// A string attribute.
pub(crate) fn attr_str(buf: &mut Vec<u8>, key: &[&str], v: &str) {
    put_kv_header(buf, key, delimited_len(ANY_STRING, v.len()));
    put_bytes(buf, ANY_STRING, v.as_bytes());
}

/// A bool attribute (the reference [`attr_bool_k`] is tested against).
#[cfg(test)]
pub(crate) fn attr_bool(buf: &mut Vec<u8>, key: &[&str], v: bool) {
    put_kv_header(buf, key, prost::encoding::key_len(ANY_BOOL) + 1);
    put_varint(buf, ANY_BOOL, v as u64);
}

/// An int attribute.
pub(crate) fn attr_int(buf: &mut Vec<u8>, key: &[&str], v: i64) {
    put_kv_header(
        buf,
        key,
        prost::encoding::key_len(ANY_INT) + encoded_len_varint(v as u64),
    );
    put_varint(buf, ANY_INT, v as u64);
}

/// A string-array attribute.
pub(crate) fn attr_str_array(buf: &mut Vec<u8>, key: &[&str], vs: &[&str]) {
    let values: usize = vs
        .iter()
        .map(|v| delimited_len(ARRAY_VALUES, delimited_len(ANY_STRING, v.len())))
        .sum();
    put_kv_header(buf, key, delimited_len(ANY_ARRAY, values));
    put_delimited_header(buf, ANY_ARRAY, values);
    for v in vs {
        put_delimited_header(buf, ARRAY_VALUES, delimited_len(ANY_STRING, v.len()));
        put_bytes(buf, ANY_STRING, v.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_keys_are_prosts() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            encode_varint(v, &mut ours);
            prost::encoding::encode_varint(v, &mut theirs);
            assert_eq!(ours, theirs, "{v}");
        }
        for tag in [1, 15, 16, 2047, 2048] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            encode_key(tag, WireType::LengthDelimited, &mut ours);
            prost::encoding::encode_key(tag, WireType::LengthDelimited, &mut theirs);
            assert_eq!(ours, theirs, "{tag}");
        }
    }
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::{Span, Status};
    use prost::Message;

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    /// Keys framed at compile time write what prost writes, at value lengths around every
    /// varint boundary (1, 2 and 3 length bytes at each level of nesting).
    #[test]
    fn framed_key_attributes_are_prosts() {
        for len in [
            0, 1, 90, 120, 121, 122, 127, 128, 129, 16_250, 16_383, 16_384, 20_000, 2_097_200,
        ] {
            let v = "x".repeat(len);
            let mut ours = Vec::new();
            attr_str_k(&mut ours, key!("langfuse.observation.type"), &v);
            attr_str_k(
                &mut ours,
                key!("langfuse.completion_start_time.and.some.more.to.reach.beyond"),
                &v,
            );
            attr_bool_k(&mut ours, key!("langfuse.internal.is_app_root"), true);
            attr_bool_k(&mut ours, key!("b"), false);
            let mut theirs = Vec::new();
            attr_str(&mut theirs, &["langfuse.observation.type"], &v);
            attr_str(
                &mut theirs,
                &["langfuse.completion_start_time.and.some.more.to.reach.beyond"],
                &v,
            );
            attr_bool(&mut theirs, &["langfuse.internal.is_app_root"], true);
            attr_bool(&mut theirs, &["b"], false);
            assert_eq!(ours, theirs, "value of {len} bytes");
            let want = Span {
                attributes: vec![
                    kv(
                        "langfuse.observation.type",
                        any_value::Value::StringValue(v.clone()),
                    ),
                    kv(
                        "langfuse.completion_start_time.and.some.more.to.reach.beyond",
                        any_value::Value::StringValue(v.clone()),
                    ),
                    kv(
                        "langfuse.internal.is_app_root",
                        any_value::Value::BoolValue(true),
                    ),
                    kv("b", any_value::Value::BoolValue(false)),
                ],
                ..Default::default()
            };
            assert_eq!(ours, want.encode_to_vec(), "value of {len} bytes");
        }
    }

    #[test]
    fn hand_encoded_span_decodes_to_the_generated_struct() {
        for err in [None, Some(""), Some("boom")] {
            let mut buf = Vec::new();
            put_array(&mut buf, SPAN_TRACE_ID, &[7; 16]);
            put_array(&mut buf, SPAN_SPAN_ID, &[8; 8]);
            put_bytes(&mut buf, SPAN_PARENT_SPAN_ID, &[9; 8]);
            put_bytes(&mut buf, SPAN_NAME, "näme".as_bytes());
            put_varint(&mut buf, SPAN_KIND, 1);
            put_fixed64(&mut buf, SPAN_START, 1_795_795_978_683_581_374);
            put_fixed64(&mut buf, SPAN_END, u64::MAX);
            attr_str(&mut buf, &["langfuse.observation.metadata.", "k"], "\"v\"");
            attr_str(&mut buf, &["empty"], "");
            attr_bool(&mut buf, &["b"], true);
            attr_int(&mut buf, &["i"], -5);
            attr_int(&mut buf, &["big"], 300);
            attr_str_array(&mut buf, &["tags"], &["a", "", "ccc"]);
            attr_str_array(&mut buf, &["none"], &[]);
            put_status(&mut buf, err);
            put_fixed32(&mut buf, SPAN_FLAGS, 0x300);
            let decoded = Span::decode(&buf[..]).unwrap();
            let want = Span {
                trace_id: vec![7; 16],
                span_id: vec![8; 8],
                parent_span_id: vec![9; 8],
                name: "näme".into(),
                kind: 1,
                start_time_unix_nano: 1_795_795_978_683_581_374,
                end_time_unix_nano: u64::MAX,
                attributes: vec![
                    kv(
                        "langfuse.observation.metadata.k",
                        any_value::Value::StringValue("\"v\"".into()),
                    ),
                    kv("empty", any_value::Value::StringValue(String::new())),
                    kv("b", any_value::Value::BoolValue(true)),
                    kv("i", any_value::Value::IntValue(-5)),
                    kv("big", any_value::Value::IntValue(300)),
                    kv(
                        "tags",
                        any_value::Value::ArrayValue(ArrayValue {
                            values: ["a", "", "ccc"]
                                .iter()
                                .map(|s| AnyValue {
                                    value: Some(any_value::Value::StringValue(s.to_string())),
                                })
                                .collect(),
                        }),
                    ),
                    kv(
                        "none",
                        any_value::Value::ArrayValue(ArrayValue { values: vec![] }),
                    ),
                ],
                status: Some(match err {
                    None => Status::default(),
                    Some(m) => Status {
                        message: m.into(),
                        code: 2,
                    },
                }),
                flags: 0x300,
                ..Default::default()
            };
            assert_eq!(decoded, want);
            // And byte for byte what prost writes for the same span.
            assert_eq!(buf, want.encode_to_vec());
        }
    }
}
