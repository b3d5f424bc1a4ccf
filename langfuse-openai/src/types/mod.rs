//! Request and response types of the OpenAI-compatible API, lenient where real gateways differ:
//! every response field is optional or defaulted, unknown fields are kept in `extra`.

mod chat;
mod embeddings;
mod message;
mod responses;
mod stream;
mod usage;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use chat::{ChatRequest, ChatResponse, Choice};
pub use embeddings::{Embedding, EmbeddingRequest, EmbeddingResponse};
pub use message::{Content, FunctionCall, Message, Tool, ToolCall};
pub use responses::{Response, ResponseEvent, ResponseUsage, ResponsesRequest};
pub use stream::{ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta};
pub use usage::{GatewayInfo, Usage};

/// A model the gateway offers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Model id (or LiteLLM model group).
    pub id: String,
    /// Owner.
    #[serde(default)]
    pub owned_by: Option<String>,
    /// Unnamed fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Deserialize)]
pub(crate) struct ModelList {
    #[serde(default)]
    pub data: Vec<Model>,
}

/// The error body of OpenAI-compatible gateways.
#[derive(Deserialize, Default)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: Option<ErrorDetail>,
    #[serde(default)]
    pub detail: Option<Value>,
}

#[derive(Deserialize, Default)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub message: Option<Value>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recorded_responses_decode() {
        let fx = |n: &str| {
            std::fs::read(format!("{}/tests/fixtures/{n}", env!("CARGO_MANIFEST_DIR"))).unwrap()
        };
        let r: ChatResponse = serde_json::from_slice(&fx("key-chat-mock.body")).unwrap();
        assert_eq!(r.text(), Some("Hello from the LiteLLM mock."));
        assert_eq!(r.usage.as_ref().unwrap().total_tokens, Some(30));
        let t: ChatResponse = serde_json::from_slice(&fx("key-chat-tools.body")).unwrap();
        assert_eq!(t.tool_calls()[0].function.name, "get_weather");
        let u: ChatResponse = serde_json::from_slice(&fx("key-chat-upstream-tools.body")).unwrap();
        assert_eq!(
            u.choices[0].message.content, None,
            "null content with tool calls"
        );
        let e: EmbeddingResponse = serde_json::from_slice(&fx("key-embed-mock.body")).unwrap();
        assert_eq!(e.data[0].embedding, vec![0.1, 0.2, 0.3]);
        let m: ModelList = serde_json::from_slice(&fx("key-models.body")).unwrap();
        assert!(m.data.iter().any(|m| m.id == "gpt-4o-mini"));
    }

    #[test]
    fn error_bodies_with_string_or_number_codes() {
        let b: ErrorBody = serde_json::from_str(
            r#"{"error":{"message":"m","type":"throttling_error","param":null,"code":"429"}}"#,
        )
        .unwrap();
        assert_eq!(b.error.unwrap().code, Some(json!("429")));
        let b: ErrorBody = serde_json::from_str(r#"{"error":{"message":"m","code":429}}"#).unwrap();
        assert_eq!(b.error.unwrap().code, Some(json!(429)));
    }
}
