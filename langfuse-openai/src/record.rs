//! What a call writes into its generation: the request, the answer, usage, cost and errors.

use std::fmt;

use langfuse_sdk::{Level, Observation};
use serde_json::json;

use crate::types::{ChatRequest, ChatResponse, GatewayInfo, Message};

/// The status message of a call whose future was dropped before its answer (the words
/// `#[observe]` uses for a cancelled call).
pub(crate) const CANCELLED: &str = "cancelled: the future was dropped before it completed";

/// The status message of a stream dropped before its end.
pub(crate) const CANCELLED_STREAM: &str =
    "cancelled: the stream was dropped before it ended; the output is partial";

/// The generation of a call in flight. Dropped before [`into_inner`](Self::into_inner) (the
/// caller's future was dropped: a timeout, a `select!`), it ends as `#[observe]` ends a
/// cancelled call: level WARNING and a status message starting with "cancelled".
pub(crate) struct InFlight(Option<Observation>);

impl InFlight {
    pub(crate) fn new(obs: Option<Observation>) -> Self {
        InFlight(obs)
    }
    /// The observation, no longer marked cancelled when dropped.
    pub(crate) fn into_inner(mut self) -> Option<Observation> {
        self.0.take()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(obs) = self.0.take() {
            mark_cancelled(&obs, CANCELLED);
            obs.end();
        }
    }
}

/// Level WARNING and a "cancelled" status message.
pub(crate) fn mark_cancelled(obs: &Observation, msg: &str) {
    if obs.is_recording() {
        obs.set_level(Level::Warning);
        obs.set_status_message(msg);
    }
}

pub(crate) fn record_request(obs: &Observation, req: &ChatRequest) {
    if !obs.is_recording() {
        return;
    }
    match &req.tools {
        Some(tools) => obs.set_input(&json!({ "messages": req.messages, "tools": tools })),
        None => obs.set_input(&req.messages),
    };
    obs.set_model(&req.model);
    let params = req.model_parameters();
    if !params.is_empty() {
        obs.set_model_parameters(&params);
    }
}

/// Level ERROR and the error's text (of this client's error or of another's, as async-openai's).
pub(crate) fn record_error(obs: &Observation, e: &(impl fmt::Display + ?Sized)) {
    obs.set_level(Level::Error);
    obs.set_status_message(e.to_string());
}

pub(crate) fn record_gateway(obs: &Observation, g: &GatewayInfo, usage_cost: Option<f64>) {
    if let Some(c) = g.cost_details(usage_cost) {
        obs.set_cost_details(c);
    }
    if let Some(v) = &g.call_id {
        obs.set_metadata_value("litellm_call_id", v);
    }
    if let Some(v) = &g.model_id {
        obs.set_metadata_value("litellm_model_id", v);
    }
    if let Some(v) = &g.model_group {
        obs.set_metadata_value("litellm_model_group", v);
    }
}

pub(crate) fn record_response(obs: &Observation, r: &ChatResponse) {
    if !obs.is_recording() {
        return;
    }
    if !r.model.is_empty() {
        obs.set_model(&r.model);
    }
    if r.choices.len() == 1 {
        obs.set_output(&r.choices[0].message);
    } else {
        let msgs: Vec<&Message> = r.choices.iter().map(|c| &c.message).collect();
        obs.set_output(&msgs);
    }
    let reasons: Vec<Option<&str>> = r
        .choices
        .iter()
        .map(|c| c.finish_reason.as_deref())
        .collect();
    match reasons.as_slice() {
        [one] => {
            obs.set_metadata_value("finish_reason", one);
        }
        many => {
            obs.set_metadata_value("finish_reason", many);
        }
    }
    if !r.id.is_empty() {
        obs.set_metadata_value("response_id", &r.id);
    }
    if let Some(u) = &r.usage {
        obs.set_usage_details(u.to_details());
    }
    record_gateway(obs, &r.gateway, r.usage.as_ref().and_then(|u| u.cost));
}
