//! Prompt management: fetch a chat prompt from Langfuse (or fall back to a built-in one when no
//! Langfuse API is configured or reachable), compile it, call `gpt-4o-mini` through the LiteLLM
//! proxy, and record the call as a generation linked to the prompt version it used (a fallback
//! is never linked).
//!
//! Env: `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY`, `LANGFUSE_BASE_URL` (optional),
//! `OPENAI_BASE_URL`, `OPENAI_API_KEY`. Prompt name: `PROMPT_NAME` (default `ref-chat-prompt`).

use std::time::Duration;

use langfuse_openai::{ChatRequest, Message, Recording};
use langfuse_sdk::api::{ApiClient, ChatTemplateEntry, Prompt};
use langfuse_sdk::UsageDetails;
use serde_json::json;

fn fallback() -> Vec<ChatTemplateEntry> {
    vec![
        ChatTemplateEntry::message(
            "system",
            "You are {{persona}}. Always answer in {{language}}.",
        ),
        ChatTemplateEntry::placeholder("history"),
        ChatTemplateEntry::message("user", "{{question}}"),
    ]
}

async fn fetch_prompt(name: &str) -> Prompt {
    match ApiClient::from_env() {
        Ok(api) => api
            .get_prompt(name)
            .fallback_chat(fallback())
            .timeout(Duration::from_secs(5))
            .max_retries(1)
            .await
            .unwrap_or_else(|e| {
                eprintln!("prompt '{name}': {e}; using the built-in prompt");
                Prompt::fallback_chat(name, fallback())
            }),
        Err(e) => {
            eprintln!("no Langfuse API configured ({e}); using the built-in prompt");
            Prompt::fallback_chat(name, fallback())
        }
    }
}

#[tokio::main]
async fn main() {
    let _langfuse = langfuse_examples::init();
    let name = std::env::var("PROMPT_NAME").unwrap_or_else(|_| "ref-chat-prompt".into());
    let prompt = fetch_prompt(&name).await;
    println!(
        "prompt '{}' version {} (fallback: {})",
        prompt.name(),
        prompt.version(),
        prompt.is_fallback()
    );

    let compiled = prompt.compile_chat([
        ("persona", json!("a concise geography tutor")),
        ("language", json!("English")),
        ("question", json!("What is the capital of France?")),
        ("history", json!([])),
    ]);
    let messages = match compiled.and_then(|c| c.into_messages()) {
        Ok(m) => m,
        Err(e) => return eprintln!("compile: {e}"),
    };
    // Compiled messages serialize as OpenAI chat messages.
    let messages: Vec<Message> =
        match serde_json::to_value(&messages).and_then(serde_json::from_value) {
            Ok(m) => m,
            Err(e) => return eprintln!("messages: {e}"),
        };

    // The generation is recorded here (so it can carry the prompt link); the client only sends
    // the trace context along.
    if std::env::var("OPENAI_BASE_URL").is_err() {
        eprintln!("OPENAI_BASE_URL is not set: start the proxy with scripts/demo.sh");
    }
    let llm = match langfuse_openai::Client::builder()
        .base_url(
            std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:4000".into()),
        )
        .api_key(std::env::var("OPENAI_API_KEY").unwrap_or_default())
        .recording(Recording::Proxy)
        .build()
    {
        Ok(c) => c,
        Err(e) => return eprintln!("LLM client: {e}"),
    };
    let temperature = prompt.config()["temperature"].as_f64().unwrap_or(0.2);
    let lf = langfuse_sdk::client();
    let generation = lf
        .generation("answer-with-managed-prompt")
        .model("gpt-4o-mini")
        .input(&messages)
        .start();
    prompt.link_observation(&generation);
    let _in_generation = generation.enter();
    let answer = llm
        .chat(ChatRequest::new("gpt-4o-mini", messages).temperature(temperature))
        .await;
    match answer {
        Ok(r) => {
            let text = r.text().unwrap_or_default().to_string();
            generation.set_output(&text);
            if let Some(u) = &r.usage {
                let mut d = UsageDetails::new();
                if let Some(n) = u.prompt_tokens {
                    d = d.input(n);
                }
                if let Some(n) = u.completion_tokens {
                    d = d.output(n);
                }
                generation.set_usage_details(d);
            }
            println!("{text}");
        }
        Err(e) => {
            generation.set_error(&e);
            eprintln!("chat: {e}");
        }
    }
    generation.end();
}
