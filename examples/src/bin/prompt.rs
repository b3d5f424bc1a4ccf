//! Prompt management: fetch a chat prompt from Langfuse (or fall back to a built-in one when no
//! Langfuse API is configured or reachable), compile it, call `gpt-4o-mini` through the LiteLLM
//! proxy, and record the call as a generation linked to the prompt version it used (a fallback
//! is never linked).
//!
//! Env: `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY`, `LANGFUSE_BASE_URL` (optional),
//! `OPENAI_BASE_URL`, `OPENAI_API_KEY`. Prompt name: `PROMPT_NAME` (default `ref-chat-prompt`).

use std::time::Duration;

use langfuse_openai::{CallOptions, ChatRequest, Message};
use langfuse_sdk::api::{ChatTemplateEntry, Prompt};
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
    // The client's own public API client: the same base URL and keys, one prompt cache.
    match langfuse_sdk::client().api() {
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

    // The client records the generation; the call's options link it to the prompt version
    // (a fallback has no link: it was never fetched).
    let llm = match langfuse_openai::Client::from_env() {
        Ok(c) => c,
        Err(e) => return eprintln!("LLM client: {e} (start the proxy with scripts/demo.sh)"),
    };
    let temperature = prompt.config()["temperature"].as_f64().unwrap_or(0.2);
    let mut options = CallOptions::new().name("answer-with-managed-prompt");
    if let Some(link) = prompt.link() {
        options = options.prompt(link.name, link.version);
    }
    let request = ChatRequest::new("gpt-4o-mini", messages)
        .temperature(temperature)
        .langfuse(options);
    match llm.chat(request).await {
        Ok(r) => println!("{}", r.text().unwrap_or_default()),
        Err(e) => eprintln!("chat: {e}"),
    }
}
