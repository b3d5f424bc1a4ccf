//! Observations as a user holds them, above the thread's context: the handles ([`handle`]),
//! the builder and where a new observation goes ([`builder`]), `#[observe]`'s fused start
//! ([`start`]) and the free functions over the current observation ([`current`]). What a
//! recorded observation *is* lives below the context, in `crate::live`.

pub(crate) mod builder;
pub(crate) mod current;
pub(crate) mod handle;
pub(crate) mod start;

pub use builder::{observation, ObservationBuilder};
pub use current::{
    current_observation, current_observation_id, current_trace_id, current_trace_url,
    current_traceparent, propagate_attributes, score_current_observation, score_current_trace,
    update_current_trace,
};
pub use handle::{Observation, ObservationRef};
