//! A streamed chat completion: chunks merged into the response its generation records.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, SystemTime};

use langfuse_sdk::{Level, Observation};
use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::gateway::GatewayError;
use crate::record::{mark_cancelled, record_response, CANCELLED_STREAM};
use crate::sse;
use crate::types::{
    ChatChunk, ChatResponse, Choice, Content, GatewayInfo, Message, ToolCall, Usage,
};

pub(crate) fn timeout_error(d: Duration) -> Error {
    Error::timeout(format!(
        "no data from the gateway for {:.0}s",
        d.as_secs_f64()
    ))
}

/// Merges stream chunks into a response.
#[derive(Default)]
struct Accumulator {
    id: String,
    model: String,
    choices: BTreeMap<u32, (Message, Option<String>)>,
    usage: Option<Usage>,
    first_token: Option<SystemTime>,
    gateway: GatewayInfo,
}

impl Accumulator {
    fn add(&mut self, c: &ChatChunk) {
        if self.id.is_empty() {
            self.id = c.id.clone();
        }
        if !c.model.is_empty() {
            self.model = c.model.clone();
        }
        if let Some(u) = &c.usage {
            self.usage = Some(u.clone());
        }
        for ch in &c.choices {
            let (msg, finish) = self.choices.entry(ch.index).or_insert_with(|| {
                (
                    Message {
                        role: "assistant".into(),
                        ..Default::default()
                    },
                    None,
                )
            });
            if let Some(f) = &ch.finish_reason {
                *finish = Some(f.clone());
            }
            let Some(d) = &ch.delta else { continue };
            if let Some(r) = &d.role {
                msg.role = r.clone();
            }
            let mut produced = false;
            if let Some(t) = &d.content {
                if !t.is_empty() {
                    produced = true;
                    match &mut msg.content {
                        Some(Content::Text(s)) => s.push_str(t),
                        _ => msg.content = Some(Content::Text(t.clone())),
                    }
                }
            }
            for tc in d.tool_calls.iter().flatten() {
                produced = true;
                let calls = msg.tool_calls.get_or_insert_with(Vec::new);
                let pos = match calls.iter().position(|c| {
                    c.extra.get("index").and_then(Value::as_u64) == Some(tc.index as u64)
                }) {
                    Some(p) => p,
                    None => {
                        let mut call = ToolCall {
                            kind: "function".into(),
                            ..Default::default()
                        };
                        call.extra.insert("index".into(), json!(tc.index));
                        calls.push(call);
                        calls.len() - 1
                    }
                };
                let call = &mut calls[pos];
                if let Some(id) = &tc.id {
                    call.id = id.clone();
                }
                if let Some(f) = &tc.function {
                    if let Some(n) = &f.name {
                        if !n.is_empty() {
                            call.function.name = n.clone();
                        }
                    }
                    if let Some(a) = &f.arguments {
                        call.function.arguments.push_str(a);
                    }
                }
            }
            if produced && self.first_token.is_none() {
                self.first_token = Some(SystemTime::now());
            }
        }
    }

    fn response(&self) -> ChatResponse {
        ChatResponse {
            id: self.id.clone(),
            model: self.model.clone(),
            created: None,
            choices: self
                .choices
                .iter()
                .map(|(i, (m, f))| {
                    let mut m = m.clone();
                    for c in m.tool_calls.iter_mut().flatten() {
                        c.extra.remove("index");
                    }
                    Choice {
                        index: *i,
                        message: m,
                        finish_reason: f.clone(),
                        extra: Map::new(),
                    }
                })
                .collect(),
            usage: self.usage.clone(),
            extra: Map::new(),
            gateway: self.gateway.clone(),
        }
    }
}

/// A streamed chat completion: read chunks with [`next`](Self::next).
///
/// The generation ends when the stream ends. Dropped early, it ends with the partial output, level
/// WARNING and a status message that says so.
pub struct ChatStream {
    resp: Option<reqwest::Response>,
    parser: sse::Parser,
    pending: VecDeque<Result<ChatChunk, Error>>,
    acc: Accumulator,
    obs: Option<Observation>,
    done: bool,
    idle: Duration,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("done", &self.done)
            .finish()
    }
}

impl ChatStream {
    pub(crate) fn new(
        resp: reqwest::Response,
        gateway: GatewayInfo,
        obs: Option<Observation>,
        idle: Duration,
    ) -> Self {
        ChatStream {
            resp: Some(resp),
            parser: sse::Parser::default(),
            pending: VecDeque::new(),
            acc: Accumulator {
                gateway,
                ..Default::default()
            },
            obs,
            done: false,
            idle,
        }
    }

