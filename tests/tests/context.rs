//! The current observation follows the code: sync nesting, `.await`, concurrent siblings,
//! spawned tasks, blocking tasks and threads (through the helpers), in both tokio flavours.

use std::collections::HashMap;
use std::time::Duration;

use langfuse_sdk::testing::{ExportedSpan, InMemoryExporter};
use langfuse_sdk::{Context, Langfuse, WithContext};

const T: Duration = Duration::from_secs(10);

fn setup() -> (Langfuse, InMemoryExporter) {
    let exp = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exp.clone())
        .build()
        .unwrap();
    (lf, exp)
}

/// name -> parent name (or "-" for roots); asserts one trace.
fn tree(spans: &[ExportedSpan]) -> HashMap<String, String> {
    let traces: std::collections::HashSet<String> = spans.iter().map(|s| s.trace_id()).collect();
    assert_eq!(traces.len(), 1, "all spans share one trace");
    langfuse_sdk::testing::parent_names(spans)
}

fn expect(spans: &[ExportedSpan], pairs: &[(&str, &str)]) {
    let t = tree(spans);
    assert_eq!(t.len(), pairs.len(), "{t:?}");
    for (child, parent) in pairs {
        assert_eq!(
            t.get(*child).map(String::as_str),
            Some(*parent),
            "parent of {child} in {t:?}"
        );
    }
}

#[test]
fn sync_nesting_with_guards() {
    let (lf, exp) = setup();
    let a = lf.span("a").start();
    {
        let _g = a.enter();
        let b = lf.span("b").start();
        {
            let _g = b.enter();
            lf.span("c").start().end();
        }
        lf.span("d").start().end();
        assert_eq!(langfuse_sdk::current_observation_id(), a.id());
    }
    assert_eq!(langfuse_sdk::current_observation_id(), None);
    drop(a);
    lf.flush(T).unwrap();
    expect(
        &exp.spans(),
        &[("a", "-"), ("b", "a"), ("c", "b"), ("d", "a")],
    );
}

async fn leaf(lf: Langfuse, name: &'static str) {
    let o = lf.span(name).start();
    tokio::task::yield_now().await;
    o.end();
}

async fn branch(lf: Langfuse, name: &'static str, kids: [&'static str; 2]) {
    let o = lf.span(name).start();
    let ctx = o.context();
    async {
        tokio::task::yield_now().await;
        leaf(lf.clone(), kids[0]).await;
        tokio::task::yield_now().await;
        leaf(lf.clone(), kids[1]).await;
    }
    .with_context(ctx)
    .await;
    o.end();
}

async fn concurrent_tree(lf: Langfuse) {
    let root = lf.span("root").start();
    let ctx = root.context();
    async {
        // Siblings polled concurrently on one task keep their own parents.
        tokio::join!(
            branch(lf.clone(), "x", ["x1", "x2"]),
            branch(lf.clone(), "y", ["y1", "y2"]),
        );
        tokio::select! {
            _ = branch(lf.clone(), "z", ["z1", "z2"]) => {}
            _ = std::future::pending::<()>() => {}
        }
        // Spawned task, blocking task and thread through the helpers.
        langfuse_sdk::spawn(leaf(lf.clone(), "spawned"))
            .await
            .unwrap();
        let lf2 = lf.clone();
        langfuse_sdk::spawn_blocking(move || lf2.span("blocking").start().end())
            .await
            .unwrap();
        let lf3 = lf.clone();
        langfuse_sdk::thread_spawn(move || lf3.span("thread").start().end())
            .join()
            .unwrap();
    }
    .with_context(ctx)
    .await;
    root.end();
}

fn check_concurrent(exp: &InMemoryExporter) {
    expect(
        &exp.spans(),
        &[
            ("root", "-"),
            ("x", "root"),
            ("x1", "x"),
            ("x2", "x"),
            ("y", "root"),
            ("y1", "y"),
            ("y2", "y"),
            ("z", "root"),
            ("z1", "z"),
            ("z2", "z"),
            ("spawned", "root"),
            ("blocking", "root"),
            ("thread", "root"),
        ],
    );
}

