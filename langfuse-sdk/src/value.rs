//! Capturing user values (`Serialize`) into the text that goes on the wire.
//!
//! A small JSON writer of our own instead of `serde_json::to_string`, because capture must never
//! fail or explode on odd values, and serde_json has no hook for that:
//!
//! | value | rendering |
//! |---|---|
//! | a string at the top level | the plain text, unquoted (as the official SDKs send it) |
//! | anything else `Serialize` | JSON text |
//! | `NaN`, `inf`, `-inf` | the JSON strings `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | integers beyond ±2^53 (incl. `i128`/`u128`) | a JSON string of the exact digits (JavaScript would round them) |
//! | bytes (`serialize_bytes`) | the string `"base64:<data>"` |
//! | non-string map keys | their JSON text as the key (`1`, `true`, `[1,2]`) |
//! | nesting deeper than 64 levels | the string `"<max depth 64 exceeded>"` in place of the deeper value |
//! | a value whose `Serialize` fails | the plain text `<unserializable: reason>` |
//! | a value whose `Serialize` or `Debug` panics | the plain text `<unserializable: panicked: message>` |
//! | text beyond the capture limit | a prefix, then `…[truncated: N bytes, limit L]` (plain text) |

use std::fmt::{self, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};

use base64::Engine as _;
use serde::ser::{self, Serialize};

/// Deepest nesting captured before the marker replaces the rest.
pub(crate) const MAX_DEPTH: usize = 64;
const SAFE_INT: u64 = 1 << 53;

/// A captured value: plain text, or JSON text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Captured {
    /// Sent as is (a top-level string, or a marker).
    Text(String),
    /// Valid JSON text.
    Json(String),
}

impl Captured {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Captured::Text(s) | Captured::Json(s) => s,
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.as_str().len()
    }
    /// JSON text when `json`, else plain text.
    #[inline]
    pub(crate) fn of(json: bool, text: String) -> Captured {
        if json {
            Captured::Json(text)
        } else {
            Captured::Text(text)
        }
    }
    pub(crate) fn into_string(self) -> String {
        match self {
            Captured::Text(s) | Captured::Json(s) => s,
        }
    }
    pub(crate) fn as_value_ref(&self) -> crate::record::ValueRef<'_> {
        crate::record::ValueRef {
            json: matches!(self, Captured::Json(_)),
            text: self.as_str(),
        }
    }
    /// The value as a JSON value: JSON text parsed, plain text as a JSON string.
    pub(crate) fn to_json_value(&self) -> serde_json::Value {
        match self {
            Captured::Text(s) => serde_json::Value::String(s.clone()),
            Captured::Json(s) => {
                serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone()))
            }
        }
    }
    /// From a JSON value (after masking): strings become plain text again.
    pub(crate) fn from_json_value(v: serde_json::Value) -> Captured {
        match v {
            serde_json::Value::String(s) => Captured::Text(s),
            other => Captured::Json(other.to_string()),
        }
    }
    /// The value as JSON text (plain text quoted): for metadata attributes, which are JSON.
    pub(crate) fn to_json_text(&self) -> String {
        match self {
            Captured::Text(s) => serde_json::Value::String(s.clone()).to_string(),
            Captured::Json(s) => s.clone(),
        }
    }
}

/// Index of the first byte of `bytes[from..]` that JSON must escape (`"`, `\\`, or a control
/// character below 0x20), or `bytes.len()`. Scans eight bytes at a time: strings are mostly
/// plain, and this runs on the application's thread for every captured string.
#[inline]
fn next_escape(bytes: &[u8], from: usize) -> usize {
    // Only the lowest flagged byte is sure to be a match, and that is the one used.
    let flags = |chunk: &[u8]| escape_flags(word(chunk));
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let m = flags(chunk);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = bytes.len().saturating_sub(i);
    if rest == 0 {
        return bytes.len().max(i);
    }
    // The last few bytes: the word that ends the string, overlapping bytes this call scanned
    // and found plain (their flags are masked off; being plain, they pass no borrow up), so the
    // lowest flag left is a true match. Bytes before `from` may be escapes, so the word must
    // not reach below it. (Copying the tail into a padded word instead stalled the load on the
    // byte stores: store forwarding fails.)
    let window = bytes.len().checked_sub(8).filter(|&s| s >= from);
    if let Some(chunk) = window.and_then(|s| bytes.get(s..)) {
        let m = flags(chunk) & (u64::MAX << (8 * (8 - rest)));
        return if m == 0 {
            bytes.len()
        } else {
            bytes.len() - 8 + (m.trailing_zeros() / 8) as usize
        };
    }
    // Shorter than a word: one byte at a time.
    i + bytes[i..]
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .unwrap_or(rest)
}

