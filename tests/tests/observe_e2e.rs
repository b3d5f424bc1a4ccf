//! End to end: a three-level `#[observe]` program through the OTLP exporter to the capture
//! server, decoded and checked field by field.

use langfuse_sdk::{observe, Langfuse, TraceAttributes, UsageDetails};
use langfuse_tests::CaptureServer;
use serde_json::json;

#[observe(as_type = "generation")]
async fn call_llm(prompt: String) -> String {
    langfuse_sdk::current_observation()
        .set_model("gpt-4o-mini")
        .set_usage_details(UsageDetails::new().input(10).output(5).total(15));
    format!("answer to {prompt}")
}

#[observe(as_type = "retriever")]
fn retrieve(query: &str) -> Vec<&'static str> {
    let _ = query;
    vec!["doc-1", "doc-2"]
}

#[observe(name = "pipeline")]
async fn pipeline(question: String) -> Result<serde_json::Value, std::io::Error> {
    let _attrs = langfuse_sdk::propagate_attributes(TraceAttributes::new().user_id("user-1"));
    let docs = retrieve(&question);
    let answer = call_llm(format!("{question} with {}", docs.join(","))).await;
    Ok(json!({ "answer": answer }))
}

#[tokio::test]
async fn three_levels_arrive_as_one_trace() {
    let server = CaptureServer::start();
    let lf = Langfuse::builder()
        .public_key("pk-lf-e2e")
        .secret_key("sk-lf-e2e")
        .base_url(server.url())
        .build()
        .unwrap();
    let guard = langfuse_sdk::init_with(lf.clone());
    let out = pipeline("why?".into()).await.unwrap();
    assert_eq!(out["answer"], "answer to why? with doc-1,doc-2");
    drop(guard); // shuts down: delivers everything

    let spans = server.spans();
    assert_eq!(spans.len(), 3);
    let p = spans.iter().find(|s| s.name() == "pipeline").unwrap();
    let r = spans.iter().find(|s| s.name() == "retrieve").unwrap();
    let g = spans.iter().find(|s| s.name() == "call_llm").unwrap();
    assert_eq!(p.parent_id(), None);
    assert_eq!(r.parent_id(), Some(p.id()));
    assert_eq!(g.parent_id(), Some(p.id()));
    assert!(spans.iter().all(|s| s.trace_id() == p.trace_id()));
    assert_eq!(
        p.attr_json("langfuse.observation.input"),
        Some(json!({"question": "why?"}))
    );
    assert_eq!(
        p.attr_json("langfuse.observation.output"),
        Some(json!({"answer": "answer to why? with doc-1,doc-2"}))
    );
    assert_eq!(r.observation_type(), Some("retriever"));
    assert_eq!(
        r.attr_json("langfuse.observation.output"),
        Some(json!(["doc-1", "doc-2"]))
    );
    assert_eq!(g.observation_type(), Some("generation"));
    assert_eq!(
        g.attr_str("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details"),
        Some(json!({"input": 10, "output": 5, "total": 15}))
    );
    // Attributes propagated inside the root reach the root and both children.
    assert!(spans
        .iter()
        .all(|s| s.attr_str("user.id") == Some("user-1")));
    let st = lf.stats();
    assert_eq!((st.exported, st.dropped, st.failed), (3, 0, 0));
}
