//! A nested agent pipeline: retrieve → tool call → answer, with user and session ids and a
//! score. The model asks for a tool (the proxy's fake upstream does), we run it, and send the
//! result back for the final answer.

use langfuse_openai::{ChatRequest, Client, Message, Tool};
use langfuse_sdk::{observe, Score, TraceAttributes};
use serde_json::json;

#[observe(as_type = "retriever")]
fn retrieve(question: &str) -> Vec<String> {
    vec![format!(
        "Paris is the capital of France. (matched: {question})"
    )]
}

#[observe(as_type = "tool")]
fn get_weather(city: &str) -> serde_json::Value {
    json!({"city": city, "forecast": "sunny", "celsius": 21})
}

// The client is a tool of the function, not its input: left out of the recorded input.
#[observe(as_type = "agent", skip(llm))]
async fn agent(llm: &Client, question: &str) -> Result<String, langfuse_openai::Error> {
    let docs = retrieve(question);
    let tools = vec![Tool::function(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )];
    let mut messages = vec![
        Message::system(format!("Answer with the context: {}", docs.join(" "))),
        Message::user(question),
    ];
    let first = llm
        .chat(
            ChatRequest::new("fake-upstream", messages.clone())
                .tools(tools.clone())
                .name("plan"),
        )
        .await?;
    if let Some(call) = first.tool_calls().first().cloned() {
        let args: serde_json::Value =
            serde_json::from_str(&call.function.arguments).unwrap_or_default();
        let result = get_weather(args["city"].as_str().unwrap_or("Paris"));
        messages.push(first.choices[0].message.clone());
        messages.push(Message::tool(call.id.clone(), result.to_string()));
    }
    let answer = llm
        .chat(
            ChatRequest::new("fake-upstream", messages)
                .tools(tools)
                .name("answer"),
        )
        .await?;
    let text = answer.text().unwrap_or_default().to_string();
    langfuse_sdk::score_current_trace(Score::numeric("helpfulness", 0.8).comment("example score"));
    Ok(text)
}

#[tokio::main]
async fn main() {
    let _langfuse = langfuse_examples::init();
    let llm = langfuse_examples::llm();
    let attrs = TraceAttributes::new()
        .user_id("user-42")
        .session_id("session-7")
        .tags(["example", "agent"]);
    match attrs
        .in_future(agent(&llm, "What's the weather in the capital of France?"))
        .await
    {
        Ok(text) => println!("answer: {text}"),
        Err(e) => eprintln!("error: {e}"),
    }
}
