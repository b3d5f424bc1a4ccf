//! The JSON writer behind capture, and the entry points that drive it (its `serde::Serializer`
//! is in `serializer`).

use std::fmt::{self, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::ser::{self, Serialize};

use crate::capture::escape::{escape_of, next_escape, push_json_string};
use crate::capture::pool::spare_string;
use crate::capture::text::{panic_message, prefix_at_boundary, truncation_marker, Captured};

/// Deepest nesting captured before the marker replaces the rest.
pub(crate) const MAX_DEPTH: usize = 64;
pub(crate) const SAFE_INT: u64 = 1 << 53;
/// Why a value could not be captured.
#[derive(Debug)]
pub(crate) struct CaptureError(pub(crate) String);

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

pub(crate) struct Writer {
    pub(crate) out: String,
    /// Where this value starts in `out` (text before it belongs to the caller).
    pub(crate) start: usize,
    pub(crate) depth: usize,
    pub(crate) limit: usize,
    pub(crate) total: usize,
    pub(crate) truncated: bool,
    pub(crate) top_level_text: bool,
}

impl Writer {
    /// A writer that appends to what `out` holds (taken; the caller puts `w.out` back), starting
    /// at nesting `depth` (0: a top-level value, 1: a value inside the caller's JSON).
    pub(crate) fn appending(out: &mut String, depth: usize, limit: usize) -> Writer {
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

    pub(crate) fn push(&mut self, s: &str) {
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

    pub(crate) fn push_escaped(&mut self, s: &str) {
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

    pub(crate) fn string_value(&mut self, s: &str) {
        if self.depth == 0 {
            self.top_level_text = true;
            self.push(s);
        } else {
            self.push_escaped(s);
        }
    }

    pub(crate) fn int_text(&mut self, neg: bool, magnitude: u128) {
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

    pub(crate) fn float(&mut self, v: f64) {
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
    pub(crate) fn too_deep(&mut self) -> Compound<'_> {
        self.push_escaped(&format!("<max depth {MAX_DEPTH} exceeded>"));
        Compound {
            w: self,
            first: true,
            skip: true,
            close: "",
        }
    }

    pub(crate) fn open(&mut self, bracket: &'static str) -> Result<Compound<'_>, CaptureError> {
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

pub(crate) struct Compound<'a> {
    pub(crate) w: &'a mut Writer,
    pub(crate) first: bool,
    pub(crate) skip: bool,
    pub(crate) close: &'static str,
}

impl Compound<'_> {
    pub(crate) fn comma(&mut self) {
        if !self.first {
            self.w.push(",");
        }
        self.first = false;
    }
    pub(crate) fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        self.comma();
        v.serialize(&mut *self.w)
    }
    pub(crate) fn key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        self.comma();
        let key = map_key(k);
        self.w.push_escaped(&key);
        self.w.push(":");
        Ok(())
    }
    pub(crate) fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        v.serialize(&mut *self.w)
    }
    pub(crate) fn field<T: Serialize + ?Sized>(
        &mut self,
        k: &str,
        v: &T,
    ) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        self.comma();
        self.w.push_escaped(k);
        self.w.push(":");
        v.serialize(&mut *self.w)
    }
    pub(crate) fn finish(self) -> Result<(), CaptureError> {
        if !self.skip {
            self.w.depth -= 1;
            self.w.push(self.close);
        }
        Ok(())
    }
    pub(crate) fn finish_variant(self) -> Result<(), CaptureError> {
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

/// Captures `value` with at most `limit` bytes of text kept.
pub(crate) fn capture<T: Serialize + ?Sized>(value: &T, limit: usize) -> Captured {
    let mut out = spare_string();
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
