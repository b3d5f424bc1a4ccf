//! The OpenAI-compatible client against a real LiteLLM proxy (mock models and a fake upstream),
//! checking the generation each call records, decoded from what the exporter would send.

use std::time::{Duration, UNIX_EPOCH};

use langfuse_openai::{ChatRequest, Client, EmbeddingRequest, Message, Recording, Tool};
use langfuse_sdk::testing::{ExportedSpan, InMemoryExporter};
use langfuse_sdk::{Langfuse, TraceAttributes, WithContext};
use langfuse_tests::litellm::{proxy_observations, LiteLlm, ProxyLangfuse};
use langfuse_tests::CaptureServer;
use serde_json::json;

#[path = "litellm/cancel.rs"]
mod cancel;
#[path = "litellm/errors.rs"]
mod errors;
#[path = "litellm/options.rs"]
mod options;
#[path = "litellm/proxy.rs"]
mod proxy;
#[path = "litellm/responses.rs"]
mod responses;
#[path = "litellm/usage.rs"]
mod usage;

const T: Duration = Duration::from_secs(10);

struct Setup {
    lf: Langfuse,
    exp: InMemoryExporter,
    client: Client,
}

fn setup() -> Setup {
    setup_with(|b| b)
}

fn setup_with(
    f: impl FnOnce(langfuse_openai::ClientBuilder) -> langfuse_openai::ClientBuilder,
) -> Setup {
    let proxy = LiteLlm::shared();
    let exp = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exp.clone())
        .build()
        .unwrap();
    let client = f(Client::builder()
        .base_url(&proxy.base_url)
        .api_key(&proxy.key)
        .langfuse(lf.clone()))
    .build()
    .unwrap();
    Setup { lf, exp, client }
}

impl Setup {
    fn spans(&self) -> Vec<ExportedSpan> {
        self.lf.flush(T).unwrap();
        self.exp.spans()
    }
    fn generation(&self) -> ExportedSpan {
        let spans = self.spans();
        let g: Vec<_> = spans
            .into_iter()
            .filter(|s| matches!(s.observation_type(), Some("generation") | Some("embedding")))
            .collect();
        assert_eq!(g.len(), 1, "exactly one generation: {g:?}");
        g.into_iter().next().unwrap()
    }
}

fn nanos_of(iso: &str) -> u128 {
    // 2026-11-27T15:57:16.730006Z → compare as text-free numbers via chrono-free parsing.
    let secs = iso.get(17..19).unwrap().parse::<u128>().unwrap();
    let min = iso.get(14..16).unwrap().parse::<u128>().unwrap();
    let hour = iso.get(11..13).unwrap().parse::<u128>().unwrap();
    let micros = iso.get(20..26).unwrap().parse::<u128>().unwrap();
    ((hour * 3600 + min * 60 + secs) * 1_000_000 + micros) * 1000
}

