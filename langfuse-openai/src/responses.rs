//! The Responses API (`POST /v1/responses`), plain and streamed, recorded as generations.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use langfuse_sdk::{Observation, ObservationType};
use serde_json::{json, Map, Value};

use crate::body::EventBody;
use crate::client::Client;
use crate::error::Error;
use crate::gateway::GatewayError;
use crate::observed_stream::{excerpt, Decode, ObservedStream, Received};
use crate::options::CallOptions;
use crate::record::record_gateway;
use crate::send::{Endpoint, Opened};
use crate::types::{GatewayInfo, Response, ResponseEvent, ResponsesRequest};

impl Client {
    /// A Responses API call, recorded as a generation (default name `response`) with the
    /// input, the output items, usage (cached and reasoning tokens counted once) and cost.
    pub async fn responses(&self, mut req: ResponsesRequest) -> Result<Response, Error> {
        req.stream = None;
        self.call(req).await
    }

    /// A streamed Responses API call: its events, recorded as one generation that ends with
    /// the stream (with the `response.completed` answer, or the text received so far).
    pub async fn responses_stream(
        &self,
        mut req: ResponsesRequest,
    ) -> Result<ResponseStream, Error> {
        req.stream = Some(true);
        let opened = self.open(req).await?;
        Ok(ResponseStream::new(opened, self.inner.timeout))
    }
}

impl Endpoint for ResponsesRequest {
    const PATH: &'static str = "responses";
    const TYPE: ObservationType = ObservationType::Generation;
    const DEFAULT_NAME: &'static str = "response";
    const ANSWER: &'static str = "response";
    type Answer = Response;

    fn take_options(&mut self) -> (CallOptions, Option<String>) {
        (std::mem::take(&mut self.langfuse), None)
    }
    fn trace_fields(&mut self) -> (&mut Map<String, Value>, &mut Option<String>) {
        (&mut self.extra, &mut self.user)
    }
    fn record_request(&self, obs: &Observation) {
        if !obs.is_recording() {
            return;
        }
        match (&self.instructions, &self.tools) {
            (None, None) => obs.set_input(&self.input),
            (i, t) => obs.set_input(&json!({"instructions": i, "input": self.input, "tools": t})),
        };
        obs.set_model(&self.model);
        let params = self.model_parameters();
        if !params.is_empty() {
            obs.set_model_parameters(&params);
        }
    }
    fn set_gateway(answer: &mut Response, gateway: GatewayInfo) {
        answer.gateway = gateway;
    }
    fn record_answer(obs: &Observation, answer: &Response) {
        record_answer(obs, answer);
    }
}

/// Records a response: model, output items (the one item alone), status, usage and cost.
fn record_answer(obs: &Observation, r: &Response) {
    if !obs.is_recording() {
        return;
    }
    if !r.model.is_empty() {
        obs.set_model(&r.model);
    }
    match r.output.as_slice() {
        [one] => obs.set_output(one),
        many => obs.set_output(many),
    };
    if !r.id.is_empty() {
        obs.set_metadata_value("response_id", &r.id);
    }
    if let Some(s) = &r.status {
        obs.set_metadata_value("status", s);
    }
    let usage = r.usage.as_ref().map(|u| u.as_chat_usage());
    if let Some(u) = &usage {
        obs.set_usage_details(u.to_details());
    }
    record_gateway(obs, &r.gateway, usage.and_then(|u| u.cost));
}

/// A streamed Responses API call: read events with [`next`](Self::next), or use it as a
/// [`futures_core::Stream`]. Dropped early, its generation ends as cancelled with the text
/// received so far.
pub struct ResponseStream {
    inner: ObservedStream<Events>,
}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStream")
            .field("done", &self.inner.is_done())
            .finish()
    }
}

impl ResponseStream {
    fn new(opened: Opened, idle: Duration) -> Self {
        let events = Events {
            text: String::new(),
            first_token: None,
            completed: None,
            gateway: opened.gateway,
        };
        ResponseStream {
            inner: ObservedStream::new(EventBody::new(opened.resp, idle), opened.obs, events),
        }
    }

    /// The next event; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Result<ResponseEvent, Error>> {
        self.inner.next().await
    }

    /// Reads the rest of the stream and returns the completed response (or, when the stream
    /// ended without `response.completed`, one holding the text received).
    pub async fn collect(mut self) -> Result<Response, Error> {
        self.inner.drain().await?;
        Ok(self.response())
    }

    /// The completed response, or one holding the text received so far.
    pub fn response(&self) -> Response {
        self.inner.decoder.response()
    }
}

/// What a response stream received: the text of its deltas, when the first came, and the
/// `response.completed` answer.
struct Events {
    text: String,
    first_token: Option<SystemTime>,
    completed: Option<Response>,
    gateway: GatewayInfo,
}

impl Events {
    fn response(&self) -> Response {
        match &self.completed {
            Some(r) => r.clone(),
            None => Response {
                output: vec![json!({
                    "type": "message", "role": "assistant",
                    "content": [{"type": "output_text", "text": self.text}],
                })],
                gateway: self.gateway.clone(),
                ..Default::default()
            },
        }
    }
}

impl Received for Events {
    fn first_token(&self) -> Option<SystemTime> {
        self.first_token
    }
    fn record(&self, obs: &Observation) {
        record_answer(obs, &self.response());
    }
    fn is_complete(&self) -> bool {
        self.completed.is_some()
    }
}

/// An event per `data:` line; an error event (LiteLLM's or the API's) or one that is not an
/// event ends the stream.
impl Decode for Events {
    type Item = ResponseEvent;

    fn decode(&mut self, data: &str) -> Result<ResponseEvent, Error> {
        let v: Value = serde_json::from_str(data)
            .map_err(|_| Error::decode("response event", format!("not JSON: {}", excerpt(data))))?;
        // LiteLLM's error event (`{"error": {...}}`), or the API's `error` event.
        let err = match (v.get("error"), v.get("type").and_then(Value::as_str)) {
            (Some(e), _) if e.is_object() => Some(e.clone()),
            (_, Some("error")) => Some(v.clone()),
            _ => None,
        };
        if let Some(err) = err {
            return Err(Error::gateway(GatewayError::from_event(&err)));
        }
        let event: ResponseEvent = serde_json::from_value(v)
            .map_err(|e| Error::decode("response event", e.to_string()))?;
        if let Some(t) = event.text_delta() {
            if self.first_token.is_none() && !t.is_empty() {
                self.first_token = Some(SystemTime::now());
            }
            self.text.push_str(t);
        }
        if event.kind == "response.completed" {
            if let Some(r) = &event.response {
                let mut r = r.clone();
                r.gateway = self.gateway.clone();
                self.completed = Some(r);
            }
        }
        Ok(event)
    }
}

impl futures_core::Stream for ResponseStream {
    type Item = Result<ResponseEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.poll_item(cx)
    }
}

impl Drop for ResponseStream {
    fn drop(&mut self) {
        self.inner.dropped();
    }
}
