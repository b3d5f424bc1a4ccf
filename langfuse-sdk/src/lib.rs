//! Langfuse tracing for Rust.
//!
//! Record what your LLM application does — spans, generations with model, tokens and cost,
//! tool calls, scores — as nested traces in [Langfuse](https://langfuse.com). Observations are
//! sent as OpenTelemetry (OTLP/HTTP protobuf) from a thread of the SDK's own, so the calling code
//! never blocks, never does I/O, and never panics because of tracing.
//!
//! # Quick start
//!
//! ```no_run
//! use langfuse_sdk::{TraceAttributes, UsageDetails};
//!
//! fn main() {
//!     // Reads LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, LANGFUSE_BASE_URL, …
//!     // The guard flushes and shuts down when main returns.
//!     let _langfuse = langfuse_sdk::init();
//!
//!     let lf = langfuse_sdk::client();
//!     let root = lf.span("answer-question").input("What is Langfuse?").start();
//!     let _in_root = root.enter();
//!     let _attrs = langfuse_sdk::propagate_attributes(
//!         TraceAttributes::new().user_id("user-1").session_id("session-1"),
//!     );
//!
//!     let gen = lf.generation("llm").model("gpt-4o-mini").start();
//!     gen.set_output("An open-source LLM observability platform.")
//!         .set_usage_details(UsageDetails::new().input(12).output(9).total(21));
//!     gen.end();
//!
//!     root.set_output("An open-source LLM observability platform.");
//! }
//! ```
//!
//! # Context
//!
//! The current observation follows the code: per thread for sync code ([`ObservationRef::enter`]),
//! per future for async code ([`WithContext`]); [`spawn`], [`spawn_blocking`] and
//! [`thread_spawn`] carry it into new tasks and threads. Trace-level attributes
//! ([`TraceAttributes`]: user, session, tags, …) set for a scope land on every observation
//! created inside it.
//!
//! # Values
//!
//! Inputs, outputs and metadata take anything `Serialize`. Strings go out as plain text, other
//! values as JSON; odd values get documented markers rather than errors (see the table in the
//! README: NaN, huge integers, bytes, deep nesting, failing `Serialize`, oversized values).

#![warn(missing_docs)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod api;
mod client;
mod clock;
mod config;
mod context;
mod deflate;
mod diag;
mod error;
mod exporter;
#[doc(hidden)]
pub mod fuzz;
mod ids;
mod observation;
mod otlp;
mod record;
mod score;
mod value;
mod wire;

#[cfg(feature = "testing")]
pub mod testing;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use client::Core;
use std::time::Duration;

pub use client::Langfuse;
pub use config::{ExporterKind, LangfuseBuilder, DEFAULT_BASE_URL};
pub use context::{
    current_observation, current_observation_id, current_trace_id, current_trace_url,
    current_traceparent, propagate_attributes, spawn, spawn_blocking, thread_spawn,
    update_current_trace, Context, ContextGuard, TraceAttributes, WithContext, WithContextFuture,
};
pub use error::Error;
pub use exporter::Stats;
pub use ids::{create_trace_id, ObservationId, RemoteParent, TraceId};
pub use observation::{
    CostDetails, Level, Observation, ObservationBuilder, ObservationRef, ObservationType,
    UsageDetails,
};
pub use otlp::SDK_VERSION;
pub use score::{Score, ScoreValue};

/// `#[observe]`: trace a function as an observation. See the [`langfuse_macros`] crate docs.
pub use langfuse_macros::observe;

/// Scores the current observation (no-op when none is recording).
pub fn score_current_observation(score: Score) {
    current_observation().score(score);
}

/// Scores the current trace (no-op when none is recording).
pub fn score_current_trace(score: Score) {
    current_observation().score_trace(score);
}

static GLOBAL: RwLock<Option<Langfuse>> = RwLock::new(None);
/// Bumped whenever the global client changes, so threads can keep a cached copy of its core
/// (reading `GLOBAL` itself is an atomic read-modify-write on a line all threads share).
static GLOBAL_GEN: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's copy of the global client's core, valid while the generation matches.
    static GLOBAL_CACHE: RefCell<(u64, Option<Arc<Core>>)> = const { RefCell::new((u64::MAX, None)) };
}

/// Runs `f` with the global client's core, if a recording global client is set.
#[inline]
fn with_global_core<R>(f: impl FnOnce(&Arc<Core>) -> R) -> Option<R> {
    let generation = GLOBAL_GEN.load(Ordering::Acquire);
    GLOBAL_CACHE
        .try_with(|c| {
            if c.try_borrow().ok()?.0 != generation {
                let core = match GLOBAL.read() {
                    Ok(g) if GLOBAL_ON.load(Ordering::Acquire) => {
                        g.as_ref().map(|l| l.core().clone())
                    }
                    _ => None,
                };
                // The old core (if any) is dropped after the borrow ends.
                let old = std::mem::replace(&mut *c.try_borrow_mut().ok()?, (generation, core));
                drop(old);
            }
            let c = c.try_borrow().ok()?;
            c.1.as_ref().map(f)
        })
        .ok()
        .flatten()
}
/// Twice the number of recording clients, plus [`SAMPLING`]: one word, so that `#[observe]`
/// learns both from one load. When no client records, observed functions skip everything.
pub(crate) static RECORDING: AtomicUsize = AtomicUsize::new(0);
/// Set (for good) once a recording client samples (a rate below 1): only then does a sync
/// observed call that starts a trace decide its sampling first.
pub(crate) const SAMPLING: usize = 1;
/// One recording client in [`RECORDING`].
pub(crate) const ONE_CLIENT: usize = 2;

