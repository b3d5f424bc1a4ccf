//! Token usage and what the gateway says about a call in its headers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
