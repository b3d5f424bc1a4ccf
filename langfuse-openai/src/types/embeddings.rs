//! The embeddings request and its answer.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{GatewayInfo, Usage};
use crate::options::CallOptions;

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
    /// How the call is recorded in Langfuse (never sent to the gateway as a body field).
    #[serde(skip)]
    pub langfuse: CallOptions,
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
    /// Name of the observation recorded for this call.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.observation_name = Some(name.into());
        self
    }
    /// How the call is recorded in Langfuse (see [`CallOptions`]).
    pub fn langfuse(mut self, options: CallOptions) -> Self {
        self.langfuse = options;
        self
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
