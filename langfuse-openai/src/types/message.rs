//! Messages, their content, and tools with their calls.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Message content: text, or an array of parts (text, images, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Content parts, kept as JSON.
    Parts(Vec<Value>),
}

/// A chat message.
///
/// ```
/// use langfuse_openai::Message;
/// let m = Message::user("hi");
/// assert_eq!(m.text(), Some("hi"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    #[serde(default)]
    pub role: String,
    /// The content; `null` for an assistant message with tool calls.
    #[serde(default)]
    pub content: Option<Content>,
    /// Optional author name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Fields this type does not name (kept and sent back as they are).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    fn with(role: &str, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            content: Some(Content::Text(content.into())),
            ..Default::default()
        }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::with("system", content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::with("user", content)
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::with("assistant", content)
    }
    /// A tool result answering `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            tool_call_id: Some(tool_call_id.into()),
            ..Self::with("tool", content)
        }
    }
    /// The text content, if it is text.
    pub fn text(&self) -> Option<&str> {
        match &self.content {
            Some(Content::Text(t)) => Some(t),
            _ => None,
        }
    }
}

/// A tool call requested by the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id, echoed by the tool message.
    #[serde(default)]
    pub id: String,
    /// Always `function` today.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// Function name and JSON arguments.
    #[serde(default)]
    pub function: FunctionCall,
    /// Unnamed fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn function_type() -> String {
    "function".into()
}

/// The function of a tool call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Function name.
    #[serde(default)]
    pub name: String,
    /// Arguments as JSON text.
    #[serde(default)]
    pub arguments: String,
}

/// A tool the model may call.
///
/// ```
/// use langfuse_openai::Tool;
/// let t = Tool::function("get_weather", "Weather by city",
///     serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}));
/// assert_eq!(t.function["name"], "get_weather");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `function` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// `{name, description, parameters}`.
    pub function: Value,
}

impl Tool {
    /// A function tool.
    pub fn function(name: &str, description: &str, parameters: Value) -> Self {
        Tool {
            kind: "function".into(),
            function: serde_json::json!({
                "name": name, "description": description, "parameters": parameters
            }),
        }
    }
}
