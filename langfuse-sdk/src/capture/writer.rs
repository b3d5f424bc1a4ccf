//! The JSON writer behind capture, and the entry points that drive it (its `serde::Serializer`
//! is in `serializer`).

use std::fmt::{self, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::ser::{self, Serialize};

use crate::capture::escape::{escape_of, next_escape, push_json_string};
use crate::capture::pool::spare_string;
use crate::capture::text::{
    panic_message, prefix_at_boundary, truncation_marker, truncation_marker_at_least, Captured,
};

/// Deepest nesting captured before the marker replaces the rest.
pub(crate) const MAX_DEPTH: usize = 64;
pub(crate) const SAFE_INT: u64 = 1 << 53;
/// Why a value could not be captured, or (empty, with the writer's `stopped` set) the early
/// stop once the limit is reached: returned through `serde` so that the value's `Serialize`
/// stops walking it.
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
    /// Whether `total` is the value's exact size; false once capture stopped walking the value
    /// (or scanning a string) past the limit: `total` is then a lower bound.
    pub(crate) exact: bool,
    /// Set when the writer returned the early stop (see [`CaptureError`]).
    pub(crate) stopped: bool,
    pub(crate) top_level_text: bool,
    /// Transparent wrappers (`Some`, newtype structs) open around the current value: they add
    /// no JSON nesting but count toward [`MAX_DEPTH`] like it, so that a value wrapping itself
    /// forever ends with the depth marker.
    pub(crate) wrap: usize,
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
            exact: true,
            stopped: false,
            top_level_text: false,
            wrap: 0,
        }
    }

    /// Nesting of the current value: JSON levels plus transparent wrappers.
    #[inline]
    pub(crate) fn nesting(&self) -> usize {
        self.depth + self.wrap
    }

    /// The early stop once the limit is reached: nothing more would be kept, so the value's
    /// `Serialize` is told to stop walking it (its remaining size is no longer counted).
    #[inline]
    pub(crate) fn check(&mut self) -> Result<(), CaptureError> {
        if self.truncated {
            self.stopped = true;
            self.exact = false;
            return Err(CaptureError(String::new()));
        }
        Ok(())
    }

    /// Serialises `value` inside a transparent wrapper (`Some`, a newtype), counted as one
    /// level of nesting; past [`MAX_DEPTH`] the depth marker replaces it.
    pub(crate) fn wrapped<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CaptureError> {
        self.check()?;
        if self.nesting() >= MAX_DEPTH {
            self.too_deep();
            return Ok(());
        }
        self.wrap += 1;
        let r = value.serialize(&mut *self);
        self.wrap -= 1;
        r
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
        if !self.truncated && used + s.len().saturating_mul(6) + 2 <= self.limit {
            let before = self.out.len();
            push_json_string(&mut self.out, s);
            self.total += self.out.len() - before;
            return;
        }
        self.push("\"");
        if self.truncated {
            // Past the limit: counted at its unescaped size, a lower bound.
            self.total += s.len() + 1;
            self.exact &= s.is_empty();
            return;
        }
        // Only the first `room` bytes can be kept (each byte takes at least one): scan no
        // further, and count the rest at its unescaped size (a lower bound).
        let room = self.limit.saturating_sub(self.out.len() - self.start);
        let whole = s;
        let s = prefix_at_boundary(s, room.saturating_add(4));
        let rest = whole.len() - s.len();
        if rest > 0 {
            self.exact = false;
            self.total += rest;
        }
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
                if start < s.len() {
                    self.exact = false;
                }
                return;
            }
        }
        if rest > 0 {
            // The scanned prefix fitted, the rest cannot.
            self.truncated = true;
            self.total += 1;
            return;
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
        self.check()?;
        if self.nesting() >= MAX_DEPTH {
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
        self.w.check()?;
        self.comma();
        v.serialize(&mut *self.w)
    }
    pub(crate) fn key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        self.w.check()?;
        self.comma();
        let key = map_key(k, self.w.nesting());
        self.w.push_escaped(&key);
        self.w.push(":");
        Ok(())
    }
    pub(crate) fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CaptureError> {
        if self.skip {
            return Ok(());
        }
        self.w.check()?;
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
        self.w.check()?;
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

/// A map key as a string: strings as they are, anything else as its JSON text. `nesting` is
/// the map's, so that a key containing itself still ends at [`MAX_DEPTH`].
fn map_key<T: Serialize + ?Sized>(k: &T, nesting: usize) -> String {
    let mut out = spare_string();
    let mut w = Writer::appending(&mut out, 0, 4096);
    w.wrap = nesting;
    let r = k.serialize(&mut w);
    finish_text(r, w, 0, &mut out);
    out
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
    finish_text(r, w, start, out)
}

/// Puts the writer's text back into `out`; returns whether the text is JSON.
#[inline]
fn finish_text(r: Result<(), CaptureError>, w: Writer, start: usize, out: &mut String) -> bool {
    if r.is_ok() && !w.truncated {
        *out = w.out;
        return !w.top_level_text;
    }
    finish_marked(r, w, start, out)
}

/// [`finish_text`] for a value that was cut or failed: the marker its end calls for
/// (truncation, or failure: the text from `start` on is replaced). Out of line: it is rare,
/// and it keeps the callers small enough to be inlined into the recording path.
#[cold]
#[inline(never)]
fn finish_marked(r: Result<(), CaptureError>, w: Writer, start: usize, out: &mut String) -> bool {
    let stopped = w.stopped;
    let marker = size_marker(&w);
    *out = w.out;
    match r {
        Err(e) if !stopped => {
            out.truncate(start);
            out.push_str("<unserializable: ");
            out.push_str(&e.0);
            out.push('>');
            false
        }
        // Truncated, or stopped early at the limit (whatever the value's `Serialize` made of
        // the early stop).
        _ => {
            out.push_str(&marker);
            false
        }
    }
}

/// The truncation marker for what `w` saw: its exact size, or a lower bound.
fn size_marker(w: &Writer) -> String {
    if !w.truncated {
        String::new()
    } else if w.exact {
        truncation_marker(w.total, w.limit)
    } else {
        truncation_marker_at_least(w.total, w.limit)
    }
}

/// Appends `value` as JSON (strings quoted) to `buf`, with the same renderings and markers as
/// [`capture`]; a truncated or failed value becomes a JSON string with its marker, so `buf`
/// stays valid JSON. No allocation beyond `buf`'s growth.
pub(crate) fn capture_json_into<T: Serialize + ?Sized>(value: &T, limit: usize, buf: &mut String) {
    let start = buf.len();
    let mut w = Writer::appending(buf, 1, limit);
    let r = serialize_guarded(value, &mut w);
    if r.is_ok() && !w.truncated {
        *buf = w.out;
        return;
    }
    json_marked(r, w, start, buf);
}

/// [`capture_json_into`] for a value that was cut or failed (out of line, as
/// [`finish_marked`]).
#[cold]
#[inline(never)]
fn json_marked(r: Result<(), CaptureError>, w: Writer, start: usize, buf: &mut String) {
    let stopped = w.stopped;
    let marker = size_marker(&w);
    *buf = w.out;
    match r {
        Err(e) if !stopped => {
            buf.truncate(start);
            push_json_string(buf, &format!("<unserializable: {}>", e.0));
        }
        // Truncated, or stopped early at the limit.
        _ => {
            let mut text = buf[start..].to_string();
            text.push_str(&marker);
            buf.truncate(start);
            push_json_string(buf, &text);
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
