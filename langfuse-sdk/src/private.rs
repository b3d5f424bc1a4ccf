//! Support for `#[observe]`'s expansion. Not a public API: names and signatures may change in
//! any release. Everything here is cheap when tracing is off.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use crate::context::Parent;
pub use crate::observation::{Level, Observation, ObservationRef, ObservationType};
use crate::value::{capture, Captured};

/// Starts an observation for an observed function. `inputs` runs only when the observation is
/// recording and input capture is on.
#[inline]
pub fn start(
    ty: ObservationType,
    name: &'static str,
    capture_inputs: bool,
    inputs: impl FnOnce(&mut Inputs),
) -> Observation {
    if !crate::any_recording() {
        return Observation {
            r: ObservationRef::noop(),
        };
    }
    start_recording(ty, name, capture_inputs, inputs)
}

/// [`start`] once a client is known to record.
#[inline(always)]
fn start_recording(
    ty: ObservationType,
    name: &'static str,
    capture_inputs: bool,
    inputs: impl FnOnce(&mut Inputs),
) -> Observation {
    if !capture_inputs {
        return crate::start_observed(ty, name, |_, _| {});
    }
    crate::start_observed(ty, name, |limit, d| {
        // Into the buffer that came with a reused allocation, when there is one.
        let buf = match std::mem::take(&mut d.scratch) {
            s if s.capacity() > 0 => s,
            _ => crate::observation::spare_string(),
        };
        let mut i = Inputs { buf, limit };
        i.buf.push('{');
        inputs(&mut i);
        i.buf.push('}');
        d.input = Some(Captured::Json(i.buf));
    })
}

/// How `#[observe]` on a sync function begins: [`start_sync`]'s answer.
pub enum SyncStart {
    /// The body runs in this observation.
    Observe(Observation),
    /// Nothing is recorded: the body runs as it is.
    Plain,
    /// The call started an unsampled trace, now current: the body runs through
    /// [`run_unsampled`], which leaves the trace afterwards.
    StartedUnsampled,
}

/// Runs the body of a call that started an unsampled trace (see
/// [`SyncStart::StartedUnsampled`]), then leaves that trace, also when the body panics.
#[inline(always)]
pub fn run_unsampled<R>(body: impl FnOnce() -> R) -> R {
    let _scope = UnsampledRoot;
    body()
}

struct UnsampledRoot;

impl Drop for UnsampledRoot {
    #[inline]
    fn drop(&mut self) {
        crate::context::leave_unsampled_root();
    }
}

/// [`start`] for a sync function whose body runs at once, in the caller's context. The
/// expansion runs the body as it is when there is nothing to record:
/// - [`SyncStart::Plain`]: tracing is off, or the caller is inside an unsampled trace (its
///   context already makes the body's children unsampled: the common case of a deep unsampled
///   trace);
/// - [`SyncStart::StartedUnsampled`]: the call starts a trace that is not sampled, made current
///   without an observation (no builder, no context guard: the cost of an unsampled trace).
#[inline]
pub fn start_sync(
    ty: ObservationType,
    name: &'static str,
    capture_inputs: bool,
    inputs: impl FnOnce(&mut Inputs),
) -> SyncStart {
    let recording = crate::recording_state();
    if recording < crate::ONE_CLIENT || crate::context::current_is_unsampled() {
        return SyncStart::Plain;
    }
    if recording & crate::SAMPLING != 0 {
        match crate::sample_root() {
            Some(true) => return SyncStart::StartedUnsampled,
            // Not sampled, but the context could not be changed: nothing to leave.
            Some(false) => return SyncStart::Plain,
            None => {}
        }
    }
    SyncStart::Observe(start_recording(ty, name, capture_inputs, inputs))
}

/// The `Retry-After` header of a response (seconds or an HTTP date), capped at an hour: shared
/// with `langfuse-openai`, so both crates read it the same way.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<std::time::Duration> {
    crate::otlp::retry_after(headers)
}

/// False when no client records: the function body runs as it is, with nothing else done.
#[inline(always)]
pub fn enabled() -> bool {
    crate::any_recording()
}

/// Calls the function body (taken by value, so it may be `FnOnce` or `FnMut`).
#[inline(always)]
pub fn call<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// True when the observation records and output capture is on.
#[inline]
pub fn capture_output(obs: &ObservationRef) -> bool {
    match &obs.state {
        crate::observation::State::Live(o) => o.core.io_capture_enabled(),
        _ => false,
    }
}