    /// The next chunk; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Result<ChatChunk, Error>> {
        loop {
            if let Some(c) = self.pending.pop_front() {
                return Some(c);
            }
            if self.done {
                self.finish(None);
                return None;
            }
            let resp = self.resp.as_mut()?;
            let read = tokio::time::timeout(self.idle, resp.chunk()).await;
            let events = match read {
                Err(_) => Err(timeout_error(self.idle)),
                Ok(Err(e)) => Err(Error::from_reqwest(e)),
                Ok(Ok(Some(bytes))) => self.parser.feed(&bytes),
                Ok(Ok(None)) => {
                    // End of body: `[DONE]` missing is tolerated.
                    self.done = true;
                    self.parser.finish()
                }
            };
            let events = match events {
                Ok(ev) => ev,
                Err(e) => {
                    let e = self.fail(e);
                    self.pending.push_back(Err(e));
                    continue;
                }
            };
            for ev in events {
                match ev {
                    sse::Event::Done => self.done = true,
                    sse::Event::Data(d) => match serde_json::from_str::<ChatChunk>(&d) {
                        Ok(ChatChunk {
                            error: Some(err), ..
                        }) => {
                            let e = self.fail(Error::gateway(GatewayError::from_event(&err)));
                            self.pending.push_back(Err(e));
                            break;
                        }
                        Ok(c) => {
                            self.acc.add(&c);
                            self.pending.push_back(Ok(c));
                        }
                        Err(_) => {
                            let e = Error::decode(
                                "stream chunk",
                                format!(
                                    "not a chat completion chunk: {}",
                                    d.chars().take(200).collect::<String>()
                                ),
                            );
                            // Chunks read before it are still delivered first.
                            let e = self.fail(e);
                            self.pending.push_back(Err(e));
                            break;
                        }
                    },
                }
            }
        }
    }

    /// Reads the rest of the stream and returns the merged response.
    pub async fn collect(mut self) -> Result<ChatResponse, Error> {
        while let Some(c) = self.next().await {
            c?;
        }
        Ok(self.acc.response())
    }

    /// The response merged from the chunks read so far (content and tool calls by index).
    pub fn response(&self) -> ChatResponse {
        self.acc.response()
    }

    fn fail(&mut self, e: Error) -> Error {
        self.done = true;
        self.resp = None;
        if let Some(obs) = self.obs.take() {
            self.record(&obs);
            obs.set_level(Level::Error);
            obs.set_status_message(e.to_string());
            obs.end();
        }
        e
    }

    fn record(&self, obs: &Observation) {
        if !obs.is_recording() {
            return;
        }
        let r = self.acc.response();
        if let Some(t) = self.acc.first_token {
            obs.set_completion_start_time(t);
        }
        record_response(obs, &r);
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

impl Drop for ChatStream {
    fn drop(&mut self) {
        if !self.done || !self.pending.is_empty() {
            self.finish(Some(CANCELLED_STREAM));
        } else {
            self.finish(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_merge_content_tool_calls_and_usage() {
        let fx = |n: &str| {
            std::fs::read(format!("{}/tests/fixtures/{n}", env!("CARGO_MANIFEST_DIR"))).unwrap()
        };
        let merge = |body: Vec<u8>| {
            let mut p = sse::Parser::default();
            let mut acc = Accumulator::default();
            let mut ev = p.feed(&body).unwrap();
            ev.extend(p.finish().unwrap());
            for e in ev {
                if let sse::Event::Data(d) = e {
                    acc.add(&serde_json::from_str(&d).unwrap());
                }
            }
            (acc.response(), acc.first_token.is_some())
        };
        let (r, first) = merge(fx("key-chat-mock-stream-usage.body"));
        assert!(first);
        assert_eq!(r.text(), Some("Hello from the LiteLLM mock."));
        assert_eq!(r.choices[0].finish_reason.as_deref(), Some("stop"));
        let u = r.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.cost),
            (Some(8), Some(8), Some(6e-6))
        );
        assert_eq!(u.completion_tokens_details.unwrap()["reasoning_tokens"], 0);
        let (t, _) = merge(fx("key-chat-upstream-tools-stream.body"));
        let call = &t.tool_calls()[0];
        assert_eq!(call.id, "call_fake_1");
        assert_eq!(call.function.name, "get_weather");
        assert_eq!(call.function.arguments, "{\"city\": \"Paris\"}");
        assert!(call.extra.is_empty());
        assert_eq!(t.choices[0].finish_reason.as_deref(), Some("tool_calls"));
    }
}
