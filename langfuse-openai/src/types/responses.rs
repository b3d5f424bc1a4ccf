//! The Responses API (`POST /v1/responses`): request, answer and stream events.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{GatewayInfo, Usage};
use crate::options::CallOptions;

/// A Responses API request. `input` is a string or an array of input items, as the API takes.
///
/// ```
/// use langfuse_openai::ResponsesRequest;
/// let req = ResponsesRequest::new("gpt-4o-mini", "hi")
///     .instructions("be brief")
///     .max_output_tokens(64);
/// assert_eq!(req.input, serde_json::json!("hi"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponsesRequest {
    /// Model (or LiteLLM model group).
    pub model: String,
    /// A string, or an array of input items (messages, tool results, …).
    pub input: Value,
    /// System instructions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Most tokens to generate, reasoning included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Tools the model may call (as the API defines them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    /// End-user id (filled from the trace's user id when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Set by the client for streaming calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Any other body field, sent as is (`previous_response_id`, `reasoning`, LiteLLM's
    /// `metadata`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// How the call is recorded in Langfuse (never sent to the gateway as a body field).
    #[serde(skip)]
    pub langfuse: CallOptions,
}

impl ResponsesRequest {
    /// A request for `model` with `input` (a string or input items).
    pub fn new(model: impl Into<String>, input: impl Into<Value>) -> Self {
        ResponsesRequest {
            model: model.into(),
            input: input.into(),
            ..Default::default()
        }
    }
    /// System instructions.
    pub fn instructions(mut self, i: impl Into<String>) -> Self {
        self.instructions = Some(i.into());
        self
    }
    /// Sampling temperature.
    pub fn temperature(mut self, t: f64) -> Self {
        self.temperature = Some(t);
        self
    }
    /// Most tokens to generate.
    pub fn max_output_tokens(mut self, n: u64) -> Self {
        self.max_output_tokens = Some(n);
        self
    }
    /// Any other body field.
    pub fn extra(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }
    /// How the call is recorded in Langfuse (see [`CallOptions`]).
    pub fn langfuse(mut self, options: CallOptions) -> Self {
        self.langfuse = options;
        self
    }

    /// Model parameters as Langfuse shows them.
    pub(crate) fn model_parameters(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("temperature", self.temperature.map(Value::from));
        put("top_p", self.top_p.map(Value::from));
        put("max_output_tokens", self.max_output_tokens.map(Value::from));
        put("user", self.user.clone().map(Value::from));
        put("stream", self.stream.map(|s| Value::from(s.to_string())));
        m
    }
}

/// Token usage of a response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseUsage {
    /// Input tokens (cached ones included).
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Output tokens (reasoning included).
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// All tokens.
    #[serde(default)]
    pub total_tokens: Option<u64>,
    /// `cached_tokens`, … (may be `null`).
    #[serde(default)]
    pub input_tokens_details: Option<Map<String, Value>>,
    /// `reasoning_tokens`, … (may be `null`).
    #[serde(default)]
    pub output_tokens_details: Option<Map<String, Value>>,
    /// Cost in USD, when the gateway reports it (LiteLLM does in streams).
    #[serde(default)]
    pub cost: Option<f64>,
}

impl ResponseUsage {
    /// The same counts under the chat completion names, to record them the same way.
    pub(crate) fn as_chat_usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.input_tokens,
            completion_tokens: self.output_tokens,
            total_tokens: self.total_tokens,
            prompt_tokens_details: self.input_tokens_details.clone(),
            completion_tokens_details: self.output_tokens_details.clone(),
            cost: self.cost,
            extra: Map::new(),
        }
    }
}

/// An answer of the Responses API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Response id (for `previous_response_id`).
    #[serde(default)]
    pub id: String,
    /// Model that answered.
    #[serde(default)]
    pub model: String,
    /// `completed`, `incomplete`, `failed`, `in_progress`.
    #[serde(default)]
    pub status: Option<String>,
    /// Output items (messages, function calls, reasoning), as JSON.
    #[serde(default)]
    pub output: Vec<Value>,
    /// Token usage.
    #[serde(default)]
    pub usage: Option<ResponseUsage>,
    /// Unnamed fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// What the gateway said in headers.
    #[serde(skip)]
    pub gateway: GatewayInfo,
}

impl Response {
    /// The text of the output messages, joined.
    pub fn output_text(&self) -> String {
        let mut text = String::new();
        for item in &self.output {
            for part in item["content"].as_array().into_iter().flatten() {
                if part["type"] == "output_text" {
                    text.push_str(part["text"].as_str().unwrap_or_default());
                }
            }
        }
        text
    }
}

/// One event of a streamed response: its `type` (`response.created`,
/// `response.output_text.delta`, `response.completed`, `error`, …) and its fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseEvent {
    /// The event type.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The text a `response.output_text.delta` adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Value>,
    /// The response, on `response.created`, `response.completed`, `response.failed`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
    /// Other fields (`item_id`, `output_index`, `sequence_number`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ResponseEvent {
    /// The text this event adds (a `response.output_text.delta`).
    pub fn text_delta(&self) -> Option<&str> {
        match self.kind.as_str() {
            "response.output_text.delta" => self.delta.as_ref().and_then(Value::as_str),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        std::fs::read(format!("{dir}/{name}")).unwrap()
    }

    #[test]
    fn captured_responses_decode() {
        let r: Response =
            serde_json::from_slice(&fixture("key-responses-upstream-details-plain.body")).unwrap();
        assert_eq!(r.output_text(), "Hello from the fake upstream.");
        let u = r.usage.unwrap().as_chat_usage().to_details();
        assert_eq!(
            (u.get("input"), u.get("input_cached_tokens")),
            (Some(15), Some(5))
        );
        assert_eq!(
            (u.get("output"), u.get("output_reasoning_tokens")),
            (Some(8), Some(4))
        );

        let mut p = crate::sse::Parser::default();
        let body = fixture("key-responses-upstream-details-stream.body");
        let mut events = p.feed(&body).unwrap();
        events.extend(p.finish().unwrap());
        let decoded: Vec<ResponseEvent> = events
            .into_iter()
            .filter_map(|e| match e {
                crate::sse::Event::Data(d) => Some(serde_json::from_str(&d).unwrap()),
                crate::sse::Event::Done => None,
            })
            .collect();
        let text: String = decoded
            .iter()
            .filter_map(ResponseEvent::text_delta)
            .collect();
        assert_eq!(text, "Hello from the fake upstream.");
        let done = decoded.last().unwrap();
        assert_eq!(done.kind, "response.completed");
        let usage = done.response.as_ref().unwrap().usage.as_ref().unwrap();
        assert_eq!(usage.cost, Some(4.4e-5));
    }
}
