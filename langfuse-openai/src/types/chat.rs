//! The chat completion request and its answer.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{GatewayInfo, Message, Tool, ToolCall, Usage};
use crate::options::CallOptions;

/// A chat completion request. Set what you need; anything else the gateway understands goes
/// in [`extra`](Self::extra) (LiteLLM's `metadata`, provider options, …).
///
/// ```
/// use langfuse_openai::{ChatRequest, Message};
/// let req = ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")])
///     .temperature(0.2)
///     .max_tokens(64)
///     .extra("metadata", serde_json::json!({"team": "search"}))
///     .name("greeting");
/// assert_eq!(req.max_tokens, Some(64));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Model (or LiteLLM model group).
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Most tokens to generate (legacy name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Most tokens to generate, reasoning included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    /// Number of choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Stop sequences (a string or an array).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Value>,
    /// Seed for reproducible sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Presence penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// `{"type": "json_object"}` or a JSON schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `auto`, `none`, `required` or a specific tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// End-user id (filled from the trace's user id when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Set by the client for streaming calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Set by the client for streaming calls (`include_usage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<Value>,
    /// Any other body field, sent as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Name of the generation recorded for this call (default `chat-completion`; a name in
    /// [`langfuse`](Self::langfuse) wins).
    #[serde(skip)]
    pub observation_name: Option<String>,
    /// How the call is recorded in Langfuse (never sent to the gateway as a body field).
    #[serde(skip)]
    pub langfuse: CallOptions,
}

impl ChatRequest {
    /// A request for `model` with `messages`.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            ..Default::default()
        }
    }
    /// Sampling temperature.
    pub fn temperature(mut self, t: f64) -> Self {
        self.temperature = Some(t);
        self
    }
    /// Nucleus sampling.
    pub fn top_p(mut self, p: f64) -> Self {
        self.top_p = Some(p);
        self
    }
    /// Most tokens to generate.
    pub fn max_tokens(mut self, n: u64) -> Self {
        self.max_tokens = Some(n);
        self
    }
    /// Most tokens to generate, reasoning included.
    pub fn max_completion_tokens(mut self, n: u64) -> Self {
        self.max_completion_tokens = Some(n);
        self
    }
    /// Number of choices.
    pub fn n(mut self, n: u32) -> Self {
        self.n = Some(n);
        self
    }
    /// Stop sequences.
    pub fn stop(mut self, stop: impl Into<Value>) -> Self {
        self.stop = Some(stop.into());
        self
    }
    /// Seed.
    pub fn seed(mut self, seed: i64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Presence penalty.
    pub fn presence_penalty(mut self, p: f64) -> Self {
        self.presence_penalty = Some(p);
        self
    }
    /// Frequency penalty.
    pub fn frequency_penalty(mut self, p: f64) -> Self {
        self.frequency_penalty = Some(p);
        self
    }
    /// Response format.
    pub fn response_format(mut self, f: Value) -> Self {
        self.response_format = Some(f);
        self
    }
    /// Tools.
    pub fn tools(mut self, tools: Vec<Tool>) -> Self {
        self.tools = Some(tools);
        self
    }
    /// Tool choice.
    pub fn tool_choice(mut self, c: impl Into<Value>) -> Self {
        self.tool_choice = Some(c.into());
        self
    }
    /// End-user id.
    pub fn user(mut self, u: impl Into<String>) -> Self {
        self.user = Some(u.into());
        self
    }
    /// Any other body field (LiteLLM's `metadata`, provider options, …).
    pub fn extra(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }
    /// Name of the generation recorded for this call.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.observation_name = Some(name.into());
        self
    }
    /// How the call is recorded in Langfuse: name, metadata, prompt, parent, user, session,
    /// tags, version (see [`CallOptions`]).
    pub fn langfuse(mut self, options: CallOptions) -> Self {
        self.langfuse = options;
        self
    }

    /// Model parameters as Langfuse shows them: values are numbers or strings.
    pub(crate) fn model_parameters(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                let v = match v {
                    Value::Number(_) | Value::String(_) => v,
                    other => Value::String(other.to_string()),
                };
                m.insert(k.to_string(), v);
            }
        };
        put("temperature", self.temperature.map(Value::from));
        put("top_p", self.top_p.map(Value::from));
        put("max_tokens", self.max_tokens.map(Value::from));
        put(
            "max_completion_tokens",
            self.max_completion_tokens.map(Value::from),
        );
        put("n", self.n.map(Value::from));
        put("stop", self.stop.clone());
        put("seed", self.seed.map(Value::from));
        put("presence_penalty", self.presence_penalty.map(Value::from));
        put("frequency_penalty", self.frequency_penalty.map(Value::from));
        put("response_format", self.response_format.clone());
        put("tool_choice", self.tool_choice.clone());
        put("user", self.user.clone().map(Value::from));
        put("stream", self.stream.map(Value::from));
        m
    }
}

/// One choice of a chat completion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Position among the choices.
    #[serde(default)]
    pub index: u32,
    /// The message.
    #[serde(default)]
    pub message: Message,
    /// Why generation stopped (may be missing).
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Unnamed fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A chat completion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Response id.
    #[serde(default)]
    pub id: String,
    /// Model that answered.
    #[serde(default)]
    pub model: String,
    /// Creation time (unix seconds).
    #[serde(default)]
    pub created: Option<i64>,
    /// The choices.
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// Token usage.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Unnamed fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// What the gateway said in headers.
    #[serde(skip)]
    pub gateway: GatewayInfo,
}

impl ChatResponse {
    /// The first choice's text.
    pub fn text(&self) -> Option<&str> {
        self.choices.first().and_then(|c| c.message.text())
    }
    /// The first choice's tool calls.
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.choices
            .first()
            .and_then(|c| c.message.tool_calls.as_deref())
            .unwrap_or(&[])
    }
}
