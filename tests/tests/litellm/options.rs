//! Per-call Langfuse controls: name, metadata, prompt, explicit parent, trace attributes and
//! version, for chat and embeddings.

use langfuse_openai::CallOptions;

use super::*;

#[tokio::test]
async fn per_call_options_are_recorded_on_the_generation() {
    let s = setup();
    let elsewhere = s.lf.span("request-handler").start();
    let parent_ctx = elsewhere.context();
    // Another observation is current while the call runs: the explicit parent wins.
    let current = s.lf.span("unrelated-current").start();
    let opts = CallOptions::new()
        .name("summarise")
        .metadata("feature", "digest")
        .metadata("attempt", &2)
        .prompt("summary-prompt", 3)
        .parent(parent_ctx)
        .user_id("user-o")
        .session_id("sess-o")
        .tags(["nightly"])
        .version("v7");
    let req = ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")])
        // LiteLLM's own request metadata (spend tags): sent to the proxy, not recorded.
        .extra("metadata", json!({"tags": ["team-search"]}))
        .langfuse(opts.clone());
    s.client
        .chat(req)
        .with_context(current.context())
        .await
        .unwrap();
    let emb = EmbeddingRequest::new("mock-embed", vec!["hello".into()])
        .langfuse(opts.clone().name("summarise-embed"));
    s.client
        .embeddings(emb)
        .with_context(current.context())
        .await
        .unwrap();
    current.end();
    elsewhere.end();
    let spans = s.spans();
    let parent_id = elsewhere.id().unwrap().to_string();
    for (name, ty) in [
        ("summarise", "generation"),
        ("summarise-embed", "embedding"),
    ] {
        let g = spans
            .iter()
            .find(|g| g.name() == name)
            .unwrap_or_else(|| panic!("{name} in {spans:?}"));
        assert_eq!(g.observation_type(), Some(ty));
        assert_eq!(g.parent_id(), Some(parent_id.clone()), "{name}");
        assert_eq!(g.trace_id(), elsewhere.trace_id().unwrap().to_string());
        assert_eq!(
            g.attr_json("langfuse.observation.metadata.feature"),
            Some(json!("digest"))
        );
        assert_eq!(
            g.attr_json("langfuse.observation.metadata.attempt"),
            Some(json!(2))
        );
        assert_eq!(g.attr_str("langfuse.observation.metadata.tags"), None);
        assert_eq!(
            g.attr_str("langfuse.observation.prompt.name"),
            Some("summary-prompt")
        );
        assert_eq!(g.attr_int("langfuse.observation.prompt.version"), Some(3));
        assert_eq!(g.attr_str("langfuse.version"), Some("v7"));
        assert_eq!(g.attr_str("user.id"), Some("user-o"));
        assert_eq!(g.attr_str("session.id"), Some("sess-o"));
        assert_eq!(
            g.attr_strings("langfuse.trace.tags"),
            Some(vec!["nightly".to_string()])
        );
    }
    let chat = spans.iter().find(|g| g.name() == "summarise").unwrap();
    assert_eq!(
        chat.attr_json("langfuse.observation.model.parameters")
            .unwrap()["user"],
        "user-o",
        "the call's user is the OpenAI user"
    );
}
