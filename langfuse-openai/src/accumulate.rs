//! Merges the chunks of a streamed chat completion into the response they make up.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{json, Map, Value};

use crate::types::{
    ChatChunk, ChatResponse, Choice, Content, GatewayInfo, Message, ToolCall, Usage,
};

/// Merges stream chunks into a response.
#[derive(Default)]
pub(crate) struct Accumulator {
    pub(crate) id: String,
    pub(crate) model: String,
    pub(crate) choices: BTreeMap<u32, (Message, Option<String>)>,
    pub(crate) usage: Option<Usage>,
    pub(crate) first_token: Option<SystemTime>,
    pub(crate) gateway: GatewayInfo,
}

impl Accumulator {
    pub(crate) fn add(&mut self, c: &ChatChunk) {
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

    pub(crate) fn response(&self) -> ChatResponse {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse;

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
