//! Sync nesting: the outermost observed call is the root, nested calls are children.
mod common;
use langfuse_sdk::observe;
use serde_json::json;

#[observe]
fn leaf(x: u32) -> u32 {
    x * 2
}

#[observe]
fn middle(x: u32) -> u32 {
    leaf(x) + leaf(x + 1)
}

#[observe(name = "pipeline")]
fn outer(question: &str) -> String {
    let n = middle(1);
    format!("{question}:{n}")
}

#[test]
fn nested_calls_form_one_tree_with_inputs_and_outputs() {
    let h = common::harness();
    assert_eq!(outer("q"), "q:6");
    let spans = h.spans();
    assert_eq!(spans.len(), 4);
    let t = h.tree();
    assert_eq!(t["pipeline"], "-");
    assert_eq!(t["middle"], "pipeline");
    let leaves: Vec<_> = spans.iter().filter(|s| s.name() == "leaf").collect();
    assert_eq!(leaves.len(), 2);
    let mid = h.span("middle");
    assert!(leaves.iter().all(|l| l.parent_id() == Some(mid.id())));
    let root = h.span("pipeline");
    assert_eq!(
        root.attr_json("langfuse.observation.input"),
        Some(json!({"question": "q"}))
    );
    assert_eq!(root.attr_str("langfuse.observation.output"), Some("q:6"));
    assert_eq!(root.observation_type(), Some("span"));
    assert_eq!(
        leaves[0].attr_json("langfuse.observation.input"),
        Some(json!({"x": 1}))
    );
    assert_eq!(
        leaves[0].attr_json("langfuse.observation.output"),
        Some(json!(2))
    );
}

/// An output whose `Serialize` records an observation of its own: it runs as the SDK ends the
/// outer observation.
struct RecordsWhileSerialized;
impl serde::Serialize for RecordsWhileSerialized {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        leaf(20);
        s.serialize_str("serialized")
    }
}

#[observe]
fn returns_reentrant() -> RecordsWhileSerialized {
    RecordsWhileSerialized
}

#[test]
fn an_output_that_records_while_serialized_neither_deadlocks_nor_loses_either() {
    let h = common::harness();
    let _ = returns_reentrant();
    let outer = h.span("returns_reentrant");
    assert_eq!(
        outer.attr_str("langfuse.observation.output"),
        Some("serialized")
    );
    // The output is captured after the function's context was left, so what its `Serialize`
    // records is a root of its own (as it was when outputs were captured into a buffer).
    let inner = h.span("leaf");
    assert_eq!(inner.attr_str("langfuse.observation.output"), Some("40"));
    assert_eq!(h.tree()["leaf"], "-");
}

/// An argument whose `Serialize` makes observed calls of its own, with children: it runs as the
/// SDK starts the outer observation.
struct ArgRecordsWhileSerialized;
impl serde::Serialize for ArgRecordsWhileSerialized {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        middle(5);
        s.serialize_str("arg")
    }
}

#[observe]
fn takes_reentrant(a: ArgRecordsWhileSerialized) -> u32 {
    let _ = a;
    1
}

#[test]
fn an_argument_that_records_while_serialized_keeps_its_calls_nested() {
    let h = common::harness();
    assert_eq!(takes_reentrant(ArgRecordsWhileSerialized), 1);
    let outer = h.span("takes_reentrant");
    assert_eq!(
        outer.attr_json("langfuse.observation.input"),
        Some(json!({"a": "arg"}))
    );
    // The input is captured before the outer observation is current (and outside the SDK's
    // hold on the thread's context): `middle` is a root of its own, and its leaves nest in it.
    let spans = h.spans();
    assert_eq!(spans.len(), 4);
    let mid = h.span("middle");
    assert_eq!(h.tree()["middle"], "-");
    let leaves: Vec<_> = spans.iter().filter(|s| s.name() == "leaf").collect();
    assert_eq!(leaves.len(), 2);
    assert!(leaves.iter().all(|l| l.parent_id() == Some(mid.id())));
}

/// A body that makes its own observation current and forgets the guard.
#[observe]
fn forgets_a_guard() -> u32 {
    std::mem::forget(langfuse_sdk::current_observation().enter());
    1
}

#[test]
fn a_guard_forgotten_in_the_body_does_not_outlive_the_call() {
    let h = common::harness();
    assert_eq!(forgets_a_guard(), 1);
    // The call restored the caller's context (nothing current) over what the body left.
    assert_eq!(langfuse_sdk::current_observation_id(), None);
    assert_eq!(leaf(1), 2);
    let t = h.tree();
    assert_eq!(t["forgets_a_guard"], "-", "recorded, as a root");
    assert_eq!(t["leaf"], "-", "the next call starts a trace of its own");
}