/// [`RECORDING`]'s value.
#[inline(always)]
pub(crate) fn recording_state() -> usize {
    RECORDING.load(Ordering::Relaxed)
}

/// True when any client records: the one-load fast path of `#[observe]` when tracing is off.
#[inline]
pub(crate) fn any_recording() -> bool {
    recording_state() >= ONE_CLIENT
}
static GLOBAL_ON: AtomicBool = AtomicBool::new(false);

/// Configures the global client from the environment and returns a guard that flushes and shuts
/// it down when dropped. Keep the guard alive for the whole program (`let _lf = init();` in
/// `main`).
///
/// ```
/// let _guard = langfuse_sdk::init();
/// // … observations through langfuse_sdk::client() or #[observe] …
/// ```
pub fn init() -> ClientGuard {
    init_with(Langfuse::from_env())
}

/// Makes `client` the global client and returns a guard that shuts it down when dropped.
pub fn init_with(client: Langfuse) -> ClientGuard {
    let on = client.is_enabled();
    if let Ok(mut g) = GLOBAL.write() {
        *g = Some(client.clone());
    }
    GLOBAL_ON.store(on, Ordering::Release);
    GLOBAL_GEN.fetch_add(1, Ordering::AcqRel);
    ClientGuard {
        timeout: client.timeout(),
        client,
    }
}

/// The global client, or a disabled one when [`init`] was not called. Never panics.
pub fn client() -> Langfuse {
    if !GLOBAL_ON.load(Ordering::Acquire) {
        return Langfuse::disabled();
    }
    GLOBAL
        .read()
        .ok()
        .and_then(|g| g.clone())
        .unwrap_or_else(Langfuse::disabled)
}

/// Starts describing an observation with the client of the current observation (or the global
/// client when none is current). It costs one branch when tracing is off. (`#[observe]` starts
/// its observations the same way, without a builder.)
pub fn observation(
    ty: ObservationType,
    name: impl Into<std::borrow::Cow<'static, str>>,
) -> ObservationBuilder {
    if !any_recording() {
        return ObservationBuilder::noop(ty);
    }
    context::with_current(|ctx| match &ctx.parent {
        context::Parent::Live(o) => o.core.plan(ty, name.into(), ctx, None),
        // Children of an unsampled observation are unsampled: nothing else to decide.
        context::Parent::Unsampled(t) => ObservationBuilder::unsampled(ty, *t),
        _ => with_global_core(|c| c.plan(ty, name.into(), ctx, None))
            .unwrap_or_else(|| ObservationBuilder::noop(ty)),
    })
    .unwrap_or_else(|| ObservationBuilder::noop(ty))
}

/// [`observation`] and `start` at once, for `#[observe]`: where it goes is decided from one
/// look at the thread's context, then `capture` writes its input outside that borrow (see
/// [`observation::start_with`]).
#[inline]
pub(crate) fn start_observed(
    ty: ObservationType,
    name: &'static str,
    capture: impl FnOnce(usize, &mut observation::ObsData),
) -> Observation {
    use observation::Placement;
    let place = |fill: &mut observation::Fill<'_>| {
        context::with_current(|ctx| match &ctx.parent {
            context::Parent::Live(o) => o.core.place_observed(fill, ty, name, ctx),
            // Children of an unsampled observation are unsampled: nothing else to decide.
            context::Parent::Unsampled(t) => Placement::Unsampled(*t),
            _ => with_global_core(|c| c.place_observed(fill, ty, name, ctx))
                .unwrap_or(Placement::Noop),
        })
        .unwrap_or(Placement::Noop)
    };
    observation::start_with(ty, place, capture)
}

/// For a sync observed call that starts a trace (no observation is current; otherwise `None`):
/// when the global client does not sample the trace, makes it current at once (the call
/// records nothing) and returns whether that worked. `None` when the trace is sampled or there
/// is nothing to decide: the full path then starts the observation, and draws the same trace
/// id (a sampled id is only peeked here).
#[inline(never)]
pub(crate) fn sample_root() -> Option<bool> {
    if !context::current_is_empty() {
        return None;
    }
    let t = with_global_core(|c| c.draw_unsampled_root()).flatten()?;
    Some(context::enter_unsampled_root(t))
}

/// Flushes the global client.
pub fn flush(timeout: Duration) -> Result<(), Error> {
    client().flush(timeout)
}

/// Shuts down the global client.
pub fn shutdown(timeout: Duration) -> Result<(), Error> {
    client().shutdown(timeout)
}

/// Shuts the client down (delivering what is queued) when dropped, within the client's timeout.
#[must_use = "the client shuts down when the guard drops; bind it: let _lf = init();"]
#[derive(Debug)]
pub struct ClientGuard {
    client: Langfuse,
    timeout: Duration,
}

impl ClientGuard {
    /// The guarded client.
    pub fn client(&self) -> &Langfuse {
        &self.client
    }
    /// Sets how long the drop may wait for delivery.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        if let Err(e) = self.client.shutdown(self.timeout) {
            if !e.is_shutdown() {
                diag::warn(&e.to_string());
            }
        }
        let is_global = GLOBAL
            .read()
            .ok()
            .and_then(|g| {
                g.as_ref()
                    .map(|c| std::sync::Arc::ptr_eq(&c.inner, &self.client.inner))
            })
            .unwrap_or(false);
        if is_global {
            GLOBAL_ON.store(false, Ordering::Release);
            if let Ok(mut g) = GLOBAL.write() {
                *g = None;
            }
            GLOBAL_GEN.fetch_add(1, Ordering::AcqRel);
        }
    }
}
