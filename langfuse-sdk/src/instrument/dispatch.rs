//! Capture dispatch: how `#[observe]` turns each argument and return value into text.

use std::fmt;

use crate::capture::pool::spare_string;
use crate::capture::{
    capture, capture_append, capture_debug, capture_json_into, push_json_string, Captured,
};

/// The observed function's arguments, by name.
pub struct Inputs {
    pub(crate) buf: String,
    pub(crate) limit: usize,
}

impl Inputs {
    /// Adds one argument; `key` is its name as a JSON object key with the colon (`"name":`,
    /// written by `#[observe]` at compile time), `c` comes from [`Wrap`]'s capture methods.
    pub fn arg(&mut self, key: &'static str, c: Value) {
        self.key(key);
        c.0.push_json_text(&mut self.buf);
    }

    #[inline(always)]
    fn key(&mut self, key: &'static str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        self.buf.push_str(key);
    }
}

/// A captured value (opaque to the expansion).
pub struct Value(pub(crate) Captured);

/// Autoref specialisation: `(&&&&Wrap(&x)).__lf_capture(limit)` captures `x` as text when it is
/// a standard string type, else through `Serialize` when it implements it, else through
/// `Debug`, else as its type name.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// Capture of text (`str`, `String`, `&str`, `Cow<str>`, …) without going through `serde`:
/// prompts and completions are the common case. The result is the same as through
/// [`ViaSerialize`] (a test checks it): a string that could need truncating takes that path.
pub trait ViaStr {
    /// Captures the value.
    fn __lf_capture(&self, limit: usize) -> Value;
    /// Appends the captured value to `out`; true when it is JSON (never, for text).
    fn __lf_capture_into(&self, limit: usize, out: &mut String) -> bool;
    /// Captures the value as an argument of the input object (`key`: see [`Inputs::arg`]).
    fn __lf_capture_arg(&self, key: &'static str, inputs: &mut Inputs);
}
impl<T: Text + ?Sized> ViaStr for &&&Wrap<'_, T> {
    fn __lf_capture(&self, limit: usize) -> Value {
        let s = self.0.text();
        if s.len() <= limit {
            let mut out = spare_string();
            out.push_str(s);
            Value(Captured::Text(out))
        } else {
            Value(capture(s, limit))
        }
    }
    #[inline]
    fn __lf_capture_into(&self, limit: usize, out: &mut String) -> bool {
        let s = self.0.text();
        if s.len() <= limit {
            out.push_str(s);
            false
        } else {
            capture_append(s, limit, out)
        }
    }
    #[inline(always)]
    fn __lf_capture_arg(&self, key: &'static str, inputs: &mut Inputs) {
        let s = self.0.text();
        inputs.key(key);
        // Even with every byte escaped (six bytes at most), it fits: nothing to truncate.
        if s.len().saturating_mul(6).saturating_add(2) <= inputs.limit {
            push_json_string(&mut inputs.buf, s);
        } else {
            capture_json_into(s, inputs.limit, &mut inputs.buf);
        }
    }
}

