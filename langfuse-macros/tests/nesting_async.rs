//! Async nesting: across `.await`, concurrently polled siblings (`join!`, `select!`,
//! `FuturesUnordered`), and spawned tasks and threads through the SDK's helpers.
mod common;
use futures::stream::{FuturesUnordered, StreamExt};
use langfuse_sdk::observe;

#[observe]
async fn leaf(name: &'static str) -> &'static str {
    tokio::task::yield_now().await;
    name
}

#[observe]
async fn branch(tag: &'static str) -> usize {
    tokio::task::yield_now().await;
    let a = leaf(tag).await;
    tokio::task::yield_now().await;
    let b = leaf(tag).await;
    a.len() + b.len()
}

#[observe]
async fn fan_out() {
    tokio::join!(branch("x"), branch("y"));
    tokio::select! {
        _ = branch("z") => {}
        _ = std::future::pending::<()>() => {}
    }
    let mut set: FuturesUnordered<_> = (0..3).map(|_| leaf("u")).collect();
    while set.next().await.is_some() {}
    langfuse_sdk::spawn(leaf("spawned")).await.unwrap();
    langfuse_sdk::spawn_blocking(sync_child).await.unwrap();
    langfuse_sdk::thread_spawn(sync_child).join().unwrap();
}

#[observe]
fn sync_child() -> u8 {
    1
}

async fn check() {
    let h = common::harness();
    fan_out().await;
    let spans = h.spans();
    let root = h.span("fan_out");
    assert_eq!(root.parent_id(), None);
    let by_id: std::collections::HashMap<String, &langfuse_sdk::testing::ExportedSpan> =
        spans.iter().map(|s| (s.id(), s)).collect();
    // Every branch is a child of the root; every leaf's parent is a branch with the same tag
    // (or the root for the FuturesUnordered and spawned leaves).
    let branches: Vec<_> = spans.iter().filter(|s| s.name() == "branch").collect();
    assert_eq!(branches.len(), 3);
    for b in &branches {
        assert_eq!(b.parent_id(), Some(root.id()));
    }
    let leaves: Vec<_> = spans.iter().filter(|s| s.name() == "leaf").collect();
    assert_eq!(leaves.len(), 3 * 2 + 3 + 1);
    for l in &leaves {
        let input = l.attr_json("langfuse.observation.input").unwrap();
        let tag = input["name"].as_str().unwrap();
        let parent = by_id[&l.parent_id().unwrap()];
        if tag == "u" || tag == "spawned" {
            assert_eq!(parent.name(), "fan_out");
        } else {
            assert_eq!(parent.name(), "branch");
            assert_eq!(
                parent.attr_json("langfuse.observation.input").unwrap()["tag"],
                tag,
                "leaf {tag} under the branch that called it"
            );
        }
    }
    let sync_children: Vec<_> = spans.iter().filter(|s| s.name() == "sync_child").collect();
    assert_eq!(sync_children.len(), 2);
    assert!(sync_children
        .iter()
        .all(|s| s.parent_id() == Some(root.id())));
    assert!(spans.iter().all(|s| s.trace_id() == root.trace_id()));
}

#[tokio::test(flavor = "current_thread")]
async fn nesting_survives_await_and_concurrency_current_thread() {
    check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_survives_await_and_concurrency_multi_thread() {
    check().await;
}
