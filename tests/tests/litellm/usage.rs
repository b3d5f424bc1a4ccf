//! Token usage counted once per token, and LiteLLM's cost breakdown, plain and streamed.

use super::*;

fn netted() -> serde_json::Value {
    // 20 prompt tokens (5 cached, 3 audio), 12 completion tokens (4 reasoning, 2 audio).
    json!({
        "input": 12, "input_cached_tokens": 5, "input_audio_tokens": 3,
        "output": 6, "output_reasoning_tokens": 4, "output_audio_tokens": 2,
        "total": 32
    })
}

fn close(v: &serde_json::Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-12)
}

#[tokio::test]
async fn cached_audio_and_reasoning_tokens_are_not_counted_twice() {
    let s = setup();
    let req = ChatRequest::new("fake-details", vec![Message::user("hi")]);
    let r = s.client.chat(req.clone()).await.unwrap();
    assert_eq!(r.usage.as_ref().unwrap().prompt_tokens, Some(20));
    s.client
        .chat_stream(req)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let spans = s.spans();
    assert_eq!(spans.len(), 2);
    for g in &spans {
        assert_eq!(
            g.attr_json("langfuse.observation.usage_details"),
            Some(netted()),
            "{}",
            g.name()
        );
    }
    // The plain answer's headers carry LiteLLM's breakdown; its parts add up to the total.
    let plain = &spans[0];
    let cost = plain
        .attr_json("langfuse.observation.cost_details")
        .unwrap();
    assert!(close(&cost["total"], 4.4e-5), "{cost}");
    assert!(close(&cost["input"], 1.5e-5), "{cost}");
    assert!(close(&cost["input_cached_tokens"], 5e-6), "{cost}");
    assert!(close(&cost["output"], 1.6e-5), "{cost}");
    assert!(close(&cost["output_reasoning_tokens"], 8e-6), "{cost}");
    // A stream's cost is known only at its end: the total from its usage chunk.
    let streamed = &spans[1];
    let cost = streamed
        .attr_json("langfuse.observation.cost_details")
        .unwrap();
    assert_eq!(cost.as_object().unwrap().len(), 1, "{cost}");
    assert!(close(&cost["total"], 4.4e-5), "{cost}");
}
