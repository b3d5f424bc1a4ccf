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