/// The escape sequence of a byte that [`next_escape`] found.
fn escape_of(b: u8, buf: &mut [u8; 6]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0c => "\\f",
        _ => {
            *buf = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ];
            std::str::from_utf8(buf).unwrap_or("\\ufffd")
        }
    }
}

/// High bit of each byte of `w` that is below 0x20, equal to '"' or equal to '\\'. Only the
/// lowest flagged byte is sure to be a match (borrows can flag bytes above it).
#[inline(always)]
fn escape_flags(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let control = w.wrapping_sub(LO * 0x20) & !w;
    let quote = (w ^ (LO * b'"' as u64)).wrapping_sub(LO) & !(w ^ (LO * b'"' as u64));
    let backslash = (w ^ (LO * b'\\' as u64)).wrapping_sub(LO) & !(w ^ (LO * b'\\' as u64));
    (control | quote | backslash) & HI
}

/// Eight bytes as a little-endian word (`c` is eight bytes long).
#[inline(always)]
fn word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(c);
    u64::from_le_bytes(w)
}

/// True when no byte of `b` needs escaping in JSON. Eight bytes at a time, the last word
/// overlapping the one before (a flag there can only come from a byte that needs escaping or
/// from a borrow out of one, so "no flag" is exact).
#[inline]
fn is_plain(b: &[u8]) -> bool {
    if b.len() < 8 {
        return b.iter().all(|&c| c >= 0x20 && c != b'"' && c != b'\\');
    }
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        // Stops at the first word with something to escape: the escaping path scans again.
        if escape_flags(word(c)) != 0 {
            return false;
        }
    }
    chunks.remainder().is_empty() || escape_flags(word(&b[b.len() - 8..])) == 0
}

/// Appends `s` to `out` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    // The common case: nothing to escape, so the text goes between the quotes as it is.
    if is_plain(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    push_json_string_escaped(out, s);
}

/// [`push_json_string`] for text with something to escape.
#[inline(never)]
fn push_json_string_escaped(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let i = next_escape(bytes, start);
        out.push_str(&s[start..i]);
        if i == bytes.len() {
            break;
        }
        let mut buf = [0u8; 6];
        out.push_str(escape_of(bytes[i], &mut buf));
        start = i + 1;
    }
    out.push('"');
}

impl Captured {
    /// Appends the value as JSON text (plain text quoted).
    pub(crate) fn push_json_text(&self, out: &mut String) {
        match self {
            Captured::Text(s) => push_json_string(out, s),
            Captured::Json(s) => out.push_str(s),
        }
    }
}

/// Captures `value` with at most `limit` bytes of text kept.
pub(crate) fn capture<T: Serialize + ?Sized>(value: &T, limit: usize) -> Captured {
    let mut out = crate::observation::spare_string();
    if capture_append(value, limit, &mut out) {
        Captured::Json(out)
    } else {
        Captured::Text(out)
    }
}

/// [`capture`] appended to `out` (after what it holds) instead of into a new buffer: the
/// recording thread writes an observed function's output straight into its batch. Returns
/// whether the appended text is JSON (else plain text: a top-level string, or a marker).
pub(crate) fn capture_append<T: Serialize + ?Sized>(
    value: &T,
    limit: usize,
    out: &mut String,
) -> bool {
    let start = out.len();
    let mut w = Writer::appending(out, 0, limit);
    let r = serialize_guarded(value, &mut w);
    let (truncated, total, text) = (w.truncated, w.total, w.top_level_text);
    *out = w.out;
    match r {
        Ok(()) if truncated => {
            out.push_str(&truncation_marker(total, limit));
            false
        }
        Ok(()) => !text,
        Err(e) => {
            out.truncate(start);
            out.push_str("<unserializable: ");
            out.push_str(&e.0);
            out.push('>');
            false
        }
    }
}

