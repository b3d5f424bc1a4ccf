//! Streaming: tokens are printed as they arrive; the generation records time to first token,
//! usage (the client asks for the usage chunk) and the whole answer.

use std::io::Write as _;

use langfuse_openai::{ChatRequest, Message};
use langfuse_sdk::observe;

#[observe]
async fn stream_answer(question: &str) -> Result<String, langfuse_openai::Error> {
    let mut stream = langfuse_examples::llm()
        .chat_stream(ChatRequest::new(
            "fake-upstream",
            vec![Message::user(question)],
        ))
        .await?;
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        for c in chunk?.choices {
            if let Some(t) = c.delta.and_then(|d| d.content) {
                print!("{t}");
                let _ = std::io::stdout().flush();
                text.push_str(&t);
            }
        }
    }
    println!();
    Ok(text)
}

#[tokio::main]
async fn main() {
    let _langfuse = langfuse_examples::init();
    if let Err(e) = stream_answer("Say hello").await {
        eprintln!("error: {e}");
    }
}
