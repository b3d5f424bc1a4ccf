//! The platform's minimal example, translated: an observed function sends "hi" to
//! `meta-llama/Llama-3.2-1B-Instruct` through the LiteLLM proxy and prints the answer.

use langfuse_openai::{ChatRequest, Message};
use langfuse_sdk::observe;

#[observe]
async fn hello() -> Result<String, langfuse_openai::Error> {
    let answer = langfuse_examples::llm()
        .chat(ChatRequest::new(
            "meta-llama/Llama-3.2-1B-Instruct",
            vec![Message::user("hi")],
        ))
        .await?;
    Ok(answer.text().unwrap_or_default().to_string())
}

#[tokio::main]
async fn main() {
    let _langfuse = langfuse_examples::init();
    match hello().await {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: {e}"),
    }
}