/// Appends `value` as JSON (strings quoted) to `buf`, with the same renderings and markers as
/// [`capture`]; a truncated or failed value becomes a JSON string with its marker, so `buf`
/// stays valid JSON. No allocation beyond `buf`'s growth.
pub(crate) fn capture_json_into<T: Serialize + ?Sized>(value: &T, limit: usize, buf: &mut String) {
    let start = buf.len();
    let mut w = Writer::appending(buf, 1, limit);
    let r = serialize_guarded(value, &mut w);
    let (truncated, total) = (w.truncated, w.total);
    *buf = w.out;
    match r {
        Ok(()) if !truncated => {}
        Ok(()) => {
            let mut text = buf[start..].to_string();
            text.push_str(&truncation_marker(total, limit));
            buf.truncate(start);
            push_json_string(buf, &text);
        }
        Err(e) => {
            buf.truncate(start);
            push_json_string(buf, &format!("<unserializable: {}>", e.0));
        }
    }
}

/// Serialises `value` into `w`; a panicking `Serialize` becomes an error (the caller's marker)
/// instead of unwinding into the application.
fn serialize_guarded<T: Serialize + ?Sized>(value: &T, w: &mut Writer) -> Result<(), CaptureError> {
    match catch_unwind(AssertUnwindSafe(|| value.serialize(&mut *w))) {
        Ok(r) => r,
        Err(p) => Err(CaptureError(format!("panicked: {}", panic_message(&*p)))),
    }
}

/// The message of a panic payload.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// `format!("{v:?}")`, or the panic marker when the `Debug` implementation panics.
pub(crate) fn debug_text<T: fmt::Debug + ?Sized>(v: &T) -> Result<String, String> {
    catch_unwind(AssertUnwindSafe(|| format!("{v:?}")))
        .map_err(|p| format!("<unserializable: panicked: {}>", panic_message(&*p)))
}

pub(crate) fn truncation_marker(total: usize, limit: usize) -> String {
    format!("…[truncated: {total} bytes, limit {limit}]")
}

/// Splits a truncation marker off the end of `s`: the text before it and the original size.
pub(crate) fn split_marker(s: &str) -> (&str, Option<usize>) {
    if let Some(i) = s.rfind("…[truncated: ") {
        let tail = &s[i + "…[truncated: ".len()..];
        if let Some(n) = tail.split(' ').next().and_then(|n| n.parse().ok()) {
            if tail.ends_with(']') {
                return (&s[..i], Some(n));
            }
        }
    }
    (s, None)
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a character boundary.
pub(crate) fn prefix_at_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Why a value could not be captured.
#[derive(Debug)]
pub(crate) struct CaptureError(String);

impl Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for CaptureError {}
impl ser::Error for CaptureError {
    fn custom<T: Display>(msg: T) -> Self {
        CaptureError(msg.to_string())
    }
}

struct Writer {
    out: String,
    /// Where this value starts in `out` (text before it belongs to the caller).
    start: usize,
    depth: usize,
    limit: usize,
    total: usize,
    truncated: bool,
    top_level_text: bool,
}

impl Writer {
    /// A writer that appends to what `out` holds (taken; the caller puts `w.out` back), starting
    /// at nesting `depth` (0: a top-level value, 1: a value inside the caller's JSON).
    fn appending(out: &mut String, depth: usize, limit: usize) -> Writer {
        Writer {
            start: out.len(),
            out: std::mem::take(out),
            depth,
            limit,
            total: 0,
            truncated: false,
            top_level_text: false,
        }
    }

    fn push(&mut self, s: &str) {
        self.total += s.len();
        if self.truncated {
            return;
        }
        let used = self.out.len() - self.start;
        if used + s.len() > self.limit {
            let room = self.limit.saturating_sub(used);
            let p = prefix_at_boundary(s, room);
            self.out.push_str(p);
            self.truncated = true;
        } else {
            self.out.push_str(s);
        }
    }

    fn push_escaped(&mut self, s: &str) {
        // Fast path: even escaped in full (at most 6 bytes per byte), it fits under the limit.
        let used = self.out.len() - self.start;
        if !self.truncated && used + s.len() * 6 + 2 <= self.limit {
            let before = self.out.len();
            push_json_string(&mut self.out, s);
            self.total += self.out.len() - before;
            return;
        }
        self.push("\"");
        let bytes = s.as_bytes();
        let mut start = 0;
        loop {
            let i = next_escape(bytes, start);
            if start < i {
                self.push(&s[start..i]);
            }
            if i == bytes.len() {
                break;
            }
            let mut buf = [0u8; 6];
            self.push(escape_of(bytes[i], &mut buf));
            start = i + 1;
            if self.truncated {
                // Keep counting the size without scanning every remaining byte.
                self.total += s.len() - start + 1;
                return;
            }
        }
        self.push("\"");
    }

    fn string_value(&mut self, s: &str) {
        if self.depth == 0 {
            self.top_level_text = true;
            self.push(s);
        } else {
            self.push_escaped(s);
        }
    }

    fn int_text(&mut self, neg: bool, magnitude: u128) {
        let text = if neg {
            format!("-{magnitude}")
        } else {
            magnitude.to_string()
        };
        if magnitude > SAFE_INT as u128 {
            self.push("\"");
            self.push(&text);
            self.push("\"");
        } else {
            self.push(&text);
        }
    }

    fn float(&mut self, v: f64) {
        if v.is_nan() {
            self.push("\"NaN\"");
        } else if v.is_infinite() {
            self.push(if v > 0.0 {
                "\"Infinity\""
            } else {
                "\"-Infinity\""
            });
        } else {
            let s = format!("{v:?}");
            self.push(&s);
        }
    }

    /// Writes the depth marker in place of a value and returns a compound that ignores its contents.
    fn too_deep(&mut self) -> Compound<'_> {
        self.push_escaped(&format!("<max depth {MAX_DEPTH} exceeded>"));
        Compound {
            w: self,
            first: true,
            skip: true,
            close: "",
        }
    }

    fn open(&mut self, bracket: &'static str) -> Result<Compound<'_>, CaptureError> {
        if self.depth >= MAX_DEPTH {
            return Ok(self.too_deep());
        }
        self.push(bracket);
        self.depth += 1;
        Ok(Compound {
            w: self,
            first: true,
            skip: false,
            close: if bracket == "[" { "]" } else { "}" },
        })
    }
}

struct Compound<'a> {
    w: &'a mut Writer,
    first: bool,
    skip: bool,
    close: &'static str,
}

