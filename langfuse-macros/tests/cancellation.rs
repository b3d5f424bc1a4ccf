//! A future dropped before completion ends its observation marked as cancelled.
mod common;
use std::time::Duration;

use langfuse_sdk::observe;

#[observe]
async fn slow() -> u32 {
    std::future::pending::<()>().await;
    1
}

#[observe]
async fn fast() -> u32 {
    2
}

#[tokio::test]
async fn select_and_timeout_cancel_with_a_marker() {
    let h = common::harness();
    assert_eq!(fast().await, 2);
    // `slow` is polled (so it starts), then dropped when the other branch wins.
    tokio::select! {
        biased;
        _ = slow() => unreachable!(),
        _ = tokio::task::yield_now() => {}
    }
    // A future never polled never started: no observation.
    drop(slow());
    assert!(tokio::time::timeout(Duration::from_millis(1), slow())
        .await
        .is_err());
    let spans = h.spans();
    let slows: Vec<_> = spans.iter().filter(|s| s.name() == "slow").collect();
    assert_eq!(slows.len(), 2);
    for s in slows {
        assert_eq!(s.attr_str("langfuse.observation.level"), Some("WARNING"));
        assert_eq!(
            s.attr_str("langfuse.observation.status_message"),
            Some("cancelled: the future was dropped before it completed")
        );
        assert_eq!(s.attr_str("langfuse.observation.output"), None);
    }
    let f = h.span("fast");
    assert_eq!(f.attr_str("langfuse.observation.level"), None);
    assert_eq!(f.attr_str("langfuse.observation.output"), Some("2"));
}
