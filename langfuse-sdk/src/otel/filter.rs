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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
    use opentelemetry::{InstrumentationScope, KeyValue};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    fn span(scope: &str, attrs: Vec<KeyValue>) -> SpanData {
        SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "s".into(),
            start_time: std::time::SystemTime::UNIX_EPOCH,
            end_time: std::time::SystemTime::UNIX_EPOCH,
            attributes: attrs,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder(scope.to_string()).build(),
        }
    }

    #[test]
    fn known_scopes_match_whole_names_and_their_descendants() {
        let known = |scope: &str| is_known_llm_instrumentor(&span(scope, vec![]));
        assert!(known("ai"));
        assert!(known("ai.streamText"));
        assert!(known("openinference.instrumentation.openai"));
        assert!(known("opentelemetry.instrumentation.openai"));
        assert!(known("langfuse-sdk"));
        assert!(!known("aiohttp"));
        assert!(!known("openinferencefoo"));
        assert!(!known("opentelemetry.instrumentation.requests"));
        assert!(!known(""));
    }

    #[test]
    fn the_default_keeps_langfuse_genai_and_known_spans_only() {
        let plain = span("my-app", vec![KeyValue::new("http.method", "GET")]);
        assert!(!is_default_export_span(&plain));
        let genai = span("my-app", vec![KeyValue::new("gen_ai.system", "openai")]);
        assert!(is_genai_span(&genai) && is_default_export_span(&genai));
        let langfuse = span("langfuse-sdk", vec![]);
        assert!(is_langfuse_span(&langfuse) && is_default_export_span(&langfuse));
        let known = span("litellm", vec![]);
        assert!(!is_genai_span(&known) && is_default_export_span(&known));
    }
}
