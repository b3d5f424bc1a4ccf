//! What a span's or event's `tracing` fields mean to Langfuse: the naming convention, read by a
//! [`Visit`]or into [`Fields`], then applied to a builder (at creation) or to a started
//! observation (on `record`).

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};

use crate::capture::{capture_debug, Captured};
use crate::context::scope::{with_current, Parent};
use crate::core::with_global_core;
use crate::{
    Langfuse, Level, ObservationBuilder, ObservationRef, ObservationType, TraceAttributes,
    UsageDetails,
};

/// One field's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Type,
    Name,
    Input,
    Output,
    Model,
    UsageInput,
    UsageOutput,
    UsageTotal,
    UserId,
    SessionId,
    Level,
    Error,
    Version,
    /// `message` (of events) and `return` (`#[instrument(ret)]`).
    Message,
    Return,
    /// Set by the application for log lines; not sent.
    Ignored,
    Metadata,
}

fn role(name: &str) -> Role {
    match name {
        "langfuse.observation.type" | "langfuse.type" | "as_type" => Role::Type,
        "langfuse.name" | "otel.name" => Role::Name,
        "input" | "langfuse.observation.input" | "langfuse.input" => Role::Input,
        "output" | "langfuse.observation.output" | "langfuse.output" => Role::Output,
        "model"
        | "langfuse.observation.model.name"
        | "gen_ai.request.model"
        | "gen_ai.response.model" => Role::Model,
        "usage.input" | "gen_ai.usage.input_tokens" | "gen_ai.usage.prompt_tokens" => {
            Role::UsageInput
        }
        "usage.output" | "gen_ai.usage.output_tokens" | "gen_ai.usage.completion_tokens" => {
            Role::UsageOutput
        }
        "usage.total" | "gen_ai.usage.total_tokens" => Role::UsageTotal,
        "user.id" | "langfuse.user.id" => Role::UserId,
        "session.id" | "langfuse.session.id" => Role::SessionId,
        "langfuse.observation.level" | "langfuse.level" => Role::Level,
        "error" | "exception.message" => Role::Error,
        "langfuse.version" => Role::Version,
        "message" => Role::Message,
        "return" => Role::Return,
        "langfuse.trace_id" => Role::Ignored,
        _ => Role::Metadata,
    }
}

/// True for a field name the bridge gives a meaning to beyond metadata, or one under
/// `langfuse.` (what the "spans with a `langfuse.*` field" selection looks for).
pub(crate) fn is_langfuse_field(name: &str) -> bool {
    name.starts_with("langfuse.") || name == "as_type"
}

/// True for event fields that change the enclosing observation (`error`, `return`).
pub(crate) fn marks_observation(name: &str) -> bool {
    matches!(role(name), Role::Error | Role::Return | Role::Output)
}

/// A field's value as the bridge keeps it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Text(String),
    Json(Value),
    /// `Debug` or error text that capture cut at the limit (it ends with the truncation
    /// marker): sent as plain text as it is, not parsed nor cut again.
    Cut(String),
}

/// Text that may hold a JSON object or array.
fn looks_like_json(s: &str) -> bool {
    matches!(s.trim_start().as_bytes().first(), Some(b'{' | b'['))
}

impl Serialize for Val {
    /// As [`Val::into_json`] would, without building a `Value` for plain text.
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Text(s) if looks_like_json(s) => match serde_json::from_str::<Value>(s) {
                Ok(v) => v.serialize(ser),
                Err(_) => ser.serialize_str(s),
            },
            Val::Text(s) | Val::Cut(s) => ser.serialize_str(s),
            Val::Json(v) => v.serialize(ser),
        }
    }
}

impl Val {
    /// As JSON: a string that holds a JSON object or array is sent as that JSON.
    pub(crate) fn into_json(self) -> Value {
        match self {
            Val::Json(v) => v,
            Val::Cut(s) => Value::String(s),
            Val::Text(s) => match s.trim_start().as_bytes().first() {
                Some(b'{' | b'[') => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                _ => Value::String(s),
            },
        }
    }

    fn text(&self) -> String {
        match self {
            Val::Text(s) | Val::Cut(s) => s.clone(),
            Val::Json(Value::String(s)) => s.clone(),
            Val::Json(v) => v.to_string(),
        }
    }

    fn count(&self) -> Option<u64> {
        match self {
            Val::Json(v) => v
                .as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
            Val::Text(s) => s.trim().parse().ok(),
            Val::Cut(_) => None,
        }
    }

    /// A value already captured (cut), for the observation as it is.
    fn cut(&self) -> Option<Captured> {
        match self {
            Val::Cut(s) => Some(Captured::Text(s.clone())),
            _ => None,
        }
    }
}

/// The text of a string's `Debug` (`#[instrument]` records arguments with `?`): `"a \"b\""`
/// becomes `a "b"`; anything else stays as it is.
fn unquote(mut debug: String) -> String {
    if debug.len() >= 2 && debug.starts_with('"') && debug.ends_with('"') {
        let inner = &debug[1..debug.len() - 1];
        if !inner.contains(['\\', '"']) {
            // In place: the buffer is kept (no second allocation).
            debug.pop();
            debug.remove(0);
            return debug;
        }
        if let Ok(s) = serde_json::from_str::<String>(&debug) {
            return s;
        }
    }
    debug
}

