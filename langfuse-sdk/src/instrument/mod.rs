//! The primitives `#[observe]` expands into.
//!
//! `#[observe]` is a thin macro: it writes calls to the functions and types of this module,
//! which you can also use directly (the expansion of every shape is shown in the
//! [`observe`](crate::observe) docs). Everything here is cheap when tracing is off: [`enabled`]
//! is one relaxed load, and no value is captured unless the observation records.
//!
//! - starting: [`start`] (any function), [`start_sync`] with [`SyncStart`] (a sync body that
//!   runs at once, in the caller's context);
//! - running the body: [`run_sync`], [`run_unsampled`], [`call`];
//! - async bodies and lazy results: [`Observed`] (a future), [`ObservedStream`],
//!   [`ObservedIter`];
//! - ending: [`finish`], [`set_output`], [`set_err`];
//! - capture dispatch: [`Wrap`] and the `Via*` traits pick, per value, plain text, `Serialize`,
//!   `Debug` or the type name, with no trait bound on the user's types; [`Inputs`] collects the
//!   arguments.

mod dispatch;
mod future;
mod stream;
mod sync;

#[cfg(test)]
mod tests;

pub use dispatch::{
    ErrViaDebug, ErrViaDisplay, ErrViaTypeName, ErrWrap, Inputs, Text, Value, ViaDebug,
    ViaSerialize, ViaStr, ViaTypeName, Wrap,
};
pub use future::Observed;
pub use stream::{Items, ObservedIter, ObservedStream};
pub use sync::{
    call, capture_output, enabled, finish, limit, run_sync, run_unsampled, set_err, set_output,
    start, start_sync, SyncStart,
};

pub use crate::fields::{Level, ObservationType};
pub use crate::observation::{Observation, ObservationRef};