#[tokio::test(flavor = "current_thread")]
async fn async_nesting_current_thread() {
    let (lf, exp) = setup();
    concurrent_tree(lf.clone()).await;
    lf.flush(T).unwrap();
    check_concurrent(&exp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_nesting_multi_thread() {
    let (lf, exp) = setup();
    concurrent_tree(lf.clone()).await;
    lf.flush(T).unwrap();
    check_concurrent(&exp);
}

#[test]
fn context_does_not_leak_between_tasks() {
    let (lf, exp) = setup();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let a = lf.span("a").start();
        let fa = leaf(lf.clone(), "in-a").with_context(a.context());
        // A task polled between a's polls sees no current observation.
        let probe = async {
            tokio::task::yield_now().await;
            assert_eq!(langfuse_sdk::current_observation_id(), None);
        };
        tokio::join!(fa, probe);
        a.end();
    });
    lf.flush(T).unwrap();
    expect(&exp.spans(), &[("a", "-"), ("in-a", "a")]);
}

#[test]
fn traceparent_in_and_out() {
    let (lf, exp) = setup();
    let ctx = Context::from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .unwrap();
    ctx.in_scope(|| {
        assert_eq!(
            langfuse_sdk::current_traceparent().as_deref(),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
        let s = lf.span("server-side").start();
        let _g = s.enter();
        let out = langfuse_sdk::current_traceparent().unwrap();
        assert_eq!(
            out,
            format!("00-0af7651916cd43dd8448eb211c80319c-{}-01", s.id().unwrap())
        );
    });
    lf.flush(T).unwrap();
    let spans = exp.spans();
    assert_eq!(spans[0].trace_id(), "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(spans[0].parent_id().as_deref(), Some("b7ad6b7169203331"));
    assert!(Context::from_traceparent("garbage")
        .unwrap_err()
        .is_invalid_id());
}

#[test]
fn sampling_is_per_trace_and_unsampled_traces_capture_nothing() {
    let exp = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exp.clone())
        .sample_rate(0.5)
        .build()
        .unwrap();
    struct Panics;
    impl serde::Serialize for Panics {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            panic!("an unsampled trace must not serialise its values")
        }
    }
    let mut kept = 0;
    for i in 0..200 {
        let root = lf.span(format!("root{i}")).start();
        let _g = root.enter();
        if root.is_recording() {
            kept += 1;
            lf.span("child").start().end();
        } else {
            let child = lf.span("child").input(&Panics).start();
            assert!(!child.is_recording(), "children follow the root's decision");
            assert_eq!(child.trace_id(), root.trace_id());
            child.set_output(&Panics);
        }
    }
    lf.flush(T).unwrap();
    assert!((60..=140).contains(&kept), "about half kept: {kept}");
    assert_eq!(exp.spans().len(), kept * 2);
    // Deterministic per id.
    let id = langfuse_sdk::create_trace_id("fixed");
    let a = lf.is_sampled(id);
    assert!((0..10).all(|_| lf.is_sampled(id) == a));
}

#[test]
fn disabled_client_is_a_noop_and_captures_nothing() {
    let lf = Langfuse::builder().tracing_enabled(false).build().unwrap();
    struct Panics;
    impl serde::Serialize for Panics {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            panic!("disabled tracing must not serialise values")
        }
    }
    let o = lf.span("x").input(&Panics).start();
    o.set_output(&Panics).set_metadata(&Panics);
    assert!(!o.is_recording());
    assert_eq!(o.trace_id(), None);
    lf.flush(T).unwrap();
    assert_eq!(lf.stats(), Default::default());
    // No keys: disabled with a warning, never an error.
    let no_keys = Langfuse::builder().build().unwrap();
    assert!(!no_keys.is_enabled());
    // The global getter never panics without init.
    assert!(!langfuse_sdk::client().is_enabled());
}
