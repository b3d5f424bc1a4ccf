//! Every option of `#[observe]`.
mod common;
use langfuse_sdk::observe;
use serde_json::json;

#[observe(name = "custom-name")]
fn named() {}

#[observe(as_type = "generation")]
fn generation() {}
#[observe(as_type = "agent")]
fn agent() {}
#[observe(as_type = "tool")]
fn tool() {}
#[observe(as_type = "chain")]
fn chain() {}
#[observe(as_type = "retriever")]
fn retriever() {}
#[observe(as_type = "embedding")]
fn embedding() {}
#[observe(as_type = "evaluator")]
fn evaluator() {}
#[observe(as_type = "guardrail")]
fn guardrail() {}
#[observe(as_type = "span")]
fn span() {}

#[observe(capture_input = false)]
fn no_input(secret: &str) -> usize {
    secret.len()
}

#[observe(capture_output = false)]
fn no_output(x: u8) -> String {
    format!("private {x}")
}

#[observe(skip(password, token))]
fn login(user: &str, password: &str, token: u64) -> bool {
    !user.is_empty() && !password.is_empty() && token > 0
}

#[observe(skip_all)]
fn nothing_captured(a: u8, b: u8) -> u8 {
    a + b
}

#[observe(metadata(team = "search", retries = 3, beta = true), version = "v2")]
fn with_statics() {}

mod reexport {
    pub use langfuse_sdk as lf;
}

#[observe(crate = reexport::lf, name = "via-reexport")]
fn via_reexport() {}

#[observe(crate = "reexport::lf")]
fn via_string_path() {}

#[test]
fn names_and_types() {
    let h = common::harness();
    named();
    for f in [
        generation, agent, tool, chain, retriever, embedding, evaluator, guardrail, span,
    ] {
        f();
    }
    let spans = h.spans();
    assert!(spans.iter().any(|s| s.name() == "custom-name"));
    for ty in [
        "generation",
        "agent",
        "tool",
        "chain",
        "retriever",
        "embedding",
        "evaluator",
        "guardrail",
        "span",
    ] {
        let s = spans.iter().find(|s| s.name() == ty).unwrap();
        assert_eq!(s.observation_type(), Some(ty));
    }
}

#[test]
fn capture_switches_and_skips() {
    let h = common::harness();
    no_input("hunter2");
    no_output(1);
    login("ann", "hunter2", 99);
    nothing_captured(1, 2);
    let a = h.span("no_input");
    assert_eq!(a.attr_str("langfuse.observation.input"), None);
    assert_eq!(a.attr_str("langfuse.observation.output"), Some("7"));
    let b = h.span("no_output");
    assert_eq!(
        b.attr_json("langfuse.observation.input"),
        Some(json!({"x": 1}))
    );
    assert_eq!(b.attr_str("langfuse.observation.output"), None);
    let l = h.span("login");
    assert_eq!(
        l.attr_json("langfuse.observation.input"),
        Some(json!({"user": "ann"}))
    );
    let n = h.span("nothing_captured");
    assert_eq!(n.attr_json("langfuse.observation.input"), Some(json!({})));
    assert_eq!(n.attr_str("langfuse.observation.output"), Some("3"));
}

#[test]
fn static_metadata_version_and_crate_path() {
    let h = common::harness();
    with_statics();
    via_reexport();
    via_string_path();
    let s = h.span("with_statics");
    assert_eq!(
        s.attr_str("langfuse.observation.metadata.team"),
        Some("\"search\"")
    );
    assert_eq!(
        s.attr_str("langfuse.observation.metadata.retries"),
        Some("3")
    );
    assert_eq!(
        s.attr_str("langfuse.observation.metadata.beta"),
        Some("true")
    );
    assert_eq!(s.attr_str("langfuse.version"), Some("v2"));
    h.span("via-reexport");
    h.span("via_string_path");
}
