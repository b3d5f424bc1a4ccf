//! An `async_openai::Client` wrapped by `langfuse_openai::async_openai::Traced`, against a real
//! LiteLLM proxy: each chat, stream and embeddings call records one observation with the
//! fields `langfuse_openai::Client` records, decoded from what the exporter would send.

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use async_openai::Client;
use langfuse_openai::async_openai::{Traced, TracedExt};
use langfuse_openai::{CallOptions, Recording};
use langfuse_sdk::testing::{ExportedSpan, InMemoryExporter};
use langfuse_sdk::{Langfuse, WithContext};
use langfuse_tests::litellm::{proxy_observations, LiteLlm, ProxyLangfuse};
use langfuse_tests::CaptureServer;
use serde_json::json;

const T: Duration = Duration::from_secs(10);

struct Setup {
    lf: Langfuse,
    exp: InMemoryExporter,
    client: Traced<OpenAIConfig>,
}

fn setup() -> Setup {
    let proxy = LiteLlm::shared();
    let exp = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exp.clone())
        .build()
        .unwrap();
    let config = OpenAIConfig::new()
        .with_api_base(format!("{}/v1", proxy.base_url))
        .with_api_key(&proxy.key);
    let client = Client::with_config(config).traced().langfuse(lf.clone());
    Setup { lf, exp, client }
}

impl Setup {
    fn spans(&self) -> Vec<ExportedSpan> {
        self.lf.flush(T).unwrap();
        self.exp.spans()
    }
    fn generation(&self) -> ExportedSpan {
        let g: Vec<_> = self
            .spans()
            .into_iter()
            .filter(|s| matches!(s.observation_type(), Some("generation") | Some("embedding")))
            .collect();
        assert_eq!(g.len(), 1, "exactly one generation: {g:?}");
        g.into_iter().next().unwrap()
    }
}

fn chat_request(model: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([
            ChatCompletionRequestSystemMessage::from("be brief").into(),
            ChatCompletionRequestUserMessage::from("hi").into(),
        ])
        .build()
        .unwrap()
}

fn input() -> serde_json::Value {
    json!([
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"}
    ])
}

#[tokio::test]
async fn chat_records_a_generation_under_the_caller() {
    let s = setup();
    let parent = s.lf.span("handler").start();
    let mut req = chat_request("gpt-4o-mini");
    req.temperature = Some(0.2);
    req.max_completion_tokens = Some(64);
    req.top_p = Some(0.9);
    let resp = s
        .client
        .chat()
        .create(req)
        .with_context(parent.context())
        .await
        .unwrap();
    assert_eq!(
        resp.choices[0].message.content.as_deref(),
        Some("Hello from the LiteLLM mock.")
    );
    parent.end();
    let g = s.generation();
    assert_eq!(g.observation_type(), Some("generation"));
    assert_eq!(g.name(), "chat-completion");
    assert_eq!(g.parent_id(), parent.id().map(|i| i.to_string()));
    assert_eq!(
        g.attr_str("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
    assert_eq!(g.attr_json("langfuse.observation.input"), Some(input()));
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": "Hello from the LiteLLM mock."}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.model.parameters"),
        Some(json!({"temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 64}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details"),
        Some(json!({"input": 10, "output": 20, "total": 30}))
    );
    assert_eq!(
        g.attr_str("langfuse.observation.metadata.finish_reason"),
        Some("\"stop\"")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.metadata.response_id"),
        Some(json!(resp.id))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.cost_details"),
        None,
        "async-openai keeps no response headers: no cost"
    );
    assert_eq!(g.attr_str("langfuse.observation.level"), None);
}

#[tokio::test]
async fn a_stream_records_one_generation_with_usage_and_first_token() {
    use futures_util_free::next;
    let s = setup();
    let mut stream = s
        .client
        .chat()
        .langfuse(CallOptions::new().name("streamed"))
        .create_stream(chat_request("fake-upstream"))
        .await
        .unwrap();
    let mut text = String::new();
    let mut last_usage = None;
    while let Some(c) = next(&mut stream).await {
        let c = c.unwrap();
        for ch in &c.choices {
            text.push_str(ch.delta.content.as_deref().unwrap_or_default());
        }
        if c.usage.is_some() {
            last_usage = c.usage;
        }
    }
    assert_eq!(text, "Hello from the fake upstream.");
    assert_eq!(
        last_usage.map(|u| u.total_tokens),
        Some(15),
        "a usage chunk was asked for"
    );
    drop(stream);
    let g = s.generation();
    assert_eq!(g.name(), "streamed");
    assert_eq!(
        g.attr_str("langfuse.observation.model.name"),
        Some("fake-upstream")
    );
    assert_eq!(g.attr_json("langfuse.observation.input"), Some(input()));
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": "Hello from the fake upstream."}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details"),
        Some(json!({"input": 9, "output": 6, "total": 15}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.model.parameters"),
        Some(json!({"stream": "true"}))
    );
    assert!(g
        .attr_str("langfuse.observation.completion_start_time")
        .is_some());
    assert_eq!(g.attr_str("langfuse.observation.level"), None);
}

#[tokio::test]
async fn a_stream_dropped_early_is_recorded_as_cancelled_with_its_partial_output() {
    use futures_util_free::next;
    let s = setup();
    let mut stream = s
        .client
        .chat()
        .create_stream(chat_request("fake-upstream"))
        .await
        .unwrap();
    let mut text = String::new();
    while text.is_empty() {
        let c = next(&mut stream).await.expect("a chunk").unwrap();
        for ch in &c.choices {
            text.push_str(ch.delta.content.as_deref().unwrap_or_default());
        }
    }
    drop(stream);
    let g = s.generation();
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("WARNING"));
    assert!(g
        .attr_str("langfuse.observation.status_message")
        .unwrap()
        .starts_with("cancelled"));
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": text}))
    );
}

