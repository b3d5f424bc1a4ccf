//! The Responses API through the proxy (its fake upstream serves `/v1/responses`, plain and
//! streamed with the API's event types), recorded as generations.

use langfuse_openai::ResponsesRequest;

use super::*;

fn close(v: &serde_json::Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-12)
}

#[tokio::test]
async fn responses_plain_and_streamed_are_generations_with_usage_and_cost() {
    let s = setup();
    let req = ResponsesRequest::new("fake-details", "hi").max_output_tokens(64);
    let r = s.client.responses(req.clone()).await.unwrap();
    assert_eq!(r.output_text(), "Hello from the fake upstream.");
    assert_eq!(r.status.as_deref(), Some("completed"));

    let mut stream = s.client.responses_stream(req).await.unwrap();
    let mut kinds = Vec::new();
    let mut text = String::new();
    while let Some(ev) = stream.next().await {
        let ev = ev.unwrap();
        text.push_str(ev.text_delta().unwrap_or_default());
        kinds.push(ev.kind);
    }
    assert_eq!(text, "Hello from the fake upstream.");
    assert_eq!(kinds.first().map(String::as_str), Some("response.created"));
    assert_eq!(kinds.last().map(String::as_str), Some("response.completed"));
    drop(stream);

    let spans = s.spans();
    assert_eq!(spans.len(), 2);
    for g in &spans {
        assert_eq!(g.name(), "response");
        assert_eq!(g.observation_type(), Some("generation"));
        assert_eq!(g.attr_str("langfuse.observation.input"), Some("hi"));
        let out = g.attr_json("langfuse.observation.output").unwrap();
        assert_eq!(out["content"][0]["text"], "Hello from the fake upstream.");
        assert_eq!(
            g.attr_json("langfuse.observation.usage_details"),
            Some(json!({
                "input": 15, "input_cached_tokens": 5,
                "output": 8, "output_reasoning_tokens": 4, "total": 32
            }))
        );
        let cost = g.attr_json("langfuse.observation.cost_details").unwrap();
        assert!(close(&cost["total"], 4.4e-5), "{cost}");
        assert_eq!(
            g.attr_json("langfuse.observation.model.parameters")
                .unwrap()["max_output_tokens"],
            64
        );
        assert_eq!(g.attr_str("langfuse.observation.level"), None);
    }
    // The plain answer's headers carry LiteLLM's cost breakdown.
    let plain = spans[0]
        .attr_json("langfuse.observation.cost_details")
        .unwrap();
    assert!(close(&plain["input_cached_tokens"], 5e-6), "{plain}");
    assert!(spans[1]
        .attr_str("langfuse.observation.completion_start_time")
        .is_some());
}
