//! The two-level workload (a span calling a generation with small input, output and usage),
//! untraced, with `#[tracing::instrument]`, with `#[observe]`, and with `#[tracing::instrument]`
//! through the SDK's `tracing` bridge.

use std::hint::black_box;

use langfuse_sdk::{observe, UsageDetails};

#[inline(never)]
pub(crate) fn llm_plain(prompt: &str) -> String {
    black_box(prompt.len());
    String::from("ok")
}
#[inline(never)]
pub(crate) fn handle_plain(req: &str) -> String {
    llm_plain(req)
}

#[tracing::instrument]
#[inline(never)]
pub(crate) fn llm_tracing(prompt: &str) -> String {
    black_box(prompt.len());
    String::from("ok")
}
#[tracing::instrument]
#[inline(never)]
pub(crate) fn handle_tracing(req: &str) -> String {
    llm_tracing(req)
}

#[observe(as_type = "generation")]
#[inline(never)]
pub(crate) fn llm(prompt: &str) -> String {
    langfuse_sdk::current_observation()
        .set_model("gpt-4o-mini")
        .set_usage_details(UsageDetails::new().input(12).output(2).total(14));
    black_box(prompt.len());
    String::from("ok")
}
#[observe]
#[inline(never)]
pub(crate) fn handle(req: &str) -> String {
    llm(req)
}

// The same two observations through the `tracing` bridge: the fields name what `#[observe]`
// records (type, input, model, usage; `ret` gives the output).
#[tracing::instrument(skip_all, fields(
    langfuse.observation.type = "generation",
    input = prompt,
    model = "gpt-4o-mini",
    usage.input = 12,
    usage.output = 2,
    usage.total = 14,
), ret)]
#[inline(never)]
pub(crate) fn llm_bridge(prompt: &str) -> String {
    black_box(prompt.len());
    String::from("ok")
}
#[tracing::instrument(skip_all, fields(input = req), ret)]
#[inline(never)]
pub(crate) fn handle_bridge(req: &str) -> String {
    llm_bridge(req)
}

/// A registry with the bridge's layer, for the threads that run [`handle_bridge`] (installed
/// per thread, so that the "no subscriber" variant keeps having none).
pub(crate) fn bridge_dispatch() -> tracing::Dispatch {
    use tracing_subscriber::prelude::*;
    tracing::Dispatch::new(tracing_subscriber::registry().with(langfuse_sdk::bridge::layer()))
}

/// Which traced workload an enabled run calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Workload {
    /// `#[observe]` ([`handle`]).
    Observe,
    /// `#[tracing::instrument]` through the bridge ([`handle_bridge`]).
    Bridge,
}
