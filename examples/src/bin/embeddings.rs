//! Embeddings: each call is an `embedding` observation with model, input, usage and cost.

use langfuse_openai::EmbeddingRequest;
use langfuse_sdk::observe;

#[observe(as_type = "retriever")]
async fn index(docs: Vec<String>) -> Result<usize, langfuse_openai::Error> {
    let r = langfuse_examples::llm()
        .embeddings(EmbeddingRequest::new("mock-embed", docs))
        .await?;
    Ok(r.data.len())
}

#[tokio::main]
async fn main() {
    let _langfuse = langfuse_examples::init();
    match index(vec!["Paris is the capital of France.".into()]).await {
        Ok(n) => println!("embedded {n} document(s)"),
        Err(e) => eprintln!("error: {e}"),
    }
}
