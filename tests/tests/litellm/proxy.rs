//! Proxy mode: the proxy's own Langfuse callback records each call, inside our trace, for
//! every endpoint, plain or streamed.

use super::*;

#[tokio::test]
async fn every_endpoint_sends_the_trace_context_to_a_proxy_that_records() {
    let capture = CaptureServer::start();
    let proxy = LiteLlm::start(Some(ProxyLangfuse {
        host: capture.url(),
        public_key: "pk-lf-proxy".into(),
        secret_key: "sk-lf-proxy".into(),
    }));
    let exp = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exp.clone())
        .build()
        .unwrap();
    let client = Client::builder()
        .base_url(&proxy.base_url)
        .api_key(&proxy.key)
        .recording(Recording::Proxy)
        .langfuse(lf.clone())
        .build()
        .unwrap();
    let root = lf.span("agent-step").start();
    let ctx = root.context().with_attributes(
        TraceAttributes::new()
            .user_id("user-p")
            .session_id("sess-p"),
    );
    let r = client
        .chat(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]).name("proxy-chat"))
        .with_context(ctx.clone())
        .await
        .unwrap();
    assert_eq!(r.text(), Some("Hello from the LiteLLM mock."));
    let streamed = client
        .chat_stream(
            ChatRequest::new("fake-upstream", vec![Message::user("hi")]).name("proxy-stream"),
        )
        .with_context(ctx.clone())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(streamed.text(), Some("Hello from the fake upstream."));
    let e = client
        .embeddings(EmbeddingRequest::new("fake-embed", vec!["hello".into()]).name("proxy-embed"))
        .with_context(ctx)
        .await
        .unwrap();
    assert_eq!(e.data.len(), 1);
    let trace_id = root.trace_id().unwrap().to_string();
    let parent_id = root.id().unwrap().to_string();
    root.end();
    lf.flush(T).unwrap();
    // Our side recorded only the calling span: nothing twice.
    let ours = exp.spans();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].name(), "agent-step");
    let theirs = proxy_observations(&capture, 3);
    let mut names: Vec<&str> = theirs.iter().map(|g| g.name()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["proxy-chat", "proxy-embed", "proxy-stream"],
        "{theirs:?}"
    );
    for g in &theirs {
        assert_eq!(g.trace_id(), trace_id, "{}", g.name());
        assert_eq!(g.parent_id(), Some(parent_id.clone()), "{}", g.name());
    }
}
