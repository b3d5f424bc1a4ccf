//! Issue 21: trace attributes and scores over their limits are cut, not dropped, with one
//! warning per kind of value; non-ASCII ids are sent as they are. (One test: the warnings are
//! once per process.)
#![cfg(feature = "testing")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::{Langfuse, Score, TraceAttributes};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const T: Duration = Duration::from_secs(30);

/// Keeps every event's message.
struct Catch(Arc<Mutex<Vec<String>>>);
struct Message<'a>(&'a mut String);
impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}
impl Subscriber for Catch {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut m = String::new();
        e.record(&mut Message(&mut m));
        self.0.lock().unwrap().push(m);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn capture_attributes_are_cut_to_the_limit_with_one_warning_per_kind() {
    let exp = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exp.clone())
        .build()
        .unwrap();
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let long_session = "é".repeat(300);
    let trace_id = tracing::subscriber::with_default(Catch(warnings.clone()), || {
        let attrs = TraceAttributes::new()
            .user_id("jürgen@example.com")
            .session_id(long_session.as_str())
            // A second over-long session id: cut alike, without a second warning.
            .session_id(format!("{long_session}!"))
            .tags(["t".repeat(250), "short".to_string()]);
        let root = lf.span("root").start();
        attrs.scope(|| lf.span("child").start().end());
        root.end();
        lf.score(
            Score::text("n".repeat(300), "x".repeat(600))
                .trace_id(root.trace_id().unwrap())
                .comment("c".repeat(6000)),
        );
        root.trace_id().unwrap()
    });
    lf.flush(T).unwrap();

    let spans = exp.spans();
    let child = spans.iter().find(|s| s.name() == "child").unwrap();
    assert_eq!(child.attr_str("user.id"), Some("jürgen@example.com"));
    assert_eq!(
        child.attr_str("session.id"),
        Some("é".repeat(200).as_str()),
        "cut at 200 characters"
    );
    assert_eq!(
        child.attr_strings("langfuse.trace.tags"),
        Some(vec!["t".repeat(200), "short".to_string()])
    );

    let scores = exp.scores();
    assert_eq!(scores.len(), 1, "the score is sent, cut");
    let body = &scores[0]["body"];
    assert_eq!(body["traceId"], trace_id.to_string());
    assert_eq!(body["name"], "n".repeat(200));
    assert_eq!(body["value"], "x".repeat(500));
    assert_eq!(body["comment"], "c".repeat(5000));

    let warnings = warnings.lock().unwrap();
    let count = |what: &str| warnings.iter().filter(|w| w.starts_with(what)).count();
    assert_eq!(count("session id"), 1, "{warnings:#?}");
    assert_eq!(count("trace tag"), 1, "{warnings:#?}");
    assert_eq!(count("score name"), 1, "{warnings:#?}");
    assert_eq!(count("score value"), 1, "{warnings:#?}");
    assert_eq!(count("score comment"), 1, "{warnings:#?}");
    assert_eq!(count("trace user id"), 0, "{warnings:#?}");
}
