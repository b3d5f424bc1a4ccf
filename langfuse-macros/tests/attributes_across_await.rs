//! Trace attributes set inside an observed async function with a guard held across a real
//! `.await` stay with that function: siblings polled meanwhile on the same thread (`join!` on a
//! current-thread runtime) do not get them, and the thread has none afterwards.
mod common;
use langfuse_sdk::{observe, propagate_attributes, Context, TraceAttributes};

#[observe]
async fn with_user() {
    let _attrs = propagate_attributes(TraceAttributes::new().user_id("u-inside"));
    // Really suspends: the sibling below is polled while the guard is alive.
    tokio::task::yield_now().await;
    inside_child().await;
    tokio::task::yield_now().await;
}

#[observe]
async fn inside_child() {}

#[observe]
async fn sibling() {
    tokio::task::yield_now().await;
    sibling_child().await;
}

#[observe]
async fn sibling_child() {}

#[observe]
async fn root() {
    tokio::join!(with_user(), sibling());
    after().await;
}

#[observe]
async fn after() {}

#[test]
fn attributes_held_across_await_do_not_leak_to_siblings_or_the_thread() {
    let h = common::harness();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(root());
    assert_eq!(
        Context::current().trace_attributes().user_id_ref(),
        None,
        "nothing is left on the thread"
    );
    let user = |name: &str| h.span(name).attr_str("user.id").map(String::from);
    assert_eq!(user("inside_child").as_deref(), Some("u-inside"));
    assert_eq!(user("with_user").as_deref(), Some("u-inside"));
    for name in ["sibling", "sibling_child", "after", "root"] {
        assert_eq!(
            user(name),
            None,
            "{name} must not carry the sibling's user id"
        );
    }
    h.expect_tree(&[
        ("root", "-"),
        ("with_user", "root"),
        ("inside_child", "with_user"),
        ("sibling", "root"),
        ("sibling_child", "sibling"),
        ("after", "root"),
    ]);
}