/// The fields of one span, event or `record` call, sorted by meaning.
#[derive(Debug, Default)]
pub(crate) struct Fields<'c> {
    /// The layer's client (`None`: the current observation's, else the global one), whose
    /// capture limit bounds `Debug` and error text.
    client: Option<&'c Langfuse>,
    /// That limit, looked up at the first such field (0: not yet), so spans without one pay
    /// nothing for it.
    limit: usize,
    pub ty: Option<ObservationType>,
    pub name: Option<String>,
    pub input: Option<Val>,
    pub output: Option<Val>,
    pub model: Option<String>,
    usage: [Option<u64>; 3],
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub level: Option<Level>,
    pub error: Option<String>,
    pub version: Option<String>,
    pub message: Option<String>,
    pub metadata: Map<String, Value>,
}

fn parse_level(s: &str) -> Option<Level> {
    match s.to_ascii_uppercase().as_str() {
        "DEBUG" => Some(Level::Debug),
        "DEFAULT" | "INFO" => Some(Level::Default),
        "WARNING" | "WARN" => Some(Level::Warning),
        "ERROR" => Some(Level::Error),
        _ => None,
    }
}

/// The capture limit of one field for observations of `client` (see [`Fields::client`]).
fn field_limit(client: Option<&Langfuse>) -> usize {
    match client {
        Some(lf) => lf.inner.core.field_limit(),
        None => with_current(|ctx| match &ctx.parent {
            Parent::Recording(o) => Some(o.core.field_limit()),
            _ => None,
        })
        .flatten()
        .or_else(|| with_global_core(|c| c.field_limit()))
        // Nothing records then; any bound will do.
        .unwrap_or(1_000_000 / 10 * 9),
    }
}

impl<'c> Fields<'c> {
    /// The fields of a layer with this client (`None`: the global one).
    pub fn new(client: Option<&'c Langfuse>) -> Self {
        Fields {
            client,
            ..Fields::default()
        }
    }

    fn limit(&mut self) -> usize {
        if self.limit == 0 {
            self.limit = field_limit(self.client);
        }
        self.limit
    }

    /// `Debug` text captured as `#[observe]` captures it: formatting stops at the limit (the
    /// text then ends with the truncation marker), a panic becomes the panic marker. `debug`:
    /// a string's `Debug` loses its quotes (not so an error's text).
    fn put_debug(&mut self, field: &Field, value: &dyn fmt::Debug, debug: bool) {
        let limit = self.limit();
        let text = capture_debug(value, limit).into_string();
        // Text kept whole is at most `limit` bytes; a cut one is the limit plus its marker.
        let v = if text.len() > limit {
            Val::Cut(text)
        } else if debug {
            Val::Text(unquote(text))
        } else {
            Val::Text(text)
        };
        self.put(field, v);
    }

    /// A text value: fields that are parsed (type, level, counts) are read without copying it.
    fn put_str(&mut self, field: &Field, s: &str) {
        match role(field.name()) {
            Role::Type => self.ty = ObservationType::parse(s.trim()),
            Role::Level => self.level = parse_level(s.trim()),
            Role::UsageInput => self.usage[0] = s.trim().parse().ok(),
            Role::UsageOutput => self.usage[1] = s.trim().parse().ok(),
            Role::UsageTotal => self.usage[2] = s.trim().parse().ok(),
            _ => self.put(field, Val::Text(s.to_string())),
        }
    }

    fn put(&mut self, field: &Field, v: Val) {
        match role(field.name()) {
            Role::Type => self.ty = ObservationType::parse(v.text().trim()),
            Role::Name => self.name = Some(v.text()),
            Role::Input => self.input = Some(v),
            Role::Output | Role::Return => self.output = Some(v),
            Role::Model => self.model = Some(v.text()),
            Role::UsageInput => self.usage[0] = v.count(),
            Role::UsageOutput => self.usage[1] = v.count(),
            Role::UsageTotal => self.usage[2] = v.count(),
            Role::UserId => self.user_id = Some(v.text()),
            Role::SessionId => self.session_id = Some(v.text()),
            Role::Level => self.level = parse_level(v.text().trim()),
            Role::Error => self.error = Some(v.text()),
            Role::Version => self.version = Some(v.text()),
            Role::Message => self.message = Some(v.text()),
            Role::Ignored => {}
            Role::Metadata => {
                self.metadata
                    .insert(field.name().to_string(), v.into_json());
            }
        }
    }

    /// The token counts given, if any.
    pub fn usage(&self) -> Option<UsageDetails> {
        let [i, o, t] = self.usage;
        if i.is_none() && o.is_none() && t.is_none() {
            return None;
        }
        let mut u = UsageDetails::new();
        if let Some(n) = i {
            u = u.input(n);
        }
        if let Some(n) = o {
            u = u.output(n);
        }
        if let Some(n) = t {
            u = u.total(n);
        }
        Some(u)
    }

