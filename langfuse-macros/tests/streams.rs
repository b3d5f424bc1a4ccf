//! Streams and iterators keep the observation open until they end or are dropped, re-enter the
//! context while polled (children nest), and record the items as output.
mod common;
use futures::stream::{self, Stream, StreamExt};
use langfuse_sdk::observe;

#[observe]
fn token(t: &'static str) -> &'static str {
    t
}

#[observe]
fn tokens(n: usize) -> impl Iterator<Item = &'static str> {
    ["Hel", "lo", "!", "?"].into_iter().take(n).map(token)
}

#[observe]
fn numbers() -> impl Stream<Item = u32> {
    stream::iter(vec![1, 2, 3])
}

#[observe(stream)]
fn chunks() -> std::pin::Pin<Box<dyn Stream<Item = String> + Send>> {
    Box::pin(stream::iter(vec!["a".to_string(), "b".to_string()]))
}

#[test]
fn iterator_items_are_joined_and_children_nest() {
    let h = common::harness();
    let all: String = tokens(3).collect();
    assert_eq!(all, "Hello!");
    let t = h.span("tokens");
    assert_eq!(t.attr_str("langfuse.observation.output"), Some("Hello!"));
    let children: Vec<_> = h
        .spans()
        .into_iter()
        .filter(|s| s.name() == "token")
        .collect();
    assert_eq!(children.len(), 3);
    assert!(children.iter().all(|c| c.parent_id() == Some(t.id())));
    // The observation ended after the last item.
    assert!(children
        .iter()
        .all(|c| c.span.end_time_unix_nano <= t.span.end_time_unix_nano));
}

#[test]
fn an_iterator_dropped_early_ends_with_partial_output() {
    let h = common::harness();
    let mut it = tokens(4);
    assert_eq!(it.next(), Some("Hel"));
    drop(it);
    let t = h.span("tokens");
    assert_eq!(t.attr_str("langfuse.observation.output"), Some("Hel"));
    assert_eq!(
        t.attr_str("langfuse.observation.status_message"),
        Some("dropped before the end")
    );
}

#[tokio::test]
async fn stream_items_become_a_json_array_or_joined_text() {
    let h = common::harness();
    let v: Vec<u32> = numbers().collect().await;
    assert_eq!(v, [1, 2, 3]);
    let s: Vec<String> = chunks().collect().await;
    assert_eq!(s, ["a", "b"]);
    assert_eq!(
        h.span("numbers").attr_json("langfuse.observation.output"),
        Some(serde_json::json!([1, 2, 3]))
    );
    assert_eq!(
        h.span("chunks").attr_str("langfuse.observation.output"),
        Some("ab")
    );
}
