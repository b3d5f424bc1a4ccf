//! Methods under `#[async_trait]`, alone and with `#[tracing::instrument]` in either order, and
//! the same shape written by hand: `Box::pin(async move { … })` with other spellings of the paths.
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

struct Manual;

impl Manual {
    #[observe(as_type = "tool")]
    fn fetch(
        &self,
        n: u32,
    ) -> std::pin::Pin<std::boxed::Box<dyn core::future::Future<Output = u32> + Send + '_>> {
        ::std::boxed::Box::pin(async move {
            tokio::task::yield_now().await;
            inner_step(n).await * 10
        })
    }

    #[observe]
    fn fail(
        &self,
    ) -> ::core::pin::Pin<
        Box<dyn ::std::future::Future<Output = ::core::result::Result<u8, String>> + Send>,
    > {
        std::boxed::Box::pin(async { Err("no data".to_string()) })
    }
}

#[tokio::test]
async fn hand_written_boxed_futures_are_observed_as_futures() {
    let h = common::harness();
    let fut = Manual.fetch(4);
    // Creating the future ends nothing: the observation spans the future's run.
    assert!(h.spans().iter().all(|s| s.name() != "fetch"));
    assert_eq!(fut.await, 50);
    assert_eq!(Manual.fail().await, Err("no data".to_string()));
    let spans = h.spans();
    let fetch = h.span("fetch");
    assert_eq!(fetch.observation_type(), Some("tool"));
    assert_eq!(
        fetch.attr_json("langfuse.observation.input"),
        Some(json!({"n": 4}))
    );
    // The future's output, not the boxed future's type name.
    assert_eq!(fetch.attr_str("langfuse.observation.output"), Some("50"));
    let child = spans.iter().find(|s| s.name() == "inner_step").unwrap();
    assert_eq!(child.parent_id(), Some(fetch.id()));
    let fail = h.span("fail");
    assert_eq!(fail.attr_str("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        fail.attr_str("langfuse.observation.status_message"),
        Some("no data")
    );
}