    /// User and session, as trace attributes.
    pub fn trace_attributes(&self) -> Option<TraceAttributes> {
        if self.user_id.is_none() && self.session_id.is_none() {
            return None;
        }
        let mut a = TraceAttributes::new();
        if let Some(u) = &self.user_id {
            a = a.user_id(u.clone());
        }
        if let Some(s) = &self.session_id {
            a = a.session_id(s.clone());
        }
        Some(a)
    }

    /// Sets these fields on an observation before it starts (trace attributes are left to the
    /// caller, which also propagates them).
    pub fn apply_to_builder(mut self, mut b: ObservationBuilder) -> ObservationBuilder {
        if let Some(v) = self.input.take() {
            b = match v.cut() {
                Some(c) => b.captured(true, c),
                None => b.input(&v),
            };
        }
        if let Some(v) = self.output.take() {
            b = match v.cut() {
                Some(c) => b.captured(false, c),
                None => b.output(&v),
            };
        }
        if let Some(m) = &self.model {
            b = b.model(m);
        }
        if let Some(u) = self.usage() {
            b = b.usage_details(u);
        }
        if let Some(v) = self.version.take() {
            b = b.version(v);
        }
        if let Some(l) = self.level {
            b = b.level(l);
        }
        if let Some(e) = self.error.take() {
            b = b.level(Level::Error).status_message(e);
        }
        if let Some(m) = self.message.take() {
            self.metadata.insert("message".into(), Value::String(m));
        }
        if !self.metadata.is_empty() {
            b = b.metadata(&self.metadata);
        }
        b
    }

    /// Sets these fields on a started observation (a `record` call).
    pub fn apply_to(mut self, o: &ObservationRef) {
        if let Some(n) = self.name.take() {
            o.set_name(n);
        }
        if let Some(v) = self.input.take() {
            match v.cut() {
                Some(c) => o.set_input_or_output(true, c),
                None => {
                    o.set_input(&v);
                }
            }
        }
        if let Some(v) = self.output.take() {
            match v.cut() {
                Some(c) => o.set_input_or_output(false, c),
                None => {
                    o.set_output(&v);
                }
            }
        }
        if let Some(m) = &self.model {
            o.set_model(m);
        }
        if let Some(u) = self.usage() {
            o.set_usage_details(u);
        }
        if let Some(a) = self.trace_attributes() {
            o.update_trace(a);
        }
        if let Some(v) = self.version.take() {
            o.set_version(v);
        }
        if let Some(l) = self.level {
            o.set_level(l);
        }
        if let Some(e) = self.error.take() {
            o.set_error(&e);
        }
        if let Some(m) = self.message.take() {
            self.metadata.insert("message".into(), Value::String(m));
        }
        if !self.metadata.is_empty() {
            o.set_metadata(&self.metadata);
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put_str(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put_debug(field, value, true);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Val::Json(value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Val::Json(value.into()));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, Val::Text(value.to_string()));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, Val::Text(value.to_string()));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.put(field, Val::Json(v));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Val::Json(value.into()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // Its `Display` text, bounded and guarded like `Debug` text.
        struct Text<'a>(&'a (dyn std::error::Error + 'static));
        impl fmt::Debug for Text<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self.0, f)
            }
        }
        self.put_debug(field, &Text(value), false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_goes_out_as_json_other_text_as_text() {
        assert_eq!(
            Val::Text(r#"{"a":1}"#.into()).into_json(),
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            Val::Text("[1, 2".into()).into_json(),
            Value::String("[1, 2".into())
        );
        assert_eq!(
            Val::Text("hi".into()).into_json(),
            Value::String("hi".into())
        );
    }

    #[test]
    fn a_value_serialises_as_its_json() {
        for v in [
            Val::Text(r#"{"a":[1,2]}"#.into()),
            Val::Text("[not json".into()),
            Val::Text("plain".into()),
            Val::Json(serde_json::json!(3)),
        ] {
            assert_eq!(serde_json::to_value(&v).unwrap(), v.clone().into_json());
        }
    }

    #[test]
    fn roles_follow_the_convention() {
        assert_eq!(role("gen_ai.usage.input_tokens"), Role::UsageInput);
        assert_eq!(role("as_type"), Role::Type);
        assert_eq!(role("user.id"), Role::UserId);
        assert_eq!(role("anything"), Role::Metadata);
        assert!(is_langfuse_field("langfuse.observation.type"));
        assert!(!is_langfuse_field("input"));
        assert_eq!(parse_level("warn"), Some(Level::Warning));
        assert_eq!(Val::Text(" 12 ".into()).count(), Some(12));
    }

    #[test]
    fn string_debug_loses_its_quotes() {
        assert_eq!(unquote(format!("{:?}", "a \"b\"")), "a \"b\"");
        assert_eq!(unquote(format!("{:?}", Some(1))), "Some(1)");
        assert_eq!(unquote("\"".into()), "\"");
        assert_eq!(unquote(r#""a\nb""#.into()), "a\nb");
        assert_eq!(unquote(r#""a"b""#.into()), r#""a"b""#);
    }
}
