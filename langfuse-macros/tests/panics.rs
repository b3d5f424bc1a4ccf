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
