//! Methods under `#[async_trait]`, alone and with `#[tracing::instrument]` in either order.
mod common;
use async_trait::async_trait;
use langfuse_sdk::observe;
use serde_json::json;

#[async_trait]
trait Tool {
    async fn run(&self, input: String) -> Result<String, String>;
    async fn check(&self, n: u32) -> u32;
    async fn third(&self) -> u8;
}

struct Search;

#[observe]
async fn inner_step(x: u32) -> u32 {
    x + 1
}

#[async_trait]
impl Tool for Search {
    #[observe(as_type = "tool")]
    async fn run(&self, input: String) -> Result<String, String> {
        tokio::task::yield_now().await;
        if input.is_empty() {
            return Err("empty input".into());
        }
        inner_step(1).await;
        Ok(format!("found {input}"))
    }

    #[observe]
    #[tracing::instrument(skip(self))]
    async fn check(&self, n: u32) -> u32 {
        inner_step(n).await
    }

    #[tracing::instrument(skip(self))]
    #[observe]
    async fn third(&self) -> u8 {
        inner_step(0).await;
        3
    }
}

#[tokio::test]
async fn async_trait_methods_are_observed_with_children() {
    let h = common::harness();
    let s = Search;
    assert_eq!(s.run("rust".into()).await.unwrap(), "found rust");
    assert!(s.run(String::new()).await.is_err());
    assert_eq!(s.check(4).await, 5);
    assert_eq!(s.third().await, 3);
    let spans = h.spans();
    let runs: Vec<_> = spans.iter().filter(|s| s.name() == "run").collect();
    assert_eq!(runs.len(), 2);
    let ok = runs
        .iter()
        .find(|s| s.attr_str("langfuse.observation.output") == Some("found rust"))
        .unwrap();
    assert_eq!(ok.observation_type(), Some("tool"));
    assert_eq!(
        ok.attr_json("langfuse.observation.input"),
        Some(json!({"input": "rust"}))
    );
    let err = runs
        .iter()
        .find(|s| s.attr_str("langfuse.observation.level") == Some("ERROR"))
        .unwrap();
    assert_eq!(
        err.attr_str("langfuse.observation.status_message"),
        Some("empty input")
    );
    // Children nest under each observed method, whatever the attribute order.
    for parent in ["run", "check", "third"] {
        let ids: Vec<String> = spans
            .iter()
            .filter(|s| s.name() == parent)
            .map(|s| s.id())
            .collect();
        assert!(
            spans
                .iter()
                .filter(|s| s.name() == "inner_step")
                .any(|c| c.parent_id().is_some_and(|p| ids.contains(&p))),
            "an inner_step under {parent}"
        );
    }
    assert_eq!(
        h.span("check").attr_str("langfuse.observation.output"),
        Some("5")
    );
    assert_eq!(
        h.span("third").attr_str("langfuse.observation.output"),
        Some("3")
    );
}
