//! Chat completions, plain and streamed.

use langfuse_sdk::{Observation, ObservationType};
use serde_json::json;

use crate::body::timeout_error;
use crate::client::Client;
use crate::error::{status_error, Error};
use crate::options::Call;
use crate::proxy::{prepare, Recording};
use crate::record::{record_error, record_request, record_response, InFlight};
use crate::stream::ChatStream;
use crate::types::{ChatRequest, ChatResponse, GatewayInfo};

impl Client {
    /// A chat completion, recorded as a generation.
    pub async fn chat(&self, mut req: ChatRequest) -> Result<ChatResponse, Error> {
        req.stream = None;
        req.stream_options = None;
        let opts = std::mem::take(&mut req.langfuse);
        let name = req.observation_name.take();
        let call = Call::new(&opts, name.as_deref(), "chat-completion");
        let rb = self.request(reqwest::Method::POST, "chat/completions");
        let rb = prepare(
            self.inner.recording,
            &call,
            &mut req.extra,
            &mut req.user,
            rb,
        );
        let pending = InFlight::new(self.observe_chat(&call, &req));
        let result = self
            .send_json::<ChatResponse>(rb, &req, "chat completion")
            .await
            .map(|(mut r, gateway)| {
                r.gateway = gateway;
                r
            });
        if let Some(obs) = &pending.into_inner() {
            match &result {
                Ok(r) => record_response(obs, r),
                Err(e) => record_error(obs, e),
            }
        }
        result
    }

    fn observe_chat(&self, call: &Call<'_>, req: &ChatRequest) -> Option<Observation> {
        if self.inner.recording == Recording::Proxy {
            return None;
        }
        let obs = self.start(ObservationType::Generation, call);
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
        let opts = std::mem::take(&mut req.langfuse);
        let name = req.observation_name.take();
        let call = Call::new(&opts, name.as_deref(), "chat-completion");
        let rb = self.request(reqwest::Method::POST, "chat/completions");
        let rb = prepare(
            self.inner.recording,
            &call,
            &mut req.extra,
            &mut req.user,
            rb,
        );
        let pending = InFlight::new(self.observe_chat(&call, &req));
        let sent = tokio::time::timeout(self.inner.timeout, rb.json(&req).send()).await;
        let failed = match sent {
            Ok(Ok(resp)) if resp.status().is_success() => {
                let gateway = GatewayInfo::from_headers(resp.headers());
                let obs = pending.into_inner();
                return Ok(ChatStream::new(resp, gateway, obs, self.inner.timeout));
            }
            Ok(Ok(resp)) => status_error(resp).await,
            Ok(Err(e)) => Error::from_reqwest(e),
            Err(_) => timeout_error(self.inner.timeout),
        };
        if let Some(o) = &pending.into_inner() {
            record_error(o, &failed);
        }
        Err(failed)
    }
}
