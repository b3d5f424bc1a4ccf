//! The Responses API (`POST /v1/responses`), plain and streamed, recorded as generations.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use langfuse_sdk::{Level, Observation, ObservationType};
use serde_json::{json, Value};

use crate::body::{timeout_error, EventBody};
use crate::client::Client;
use crate::error::{status_error, Error};
use crate::gateway::GatewayError;
use crate::options::Call;
use crate::proxy::{prepare, Recording};
use crate::record::{mark_cancelled, record_error, record_gateway, InFlight, CANCELLED_STREAM};
use crate::sse;
use crate::types::{GatewayInfo, Response, ResponseEvent, ResponsesRequest};

impl Client {
    /// A Responses API call, recorded as a generation (default name `response`) with the
    /// input, the output items, usage (cached and reasoning tokens counted once) and cost.
    pub async fn responses(&self, mut req: ResponsesRequest) -> Result<Response, Error> {
        req.stream = None;
        let opts = std::mem::take(&mut req.langfuse);
        let call = Call::new(&opts, None, "response");
        let rb = self.request(reqwest::Method::POST, "responses");
        let rb = prepare(
            self.inner.recording,
            &call,
            &mut req.extra,
            &mut req.user,
            rb,
        );
        let pending = InFlight::new(self.observe_response(&call, &req));
        let result =
            self.send_json::<Response>(rb, &req, "response")
                .await
                .map(|(mut r, gateway)| {
                    r.gateway = gateway;
                    r
                });
        if let Some(obs) = &pending.into_inner() {
            match &result {
                Ok(r) => record_answer(obs, r),
                Err(e) => record_error(obs, e),
            }
        }
        result
    }

    /// A streamed Responses API call: its events, recorded as one generation that ends with
    /// the stream (with the `response.completed` answer, or the text received so far).
    pub async fn responses_stream(
        &self,
        mut req: ResponsesRequest,
    ) -> Result<ResponseStream, Error> {
        req.stream = Some(true);
        let opts = std::mem::take(&mut req.langfuse);
        let call = Call::new(&opts, None, "response");
        let rb = self.request(reqwest::Method::POST, "responses");
        let rb = prepare(
            self.inner.recording,
            &call,
            &mut req.extra,
            &mut req.user,
            rb,
        );
        let pending = InFlight::new(self.observe_response(&call, &req));
        let sent = tokio::time::timeout(self.inner.timeout, rb.json(&req).send()).await;
        let failed = match sent {
            Ok(Ok(resp)) if resp.status().is_success() => {
                let gateway = GatewayInfo::from_headers(resp.headers());
                return Ok(ResponseStream {
                    body: EventBody::new(resp, self.inner.timeout),
                    pending: VecDeque::new(),
                    obs: pending.into_inner(),
                    done: false,
                    text: String::new(),
                    first_token: None,
                    completed: None,
                    gateway,
                });
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

    fn observe_response(&self, call: &Call<'_>, req: &ResponsesRequest) -> Option<Observation> {
        if self.inner.recording == Recording::Proxy {
            return None;
        }
        let obs = self.start(ObservationType::Generation, call);
        if obs.is_recording() {
            match (&req.instructions, &req.tools) {
                (None, None) => obs.set_input(&req.input),
                (i, t) => {
                    obs.set_input(&json!({"instructions": i, "input": req.input, "tools": t}))
                }
            };
            obs.set_model(&req.model);
            let params = req.model_parameters();
            if !params.is_empty() {
                obs.set_model_parameters(&params);
            }
        }
        Some(obs)
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
    body: EventBody,
    pending: VecDeque<Result<ResponseEvent, Error>>,
    obs: Option<Observation>,
    done: bool,
    text: String,
    first_token: Option<SystemTime>,
    completed: Option<Response>,
    gateway: GatewayInfo,
}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStream")
            .field("done", &self.done)
            .finish()
    }
}

impl ResponseStream {
    /// The next event; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Result<ResponseEvent, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_event(cx)).await
    }

    /// Reads the rest of the stream and returns the completed response (or, when the stream
    /// ended without `response.completed`, one holding the text received).
    pub async fn collect(mut self) -> Result<Response, Error> {
        while let Some(e) = self.next().await {
            e?;
        }
        Ok(self.response())
    }

    /// The completed response, or one holding the text received so far.
    pub fn response(&self) -> Response {
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

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<ResponseEvent, Error>>> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Poll::Ready(Some(e));
            }
            if self.done {
                self.finish(None);
                return Poll::Ready(None);
            }
            match self.body.poll_events(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Some(events))) => self.take_events(events),
                Poll::Ready(Ok(None)) => self.done = true,
                Poll::Ready(Err(e)) => {
                    let e = self.fail(e);
                    self.pending.push_back(Err(e));
                }
            }
        }
    }

    fn take_events(&mut self, events: Vec<sse::Event>) {
        for ev in events {
            let sse::Event::Data(d) = ev else {
                self.done = true;
                continue;
            };
            let v: Value = match serde_json::from_str(&d) {
                Ok(v) => v,
                Err(_) => {
                    let e = Error::decode(
                        "response event",
                        format!("not JSON: {}", d.chars().take(200).collect::<String>()),
                    );
                    let e = self.fail(e);
                    self.pending.push_back(Err(e));
                    return;
                }
            };
            // LiteLLM's error event (`{"error": {...}}`), or the API's `error` event.
            let err = match (v.get("error"), v.get("type").and_then(Value::as_str)) {
                (Some(e), _) if e.is_object() => Some(e.clone()),
                (_, Some("error")) => Some(v.clone()),
                _ => None,
            };
            if let Some(err) = err {
                let e = self.fail(Error::gateway(GatewayError::from_event(&err)));
                self.pending.push_back(Err(e));
                return;
            }
            let event: ResponseEvent = match serde_json::from_value(v) {
                Ok(e) => e,
                Err(e) => {
                    let e = self.fail(Error::decode("response event", e.to_string()));
                    self.pending.push_back(Err(e));
                    return;
                }
            };
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
            self.pending.push_back(Ok(event));
        }
    }

    fn record(&self, obs: &Observation) {
        if !obs.is_recording() {
            return;
        }
        if let Some(t) = self.first_token {
            obs.set_completion_start_time(t);
        }
        record_answer(obs, &self.response());
    }

    fn fail(&mut self, e: Error) -> Error {
        self.done = true;
        self.body.close();
        if let Some(obs) = self.obs.take() {
            self.record(&obs);
            obs.set_level(Level::Error);
            obs.set_status_message(e.to_string());
            obs.end();
        }
        e
    }

    fn finish(&mut self, warning: Option<&str>) {
        if let Some(obs) = self.obs.take() {
            self.record(&obs);
            if let Some(w) = warning {
                mark_cancelled(&obs, w);
            }
            obs.end();
        }
    }
}

impl futures_core::Stream for ResponseStream {
    type Item = Result<ResponseEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx)
    }
}

impl Drop for ResponseStream {
    fn drop(&mut self) {
        if !self.done || !self.pending.is_empty() {
            self.finish(Some(CANCELLED_STREAM));
        } else {
            self.finish(None);
        }
    }
}
