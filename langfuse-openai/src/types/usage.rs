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
    /// Usage details as Langfuse prices them, each token counted once.
    ///
    /// OpenAI's `prompt_tokens` include the cached and audio input tokens, and
    /// `completion_tokens` the reasoning and audio output tokens. Langfuse prices `input`,
    /// `input_cached_tokens`, `input_audio_tokens`, `output`, `output_reasoning_tokens` and
    /// `output_audio_tokens` separately, so `input` and `output` are what is left after the
    /// details, as Langfuse's own OpenAI integration records them; `total` is `total_tokens`.
    /// Other details (LiteLLM's `text_tokens`, a breakdown of the rest) are not subtracted,
    /// and zero details are left out.
    pub(crate) fn to_details(&self) -> langfuse_sdk::UsageDetails {
        let u = langfuse_sdk::UsageDetails::new();
        let u = netted(
            u,
            ("input", self.prompt_tokens),
            &self.prompt_tokens_details,
            [
                ("cached_tokens", "input_cached_tokens"),
                ("audio_tokens", "input_audio_tokens"),
            ],
        );
        let u = netted(
            u,
            ("output", self.completion_tokens),
            &self.completion_tokens_details,
            [
                ("reasoning_tokens", "output_reasoning_tokens"),
                ("audio_tokens", "output_audio_tokens"),
            ],
        );
        match self.total_tokens {
            Some(n) => u.total(n),
            None => u,
        }
    }
}

