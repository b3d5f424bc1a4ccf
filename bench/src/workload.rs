//! The two-level workload (a span calling a generation with small input, output and usage),
//! untraced, with `#[tracing::instrument]` and with `#[observe]`.

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
