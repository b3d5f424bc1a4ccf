//! Log lines written inside an observation carry its Langfuse trace id, with the bridge and a
//! `fmt` layer in one registry.
mod bridge_common;

use std::io;
use std::sync::{Arc, Mutex};

use bridge_common::harness;
use langfuse_sdk::bridge::{LangfuseLayer, WithTraceId};
use langfuse_sdk::observe;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// Collects what the `fmt` layer writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tracing::instrument]
fn handler() {
    tracing::info!("inside the span");
    observed();
}

#[observe]
fn observed() {
    tracing::warn!("inside an observed function");
}

fn line_with<'a>(lines: &'a [String], text: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?} in {lines:?}"))
}

#[test]
fn log_lines_inside_an_observation_carry_its_trace_id() {
    let h = harness();
    let out = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(LangfuseLayer::builder().build())
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(out.clone())
                .event_format(WithTraceId::new(tracing_subscriber::fmt::format())),
        );
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("before any observation");
        handler();
        tracing::info!("after it");
    });

    let trace_id = h.span("handler").trace_id();
    assert_eq!(h.span("observed").trace_id(), trace_id);
    let lines = out.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let suffix = format!(" langfuse.trace_id={trace_id}");
    for text in ["inside the span", "inside an observed function"] {
        let line = line_with(&lines, text);
        assert!(line.ends_with(&suffix), "{line}");
        // The rest of the line is the fmt layer's, span context included.
        assert!(line.contains("handler"), "{line}");
    }
    for text in ["before any observation", "after it"] {
        let line = line_with(&lines, text);
        assert!(!line.contains("langfuse.trace_id"), "{line}");
    }
}

#[tracing::instrument]
fn unselected_work() {
    tracing::info!("logged in an unselected span");
}

#[test]
fn spans_the_bridge_leaves_out_still_reach_other_layers() {
    let h = harness();
    let out = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(LangfuseLayer::builder().target("some_other_crate").build())
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(out.clone())
                .event_format(WithTraceId::new(tracing_subscriber::fmt::format())),
        );
    tracing::subscriber::with_default(subscriber, unselected_work);
    assert!(h.spans().is_empty());
    let lines = out.lines();
    let line = line_with(&lines, "logged in an unselected span");
    assert!(line.contains("unselected_work"), "{line}");
    assert!(!line.contains("langfuse.trace_id"), "{line}");
}
