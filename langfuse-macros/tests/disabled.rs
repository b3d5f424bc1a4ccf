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
