//! The `tracing` bridge's field capture against the limits `#[observe]` keeps: `Debug` fields
//! formatted only up to the capture limit, a panicking `Debug` caught (issue 21 items 12, 13).
mod bridge_common;

use std::cell::Cell;

use bridge_common::harness;
use langfuse_sdk::bridge::LangfuseLayer;
use tracing_subscriber::prelude::*;

/// A value with only `Debug`, whose text is 64 MB written in 64-byte pieces, counted.
struct Chatty<'a>(&'a Cell<u32>);
impl std::fmt::Debug for Chatty<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for _ in 0..1_000_000 {
            self.0.set(self.0.get() + 1);
            f.write_str("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")?;
        }
        Ok(())
    }
}

/// README "Values": a value far over the limit is cut "and the walk stops at the limit, so it
/// costs what a value at the limit costs" — for `Debug`-captured `#[observe]` arguments
/// formatting stops at the limit. A `tracing` field recorded with `?value` is formatted whole
/// first (64 MB here), then cut.
#[test]
fn a_huge_debug_field_is_formatted_only_up_to_the_limit() {
    let h = harness();
    let written = Cell::new(0);
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(LangfuseLayer::builder().build()),
        || {
            let span = tracing::info_span!("huge-debug-input", input = ?Chatty(&written));
            span.in_scope(|| {});
        },
    );
    // The default limit is 1 MB per observation: 16,384 pieces would be enough.
    let limit_pieces = 1_000_000 / 64 + 1;
    let s = h.span("huge-debug-input");
    let input = s.attr_str("langfuse.observation.input").unwrap_or_default();
    assert!(input.contains("…[truncated: "), "the input is cut");
    // Cut once, at capture, with the size capture saw (the observation does not cut it again).
    assert_eq!(input.matches("…[truncated: ").count(), 1, "cut twice");
    assert!(
        input.contains("…[truncated: at least "),
        "the marker capture wrote"
    );
    assert!(
        written.get() <= limit_pieces,
        "wrote {} pieces (64 bytes each) to capture a field the limit cuts at ~{limit_pieces}",
        written.get()
    );
}

struct Panicky;
impl std::fmt::Debug for Panicky {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Debug of Panicky panicked")
    }
}

/// README "Values": "a `Serialize` or `Debug` that panics → `<unserializable: panicked: …>`
/// (the call goes on)". Through the bridge, the panic comes out of the application's
/// `info_span!` — only because the Langfuse layer formats the field.
#[test]
fn a_panicking_debug_field_becomes_a_marker_and_the_program_goes_on() {
    let h = harness();
    let r = std::panic::catch_unwind(|| {
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(LangfuseLayer::builder().build()),
            || {
                let span = tracing::info_span!("panicky-debug-input", input = ?Panicky);
                span.in_scope(|| {});
            },
        )
    });
    assert!(r.is_ok(), "the application's info_span! panicked");
    let s = h.span("panicky-debug-input");
    let input = s.attr_str("langfuse.observation.input").unwrap_or_default();
    assert!(input.contains("<unserializable: panicked"), "{input}");
}
