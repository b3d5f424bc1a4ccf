//! The `tracing` bridge in sync programs: the tree, types and fields that `tracing` spans
//! become; errors; events; which spans are selected; explicit parents.
mod bridge_common;

use bridge_common::{harness, tree};
use langfuse_sdk::bridge::{self, Events, LangfuseLayer, Spans};
use tracing::field::Empty;
use tracing_subscriber::prelude::*;

fn with_layer<R>(
    layer: bridge::FilteredLangfuseLayer<tracing_subscriber::Registry>,
    f: impl FnOnce() -> R,
) -> R {
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f)
}

#[tracing::instrument(fields(user.id = "user-1", session.id = "session-1", tenant = "acme"))]
fn pipeline(question: &str) -> usize {
    let docs = retrieve(question);
    let answer = llm(question);
    lookup("weather");
    docs + answer.len()
}

#[tracing::instrument(skip_all, fields(langfuse.observation.type = "retriever", input = %question))]
fn retrieve(question: &str) -> usize {
    2
}

#[tracing::instrument(skip_all, fields(
    langfuse.observation.type = "generation",
    model = "gpt-4o-mini",
    input = r#"[{"role":"user","content":"hi"}]"#,
    output = Empty,
    usage.input = 12,
    gen_ai.usage.output_tokens = Empty,
))]
fn llm(_question: &str) -> String {
    let span = tracing::Span::current();
    span.record("output", "An answer.");
    span.record("gen_ai.usage.output_tokens", 9);
    "An answer.".into()
}

#[tracing::instrument(fields(as_type = "tool"), ret)]
fn lookup(what: &str) -> u32 {
    21
}

#[test]
fn a_tracing_only_program_gives_the_tree_types_and_fields() {
    let h = harness();
    with_layer(LangfuseLayer::builder().build(), || {
        pipeline("What is Langfuse?")
    });

    assert_eq!(
        h.tree(),
        tree(&[
            ("pipeline", "-"),
            ("retrieve", "pipeline"),
            ("llm", "pipeline"),
            ("lookup", "pipeline")
        ])
    );
    let root = h.span("pipeline");
    assert_eq!(root.observation_type(), Some("span"));
    // #[instrument]'s arguments and declared fields are metadata; user and session are trace
    // attributes, on the span and on everything inside it.
    // (Metadata values go out as JSON; a string argument's Debug quotes are dropped.)
    assert_eq!(
        root.attr_json("langfuse.observation.metadata.question"),
        Some("What is Langfuse?".into())
    );
    assert_eq!(
        root.attr_json("langfuse.observation.metadata.tenant"),
        Some("acme".into())
    );
    for name in ["pipeline", "retrieve", "llm", "lookup"] {
        let s = h.span(name);
        assert_eq!(s.attr_str("user.id"), Some("user-1"), "{name}");
        assert_eq!(s.attr_str("session.id"), Some("session-1"), "{name}");
        assert_eq!(s.trace_id(), root.trace_id());
        assert_eq!(s.attr_str("langfuse.observation.metadata.user.id"), None);
    }

    let r = h.span("retrieve");
    assert_eq!(r.observation_type(), Some("retriever"));
    assert_eq!(
        r.attr_str("langfuse.observation.input"),
        Some("What is Langfuse?")
    );
    assert_eq!(
        r.attr_str("langfuse.observation.metadata.langfuse.observation.type"),
        None
    );

    let g = h.span("llm");
    assert_eq!(g.observation_type(), Some("generation"));
    assert_eq!(
        g.attr_str("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.input"),
        Some(serde_json::json!([{"role": "user", "content": "hi"}]))
    );
    assert_eq!(
        g.attr_str("langfuse.observation.output"),
        Some("An answer.")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details"),
        Some(serde_json::json!({"input": 12, "output": 9}))
    );

    let t = h.span("lookup");
    assert_eq!(t.observation_type(), Some("tool"));
    // `ret`: the return value is the output.
    assert_eq!(t.attr_str("langfuse.observation.output"), Some("21"));
    assert_eq!(
        t.attr_json("langfuse.observation.metadata.what"),
        Some("weather".into())
    );
}

