//! Request and response types of the OpenAI-compatible API, lenient where real gateways differ:
//! every response field is optional or defaulted, unknown fields are kept in `extra`.

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
    /// Name of the generation recorded for this call (default `chat-completion`).
    #[serde(skip)]
    pub observation_name: Option<String>,
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

/// Token usage, with the details gateways add.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub prompt_tokens: Option<u64>,
    /// Output tokens.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub completion_tokens: Option<u64>,
    /// All tokens.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_tokens: Option<u64>,
    /// `cached_tokens`, `audio_tokens`, … (may be `null`).
    #[serde(default)]
    pub prompt_tokens_details: Option<Map<String, Value>>,
    /// `reasoning_tokens`, … (may be `null`).
    #[serde(default)]
    pub completion_tokens_details: Option<Map<String, Value>>,
    /// Cost in USD, when the gateway reports it (LiteLLM does in streams).
    #[serde(default)]
    pub cost: Option<f64>,
    /// Unnamed fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn lenient_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

impl Usage {
    /// Usage details as Langfuse reads them: input, output, total, cached and reasoning tokens.
    pub(crate) fn to_details(&self) -> langfuse_sdk::UsageDetails {
        let mut u = langfuse_sdk::UsageDetails::new();
        if let Some(n) = self.prompt_tokens {
            u = u.input(n);
        }
        if let Some(n) = self.completion_tokens {
            u = u.output(n);
        }
        if let Some(n) = self.total_tokens {
            u = u.total(n);
        }
        let detail = |m: &Option<Map<String, Value>>, k: &str| {
            m.as_ref().and_then(|m| m.get(k)).and_then(Value::as_u64)
        };
        if let Some(n) = detail(&self.prompt_tokens_details, "cached_tokens") {
            u = u.with("input_cached_tokens", n);
        }
        if let Some(n) = detail(&self.prompt_tokens_details, "audio_tokens") {
            u = u.with("input_audio_tokens", n);
        }
        if let Some(n) = detail(&self.completion_tokens_details, "reasoning_tokens") {
            u = u.with("output_reasoning_tokens", n);
        }
        if let Some(n) = detail(&self.completion_tokens_details, "audio_tokens") {
            u = u.with("output_audio_tokens", n);
        }
        u
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

/// What LiteLLM says about a call in its response headers.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GatewayInfo {
    /// `x-litellm-call-id`.
    pub call_id: Option<String>,
    /// `x-litellm-model-id`.
    pub model_id: Option<String>,
    /// `x-litellm-model-group`.
    pub model_group: Option<String>,
    /// `x-litellm-response-cost` in USD.
    pub response_cost: Option<f64>,
}

impl GatewayInfo {
    pub(crate) fn from_headers(h: &reqwest::header::HeaderMap) -> Self {
        let s = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        GatewayInfo {
            call_id: s("x-litellm-call-id"),
            model_id: s("x-litellm-model-id"),
            model_group: s("x-litellm-model-group"),
            response_cost: s("x-litellm-response-cost")
                .and_then(|c| c.parse::<f64>().ok())
                .filter(|c| c.is_finite() && *c >= 0.0),
        }
    }
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

/// An embeddings request.
///
/// ```
/// use langfuse_openai::EmbeddingRequest;
/// let r = EmbeddingRequest::new("text-embedding-3-small", vec!["hello".into()]);
/// # drop(r);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// Model.
    pub model: String,
    /// Texts to embed.
    pub input: Vec<String>,
    /// Output dimensions, where supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// End-user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Other body fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Name of the observation recorded (default `embedding`).
    #[serde(skip)]
    pub observation_name: Option<String>,
}

impl EmbeddingRequest {
    /// A request for `model` embedding `input`.
    pub fn new(model: impl Into<String>, input: Vec<String>) -> Self {
        EmbeddingRequest {
            model: model.into(),
            input,
            ..Default::default()
        }
    }
}

/// One embedding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Which input.
    #[serde(default)]
    pub index: u32,
    /// The vector.
    #[serde(default)]
    pub embedding: Vec<f32>,
}

/// An embeddings response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingResponse {
    /// Model that answered.
    #[serde(default)]
    pub model: String,
    /// The embeddings.
    #[serde(default)]
    pub data: Vec<Embedding>,
    /// Token usage.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// What the gateway said in headers.
    #[serde(skip)]
    pub gateway: GatewayInfo,
}

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
