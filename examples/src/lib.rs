//! Shared setup of the examples: Langfuse from the environment, or the console exporter when no
//! Langfuse keys are set, so every example shows its trace either way.

use langfuse_sdk::{ClientGuard, ExporterKind, LangfuseBuilder};

/// Starts the global Langfuse client: to Langfuse when `LANGFUSE_PUBLIC_KEY` and
/// `LANGFUSE_SECRET_KEY` are set, else printing each trace as a tree on stdout.
pub fn init() -> ClientGuard {
    let has_keys = ["LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"]
        .iter()
        .all(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()));
    let mut b = LangfuseBuilder::from_env();
    if !has_keys && std::env::var("LANGFUSE_EXPORTER").is_err() {
        b = b.exporter(ExporterKind::Console);
    }
    langfuse_sdk::init_with(b.build().expect("valid Langfuse configuration"))
}

/// The OpenAI-compatible client from `OPENAI_BASE_URL` / `OPENAI_API_KEY`, with a hint when
/// they are missing.
pub fn llm() -> langfuse_openai::Client {
    if std::env::var("OPENAI_BASE_URL").is_err() {
        eprintln!(
            "OPENAI_BASE_URL is not set: start the proxy with scripts/demo.sh, or point it at your LiteLLM"
        );
    }
    langfuse_openai::Client::from_env().expect("valid OPENAI_BASE_URL")
}
