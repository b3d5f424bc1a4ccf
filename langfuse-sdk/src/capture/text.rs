//! A captured value (plain text or JSON text) and the markers put in values that were cut.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::capture::escape::push_json_string;
use crate::capture::pool::spare_string;

/// A captured value, borrowed from a batch.
#[derive(Clone, Copy)]
pub(crate) struct ValueRef<'a> {
    pub json: bool,
    pub text: &'a str,
}

impl ValueRef<'_> {
    pub(crate) fn to_captured(self) -> Captured {
        if self.json {
            Captured::Json(self.text.to_string())
        } else {
            Captured::Text(self.text.to_string())
        }
    }
}

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
    pub(crate) fn as_value_ref(&self) -> ValueRef<'_> {
        ValueRef {
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

impl Captured {
    /// Appends the value as JSON text (plain text quoted).
    pub(crate) fn push_json_text(&self, out: &mut String) {
        match self {
            Captured::Text(s) => push_json_string(out, s),
            Captured::Json(s) => out.push_str(s),
        }
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

/// A value's `Debug` text with at most `limit` bytes kept: formatting stops at the first write
/// past the limit (the writer returns `fmt::Error`, which `Debug` implementations pass up), so a
/// huge value costs about what one at the limit costs, and the text ends with the "at least"
/// truncation marker. The panic marker when the `Debug` implementation panics.
pub(crate) fn capture_debug<T: fmt::Debug + ?Sized>(v: &T, limit: usize) -> Captured {
    let w = Bounded {
        out: spare_string(),
        limit,
        total: 0,
        over: false,
    };
    let formatted = catch_unwind(AssertUnwindSafe(move || {
        let mut w = w;
        // An error here is the writer's own stop (or the value's): what was written is kept.
        let _ = fmt::write(&mut w, format_args!("{v:?}"));
        w
    }));
    match formatted {
        Ok(w) if w.over => {
            let mut out = w.out;
            out.push_str(&truncation_marker_at_least(w.total, limit));
            Captured::Text(out)
        }
        Ok(w) => Captured::Text(w.out),
        Err(p) => Captured::Text(format!(
            "<unserializable: panicked: {}>",
            panic_message(&*p)
        )),
    }
}

/// The writer behind [`capture_debug`].
struct Bounded {
    out: String,
    limit: usize,
    /// Bytes written so far (kept or not).
    total: usize,
    /// Set at the first write past the limit, which stops the formatting.
    over: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.total = self.total.saturating_add(s.len());
        if self.out.len() < self.limit {
            let room = self.limit - self.out.len();
            self.out.push_str(prefix_at_boundary(s, room));
        }
        if self.total > self.limit {
            self.over = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// The marker after a value cut at `limit` bytes whose size is known: `total` bytes.
pub(crate) fn truncation_marker(total: usize, limit: usize) -> String {
    format!("…[truncated: {total} bytes, limit {limit}]")
}

/// The marker after a value cut at `limit` bytes that capture stopped walking there: it had at
/// least `total` bytes.
pub(crate) fn truncation_marker_at_least(total: usize, limit: usize) -> String {
    format!("…[truncated: at least {total} bytes, limit {limit}]")
}

/// The original size a truncation marker states.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct MarkedSize {
    pub bytes: usize,
    /// `at least` that many.
    pub at_least: bool,
}

impl MarkedSize {
    /// The marker stating this size, for a value cut at `limit`.
    pub(crate) fn marker(self, limit: usize) -> String {
        if self.at_least {
            truncation_marker_at_least(self.bytes, limit)
        } else {
            truncation_marker(self.bytes, limit)
        }
    }
}

/// Splits a truncation marker off the end of `s`: the text before it and the original size.
pub(crate) fn split_marker(s: &str) -> (&str, Option<MarkedSize>) {
    if let Some(i) = s.rfind("…[truncated: ") {
        let mut tail = &s[i + "…[truncated: ".len()..];
        let at_least = tail.starts_with("at least ");
        if at_least {
            tail = &tail["at least ".len()..];
        }
        if let Some(n) = tail.split(' ').next().and_then(|n| n.parse().ok()) {
            if tail.ends_with(']') {
                return (&s[..i], Some(MarkedSize { bytes: n, at_least }));
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