/// Types whose captured form is their text, as `Serialize` writes them (see [`ViaStr`]).
/// Sealed: implemented here for the standard string types only, whose `Serialize` is
/// `serialize_str` of that text.
pub trait Text: sealed::Sealed {
    /// The text.
    fn text(&self) -> &str;
}
mod sealed {
    pub trait Sealed {}
}
macro_rules! text_types {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Text for $t {
            #[inline]
            fn text(&self) -> &str {
                self
            }
        }
    )*};
}
text_types!(str, String, Box<str>, std::borrow::Cow<'_, str>);
impl<T: Text + ?Sized> sealed::Sealed for &T {}
impl<T: Text + ?Sized> Text for &T {
    #[inline]
    fn text(&self) -> &str {
        (**self).text()
    }
}
impl<T: Text + ?Sized> sealed::Sealed for &mut T {}
impl<T: Text + ?Sized> Text for &mut T {
    #[inline]
    fn text(&self) -> &str {
        (**self).text()
    }
}

/// Capture through `Serialize`.
pub trait ViaSerialize {
    /// Captures the value.
    fn __lf_capture(&self, limit: usize) -> Value;
    /// Appends the captured value to `out`; true when it is JSON.
    fn __lf_capture_into(&self, limit: usize, out: &mut String) -> bool;
    /// Captures the value as an argument of the input object (`key`: see [`Inputs::arg`]).
    fn __lf_capture_arg(&self, key: &'static str, inputs: &mut Inputs);
}
impl<T: serde::Serialize + ?Sized> ViaSerialize for &&Wrap<'_, T> {
    fn __lf_capture(&self, limit: usize) -> Value {
        Value(capture(self.0, limit))
    }
    fn __lf_capture_into(&self, limit: usize, out: &mut String) -> bool {
        capture_append(self.0, limit, out)
    }
    fn __lf_capture_arg(&self, key: &'static str, inputs: &mut Inputs) {
        inputs.key(key);
        capture_json_into(self.0, inputs.limit, &mut inputs.buf);
    }
}

/// Capture through `Debug`.
pub trait ViaDebug {
    /// Captures the value.
    fn __lf_capture(&self, limit: usize) -> Value;
    /// Appends the captured value to `out`; true when it is JSON.
    fn __lf_capture_into(&self, limit: usize, out: &mut String) -> bool {
        let v = self.__lf_capture(limit);
        out.push_str(v.0.as_str());
        matches!(v.0, Captured::Json(_))
    }
    /// Captures the value as an argument of the input object (`key`: see [`Inputs::arg`]).
    fn __lf_capture_arg(&self, key: &'static str, inputs: &mut Inputs) {
        let v = self.__lf_capture(inputs.limit);
        inputs.arg(key, v);
    }
}
impl<T: fmt::Debug + ?Sized> ViaDebug for &Wrap<'_, T> {
    fn __lf_capture(&self, limit: usize) -> Value {
        Value(capture_debug(self.0, limit))
    }
}

/// Capture as the type's name.
pub trait ViaTypeName {
    /// Captures the value.
    fn __lf_capture(&self, limit: usize) -> Value;
    /// Appends the captured value to `out`; true when it is JSON.
    fn __lf_capture_into(&self, limit: usize, out: &mut String) -> bool {
        let v = self.__lf_capture(limit);
        out.push_str(v.0.as_str());
        matches!(v.0, Captured::Json(_))
    }
    /// Captures the value as an argument of the input object (`key`: see [`Inputs::arg`]).
    fn __lf_capture_arg(&self, key: &'static str, inputs: &mut Inputs) {
        let v = self.__lf_capture(inputs.limit);
        inputs.arg(key, v);
    }
}
impl<T: ?Sized> ViaTypeName for Wrap<'_, T> {
    fn __lf_capture(&self, _limit: usize) -> Value {
        Value(Captured::Text(format!("<{}>", std::any::type_name::<T>())))
    }
}

/// Autoref specialisation for error text: `Display`, else `Debug`, else the type name.
pub struct ErrWrap<'a, T: ?Sized>(pub &'a T);

/// Error text through `Display`.
pub trait ErrViaDisplay {
    /// The error's text.
    fn __lf_err_text(&self) -> String;
}
impl<T: fmt::Display + ?Sized> ErrViaDisplay for &&ErrWrap<'_, T> {
    fn __lf_err_text(&self) -> String {
        self.0.to_string()
    }
}
/// Error text through `Debug`.
pub trait ErrViaDebug {
    /// The error's text.
    fn __lf_err_text(&self) -> String;
}
impl<T: fmt::Debug + ?Sized> ErrViaDebug for &ErrWrap<'_, T> {
    fn __lf_err_text(&self) -> String {
        format!("{:?}", self.0)
    }
}
/// Error text as the type's name.
pub trait ErrViaTypeName {
    /// The error's text.
    fn __lf_err_text(&self) -> String;
}
impl<T: ?Sized> ErrViaTypeName for ErrWrap<'_, T> {
    fn __lf_err_text(&self) -> String {
        format!("error of type {}", std::any::type_name::<T>())
    }
}
