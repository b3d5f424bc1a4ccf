//! The current observation and trace: free functions over the thread's context.

use crate::attributes::TraceAttributes;
use crate::context::scope::{Context, ContextGuard, Parent, CURRENT};
use crate::core::any_recording;
use crate::ids::{ObservationId, TraceId};
use crate::observation::handle::{ObservationRef, State};
use crate::score::Score;

impl Context {
    /// The current observation of this context (a no-op reference when there is none).
    pub fn observation(&self) -> ObservationRef {
        match &self.parent {
            Parent::Recording(o) => ObservationRef {
                state: State::Recording(o.clone()),
            },
            Parent::Unsampled(t) => ObservationRef {
                state: State::Unsampled(*t),
            },
            _ => ObservationRef::noop(),
        }
    }
}

/// The current observation (a no-op reference when none is current or tracing is off).
///
/// ```
/// langfuse_sdk::current_observation().set_metadata_value("step", &3);
/// ```
#[inline]
pub fn current_observation() -> ObservationRef {
    if !any_recording() {
        return ObservationRef::noop();
    }
    CURRENT
        .try_with(|c| c.try_borrow().map(|c| c.observation()).unwrap_or_default())
        .unwrap_or_default()
}

/// The current trace id, if any.
pub fn current_trace_id() -> Option<TraceId> {
    Context::current().trace_id()
}

/// The current observation id, if any.
pub fn current_observation_id() -> Option<ObservationId> {
    Context::current().observation_id()
}

/// The current context as a W3C `traceparent` header value, for outgoing requests.
pub fn current_traceparent() -> Option<String> {
    Context::current().traceparent()
}

/// The URL of the current trace in the Langfuse UI.
pub fn current_trace_url() -> Option<String> {
    current_observation().trace_url()
}

/// Sets trace-level attributes on the current observation and everything started after, on this
/// thread, until the guard drops. Same as [`TraceAttributes::enter`].
pub fn propagate_attributes(attrs: TraceAttributes) -> ContextGuard {
    attrs.enter()
}

/// Sets trace-level attributes (user, session, name, tags, metadata, …) on the current trace:
/// on the current observation, and on every observation of the same trace that ends later in
/// this process (its open parents and root included), as Langfuse v4 reads them from each
/// observation. Observations that already ended keep what they had.
///
/// Which to use: when the values are known before the trace's work starts, wrap that work in
/// [`propagate_attributes`] (every observation started inside gets them, at no cost); when they
/// are learned along the way (a user id read from the request body, say), call this.
pub fn update_current_trace(attrs: TraceAttributes) {
    let obs = current_observation();
    if !obs.is_recording() {
        return;
    }
    if let Some(t) = obs.trace_id() {
        crate::live::updates::update(t, &attrs);
    }
    obs.update_trace(attrs);
}
/// Scores the current observation (no-op when none is recording).
pub fn score_current_observation(score: Score) {
    current_observation().score(score);
}

/// Scores the current trace (no-op when none is recording).
pub fn score_current_trace(score: Score) {
    current_observation().score_trace(score);
}
