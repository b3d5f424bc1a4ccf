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
    // A kept trace's id is one the sample rate keeps: the id a sync root decided on is the
    // one its observation got.
    assert!(roots
        .iter()
        .all(|r| h.client.is_sampled(r.trace_id().parse().unwrap())));
    // Whole traces: every kept root has its child, and no child is kept without its root.
    assert_eq!(children.len(), roots.len());
    let root_ids: std::collections::HashSet<String> = roots.iter().map(|r| r.id()).collect();
    assert!(children
        .iter()
        .all(|c| c.parent_id().is_some_and(|p| root_ids.contains(&p))));
}

#[observe]
fn nested_trace_id() -> Option<langfuse_sdk::TraceId> {
    langfuse_sdk::current_observation().trace_id()
}

/// What an unsampled root sees: its trace id, whether it records, its child's trace id.
#[observe]
fn unsampled_root() -> (
    Option<langfuse_sdk::TraceId>,
    bool,
    Option<langfuse_sdk::TraceId>,
) {
    let o = langfuse_sdk::current_observation();
    (o.trace_id(), o.is_recording(), nested_trace_id())
}

#[observe]
fn unsampled_root_panics() {
    assert!(langfuse_sdk::current_observation().trace_id().is_some());
    panic!("boom");
}

#[test]
fn an_unsampled_root_is_current_while_it_runs_and_left_after() {
    let h = common::harness_with(|b| b.sample_rate(0.0));
    let (t, recording, nested) = unsampled_root();
    assert!(
        t.is_some(),
        "an unsampled trace still has an id, for propagation"
    );
    assert!(!recording);
    assert_eq!(nested, t, "the child is in the same (unsampled) trace");
    assert_eq!(langfuse_sdk::current_observation().trace_id(), None);
    let (t2, ..) = unsampled_root();
    assert!(
        t2.is_some() && t2 != t,
        "the next call starts another trace"
    );
    // A panic leaves the trace too.
    assert!(std::panic::catch_unwind(unsampled_root_panics).is_err());
    assert_eq!(langfuse_sdk::current_observation().trace_id(), None);
    // Inside an observation the caller opened, the call is its child, not a new trace.
    let outer = h.client.span("outer").start();
    let _g = outer.enter();
    let (t3, ..) = unsampled_root();
    assert_eq!(t3, outer.trace_id());
    drop(_g);
    assert_eq!(langfuse_sdk::current_observation().trace_id(), None);
    assert!(h.spans().is_empty());
}
