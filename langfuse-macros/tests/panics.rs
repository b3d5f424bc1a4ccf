//! A panic ends the observation with level ERROR and the panic message, then keeps unwinding.
mod common;
use langfuse_sdk::observe;

#[observe]
fn boom(n: u32) -> u32 {
    if n > 0 {
        panic!("boom at {n}");
    }
    n
}

#[observe]
fn parent_of_boom() -> u32 {
    boom(3)
}

#[observe]
async fn async_boom() -> u32 {
    tokio::task::yield_now().await;
    panic!("async boom")
}

#[test]
fn sync_panic_is_recorded_and_propagates() {
    let h = common::harness();
    let r = std::panic::catch_unwind(parent_of_boom);
    assert!(r.is_err(), "the panic keeps unwinding");
    let b = h.span("boom");
    assert_eq!(b.attr_str("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        b.attr_str("langfuse.observation.status_message"),
        Some("panicked: boom at 3")
    );
    let p = h.span("parent_of_boom");
    assert_eq!(b.parent_id(), Some(p.id()));
    assert_eq!(p.attr_str("langfuse.observation.level"), Some("ERROR"));
    // The context was restored: nothing is current after the panic.
    assert_eq!(langfuse_sdk::current_observation_id(), None);
}

#[tokio::test]
async fn async_panic_is_recorded_and_propagates() {
    let h = common::harness();
    let r = tokio::spawn(async_boom()).await;
    assert!(r.unwrap_err().is_panic());
    let b = h.span("async_boom");
    assert_eq!(
        b.attr_str("langfuse.observation.status_message"),
        Some("panicked: async boom")
    );
    assert_eq!(b.status_code(), 2);
}

/// A value whose `Serialize` panics.
struct SerializePanics;
impl serde::Serialize for SerializePanics {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("serialize exploded")
    }
}

/// A value whose `Debug` panics (and that has no `Serialize`).
struct DebugPanics;
impl std::fmt::Debug for DebugPanics {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("debug exploded")
    }
}

#[observe]
fn takes_bad_values(a: &SerializePanics, b: &DebugPanics) -> SerializePanics {
    let _ = (a, b);
    SerializePanics
}

#[observe]
fn returns_bad_debug() -> DebugPanics {
    DebugPanics
}

#[test]
fn a_panicking_serialize_or_debug_becomes_a_marker_and_the_call_goes_on() {
    let h = common::harness();
    // Neither call panics: capturing is the SDK's business, never the application's failure.
    let _ = takes_bad_values(&SerializePanics, &DebugPanics);
    let _ = returns_bad_debug();
    let s = h.span("takes_bad_values");
    assert_eq!(
        s.attr_json("langfuse.observation.input"),
        Some(serde_json::json!({
            "a": "<unserializable: panicked: serialize exploded>",
            "b": "<unserializable: panicked: debug exploded>",
        }))
    );
    assert_eq!(
        s.attr_str("langfuse.observation.output"),
        Some("<unserializable: panicked: serialize exploded>")
    );
    assert_eq!(s.attr_str("langfuse.observation.level"), None);
    assert_eq!(
        h.span("returns_bad_debug")
            .attr_str("langfuse.observation.output"),
        Some("<unserializable: panicked: debug exploded>")
    );
}