/// Adds the non-zero `details` (OpenAI's field, Langfuse's key) to `u`, and `gross` less them
/// under `key`.
fn netted(
    mut u: langfuse_sdk::UsageDetails,
    (key, gross): (&str, Option<u64>),
    details: &Option<Map<String, Value>>,
    names: [(&str, &str); 2],
) -> langfuse_sdk::UsageDetails {
    let mut net = gross;
    for (field, as_key) in names {
        let n = details
            .as_ref()
            .and_then(|m| m.get(field))
            .and_then(Value::as_u64)
            .filter(|n| *n > 0);
        if let Some(n) = n {
            u = u.with(as_key, n);
            net = net.map(|g| g.saturating_sub(n));
        }
    }
    match net {
        Some(n) => u.with(key, n),
        None => u,
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
    /// `x-litellm-response-cost-input`: the input tokens not read from a cache, in USD.
    pub cost_input: Option<f64>,
    /// `x-litellm-response-cost-output`: the output tokens, reasoning included, in USD.
    pub cost_output: Option<f64>,
    /// `x-litellm-response-cost-cache-read`: the cached input tokens, in USD.
    pub cost_cache_read: Option<f64>,
    /// `x-litellm-response-cost-reasoning`: the reasoning tokens (part of the output), in USD.
    pub cost_reasoning: Option<f64>,
}

impl GatewayInfo {
    pub(crate) fn from_headers(h: &reqwest::header::HeaderMap) -> Self {
        let s = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        let usd = |k: &str| {
            s(k).and_then(|c| c.trim().parse::<f64>().ok())
                .filter(|c| c.is_finite() && *c >= 0.0)
        };
        GatewayInfo {
            call_id: s("x-litellm-call-id"),
            model_id: s("x-litellm-model-id"),
            model_group: s("x-litellm-model-group"),
            response_cost: usd("x-litellm-response-cost"),
            cost_input: usd("x-litellm-response-cost-input"),
            cost_output: usd("x-litellm-response-cost-output"),
            cost_cache_read: usd("x-litellm-response-cost-cache-read"),
            cost_reasoning: usd("x-litellm-response-cost-reasoning"),
        }
    }

    /// The cost as Langfuse reads it: LiteLLM's total, with its breakdown under the keys of
    /// [`Usage`]'s details when the headers carry one. LiteLLM's output cost includes the
    /// reasoning tokens, so `output` is what is left after them (the parts add up to the
    /// total); zero parts are left out. A streamed answer's headers are sent before its cost is known: they carry no
    /// `x-litellm-response-cost` (only zeros for the parts), and the total comes from the
    /// stream's usage chunk (`usage_cost`) alone.
    pub(crate) fn cost_details(
        &self,
        usage_cost: Option<f64>,
    ) -> Option<langfuse_sdk::CostDetails> {
        let Some(total) = self.response_cost else {
            return usage_cost.map(|c| langfuse_sdk::CostDetails::new().total(c));
        };
        let mut c = langfuse_sdk::CostDetails::new().total(total);
        if let Some(v) = self.cost_input.filter(|v| *v > 0.0) {
            c = c.input(v);
        }
        if let Some(v) = self.cost_cache_read.filter(|v| *v > 0.0) {
            c = c.with("input_cached_tokens", v);
        }
        let reasoning = self.cost_reasoning.filter(|v| *v > 0.0);
        let output = self.cost_output.map(|v| v - reasoning.unwrap_or(0.0));
        if let Some(v) = output.filter(|v| *v > 0.0) {
            c = c.output(v);
        }
        if let Some(v) = reasoning {
            c = c.with("output_reasoning_tokens", v);
        }
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn headers(name: &str) -> reqwest::header::HeaderMap {
        let text = String::from_utf8(fixture(name)).unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in text.lines().skip(1).filter_map(|l| l.split_once(": ")) {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.trim().parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn details_are_netted_out_of_input_and_output() {
        // The fake upstream's answer through LiteLLM: 20 prompt tokens of which 5 cached and 3
        // audio, 12 completion tokens of which 4 reasoning and 2 audio.
        let body: serde_json::Value =
            serde_json::from_slice(&fixture("key-chat-upstream-details.body")).unwrap();
        let u: Usage = serde_json::from_value(body["usage"].clone()).unwrap();
        let d = u.to_details();
        let got: Vec<(&str, Option<u64>)> = [
            "input",
            "input_cached_tokens",
            "input_audio_tokens",
            "output",
            "output_reasoning_tokens",
            "output_audio_tokens",
            "total",
        ]
        .into_iter()
        .map(|k| (k, d.get(k)))
        .collect();
        assert_eq!(
            got,
            [
                ("input", Some(12)),
                ("input_cached_tokens", Some(5)),
                ("input_audio_tokens", Some(3)),
                ("output", Some(6)),
                ("output_reasoning_tokens", Some(4)),
                ("output_audio_tokens", Some(2)),
                ("total", Some(32)),
            ]
        );
    }

    #[test]
    fn zero_and_unknown_details_change_nothing() {
        let u: Usage = serde_json::from_str(
            r#"{"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15,
                "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 6},
                "prompt_tokens_details": null}"#,
        )
        .unwrap();
        let d = u.to_details();
        assert_eq!(
            (d.get("input"), d.get("output"), d.get("total")),
            (Some(9), Some(6), Some(15))
        );
        assert_eq!(d.get("output_reasoning_tokens"), None);
        assert_eq!(d.get("output_text_tokens"), None);
        let odd: Usage = serde_json::from_str(
            r#"{"prompt_tokens": 2, "prompt_tokens_details": {"cached_tokens": 5}}"#,
        )
        .unwrap();
        assert_eq!(odd.to_details().get("input"), Some(0), "never below zero");
    }

    #[test]
    fn litellm_cost_breakdown_adds_up_to_its_total() {
        let g = GatewayInfo::from_headers(&headers("key-chat-upstream-details.headers"));
        let c = g.cost_details(None).unwrap();
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
        assert!(close(c.get("total"), 4.4e-5));
        assert!(close(c.get("input"), 1.5e-5));
        assert!(close(c.get("input_cached_tokens"), 5e-6));
        assert!(close(c.get("output"), 1.6e-5));
        assert!(close(c.get("output_reasoning_tokens"), 8e-6));
        let parts: f64 = [
            "input",
            "input_cached_tokens",
            "output",
            "output_reasoning_tokens",
        ]
        .iter()
        .map(|k| c.get(k).unwrap())
        .sum();
        assert!(close(Some(parts), 4.4e-5));
        // A stream's headers: no total, zero parts; the usage chunk's cost is the total.
        let s =
            GatewayInfo::from_headers(&headers("key-chat-upstream-details-stream-usage.headers"));
        let c = s.cost_details(Some(4.4e-5)).unwrap();
        assert_eq!((c.get("total"), c.get("input")), (Some(4.4e-5), None));
        assert!(s.cost_details(None).is_none());
    }
}
