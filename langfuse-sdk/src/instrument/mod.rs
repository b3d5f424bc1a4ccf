//! The primitives `#[observe]` expands into.
//!
//! `#[observe]` is a thin macro: it writes calls to the functions and types of this module,
//! which you can also use directly. Everything here is cheap when tracing is off: [`enabled`]
//! is one relaxed load, and no value is captured unless the observation records.
//!
//! An `async fn` becomes, in essence (the sync, stream and iterator shapes use [`start_sync`]
//! with [`run_sync`], and [`ObservedStream`] / [`ObservedIter`]):
//!
//! ```text
//! #[observe] async fn answer(q: String) -> String { body }
//!
//! async fn answer(q: String) -> String {
//!     use langfuse_sdk::instrument::{self as i, ViaDebug as _, ViaSerialize as _, ViaStr as _, ViaTypeName as _};
//!     let obs = i::start(i::ObservationType::Span, "answer", true, |inputs| {
//!         (&&&&i::Wrap(&q)).__lf_capture_arg("\"q\":", inputs) // text, Serialize, Debug or type name
//!     });
//!     i::Observed::new(obs, async move { body }, |o, out| {
//!         if i::capture_output(o) {
//!             i::set_output(o, (&&&&i::Wrap(out)).__lf_capture(i::limit(o)));
//!         }
//!     })
//!     .await
//! }
//! ```
//!
//! For your own futures, [`ObserveExt::observe`] is the same without the capture.
//!
//! - starting: [`start`] (any function), [`start_sync`] with [`SyncStart`] (a sync body that
//!   runs at once, in the caller's context);
//! - running the body: [`run_sync`], [`run_unsampled`], [`call`];
//! - async bodies and lazy results: [`Observed`] (a future; [`ObserveExt::observe`] makes one),
//!   [`ObservedStream`], [`ObservedIter`];
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
pub use future::{ObserveExt, Observed};
pub use stream::{Items, ObservedIter, ObservedStream};
pub use sync::{
    call, capture_output, enabled, finish, limit, run_sync, run_unsampled, set_err, set_output,
    start, start_sync, SyncStart,
};

pub use crate::fields::{Level, ObservationType};
pub use crate::observation::{Observation, ObservationRef};
