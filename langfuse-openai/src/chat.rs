//! Chat completions, plain and streamed.

use langfuse_sdk::{Observation, ObservationType};
use serde_json::json;

use crate::client::Client;
use crate::error::{status_error, Error};
use crate::proxy::{prepare, Recording};
use crate::record::{record_error, record_request, record_response};
use crate::stream::{timeout_error, ChatStream};
use crate::types::{ChatRequest, ChatResponse, GatewayInfo};

impl Client {
    /// A chat completion, recorded as a generation.
    pub async fn chat(&self, mut req: ChatRequest) -> Result<ChatResponse, Error> {
        req.stream = None;
        req.stream_options = None;
        let rb = self.request(reqwest::Method::POST, "chat/completions");
        let rb = prepare(self.inner.recording, &mut req, rb);
        let obs = self.observe_chat(&req);
        let result = self
            .send_json::<ChatResponse>(rb, &req, "chat completion")
            .await
            .map(|(mut r, gateway)| {
                r.gateway = gateway;
                r
            });
        if let Some(obs) = &obs {
            match &result {
                Ok(r) => record_response(obs, r),
                Err(e) => record_error(obs, e),
            }
        }
        result
    }

    fn observe_chat(&self, req: &ChatRequest) -> Option<Observation> {
        if self.inner.recording == Recording::Proxy {
            return None;
        }
        let name = req
            .observation_name
            .clone()
            .unwrap_or_else(|| "chat-completion".into());
        let obs = self.start(ObservationType::Generation, name);
        record_request(&obs, req);
        Some(obs)
    }

    /// A streamed chat completion, recorded as one generation that ends with the stream.
    ///
    /// The client asks for a final usage chunk unless built with `include_usage(false)`.
    pub async fn chat_stream(&self, mut req: ChatRequest) -> Result<ChatStream, Error> {
        req.stream = Some(true);
        if self.inner.include_usage && req.stream_options.is_none() {
            req.stream_options = Some(json!({ "include_usage": true }));
        }
        let rb = self.request(reqwest::Method::POST, "chat/completions");
        let rb = prepare(self.inner.recording, &mut req, rb);
        let obs = self.observe_chat(&req);
        let sent = tokio::time::timeout(self.inner.timeout, rb.json(&req).send()).await;
        let resp = match sent {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let e = Error::from_reqwest(e);
                if let Some(o) = &obs {
                    record_error(o, &e);
                }
                return Err(e);
            }
            Err(_) => {
                let e = timeout_error(self.inner.timeout);
                if let Some(o) = &obs {
                    record_error(o, &e);
                }
                return Err(e);
            }
        };
        if !resp.status().is_success() {
            let e = status_error(resp).await;
            if let Some(o) = &obs {
                record_error(o, &e);
            }
            return Err(e);
        }
        let gateway = GatewayInfo::from_headers(resp.headers());
        Ok(ChatStream::new(resp, gateway, obs, self.inner.timeout))
    }
}