/// The observed function's arguments, by name.
pub struct Inputs {
    buf: String,
    limit: usize,
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
            let mut out = crate::observation::spare_string();
            out.push_str(s);
            Value(Captured::Text(out))
        } else {
            Value(capture(s, limit))
        }
    }
    fn __lf_capture_into(&self, limit: usize, out: &mut String) -> bool {
        let s = self.0.text();
        if s.len() <= limit {
            out.push_str(s);
            false
        } else {
            crate::value::capture_append(s, limit, out)
        }
    }
    #[inline(always)]
    fn __lf_capture_arg(&self, key: &'static str, inputs: &mut Inputs) {
        let s = self.0.text();
        inputs.key(key);
        // Even with every byte escaped (six bytes at most), it fits: nothing to truncate.
        if s.len().saturating_mul(6).saturating_add(2) <= inputs.limit {
            crate::value::push_json_string(&mut inputs.buf, s);
        } else {
            crate::value::capture_json_into(s, inputs.limit, &mut inputs.buf);
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
        crate::value::capture_append(self.0, limit, out)
    }
    fn __lf_capture_arg(&self, key: &'static str, inputs: &mut Inputs) {
        inputs.key(key);
        crate::value::capture_json_into(self.0, inputs.limit, &mut inputs.buf);
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
        match crate::value::debug_text(self.0) {
            Ok(s) => Value(capture(s.as_str(), limit)),
            Err(marker) => Value(Captured::Text(marker)),
        }
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

/// Ends a sync function's observation with its output: `write` appends it (given the capture
/// limit) to a reused buffer, outside every SDK lock, and runs only when output is captured.
#[inline]
pub fn finish(obs: Observation, write: impl FnOnce(usize, &mut String) -> bool) {
    obs.finish_with_output(write);
}

/// Records a captured output.
#[inline]
pub fn set_output(obs: &ObservationRef, c: Value) {
    obs.set_input_or_output(false, c.0);
}

/// Records an error: level, status message.
pub fn set_err(obs: &ObservationRef, level: Level, text: String) {
    obs.set_level(level);
    obs.set_status_message(text);
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    format!("panicked: {}", crate::value::panic_message(p))
}

/// Runs a sync body in the observation's context; a panic marks it ERROR and keeps unwinding.
#[inline]
pub fn run_sync<R>(obs: &Observation, body: impl FnOnce() -> R) -> R {
    if !obs.has_context() {
        return body();
    }
    // Holds the caller's parent while the body runs (see `enter_parent_in`).
    let mut slot = obs.as_parent();
    let _g = crate::context::enter_parent_in(&mut slot);
    if !obs.is_recording() {
        return body();
    }
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(p) => {
            set_err(obs, Level::Error, panic_text(&*p));
            obs.end();
            resume_unwind(p)
        }
    }
}

/// Runs `f` (one poll or step of a wrapped future, stream or iterator) with `obs` current, the
/// previous parent kept in this frame (see [`enter_parent_in`](crate::context::enter_parent_in)).
/// `None`, or an observation without context (tracing off), leaves the context alone.
#[inline]
fn in_scope<R>(obs: Option<&Observation>, f: impl FnOnce() -> R) -> R {
    let mut slot: Option<Parent> = obs.filter(|o| o.has_context()).map(|o| o.as_parent());
    let _g = slot.as_mut().map(crate::context::enter_parent_in);
    f()
}

pin_project_lite::pin_project! {
    /// An observed future: the observation is current on every poll, ends with the output,
    /// records panics, and is marked cancelled when dropped before completion.
    pub struct Observed<F, C> {
        #[pin]
        inner: F,
        obs: Option<Observation>,
        on_output: Option<C>,
    }

    impl<F, C> PinnedDrop for Observed<F, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(obs) = this.obs.take() {
                if obs.is_recording() {
                    obs.set_level(Level::Warning);
                    obs.set_status_message("cancelled: the future was dropped before it completed");
                }
                obs.end();
            }
        }
    }
}

