//! Which OpenTelemetry spans go to Langfuse by default: the predicates of the official Python
//! SDK's `span_filter` (`is_default_export_span`), over `opentelemetry_sdk`'s [`SpanData`].

use opentelemetry_sdk::trace::SpanData;

use crate::export::encode::SCOPE_NAME;

/// Instrumentation scope names (and namespace prefixes) of known LLM instrumentations, as in the
/// official Python SDK: a span whose scope is one of them, or a descendant (`name.` followed
/// by anything), is exported by [`is_default_export_span`].
pub const KNOWN_LLM_INSTRUMENTATION_SCOPE_PREFIXES: &[&str] = &[
    SCOPE_NAME,
    "agent_framework",
    "autogen-core",
    "ai",
    "haystack",
    "langsmith",
    "litellm",
    "openinference",
    "opentelemetry.instrumentation.agno",
    "opentelemetry.instrumentation.alephalpha",
    "opentelemetry.instrumentation.anthropic",
    "opentelemetry.instrumentation.bedrock",
    "opentelemetry.instrumentation.cohere",
    "opentelemetry.instrumentation.crewai",
    "opentelemetry.instrumentation.google_generativeai",
    "opentelemetry.instrumentation.groq",
    "opentelemetry.instrumentation.haystack",
    "opentelemetry.instrumentation.langchain",
    "opentelemetry.instrumentation.llamaindex",
    "opentelemetry.instrumentation.mistralai",
    "opentelemetry.instrumentation.ollama",
    "opentelemetry.instrumentation.openai",
    "opentelemetry.instrumentation.openai_agents",
    "opentelemetry.instrumentation.openai_v2",
    "opentelemetry.instrumentation.replicate",
    "opentelemetry.instrumentation.sagemaker",
    "opentelemetry.instrumentation.together",
    "opentelemetry.instrumentation.transformers",
    "opentelemetry.instrumentation.vertexai",
    "opentelemetry.instrumentation.voyageai",
    "opentelemetry.instrumentation.watsonx",
    "opentelemetry.instrumentation.writer",
    "pydantic-ai",
    "strands-agents",
    "vllm",
];

/// True when a Langfuse SDK made the span: its instrumentation scope is `langfuse-sdk`.
pub fn is_langfuse_span(span: &SpanData) -> bool {
    span.instrumentation_scope.name() == SCOPE_NAME
}

/// True when the span has any `gen_ai…` attribute (OpenTelemetry's GenAI semantic
/// conventions: `gen_ai.system`, `gen_ai.request.model`, `gen_ai.usage.input_tokens`, …).
pub fn is_genai_span(span: &SpanData) -> bool {
    span.attributes
        .iter()
        .any(|kv| kv.key.as_str().starts_with("gen_ai"))
}

/// True when the span's instrumentation scope is one of
/// [`KNOWN_LLM_INSTRUMENTATION_SCOPE_PREFIXES`] or a descendant of one (`openinference.foo`,
/// not `openinferencefoo`).
pub fn is_known_llm_instrumentor(span: &SpanData) -> bool {
    let name = span.instrumentation_scope.name();
    KNOWN_LLM_INSTRUMENTATION_SCOPE_PREFIXES.iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// The default filter of [`LangfuseSpanProcessor`](super::LangfuseSpanProcessor) and
/// [`LangfuseSpanExporter`](super::LangfuseSpanExporter): a span goes to Langfuse when a
/// Langfuse SDK made it ([`is_langfuse_span`]), when it has a `gen_ai…` attribute
/// ([`is_genai_span`]), or when a known LLM instrumentation made it
/// ([`is_known_llm_instrumentor`]). Plain spans (HTTP servers, database clients, …) stay out.
pub fn is_default_export_span(span: &SpanData) -> bool {
    is_langfuse_span(span) || is_genai_span(span) || is_known_llm_instrumentor(span)
}
