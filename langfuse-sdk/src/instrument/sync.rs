//! Starting an observed call, running its body in its observation, and ending it.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::capture::panic_message;
use crate::capture::pool::spare_string;
use crate::capture::Captured;
use crate::context::scope::{current_is_unsampled, enter_parent_in, leave_unsampled_root, Parent};
use crate::core::{any_recording, recording_state, ONE_CLIENT, SAMPLING};
use crate::fields::{Level, ObservationType};
use crate::instrument::dispatch::{Inputs, Value};
use crate::observation::handle::{Observation, ObservationRef, State};
use crate::observation::start::{sample_root, start_observed};

/// Starts an observation for an observed function. `inputs` runs only when the observation is
/// recording and input capture is on.
#[inline]
pub fn start(
    ty: ObservationType,
    name: &'static str,
    capture_inputs: bool,
    inputs: impl FnOnce(&mut Inputs),
) -> Observation {
    if !any_recording() {
        return Observation::off();
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
        return start_observed(ty, name, |_, _| {});
    }
    start_observed(ty, name, |limit, d| {
        // Into the buffer that came with a reused allocation, when there is one.
        let buf = match std::mem::take(&mut d.scratch) {
            s if s.capacity() > 0 => s,
            _ => spare_string(),
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
    Recording(Observation),
    /// Nothing is recorded (tracing is off, or the caller is in an unsampled trace): the body
    /// runs as it is.
    Unrecorded,
    /// The call started an unsampled trace, now current: the body runs through
    /// [`run_unsampled`], which leaves the trace afterwards.
    UnsampledRoot,
}

/// Runs the body of a call that started an unsampled trace (see
/// [`SyncStart::UnsampledRoot`]), then leaves that trace, also when the body panics.
#[inline(always)]
pub fn run_unsampled<R>(body: impl FnOnce() -> R) -> R {
    let _scope = UnsampledRoot;
    body()
}

struct UnsampledRoot;

impl Drop for UnsampledRoot {
    #[inline]
    fn drop(&mut self) {
        leave_unsampled_root();
    }
}

/// [`start`] for a sync function whose body runs at once, in the caller's context. The
/// expansion runs the body as it is when there is nothing to record:
/// - [`SyncStart::Unrecorded`]: tracing is off, or the caller is inside an unsampled trace (its
///   context already makes the body's children unsampled: the common case of a deep unsampled
///   trace);
/// - [`SyncStart::UnsampledRoot`]: the call starts a trace that is not sampled, made current
///   without an observation (no builder, no context guard: the cost of an unsampled trace).
#[inline]
pub fn start_sync(
    ty: ObservationType,
    name: &'static str,
    capture_inputs: bool,
    inputs: impl FnOnce(&mut Inputs),
) -> SyncStart {
    let recording = recording_state();
    if recording < ONE_CLIENT || current_is_unsampled() {
        return SyncStart::Unrecorded;
    }
    if recording & SAMPLING != 0 {
        match sample_root() {
            Some(true) => return SyncStart::UnsampledRoot,
            // Not sampled, but the context could not be changed: nothing to leave.
            Some(false) => return SyncStart::Unrecorded,
            None => {}
        }
    }
    let obs = start_recording(ty, name, capture_inputs, inputs);
    // A call that starts a trace may run long (a worker thread's loop, a job): shutdown sends
    // it if it is still open then.
    obs.track_if_thread_root();
    SyncStart::Recording(obs)
}

/// False when no client records: the function body runs as it is, with nothing else done.
#[inline(always)]
pub fn enabled() -> bool {
    any_recording()
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
        State::Recording(o) => o.core.io_capture_enabled(),
        _ => false,
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

pub(crate) fn panic_text(p: &(dyn Any + Send)) -> String {
    format!("panicked: {}", panic_message(p))
}

/// Runs a sync body in the observation's context; a panic marks it ERROR and keeps unwinding.
#[inline]
pub fn run_sync<R>(obs: &Observation, body: impl FnOnce() -> R) -> R {
    if !obs.has_context() {
        return body();
    }
    // Holds the caller's parent while the body runs (see `enter_parent_in`).
    let mut slot = obs.as_parent();
    let _g = enter_parent_in(&mut slot);
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
/// previous parent kept in this frame (see [`enter_parent_in`](enter_parent_in)).
/// `None`, or an observation without context (tracing off), leaves the context alone.
#[inline]
pub(crate) fn in_scope<R>(obs: Option<&Observation>, f: impl FnOnce() -> R) -> R {
    let mut slot: Option<Parent> = obs.filter(|o| o.has_context()).map(|o| o.as_parent());
    let _g = slot.as_mut().map(enter_parent_in);
    f()
}

/// The capture limit of one value of this observation.
pub fn limit(obs: &ObservationRef) -> usize {
    obs_limit(obs)
}

pub(crate) fn obs_limit(obs: &ObservationRef) -> usize {
    match &obs.state {
        State::Recording(o) => o.core.field_limit(),
        _ => 0,
    }
}
