//! Calls whose future (or stream) the caller drops before the answer: recorded as `#[observe]`
//! records a cancelled call, with what was received so far.

use super::*;

/// Longer than the proxy needs to pass a request on, far shorter than the fake upstream's
/// 120 s stall: the future is certainly still waiting when it is dropped.
const GIVE_UP: Duration = Duration::from_millis(500);

fn assert_cancelled(g: &ExportedSpan) {
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("WARNING"));
    let msg = g.attr_str("langfuse.observation.status_message").unwrap();
    assert!(msg.starts_with("cancelled"), "{msg}");
}

#[tokio::test]
async fn a_chat_future_dropped_before_its_answer_is_recorded_as_cancelled() {
    let s = setup();
    let call = s.client.chat(
        ChatRequest::new("fake-stall", vec![Message::user("hi")])
            .temperature(0.1)
            .name("stalled"),
    );
    assert!(tokio::time::timeout(GIVE_UP, call).await.is_err());
    let g = s.generation();
    assert_eq!(g.name(), "stalled");
    assert_cancelled(&g);
    assert_eq!(
        g.attr_str("langfuse.observation.status_message"),
        Some("cancelled: the future was dropped before it completed")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.input"),
        Some(json!([{"role": "user", "content": "hi"}]))
    );
    assert_eq!(g.attr_str("langfuse.observation.output"), None);
}

#[tokio::test]
async fn a_chat_stream_future_dropped_before_the_stream_starts_is_cancelled() {
    let s = setup();
    let call = s.client.chat_stream(ChatRequest::new(
        "fake-upstream",
        vec![Message::user("stall at once")],
    ));
    assert!(tokio::time::timeout(GIVE_UP, call).await.is_err());
    assert_cancelled(&s.generation());
}

#[tokio::test]
async fn an_embeddings_future_dropped_before_its_answer_is_cancelled() {
    let s = setup();
    let call = s.client.embeddings(EmbeddingRequest::new(
        "fake-embed",
        vec!["stall at once".into()],
    ));
    assert!(tokio::time::timeout(GIVE_UP, call).await.is_err());
    let g = s.generation();
    assert_eq!(g.observation_type(), Some("embedding"));
    assert_cancelled(&g);
    assert_eq!(
        g.attr_json("langfuse.observation.input"),
        Some(json!(["stall at once"]))
    );
}

#[tokio::test]
async fn a_stream_given_up_mid_way_keeps_the_text_received_so_far() {
    let s = setup();
    let mut stream = s
        .client
        .chat_stream(ChatRequest::new("fake-stall", vec![Message::user("hi")]))
        .await
        .unwrap();
    // The fake upstream sends the role, then "Hello", then stalls.
    let mut text = String::new();
    while text.is_empty() {
        let chunk = stream.next().await.unwrap().unwrap();
        text.push_str(chunk.text().unwrap_or_default());
    }
    assert_eq!(text, "Hello");
    assert!(tokio::time::timeout(GIVE_UP, stream.next()).await.is_err());
    drop(stream);
    let g = s.generation();
    assert_cancelled(&g);
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": "Hello"}))
    );
}
