//! A nested trace built by hand: a pipeline span with a retriever, a generation (model, usage,
//! cost, time to first token), a tool call, an event and a score, with user and session ids.
//!
//! Run with `scripts/demo.sh`, or `LANGFUSE_EXPORTER=console cargo run -p langfuse-examples --bin nested`.

use std::time::{Duration, SystemTime};

use langfuse_sdk::{CostDetails, Score, TraceAttributes, UsageDetails};
use serde_json::json;

fn main() {
    let guard = langfuse_examples::init();
    let lf = guard.client().clone();

    let question = "What is the capital of France?";
    let root = lf.span("answer-question").input(question).start();
    let _in_root = root.enter();
    let _attrs = langfuse_sdk::propagate_attributes(
        TraceAttributes::new()
            .user_id("user-42")
            .session_id("session-7")
            .tags(["demo", "rust"])
            .metadata("tenant", &"acme"),
    );

    let docs = {
        let r = lf
            .retriever("search-docs")
            .input(&json!({"query": question, "k": 2}))
            .start();
        let docs = vec!["Paris is the capital of France.", "France is in Europe."];
        r.set_output(&docs);
        docs
    };

    {
        let llm = lf
            .generation("llm-call")
            .model("gpt-4o-mini")
            .model_parameters(&json!({"temperature": 0.2, "max_tokens": 64}))
            .input(&json!([
                {"role": "system", "content": format!("Context: {}", docs.join(" "))},
                {"role": "user", "content": question}
            ]))
            .start();
        llm.set_completion_start_time(SystemTime::now());
        llm.set_output(&json!({"role": "assistant", "content": "Paris."}))
            .set_usage_details(UsageDetails::new().input(24).output(3).total(27))
            .set_cost_details(
                CostDetails::new()
                    .input(0.0000036)
                    .output(0.0000018)
                    .total(0.0000054),
            );
        llm.end();
    }

    {
        let tool = lf
            .tool("lookup-population")
            .input(&json!({"city": "Paris"}))
            .start();
        tool.set_output(&json!({"population": 2_102_650}));
    }

    let _ = lf
        .event("cache-miss")
        .metadata(&json!({"key": "france-capital"}))
        .start();

    root.set_output("Paris.");
    root.score_trace(Score::numeric("helpfulness", 0.9).comment("demo score"));
    println!(
        "trace id: {}",
        root.trace_id().map(|t| t.to_string()).unwrap_or_default()
    );
    if let Some(url) = root.trace_url() {
        println!("trace url: {url}");
    }
    drop(_attrs);
    drop(_in_root);
    root.end();

    match lf.flush(Duration::from_secs(10)) {
        Ok(()) => println!("flushed: {:?}", lf.stats()),
        Err(e) => eprintln!("flush: {e}"),
    }
}