impl Compound<'_> {
    fn comma(&mut self) {
        if !self.first {
            self.w.push(",");
        }
        self.first = false;
    }
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        self.comma();
        v.serialize(&mut *self.w)
    }
    fn key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        self.comma();
        let key = map_key(k);
        self.w.push_escaped(&key);
        self.w.push(":");
        Ok(())
    }
    fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        v.serialize(&mut *self.w)
    }
    fn field<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        self.comma();
        self.w.push_escaped(k);
        self.w.push(":");
        v.serialize(&mut *self.w)
    }
    fn finish(self) -> Result<(), CaptureError> {
        if !self.skip {
            self.w.depth -= 1;
            self.w.push(self.close);
        }
        Ok(())
    }
    fn finish_variant(self) -> Result<(), CaptureError> {
        let skip = self.skip;
        let w = &mut *self.w;
        if !skip {
            w.depth -= 1;
            w.push(self.close);
            // Close the `{"Variant": …}` wrapper.
            w.depth -= 1;
            w.push("}");
        }
        Ok(())
    }
}

/// A map key as a string: strings as they are, anything else as its JSON text.
fn map_key<T: Serialize + ?Sized>(k: &T) -> String {
    match capture(k, 4096) {
        Captured::Text(s) | Captured::Json(s) => s,
    }
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = CaptureError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), CaptureError> {
        self.push(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), CaptureError> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i16(self, v: i16) -> Result<(), CaptureError> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i32(self, v: i32) -> Result<(), CaptureError> {
        self.serialize_i64(v as i64)
    }
    fn serialize_i64(self, v: i64) -> Result<(), CaptureError> {
        self.int_text(v < 0, v.unsigned_abs() as u128);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), CaptureError> {
        self.int_text(v < 0, v.unsigned_abs());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), CaptureError> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u16(self, v: u16) -> Result<(), CaptureError> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u32(self, v: u32) -> Result<(), CaptureError> {
        self.serialize_u64(v as u64)
    }
    fn serialize_u64(self, v: u64) -> Result<(), CaptureError> {
        self.int_text(false, v as u128);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), CaptureError> {
        self.int_text(false, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), CaptureError> {
        if v.is_finite() {
            // Print the f32's own shortest form, not the widened f64's.
            let s = format!("{v:?}");
            self.push(&s);
        } else {
            self.float(v as f64);
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), CaptureError> {
        self.float(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), CaptureError> {
        let mut b = [0u8; 4];
        self.string_value(v.encode_utf8(&mut b));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), CaptureError> {
        self.string_value(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CaptureError> {
        let s = format!(
            "base64:{}",
            base64::engine::general_purpose::STANDARD.encode(v)
        );
        self.string_value(&s);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), CaptureError> {
        self.push("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CaptureError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CaptureError> {
        self.push("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CaptureError> {
        self.push("null");
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CaptureError> {
        self.string_value(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        let mut c = self.open("{")?;
        c.field(variant, value)?;
        c.finish()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, CaptureError> {
        self.open("[")
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, CaptureError> {
        self.open("[")
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, CaptureError> {
        self.open("[")
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, CaptureError> {
        variant_open(self, variant, "[")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, CaptureError> {
        self.open("{")
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, CaptureError> {
        self.open("{")
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, CaptureError> {
        variant_open(self, variant, "{")
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), CaptureError> {
        self.string_value(&value.to_string());
        Ok(())
    }
}

/// Opens `{"variant": [` or `{"variant": {`; a too-deep value gets the marker instead.
fn variant_open<'a>(
    w: &'a mut Writer,
    variant: &'static str,
    bracket: &'static str,
) -> Result<Compound<'a>, CaptureError> {
    if w.depth + 1 >= MAX_DEPTH {
        return Ok(w.too_deep());
    }
    w.push("{");
    w.depth += 1;
    w.push_escaped(variant);
    w.push(":");
    w.open(bracket)
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish_variant()
    }
}
impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CaptureError> {
        self.key(k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        self.value(v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), CaptureError> {
        self.field(k, v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish()
    }
}
impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = CaptureError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        k: &'static str,
        v: &T,
    ) -> Result<(), CaptureError> {
        self.field(k, v)
    }
    fn end(self) -> Result<(), CaptureError> {
        self.finish_variant()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_escaping_matches_serde_json() {
        // Every ASCII byte at every offset of a 20-byte string (covers the 8-byte scan, its
        // tail, and several escapes in one word), plus multi-byte characters.
        let mut cases = vec![String::new(), "é€😀\u{7f}".to_string()];
        for b in 0u8..0x80 {
            for at in 0..20 {
                let mut v = vec![b'a'; 20];
                v[at] = b;
                if at + 3 < 20 {
                    v[at + 3] = b'"';
                }
                cases.push(String::from_utf8(v).unwrap());
            }
        }
        cases.push("a\u{1}b\\c\"d\ne".repeat(9));
        // Strings of every length up to 20 with an escape followed by every ASCII byte, at every
        // offset: a match passes a borrow to the byte above it in the word arithmetic.
        for len in 1..=20 {
            for at in 0..len {
                for e in [0u8, b'\n', 0x1f, b'"', b'\\'] {
                    for b in 0u8..0x80 {
                        let mut v = vec![b'a'; len];
                        v[at] = e;
                        if at + 1 < len {
                            v[at + 1] = b;
                        }
                        cases.push(String::from_utf8(v).unwrap());
                    }
                }
            }
        }
        for s in &cases {
            let mut out = String::new();
            super::push_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
            assert_eq!(
                super::capture(s.as_str(), 1 << 20).as_str(),
                s.as_str(),
                "top-level strings stay plain"
            );
            let nested = super::capture(&[s.as_str()], 1 << 20);
            assert_eq!(nested.as_str(), serde_json::to_string(&[s]).unwrap());
        }
    }

    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    const BIG: usize = 1 << 20;

    fn json(c: Captured) -> String {
        match c {
            Captured::Json(s) => s,
            Captured::Text(s) => panic!("expected JSON, got text {s:?}"),
        }
    }

    #[test]
    fn strings_are_plain_text_at_top_level_only() {
        assert_eq!(
            capture("hello \"x\"", BIG),
            Captured::Text("hello \"x\"".into())
        );
        assert_eq!(capture(&Some("s"), BIG), Captured::Text("s".into()));
        assert_eq!(
            json(capture(&vec!["a\"\n\u{1}"], BIG)),
            r#"["a\"\n\u0001"]"#
        );
    }

    #[test]
    fn output_is_valid_json_matching_serde_json() {
        #[derive(Serialize)]
        struct S {
            a: u32,
            b: Vec<Option<bool>>,
            c: BTreeMap<String, f64>,
            e: E,
            t: (i8, char),
        }
        #[derive(Serialize)]
        enum E {
            Tuple(u8, u8),
        }
        let v = S {
            a: 1,
            b: vec![Some(true), None],
            c: [("x".to_string(), 1.5)].into_iter().collect(),
            e: E::Tuple(1, 2),
            t: (-3, 'z'),
        };
        let ours = json(capture(&v, BIG));
        assert_eq!(ours, serde_json::to_string(&v).unwrap());
    }

    #[test]
    fn odd_numbers_have_documented_renderings() {
        assert_eq!(
            json(capture(
                &vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.5],
                BIG
            )),
            r#"["NaN","Infinity","-Infinity",0.5]"#
        );
        assert_eq!(
            json(capture(&vec![u64::MAX as u128, 1u128 << 53], BIG)),
            r#"["18446744073709551615",9007199254740992]"#
        );
        assert_eq!(
            json(capture(&-(1i64 << 60), BIG)),
            r#""-1152921504606846976""#
        );
        assert_eq!(json(capture(&0.1f32, BIG)), "0.1");
    }

    #[test]
    fn non_string_keys_and_bytes() {
        let m: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        assert_eq!(json(capture(&m, BIG)), r#"{"[1,2]":3}"#);
        let m: BTreeMap<i32, bool> = [(7, true)].into_iter().collect();
        assert_eq!(json(capture(&m, BIG)), r#"{"7":true}"#);
        struct B;
        impl Serialize for B {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(b"hi")
            }
        }
        assert_eq!(capture(&B, BIG), Captured::Text("base64:aGk=".into()));
    }

    #[test]
    fn json_string_escaping_matches_serde_json() {
        for s in [
            "",
            "plain",
            "q\"uote",
            "back\\slash",
            "nl\n\r\t",
            "\u{1}\u{1f}\u{8}\u{c}",
            "é✓",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn capture_into_a_buffer_keeps_it_valid_json() {
        let mut buf = String::from("{\"a\":");
        capture_json_into("text", BIG, &mut buf);
        buf.push_str(",\"b\":");
        capture_json_into(&vec![1, 2], BIG, &mut buf);
        buf.push_str(",\"c\":");
        capture_json_into(&"é".repeat(100), 11, &mut buf);
        buf.push_str(",\"d\":");
        struct Bad;
        impl Serialize for Bad {
            fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        capture_json_into(&Bad, BIG, &mut buf);
        buf.push('}');
        let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
        assert_eq!(v["a"], "text");
        assert_eq!(v["b"], serde_json::json!([1, 2]));
        assert_eq!(v["c"], "\"ééééé…[truncated: 202 bytes, limit 11]");
        assert_eq!(v["d"], "<unserializable: nope>");
    }

    #[test]
    fn failing_serialize_gives_marker() {
        struct Bad;
        impl Serialize for Bad {
            fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("socket is not serialisable"))
            }
        }
        assert_eq!(
            capture(&vec![Bad], BIG),
            Captured::Text("<unserializable: socket is not serialisable>".into())
        );
    }

    #[test]
    fn deep_nesting_is_cut_with_marker() {
        // 10k levels, without building them in memory (dropping such a Value would overflow).
        struct Deep(u32);
        impl Serialize for Deep {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if self.0 == 0 {
                    s.serialize_u8(1)
                } else {
                    [Deep(self.0 - 1)].serialize(s)
                }
            }
        }
        let s = json(capture(&Deep(10_000), BIG));
        assert!(s.contains("<max depth 64 exceeded>"));
        let parsed: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert!(parsed.is_array());
    }

    #[test]
    fn limit_truncates_with_marker_and_true_size() {
        let big = "é".repeat(1000); // 2000 bytes
        let c = capture(&vec![big.clone()], 101);
        let s = match c {
            Captured::Text(s) => s,
            other => panic!("{other:?}"),
        };
        assert!(s.starts_with("[\"éé"));
        assert!(s.ends_with("…[truncated: 2004 bytes, limit 101]"), "{s}");
        let c = capture(big.as_str(), 10);
        assert_eq!(
            c,
            Captured::Text("ééééé…[truncated: 2000 bytes, limit 10]".into())
        );
    }
}
