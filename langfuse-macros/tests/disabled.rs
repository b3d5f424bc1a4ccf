//! Disabled tracing, an unsampled trace, or IO capture off: no argument is serialised.
mod common;
use langfuse_sdk::observe;

struct Explodes;
impl serde::Serialize for Explodes {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("must not be serialised")
    }
}

#[observe]
fn takes(x: &Explodes) -> Explodes {
    let _ = x;
    Explodes
}

#[observe]
fn root_calls() -> u8 {
    let _ = takes(&Explodes);
    1
}

#[test]
fn io_capture_off_records_structure_only() {
    let h = common::harness_with(|b| b.io_capture(false));
    let _ = takes(&Explodes);
    let s = h.span("takes");
    assert_eq!(s.attr_str("langfuse.observation.input"), None);
    assert_eq!(s.attr_str("langfuse.observation.output"), None);
}

#[test]
fn unsampled_traces_serialise_nothing() {
    let h = common::harness_with(|b| b.sample_rate(0.0));
    assert_eq!(root_calls(), 1);
    assert!(h.spans().is_empty());
}

#[test]
fn disabled_tracing_serialises_nothing() {
    let h = common::harness_with(|b| b.tracing_enabled(false));
    assert_eq!(root_calls(), 1);
    assert!(h.spans().is_empty());
}

#[observe]
fn child_of_sampled() -> u8 {
    2
}

#[observe]
fn maybe_sampled_root(i: u32) -> u32 {
    child_of_sampled();
    i
}

#[test]
fn children_follow_the_roots_sampling_decision() {
    let h = common::harness_with(|b| b.sample_rate(0.5));
    for i in 0..400 {
        maybe_sampled_root(i);
    }
    let spans = h.spans();
    let roots: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "maybe_sampled_root")
        .collect();
    let children: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "child_of_sampled")
        .collect();
    assert!(
        (100..=300).contains(&roots.len()),
        "about half kept: {}",
        roots.len()
    );
    // Whole traces: every kept root has its child, and no child is kept without its root.
    assert_eq!(children.len(), roots.len());
    let root_ids: std::collections::HashSet<String> = roots.iter().map(|r| r.id()).collect();
    assert!(children
        .iter()
        .all(|c| c.parent_id().is_some_and(|p| root_ids.contains(&p))));
}