impl<F, C> Observed<F, C>
where
    F: Future,
    C: FnOnce(&ObservationRef, &F::Output),
{
    /// Wraps `inner`; `on_output` records the output when the future completes.
    pub fn new(obs: Observation, inner: F, on_output: C) -> Self {
        Observed {
            inner,
            obs: Some(obs),
            on_output: Some(on_output),
        }
    }
}

impl<F, C> Future for Observed<F, C>
where
    F: Future,
    C: FnOnce(&ObservationRef, &F::Output),
{
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let recording = this.obs.as_ref().is_some_and(|o| o.is_recording());
        if !recording {
            // Unsampled: still current, so children stay unsampled; nothing to record.
            let inner = this.inner;
            let r = in_scope(this.obs.as_ref(), || inner.poll(cx));
            if r.is_ready() {
                // Completed, so not cancelled; there is nothing to record.
                this.obs.take();
            }
            return r;
        }
        let inner = this.inner;
        let polled = in_scope(this.obs.as_ref(), || {
            catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
        });
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => {
                if let Some(obs) = this.obs.take() {
                    if let Some(f) = this.on_output.take() {
                        f(&obs, &out);
                    }
                    obs.end();
                }
                Poll::Ready(out)
            }
            Err(p) => {
                if let Some(obs) = this.obs.take() {
                    set_err(&obs, Level::Error, panic_text(&*p));
                    obs.end();
                }
                resume_unwind(p)
            }
        }
    }
}

/// Collects the items of an observed stream or iterator: strings are joined, anything else
/// becomes a JSON array.
pub struct Items {
    text: String,
    json: Vec<String>,
    all_text: bool,
    count: usize,
    limit: usize,
    bytes: usize,
}

impl Items {
    fn new(limit: usize) -> Items {
        Items {
            text: String::new(),
            json: Vec::new(),
            all_text: true,
            count: 0,
            limit,
            bytes: 0,
        }
    }
    fn push(&mut self, c: Captured) {
        self.count += 1;
        if self.bytes > self.limit {
            return;
        }
        self.bytes += c.len();
        match &c {
            Captured::Text(s) if self.all_text => self.text.push_str(s),
            _ => self.all_text = false,
        }
        self.json.push(c.to_json_text());
    }
    fn finish(self) -> Captured {
        let over = self.bytes > self.limit;
        let c = if self.all_text {
            Captured::Text(self.text)
        } else {
            Captured::Json(format!("[{}]", self.json.join(",")))
        };
        if over {
            let s = c.as_str();
            let mut t = crate::value::prefix_at_boundary(s, self.limit).to_string();
            t.push_str(&crate::value::truncation_marker(self.bytes, self.limit));
            Captured::Text(t)
        } else {
            c
        }
    }
}

/// An observed iterator: the observation is current while it produces items and ends when it is
/// exhausted or dropped.
pub struct ObservedIter<I, C> {
    inner: I,
    obs: Option<Observation>,
    items: Option<Items>,
    capture: C,
}

impl<I: Iterator, C: FnMut(&I::Item, usize) -> Value> ObservedIter<I, C> {
    /// Wraps `inner`; `capture` turns each item into a value for the output.
    pub fn new(obs: Observation, inner: I, capture: C) -> Self {
        let items = capture_output(&obs).then(|| Items::new(obs_limit(&obs)));
        ObservedIter {
            inner,
            obs: Some(obs),
            items,
            capture,
        }
    }
}

impl<I, C> ObservedIter<I, C> {
    fn finish(&mut self, dropped_early: bool) {
        if let Some(obs) = self.obs.take() {
            if let Some(items) = self.items.take() {
                obs.set_input_or_output(false, items.finish());
            }
            if dropped_early && obs.is_recording() {
                obs.set_status_message("dropped before the end");
            }
            obs.end();
        }
    }
}

/// The capture limit of one value of this observation.
pub fn limit(obs: &ObservationRef) -> usize {
    obs_limit(obs)
}

fn obs_limit(obs: &ObservationRef) -> usize {
    match &obs.state {
        crate::observation::State::Live(o) => o.core.field_limit(),
        _ => 0,
    }
}