#[tokio::test]
async fn non_streaming_chat_records_a_generation_under_the_caller() {
    let s = setup();
    let parent = s.lf.span("handler").start();
    let resp = s
        .client
        .chat(
            ChatRequest::new(
                "gpt-4o-mini",
                vec![Message::system("be brief"), Message::user("hi")],
            )
            .temperature(0.2)
            .max_tokens(64)
            .seed(7)
            .stop(json!(["\n\n"]))
            .name("greet"),
        )
        .with_context(parent.context())
        .await
        .unwrap();
    assert_eq!(resp.text(), Some("Hello from the LiteLLM mock."));
    assert!(resp.gateway.call_id.is_some());
    parent.end();
    let g = s.generation();
    assert_eq!(g.name(), "greet");
    assert_eq!(g.parent_id(), parent.id().map(|i| i.to_string()));
    assert_eq!(
        g.attr_str("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.input"),
        Some(json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"}
        ]))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": "Hello from the LiteLLM mock."}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.model.parameters"),
        Some(json!({"temperature": 0.2, "max_tokens": 64, "seed": 7, "stop": "[\"\\n\\n\"]"}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details"),
        Some(json!({"input": 10, "output": 20, "total": 30}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.cost_details"),
        Some(json!({"total": 1.35e-05, "input": 1.5e-06, "output": 1.2e-05}))
    );
    assert_eq!(
        g.attr_str("langfuse.observation.metadata.finish_reason"),
        Some("\"stop\"")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.metadata.litellm_call_id"),
        Some(json!(resp.gateway.call_id.unwrap()))
    );
    assert!(g
        .attr_str("langfuse.observation.metadata.litellm_model_id")
        .is_some());
    assert_eq!(
        g.attr_json("langfuse.observation.metadata.response_id"),
        Some(json!(resp.id))
    );
    assert_eq!(g.attr_str("langfuse.observation.level"), None);
}

#[tokio::test]
async fn streaming_records_first_token_usage_and_cost() {
    let s = setup();
    let mut stream = s
        .client
        .chat_stream(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]))
        .await
        .unwrap();
    let mut text = String::new();
    let mut chunks = 0;
    while let Some(c) = stream.next().await {
        let c = c.unwrap();
        chunks += 1;
        for ch in &c.choices {
            if let Some(t) = ch.delta.as_ref().and_then(|d| d.content.as_deref()) {
                text.push_str(t);
            }
        }
    }
    assert!(chunks > 3);
    assert_eq!(text, "Hello from the LiteLLM mock.");
    drop(stream);
    let g = s.generation();
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": "Hello from the LiteLLM mock."}))
    );
    let usage = g.attr_json("langfuse.observation.usage_details").unwrap();
    assert!(usage["input"].as_u64().unwrap() > 0 && usage["output"].as_u64().unwrap() > 0);
    assert!(g.attr_json("langfuse.observation.cost_details").is_some());
    let first = g
        .attr_str("langfuse.observation.completion_start_time")
        .unwrap();
    let start_of_day = |n: u64| (n as u128) % (86_400 * 1_000_000_000);
    let t = nanos_of(first);
    assert!(t + 1000 >= start_of_day(g.span.start_time_unix_nano));
    assert!(t <= start_of_day(g.span.end_time_unix_nano) + 1000);
    assert_eq!(
        g.attr_json("langfuse.observation.model.parameters"),
        Some(json!({"stream": "true"})) // Langfuse's model parameters are strings or numbers
    );
    let _ = UNIX_EPOCH;
}

#[tokio::test]
async fn tool_calls_through_the_fake_upstream_plain_and_streamed() {
    let s = setup();
    let tools = vec![Tool::function(
        "get_weather",
        "Weather by city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    )];
    let req = ChatRequest::new("fake-upstream", vec![Message::user("weather in Paris?")])
        .tools(tools.clone())
        .tool_choice("auto");
    let r = s.client.chat(req.clone()).await.unwrap();
    assert_eq!(r.tool_calls()[0].function.name, "get_weather");
    assert_eq!(r.choices[0].message.content, None);
    let streamed = s
        .client
        .chat_stream(req)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        streamed.tool_calls()[0].function.arguments,
        "{\"city\": \"Paris\"}"
    );
    assert_eq!(streamed.tool_calls()[0].id, "call_fake_1");
    let spans = s.spans();
    assert_eq!(spans.len(), 2);
    for g in &spans {
        let out = g.attr_json("langfuse.observation.output").unwrap();
        assert_eq!(out["tool_calls"][0]["function"]["name"], "get_weather");
        assert_eq!(
            out["tool_calls"][0]["function"]["arguments"],
            "{\"city\": \"Paris\"}"
        );
        let input = g.attr_json("langfuse.observation.input").unwrap();
        assert_eq!(input["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(input["messages"][0]["content"], "weather in Paris?");
        assert_eq!(
            g.attr_str("langfuse.observation.metadata.finish_reason"),
            Some("\"tool_calls\"")
        );
        assert_eq!(
            g.attr_json("langfuse.observation.usage_details"),
            Some(json!({"input": 9, "output": 6, "total": 15}))
        );
        let params = g
            .attr_json("langfuse.observation.model.parameters")
            .unwrap();
        assert_eq!(params["tool_choice"], "auto");
    }
}

#[tokio::test]
async fn embeddings_are_recorded() {
    let s = setup();
    let r = s
        .client
        .embeddings(EmbeddingRequest::new("mock-embed", vec!["hello".into()]))
        .await
        .unwrap();
    assert_eq!(r.data[0].embedding, vec![0.1, 0.2, 0.3]);
    let g = s.generation();
    assert_eq!(g.observation_type(), Some("embedding"));
    assert_eq!(
        g.attr_json("langfuse.observation.input"),
        Some(json!(["hello"]))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"embeddings": 1, "dimensions": 3}))
    );
    assert_eq!(
        g.attr_json("langfuse.observation.usage_details").unwrap()["input"],
        10
    );
    assert_eq!(
        g.attr_json("langfuse.observation.cost_details"),
        Some(json!({"total": 2e-07, "input": 2e-07}))
    );
}