#[tokio::test]
async fn an_error_mid_stream_ends_the_generation_with_level_error_and_partial_output() {
    use futures_util_free::next;
    let s = setup();
    let mut stream = s
        .client
        .chat()
        .create_stream(chat_request("fake-midstream-error"))
        .await
        .unwrap();
    let mut text = String::new();
    let e = loop {
        match next(&mut stream).await.expect("an error before the end") {
            Ok(c) => {
                for ch in &c.choices {
                    text.push_str(ch.delta.content.as_deref().unwrap_or_default());
                }
            }
            Err(e) => break e,
        }
    };
    assert_eq!(text, "Hello from");
    drop(stream);
    let g = s.generation();
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        g.attr_str("langfuse.observation.status_message"),
        Some(e.to_string().as_str())
    );
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": "Hello from"}))
    );
}

#[tokio::test]
async fn call_options_name_link_and_attribute_the_generation() {
    let s = setup();
    let elsewhere = s.lf.span("elsewhere").start();
    let opts = CallOptions::new()
        .name("summarise")
        .metadata("feature", "digest")
        .prompt("summary-prompt", 3)
        .parent(elsewhere.context())
        .user_id("user-o")
        .session_id("sess-o")
        .tags(["nightly"])
        .version("v7");
    s.client
        .chat()
        .langfuse(opts)
        .create(chat_request("gpt-4o-mini"))
        .await
        .unwrap();
    elsewhere.end();
    let g = s.generation();
    assert_eq!(g.name(), "summarise");
    assert_eq!(g.parent_id(), elsewhere.id().map(|i| i.to_string()));
    assert_eq!(
        g.attr_json("langfuse.observation.metadata.feature"),
        Some(json!("digest"))
    );
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
    assert_eq!(
        g.attr_json("langfuse.observation.model.parameters")
            .unwrap()["user"],
        "user-o",
        "the call's user is the OpenAI user"
    );
}

#[tokio::test]
async fn embeddings_record_an_embedding_observation() {
    let s = setup();
    let req = CreateEmbeddingRequestArgs::default()
        .model("fake-embed")
        .input("hello")
        .build()
        .unwrap();
    let r = s.client.embeddings().create(req).await.unwrap();
    assert_eq!(r.data[0].embedding, vec![0.1, 0.2, 0.3]);
    let g = s.generation();
    assert_eq!(g.observation_type(), Some("embedding"));
    assert_eq!(g.name(), "embedding");
    assert_eq!(
        g.attr_str("langfuse.observation.model.name"),
        Some("fake-embed")
    );
    assert_eq!(
        g.attr_str("langfuse.observation.input"),
        Some("hello"),
        "a text input is recorded as text"
    );
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"embeddings": 1, "dimensions": 3}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details"),
        Some(json!({"input": 3, "total": 3}))
    );
}

#[tokio::test]
async fn usage_details_are_netted_as_the_client_nets_them() {
    let s = setup();
    s.client
        .chat()
        .create(chat_request("fake-details"))
        .await
        .unwrap();
    assert_eq!(
        s.generation()
            .attr_json("langfuse.observation.usage_details"),
        Some(json!({
            "input": 12, "input_cached_tokens": 5, "input_audio_tokens": 3,
            "output": 6, "output_reasoning_tokens": 4, "output_audio_tokens": 2,
            "total": 32
        }))
    );
}

#[tokio::test]
async fn a_refused_call_records_level_error() {
    let s = setup();
    let e = s
        .client
        .chat()
        .create(chat_request("mock-error"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("429"), "{e}");
    let g = s.generation();
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        g.attr_str("langfuse.observation.status_message"),
        Some(e.to_string().as_str())
    );
    assert_eq!(g.attr_json("langfuse.observation.input"), Some(input()));
    assert_eq!(g.attr_json("langfuse.observation.output"), None);
}

#[tokio::test]
async fn proxy_mode_sends_the_trace_context_and_records_nothing_here() {
    use futures_util_free::next;
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
    let config = OpenAIConfig::new()
        .with_api_base(format!("{}/v1", proxy.base_url))
        .with_api_key(&proxy.key);
    let client = Client::with_config(config)
        .traced()
        .recording(Recording::Proxy)
        .langfuse(lf.clone());
    let root = lf.span("agent-step").start();
    let ctx = root.context();
    let opts = |name: &str| CallOptions::new().name(name);
    client
        .chat()
        .langfuse(opts("proxy-chat"))
        .create(chat_request("gpt-4o-mini"))
        .with_context(ctx.clone())
        .await
        .unwrap();
    let mut stream = client
        .chat()
        .langfuse(opts("proxy-stream"))
        .create_stream(chat_request("fake-upstream"))
        .with_context(ctx.clone())
        .await
        .unwrap();
    while let Some(c) = next(&mut stream).await {
        c.unwrap();
    }
    drop(stream);
    let req = CreateEmbeddingRequestArgs::default()
        .model("fake-embed")
        .input("hello")
        .build()
        .unwrap();
    client
        .embeddings()
        .langfuse(opts("proxy-embed"))
        .create(req)
        .with_context(ctx)
        .await
        .unwrap();
    let trace_id = root.trace_id().unwrap().to_string();
    let parent_id = root.id().unwrap().to_string();
    root.end();
    lf.flush(T).unwrap();
    let ours = exp.spans();
    assert_eq!(ours.len(), 1, "only the calling span here: {ours:?}");
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

/// `StreamExt::next` without a dependency on `futures-util`.
mod futures_util_free {
    use std::pin::Pin;

    use futures_core::Stream;

    pub async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
        std::future::poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
    }
}