impl<I: Iterator, C: FnMut(&I::Item, usize) -> Value> Iterator for ObservedIter<I, C> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let inner = &mut self.inner;
        let next = in_scope(self.obs.as_ref(), || inner.next());
        match &next {
            Some(item) => {
                if let Some(items) = &mut self.items {
                    let c = (self.capture)(item, items.limit);
                    items.push(c.0);
                }
            }
            None => self.finish(false),
        }
        next
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<I, C> Drop for ObservedIter<I, C> {
    fn drop(&mut self) {
        self.finish(true);
    }
}

pin_project_lite::pin_project! {
    /// An observed stream: the observation is current while it is polled and ends when the
    /// stream ends or is dropped.
    pub struct ObservedStream<S, C> {
        #[pin]
        inner: S,
        obs: Option<Observation>,
        items: Option<Items>,
        capture: C,
    }

    impl<S, C> PinnedDrop for ObservedStream<S, C> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(obs) = this.obs.take() {
                if let Some(items) = this.items.take() {
                    obs.set_input_or_output(false, items.finish());
                }
                if obs.is_recording() {
                    obs.set_status_message("dropped before the end");
                }
                obs.end();
            }
        }
    }
}

impl<S: futures_core::Stream, C: FnMut(&S::Item, usize) -> Value> ObservedStream<S, C> {
    /// Wraps `inner`; `capture` turns each item into a value for the output.
    pub fn new(obs: Observation, inner: S, capture: C) -> Self {
        let items = capture_output(&obs).then(|| Items::new(obs_limit(&obs)));
        ObservedStream {
            inner,
            obs: Some(obs),
            items,
            capture,
        }
    }
}

impl<S: futures_core::Stream, C: FnMut(&S::Item, usize) -> Value> futures_core::Stream
    for ObservedStream<S, C>
{
    type Item = S::Item;
    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let inner = this.inner;
        let polled = in_scope(this.obs.as_ref(), || inner.poll_next(cx));
        match &polled {
            Poll::Ready(Some(item)) => {
                if let Some(items) = this.items.as_mut() {
                    let c = (this.capture)(item, items.limit);
                    items.push(c.0);
                }
            }
            Poll::Ready(None) => {
                if let Some(obs) = this.obs.take() {
                    if let Some(items) = this.items.take() {
                        obs.set_input_or_output(false, items.finish());
                    }
                    obs.end();
                }
            }
            Poll::Pending => {}
        }
        polled
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{capture_append, capture_json_into};
    use std::borrow::Cow;

    fn texts() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            "a",
            "what is rust?",
            "say \"hi\"\n\tand \\ leave",
            "\u{1}\u{1f}\u{7f}",
            "é漢字🦀 plain after",
            "🦀🦀🦀🦀🦀",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push("x".repeat(5_000));
        v.push("\"".repeat(300));
        v
    }

    /// The text fast path gives, for every string and limit, exactly what `Serialize` gives:
    /// as the output, as an argument, and as a stream item.
    #[test]
    fn text_capture_equals_serialize() {
        for s in texts() {
            for limit in [
                0, 1, 2, 3, 5, 8, 13, 14, 15, 20, 64, 100, 1_000, 4_096, 100_000,
            ] {
                let (mut fast, mut slow) = (String::from("pre"), String::from("pre"));
                let fast_json = (&&&&Wrap(&s)).__lf_capture_into(limit, &mut fast);
                let slow_json = capture_append(s.as_str(), limit, &mut slow);
                assert_eq!((fast_json, &fast), (slow_json, &slow), "{s:?} at {limit}");

                let mut a = Inputs {
                    buf: String::from("{"),
                    limit,
                };
                (&&&&Wrap(&s.as_str())).__lf_capture_arg("\"q\":", &mut a);
                (&&&&Wrap(&Cow::Borrowed(s.as_str()))).__lf_capture_arg("\"r\":", &mut a);
                let mut b = String::from("{\"q\":");
                capture_json_into(s.as_str(), limit, &mut b);
                b.push_str(",\"r\":");
                capture_json_into(s.as_str(), limit, &mut b);
                assert_eq!(a.buf, b, "{s:?} at {limit}");
                let whole = format!("{}}}", a.buf);
                assert!(
                    serde_json::from_str::<serde_json::Value>(&whole).is_ok(),
                    "{whole}"
                );

                let fast = (&&&&Wrap(&s.clone().into_boxed_str())).__lf_capture(limit);
                assert_eq!(fast.0, crate::value::capture(s.as_str(), limit), "{s:?}");
            }
        }
    }
}