#[derive(Debug)]
struct Refused;
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model refused")
    }
}

#[tracing::instrument(err)]
fn fails() -> Result<(), Refused> {
    Err(Refused)
}

#[tracing::instrument(fields(error = Empty))]
fn records_error() {
    tracing::Span::current().record("error", "quota exceeded");
}

#[tracing::instrument]
fn logs_error() {
    tracing::error!("disk full");
}

#[tracing::instrument]
fn fine() {
    tracing::warn!("just a warning");
}

#[test]
fn errors_mark_the_observation_with_their_message() {
    let h = harness();
    with_layer(LangfuseLayer::builder().build(), || {
        let _ = fails();
        records_error();
        logs_error();
        fine();
    });
    for (name, msg) in [
        ("fails", "the model refused"),
        ("records_error", "quota exceeded"),
        ("logs_error", "disk full"),
    ] {
        let s = h.span(name);
        assert_eq!(
            s.attr_str("langfuse.observation.level"),
            Some("ERROR"),
            "{name}"
        );
        assert_eq!(
            s.attr_str("langfuse.observation.status_message"),
            Some(msg),
            "{name}"
        );
        assert_eq!(s.status_code(), 2, "{name}");
    }
    let ok = h.span("fine");
    assert_eq!(ok.attr_str("langfuse.observation.level"), None);
    assert_eq!(ok.status_code(), 0);
    // Events are ignored by default: only the four spans.
    assert_eq!(h.spans().len(), 4);
}

#[tracing::instrument]
fn chatty() {
    tracing::info!(step = 1, "planning");
    tracing::debug!("too verbose");
    tracing::warn!(retries = 2, "slow backend");
}

#[test]
fn events_become_langfuse_events_when_asked() {
    let h = harness();
    with_layer(
        LangfuseLayer::builder()
            .events(Events::AtLeast(tracing::Level::INFO))
            .build(),
        chatty,
    );
    assert_eq!(
        h.tree(),
        tree(&[
            ("chatty", "-"),
            ("planning", "chatty"),
            ("slow backend", "chatty")
        ])
    );
    let planning = h.span("planning");
    assert_eq!(planning.observation_type(), Some("event"));
    assert_eq!(
        planning.attr_str("langfuse.observation.metadata.step"),
        Some("1")
    );
    assert_eq!(
        planning.attr_str("langfuse.observation.level"),
        Some("DEFAULT")
    );
    let slow = h.span("slow backend");
    assert_eq!(slow.attr_str("langfuse.observation.level"), Some("WARNING"));
    assert_eq!(
        slow.attr_str("langfuse.observation.metadata.retries"),
        Some("2")
    );
    assert_eq!(
        slow.attr_json("langfuse.observation.metadata.target"),
        Some("bridge_tree".into())
    );
}

mod selected {
    #[tracing::instrument]
    pub fn outer() {
        super::unselected::middle();
    }
    #[tracing::instrument]
    pub fn inner() {}
}

mod unselected {
    #[tracing::instrument]
    pub fn middle() {
        tracing::info_span!("noise").in_scope(super::selected::inner);
    }
    #[tracing::instrument(fields(langfuse.observation.type = "agent"))]
    pub fn marked() {
        plain();
    }
    #[tracing::instrument]
    pub fn plain() {}
}

#[test]
fn spans_outside_a_target_produce_nothing_and_children_skip_them() {
    let h = harness();
    with_layer(
        LangfuseLayer::builder()
            .target("bridge_tree::selected")
            .build(),
        || {
            selected::outer();
            unselected::marked();
        },
    );
    assert_eq!(h.tree(), tree(&[("outer", "-"), ("inner", "outer")]));
}

#[test]
fn only_spans_with_langfuse_fields_when_asked() {
    let h = harness();
    with_layer(
        LangfuseLayer::builder()
            .spans(Spans::WithLangfuseFields)
            .build(),
        || {
            selected::outer();
            unselected::marked();
        },
    );
    assert_eq!(h.tree(), tree(&[("marked", "-")]));
    assert_eq!(h.span("marked").observation_type(), Some("agent"));
}

