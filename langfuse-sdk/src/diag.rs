//! Internal diagnostics: warnings always reach the user (through `tracing` when a subscriber is
//! installed, otherwise on stderr); debug events only when `LANGFUSE_DEBUG` is on.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set when any client was built with `debug` on.
pub(crate) static DEBUG: AtomicBool = AtomicBool::new(false);

/// A warning the user should see once.
pub(crate) fn warn(msg: &str) {
    if tracing::dispatcher::has_been_set() {
        tracing::warn!(target: "langfuse_sdk", "{msg}");
    } else {
        eprintln!("[langfuse] warning: {msg}");
    }
}

/// A diagnostic event, emitted only in debug mode.
pub(crate) fn debug(msg: impl FnOnce() -> String) {
    if DEBUG.load(Ordering::Relaxed) {
        let m = msg();
        if tracing::dispatcher::has_been_set() {
            tracing::debug!(target: "langfuse_sdk", "{m}");
        } else {
            eprintln!("[langfuse] debug: {m}");
        }
    }
}

/// `s` cut to 300 bytes (at a character boundary) for a log line, with `…` where it was cut.
pub(crate) fn truncate_for_log(s: &str) -> String {
    let p = crate::capture::prefix_at_boundary(s, 300);
    if p.len() < s.len() {
        format!("{p}…")
    } else {
        p.to_string()
    }
}
