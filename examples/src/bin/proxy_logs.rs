//! When the LiteLLM proxy logs to Langfuse itself (`success_callback: ["langfuse"]`), let it
//! record the generation: the client records none and sends the trace context (`traceparent`
//! and LiteLLM's metadata keys) so the proxy's generation lands under `handle_request`.
//!
//! Needs a proxy whose Langfuse callback is on (`scripts/litellm.sh` with `WITH_LANGFUSE=1`,
//! which `scripts/demo.sh` does when Langfuse keys are set); without it nothing records the
//! generation.

use langfuse_openai::{ChatRequest, Client, Message, Recording};
use langfuse_sdk::{observe, TraceAttributes};

#[observe]
async fn handle_request(question: &str) -> Result<String, langfuse_openai::Error> {
    let llm = Client::builder()
        .base_url(
            std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:4000".into()),
        )
        .api_key(std::env::var("OPENAI_API_KEY").unwrap_or_default())
        .recording(Recording::Proxy)
        .build()?;
    let r = llm
        .chat(
            ChatRequest::new("gpt-4o-mini", vec![Message::user(question)]).name("proxy-generation"),
        )
        .await?;
    Ok(r.text().unwrap_or_default().to_string())
}

#[tokio::main]
async fn main() {
    let _langfuse = langfuse_examples::init();
    let attrs = TraceAttributes::new()
        .user_id("user-42")
        .session_id("session-7");
    match attrs.in_future(handle_request("hi")).await {
        Ok(text) => println!(
            "{text}\n(this client recorded no generation: the proxy's own Langfuse callback records it \
             in this trace, under handle_request)"
        ),
        Err(e) => eprintln!("error: {e}"),
    }
}
