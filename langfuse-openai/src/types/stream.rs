//! The chunks of a streamed chat completion.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Usage;

/// A tool-call fragment in a stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call this fragment extends.
    #[serde(default)]
    pub index: u32,
    /// Call id (first fragment).
    #[serde(default)]
    pub id: Option<String>,
    /// Function name and argument fragment.
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

/// A function fragment in a stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionDelta {
    /// Name (first fragment).
    #[serde(default)]
    pub name: Option<String>,
    /// A piece of the arguments.
    #[serde(default)]
    pub arguments: Option<String>,
}

/// The change a chunk brings to one choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Role (first chunk).
    #[serde(default)]
    pub role: Option<String>,
    /// A piece of content.
    #[serde(default)]
    pub content: Option<String>,
    /// Tool-call fragments.
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// One choice of a stream chunk.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Which choice.
    #[serde(default)]
    pub index: u32,
    /// The change (may be `null` or empty).
    #[serde(default)]
    pub delta: Option<Delta>,
    /// Why generation stopped, on the last chunk of a choice.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// One chunk of a streamed chat completion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    /// Response id.
    #[serde(default)]
    pub id: String,
    /// Model that answered.
    #[serde(default)]
    pub model: String,
    /// Choices (the usage chunk of LiteLLM carries one empty choice).
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the last chunk when `include_usage` was asked.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// An error object the gateway sent in place of a chunk (the stream reports it as an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

impl ChatChunk {
    /// The text this chunk adds to the first choice (`None` when it adds none).
    ///
    /// ```
    /// let c: langfuse_openai::ChatChunk = serde_json::from_str(
    ///     r#"{"choices": [{"index": 0, "delta": {"content": "Hel"}}]}"#,
    /// ).unwrap();
    /// assert_eq!(c.text(), Some("Hel"));
    /// ```
    pub fn text(&self) -> Option<&str> {
        self.choices
            .first()
            .and_then(|c| c.delta.as_ref())
            .and_then(|d| d.content.as_deref())
    }
}