#[test]
fn explicit_parents_and_roots_are_followed() {
    let h = harness();
    with_layer(LangfuseLayer::builder().build(), || {
        let a = tracing::info_span!("a");
        let b = tracing::info_span!("b");
        let _in_b = b.enter();
        // Created inside b, but with a as its parent.
        tracing::info_span!(parent: &a, "under_a").in_scope(|| {});
        tracing::info_span!(parent: None, "new_root").in_scope(|| {});
        tracing::info_span!("under_b").in_scope(|| {});
    });
    assert_eq!(
        h.tree(),
        tree(&[
            ("a", "-"),
            ("b", "-"),
            ("under_a", "a"),
            ("new_root", "-"),
            ("under_b", "b")
        ])
    );
    let spans = h.spans();
    let trace = |n: &str| spans.iter().find(|s| s.name() == n).unwrap().trace_id();
    assert_eq!(trace("under_a"), trace("a"));
    assert_ne!(trace("new_root"), trace("b"));
    assert_ne!(trace("a"), trace("b"));
}

#[test]
fn a_span_ends_when_it_closes_not_when_it_exits() {
    let h = harness();
    with_layer(LangfuseLayer::builder().build(), || {
        let s = tracing::info_span!("long", output = Empty);
        s.in_scope(|| {});
        s.in_scope(|| {});
        h.client.flush(std::time::Duration::from_secs(10)).unwrap();
        assert!(h.exporter.spans().is_empty(), "still open: nothing sent");
        s.record("output", "done");
    });
    let s = h.span("long");
    assert_eq!(s.attr_str("langfuse.observation.output"), Some("done"));
}

#[test]
fn nothing_is_sent_when_tracing_is_off() {
    let h = harness();
    let off = langfuse_sdk::Langfuse::builder()
        .tracing_enabled(false)
        .build()
        .unwrap();
    with_layer(LangfuseLayer::builder().client(off).build(), || {
        pipeline("q")
    });
    assert!(h.spans().is_empty());
}

#[test]
fn the_sdks_own_diagnostics_are_never_observations() {
    let h = harness();
    with_layer(
        LangfuseLayer::builder()
            .events(Events::AtLeast(tracing::Level::TRACE))
            .build(),
        || {
            tracing::info_span!("work").in_scope(|| {
                // What the SDK's warnings look like (target `langfuse_sdk`), and an ERROR one,
                // which would otherwise mark the span failed.
                tracing::warn!(target: "langfuse_sdk", "Langfuse queue full");
                tracing::error!(target: "langfuse_sdk::export", "Langfuse refused a request");
                tracing::span!(target: "langfuse_sdk", tracing::Level::INFO, "sdk_span")
                    .in_scope(|| {});
                tracing::warn!("the application's own warning");
            });
        },
    );
    assert_eq!(
        h.tree(),
        tree(&[("work", "-"), ("the application's own warning", "work")])
    );
    assert_eq!(h.span("work").attr_str("langfuse.observation.level"), None);
}

#[langfuse_sdk::observe]
fn observed_inside() {}

#[test]
fn an_unsampled_span_keeps_what_runs_inside_it_unsampled() {
    let h = harness();
    let unsampled = langfuse_sdk::Langfuse::builder()
        .in_memory_exporter(h.exporter.clone())
        .sample_rate(0.0)
        .build()
        .unwrap();
    with_layer(
        LangfuseLayer::builder().client(unsampled.clone()).build(),
        || {
            tracing::info_span!("dropped").in_scope(|| {
                // Started with the (sampled) global client's builder, but under the unsampled
                // span: unsampled too, like everything in its trace.
                observed_inside();
                tracing::info_span!("dropped_child").in_scope(observed_inside);
            });
            // Outside it, the global client records as usual.
            observed_inside();
        },
    );
    unsampled.flush(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(h.tree(), tree(&[("observed_inside", "-")]));
}
