//! An experiment over a small local dataset: each question goes to `gpt-4o-mini` through the
//! LiteLLM proxy (a traced generation under the item's trace), an exact-match and a length
//! evaluator score the answers, and the summary table is printed.
//!
//! Env: `OPENAI_BASE_URL`, `OPENAI_API_KEY`; with `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY`
//! (and `LANGFUSE_BASE_URL`) the traces and scores go to Langfuse, else traces print on stdout
//! and scores stay local.

use std::time::Duration;

use langfuse_openai::{ChatRequest, Message};
use langfuse_sdk::api::{ApiClient, ApiConfig, Evaluation, ExperimentItem, ItemResult};
use serde_json::json;

fn dataset() -> Vec<ExperimentItem> {
    [
        ("What is the capital of France?", "Paris"),
        ("What is the capital of Japan?", "Tokyo"),
        ("What is 2 + 2? Answer with a number.", "4"),
        ("Which planet is known as the red planet?", "Mars"),
        ("What is the chemical symbol for gold?", "Au"),
    ]
    .into_iter()
    .map(|(q, a)| ExperimentItem::new(q).expected_output(a))
    .collect()
}

fn normalise(s: &str) -> String {
    s.trim()
        .trim_end_matches('.')
        .trim_matches('"')
        .to_lowercase()
}

#[tokio::main]
async fn main() {
    let _langfuse = langfuse_examples::init();
    let (api, online) = match ApiClient::from_env() {
        Ok(api) => (api, true),
        Err(e) => {
            eprintln!("no Langfuse API configured ({e}); scores stay local");
            // Never contacted: scores are not posted and there is no dataset to read.
            let cfg = ApiConfig::builder()
                .base_url("http://127.0.0.1:9")
                .public_key("pk-lf-local")
                .secret_key("sk-lf-local")
                .build();
            match cfg {
                Ok(cfg) => (ApiClient::new(cfg), false),
                Err(e) => return eprintln!("config: {e}"),
            }
        }
    };
    let llm = langfuse_examples::llm();
    let result = api
        .experiment("capitals-and-facts")
        .description("gpt-4o-mini on five short questions")
        .metadata(json!({"model": "gpt-4o-mini"}))
        .max_concurrency(3)
        .item_timeout(Duration::from_secs(60))
        .post_scores(online)
        .evaluator("exact_match", |e| {
            let got = e.output.as_str().map(normalise);
            let want = e.expected_output.as_str().map(normalise);
            Evaluation::boolean("exact_match", got.is_some() && got == want)
        })
        .evaluator("length", |e| {
            let n = e.output.as_str().map(|s| s.chars().count()).unwrap_or(0);
            Evaluation::number("length", n as f64)
        })
        .run_evaluator("accuracy", |items: &[ItemResult]| {
            let scored: Vec<f64> = items
                .iter()
                .flat_map(|i| &i.evaluations)
                .filter(|e| e.name == "exact_match")
                .filter_map(|e| e.value.as_f64())
                .collect();
            let mean = scored.iter().sum::<f64>() / scored.len().max(1) as f64;
            Evaluation::number("accuracy", mean)
        })
        .run_local(dataset(), |item| {
            let llm = llm.clone();
            async move {
                let question = item.input.as_str().unwrap_or_default().to_string();
                let req = ChatRequest::new(
                    "gpt-4o-mini",
                    vec![
                        Message::system("Answer with one word or number only, no punctuation."),
                        Message::user(question),
                    ],
                )
                .temperature(0.0);
                let answer = llm.chat(req).await?;
                let usage_cost = answer.usage.as_ref().and_then(|u| u.cost);
                if let Some(cost) = usage_cost.or(answer.gateway.response_cost) {
                    item.add_cost(cost);
                }
                Ok::<_, langfuse_openai::Error>(answer.text().unwrap_or_default().to_string())
            }
        })
        .await;
    match result {
        // The summary table was printed by the runner.
        Ok(r) => {
            if let Err(e) = r.require_mean_at_least("exact_match", 0.6) {
                eprintln!("{e}");
            }
        }
        Err(e) => eprintln!("experiment: {e}"),
    }
}