#[tokio::test]
async fn unknown_model_bad_key_and_rate_limit_are_typed_errors_recorded_as_error() {
    let s = setup();
    let e = s
        .client
        .chat(ChatRequest::new("no-such-model", vec![Message::user("hi")]))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.error_type(), Some("invalid_request_error"));
    assert_eq!(e.code(), Some("400"));
    assert!(e.message().unwrap().contains("Invalid model name"));

    let e = s
        .client
        .chat(ChatRequest::new("mock-error", vec![Message::user("hi")]))
        .await
        .unwrap_err();
    assert!(e.is_rate_limited(), "{e}");
    assert!(e.to_string().starts_with("HTTP 429"), "{e}");

    let proxy = LiteLlm::shared();
    let bad = Client::builder()
        .base_url(format!("{}/", proxy.base_url))
        .api_key("sk-wrong-key-123")
        .langfuse(s.lf.clone())
        .build()
        .unwrap();
    // A proxy without a database cannot look up a virtual key: LiteLLM answers 400.
    let e = bad
        .chat(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]))
        .await
        .unwrap_err();
    assert!(e.is_status(), "{e}");
    assert!(!e.to_string().contains("sk-wrong-key-123"));
    assert!(!format!("{e:?} {bad:?}").contains("sk-wrong-key-123"));
    // No key at all: 401.
    let none = Client::builder()
        .base_url(&proxy.base_url)
        .langfuse(s.lf.clone())
        .build()
        .unwrap();
    let e = none
        .chat(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]))
        .await
        .unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(e.to_string().contains("OPENAI_API_KEY"), "{e}");

    let spans = s.spans();
    assert_eq!(spans.len(), 4);
    for g in &spans {
        assert_eq!(g.attr_str("langfuse.observation.level"), Some("ERROR"));
        assert_eq!(g.status_code(), 2);
        assert!(g
            .attr_str("langfuse.observation.status_message")
            .unwrap()
            .starts_with("HTTP "));
    }
    let unknown = spans
        .iter()
        .find(|g| g.attr_str("langfuse.observation.model.name") == Some("no-such-model"))
        .expect("the requested model is recorded on error");
    assert!(unknown
        .attr_str("langfuse.observation.status_message")
        .unwrap()
        .contains("HTTP 400 invalid_request_error"));
}

#[tokio::test]
async fn a_stream_dropped_early_records_partial_output_and_a_warning() {
    let s = setup();
    let mut stream = s
        .client
        .chat_stream(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]))
        .await
        .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    let got = first.choices[0]
        .delta
        .as_ref()
        .unwrap()
        .content
        .clone()
        .unwrap();
    drop(stream);
    let g = s.generation();
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("WARNING"));
    assert_eq!(
        g.attr_str("langfuse.observation.status_message"),
        Some("cancelled: the stream was dropped before it ended; the output is partial")
    );
    assert_eq!(
        g.attr_json("langfuse.observation.output"),
        Some(json!({"role": "assistant", "content": got}))
    );
    assert!(g
        .attr_str("langfuse.observation.completion_start_time")
        .is_some());
}

#[tokio::test]
async fn models_list_and_base_url_forms() {
    let proxy = LiteLlm::shared();
    for base in [
        proxy.base_url.clone(),
        format!("{}/", proxy.base_url),
        format!("{}/v1", proxy.base_url),
        format!("{}/v1/", proxy.base_url),
    ] {
        let c = Client::builder()
            .base_url(&base)
            .api_key(&proxy.key)
            .build()
            .unwrap();
        let models = c.models().await.unwrap();
        assert!(
            models
                .iter()
                .any(|m| m.id == "meta-llama/Llama-3.2-1B-Instruct"),
            "{base}"
        );
    }
}

#[tokio::test]
async fn trace_attributes_go_along_and_fill_the_openai_user() {
    let s = setup();
    let root = s.lf.span("req").start();
    let ctx = root.context().with_attributes(
        TraceAttributes::new()
            .user_id("user-9")
            .session_id("sess-9")
            .tags(["beta"]),
    );
    s.client
        .chat(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]))
        .with_context(ctx)
        .await
        .unwrap();
    root.end();
    let g = s.generation();
    assert_eq!(g.attr_str("user.id"), Some("user-9"));
    assert_eq!(g.attr_str("session.id"), Some("sess-9"));
    assert_eq!(
        g.attr_strings("langfuse.trace.tags"),
        Some(vec!["beta".to_string()])
    );
    assert_eq!(
        g.attr_json("langfuse.observation.model.parameters")
            .unwrap()["user"],
        "user-9"
    );
}
