//! `#[observe]` and `#[tracing::instrument]` in one program give one tree: each nests in the
//! other, in sync code and across `.await`s that really suspend on a multi-threaded runtime.
mod bridge_common;

use std::collections::HashMap;
use std::sync::Once;

use bridge_common::{harness, tree};
use langfuse_sdk::observe;
use langfuse_sdk::testing::ExportedSpan;
use tracing::Instrument;
use tracing_subscriber::prelude::*;

/// Worker threads need the subscriber too: it is the process's global one.
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::registry()
            .with(langfuse_sdk::bridge::layer())
            .init();
    });
}

// Sync: span → observed → span → observed.
#[tracing::instrument]
fn sync_outer() {
    sync_observed();
}

#[observe]
fn sync_observed() {
    sync_inner();
}

#[tracing::instrument]
fn sync_inner() {
    sync_leaf();
}

#[observe]
fn sync_leaf() {}

#[test]
fn sync_observe_and_instrument_nest_both_ways() {
    install();
    let h = harness();
    sync_outer();
    assert_eq!(
        h.tree(),
        tree(&[
            ("sync_outer", "-"),
            ("sync_observed", "sync_outer"),
            ("sync_inner", "sync_observed"),
            ("sync_leaf", "sync_inner")
        ])
    );
    let spans = h.spans();
    assert!(spans.iter().all(|s| s.trace_id() == spans[0].trace_id()));
}

// Async: observed root → concurrent instrumented branches → observed → instrumented leaf, with
// yields between every step so tasks move between threads.
#[observe]
async fn handle(request: u32) {
    tokio::task::yield_now().await;
    tokio::join!(branch(request, "a"), branch(request, "b"));
    // The SDK's spawn carries the current observation into the task.
    langfuse_sdk::spawn(branch(request, "spawned"))
        .await
        .unwrap();
}

#[tracing::instrument]
async fn branch(request: u32, tag: &'static str) {
    tokio::task::yield_now().await;
    step(request, tag).await;
    tokio::task::yield_now().await;
    sync_in_async(request, tag);
    // A task spawned with the current span enters it on whatever thread runs it.
    tokio::spawn(spawned_leaf(request, tag).in_current_span())
        .await
        .unwrap();
}

#[tracing::instrument]
async fn spawned_leaf(request: u32, tag: &'static str) {
    tokio::task::yield_now().await;
}

#[observe]
async fn step(request: u32, tag: &'static str) {
    tokio::task::yield_now().await;
    leaf(request, tag).await;
    tokio::task::yield_now().await;
}

#[tracing::instrument]
async fn leaf(request: u32, tag: &'static str) {
    tokio::task::yield_now().await;
}

#[observe]
fn sync_in_async(request: u32, tag: &'static str) {}

/// An argument of a span (a metadata key) or of an observed function (its JSON input).
fn arg(s: &ExportedSpan, name: &str) -> serde_json::Value {
    s.attr_json(&format!("langfuse.observation.metadata.{name}"))
        .or_else(|| {
            s.attr_json("langfuse.observation.input")
                .map(|i| i[name].clone())
        })
        .unwrap_or_else(|| panic!("{} has no argument {name}", s.name()))
}

#[test]
fn async_observe_and_instrument_nest_across_awaits_on_many_threads() {
    install();
    let h = harness();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..8).map(|r| tokio::spawn(handle(r))).collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    drop(rt);

    let spans = h.spans();
    let by_id: HashMap<String, &ExportedSpan> = spans.iter().map(|s| (s.id(), s)).collect();
    let parent = |s: &ExportedSpan| -> &ExportedSpan {
        let p = s
            .parent_id()
            .unwrap_or_else(|| panic!("{} is a root", s.name()));
        by_id[&p]
    };
    let count = |n: &str| spans.iter().filter(|s| s.name() == n).count();
    assert_eq!(count("handle"), 8);
    for n in ["branch", "step", "leaf", "sync_in_async", "spawned_leaf"] {
        assert_eq!(count(n), 8 * 3, "{n}");
    }
    for s in &spans {
        match s.name() {
            "handle" => assert_eq!(s.parent_id(), None),
            child => {
                let expected = match child {
                    "branch" => "handle",
                    "step" | "sync_in_async" | "spawned_leaf" => "branch",
                    "leaf" => "step",
                    other => panic!("unexpected span {other}"),
                };
                let p = parent(s);
                assert_eq!(p.name(), expected, "parent of {child}");
                // Under the branch and request that called it, not a concurrent one.
                assert_eq!(arg(p, "request"), arg(s, "request"), "{child}");
                if child != "branch" {
                    assert_eq!(arg(p, "tag"), arg(s, "tag"), "{child}");
                }
                assert_eq!(p.trace_id(), s.trace_id());
            }
        }
    }
    let traces: std::collections::HashSet<String> = spans.iter().map(|s| s.trace_id()).collect();
    assert_eq!(traces.len(), 8);
}
