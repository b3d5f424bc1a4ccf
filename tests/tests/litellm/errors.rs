//! What LiteLLM answers when it refuses a call, as typed errors: refusals before the answer
//! (HTTP statuses) and in the middle of a stream (error events), and an idle stream.

use super::*;

async fn refusal(s: &Setup, model: &str) -> langfuse_openai::Error {
    s.client
        .chat(ChatRequest::new(model, vec![Message::user("hi")]))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_gateway_error_with_its_code() {
    let s = setup();
    let mut stream = s
        .client
        .chat_stream(ChatRequest::new(
            "fake-midstream-error",
            vec![Message::user("hi")],
        ))
        .await
        .unwrap();
    let mut text = String::new();
    let e = loop {
        match stream.next().await.expect("an error before the end") {
            Ok(c) => text.push_str(c.text().unwrap_or_default()),
            Err(e) => break e,
        }
    };
    assert_eq!(text, "Hello from");
    assert!(e.is_gateway() && !e.is_stream() && !e.is_decode(), "{e}");
    assert_eq!(e.status(), None);
    assert_eq!(e.code(), Some("500"), "LiteLLM's codes are strings");
    assert_eq!(e.error_type(), None, "LiteLLM sends \"type\": null here");
    assert!(
        e.message()
            .unwrap()
            .contains("upstream overloaded mid-stream"),
        "{e}"
    );
    assert!(
        stream.next().await.is_none(),
        "the stream ends after its error"
    );
    drop(stream);
    let g = s.generation();
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("ERROR"));
    assert!(g
        .attr_str("langfuse.observation.status_message")
        .unwrap()
        .starts_with("the gateway sent an error mid-stream (code 500)"));
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": "Hello from"}))
    );
}

#[tokio::test]
async fn a_stream_idle_longer_than_the_timeout_is_a_timeout() {
    let s = setup_with(|b| b.timeout(Duration::from_secs(3)));
    let mut stream = s
        .client
        .chat_stream(ChatRequest::new("fake-stall", vec![Message::user("hi")]))
        .await
        .unwrap();
    let e = loop {
        match stream.next().await.expect("an error before the end") {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(e.is_timeout() && !e.is_stream(), "{e}");
    drop(stream);
    let g = s.generation();
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": "Hello"}))
    );
}

#[tokio::test]
async fn litellm_refusals_have_predicates() {
    let s = setup();
    let e = refusal(&s, "mock-budget").await;
    assert!(e.is_budget_exceeded() && !e.is_rate_limited(), "{e}");
    assert_eq!(e.status(), Some(422));
    assert!(e.to_string().contains("budget is spent"), "{e}");

    let e = refusal(&s, "mock-context-window").await;
    assert!(e.is_context_window_exceeded(), "{e}");
    assert_eq!((e.status(), e.code()), (Some(400), Some("400")));

    let e = refusal(&s, "fake-content-filter").await;
    assert!(e.is_content_policy_violation(), "{e}");

    let e = refusal(&s, "no-such-model").await;
    assert!(e.is_model_not_found() && !e.is_auth(), "{e}");
    assert!(e.to_string().contains("Client::models()"), "{e}");

    let e = refusal(&s, "fake-ratelimit").await;
    assert!(e.is_rate_limited(), "{e}");
    assert_eq!(
        e.retry_after(),
        Some(Duration::from_secs(7)),
        "the provider's Retry-After, relayed as llm_provider-retry-after"
    );

    let e = refusal(&s, "mock-error").await;
    assert!(e.is_rate_limited() && e.retry_after().is_none(), "{e}");

    let proxy = LiteLlm::shared();
    let keyless = Client::builder()
        .base_url(&proxy.base_url)
        .langfuse(s.lf.clone())
        .build()
        .unwrap();
    let e = keyless
        .chat(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]))
        .await
        .unwrap_err();
    assert!(e.is_auth() && !e.is_model_not_found(), "{e}");

    let spans = s.spans();
    assert_eq!(spans.len(), 7);
    for g in &spans {
        assert_eq!(g.attr_str("langfuse.observation.level"), Some("ERROR"));
    }
}
