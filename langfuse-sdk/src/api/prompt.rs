//! Prompts as Langfuse stores them (text or chat), compiling them, and linking generations.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::compile::{compile_template, py_str, template_variables};
use super::error::{ApiError, Kind};
use super::types::nd;

/// One entry of a chat prompt template: a message, or a placeholder for a list of messages
/// filled in at compile time.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ChatTemplateEntry {
    /// A message whose content may contain `{{variables}}`.
    Message {
        /// `system`, `user`, `assistant`, …
        role: String,
        /// The template text.
        content: String,
    },
    /// A placeholder named `name`: filled with a list of messages at compile time.
    Placeholder {
        /// The variable that fills it.
        name: String,
    },
}

impl ChatTemplateEntry {
    /// A message entry.
    pub fn message(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatTemplateEntry::Message {
            role: role.into(),
            content: content.into(),
        }
    }
    /// A placeholder entry.
    pub fn placeholder(name: impl Into<String>) -> Self {
        ChatTemplateEntry::Placeholder { name: name.into() }
    }
}

// The server sends `{role, content}` and `{name, type: "placeholder"}`; it needs the `type` on
// placeholders it is sent (a placeholder without it is a 400) and drops it from messages.
impl Serialize for ChatTemplateEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = Map::new();
        match self {
            ChatTemplateEntry::Message { role, content } => {
                m.insert("role".into(), Value::String(role.clone()));
                m.insert("content".into(), Value::String(content.clone()));
            }
            ChatTemplateEntry::Placeholder { name } => {
                m.insert("type".into(), Value::String("placeholder".into()));
                m.insert("name".into(), Value::String(name.clone()));
            }
        }
        m.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ChatTemplateEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        if m.get("type").and_then(Value::as_str) == Some("placeholder") {
            return Ok(ChatTemplateEntry::Placeholder {
                name: text("name").unwrap_or_default(),
            });
        }
        Ok(ChatTemplateEntry::Message {
            role: text("role").unwrap_or_default(),
            content: match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                None | Some(Value::Null) => String::new(),
                Some(other) => other.to_string(),
            },
        })
    }
}

/// The template of a prompt.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PromptTemplate {
    /// A text prompt.
    Text(String),
    /// A chat prompt: messages and placeholders.
    Chat(Vec<ChatTemplateEntry>),
}

/// A compiled chat message: role, content and any other keys a placeholder message carried
/// (`tool_calls`, `name`, …). Serializes as an OpenAI chat message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The role (`"NOT_GIVEN"` for a placeholder message without one, as the Python SDK).
    pub role: String,
    /// The content: a string, or (multimodal placeholder messages) the parts as given.
    pub content: Value,
    /// Other keys of a placeholder message, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChatMessage {
    /// The content, if it is text.
    pub fn text(&self) -> Option<&str> {
        self.content.as_str()
    }
}

/// One entry of a compiled chat prompt: a message, or a placeholder nothing filled (kept so
/// the output equals the Python SDK's; see [`CompiledChat::into_messages`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum CompiledEntry {
    /// A message.
    Message(ChatMessage),
    /// An unfilled placeholder: `{"type": "placeholder", "name": …}`.
    Placeholder {
        /// Always `"placeholder"`.
        r#type: &'static str,
        /// The placeholder's name.
        name: String,
    },
}

/// A compiled chat prompt.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CompiledChat {
    entries: Vec<CompiledEntry>,
}

impl CompiledChat {
    /// All entries, unfilled placeholders included, in order.
    pub fn entries(&self) -> &[CompiledEntry] {
        &self.entries
    }
    /// Names of the placeholders nothing filled.
    pub fn unresolved_placeholders(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                CompiledEntry::Placeholder { name, .. } => Some(name.as_str()),
                CompiledEntry::Message(_) => None,
            })
            .collect()
    }
    /// The messages, or an error naming the unfilled placeholders (a model call with a
    /// placeholder left in would be wrong).
    pub fn into_messages(self) -> Result<Vec<ChatMessage>, ApiError> {
        let missing = self.unresolved_placeholders().join(", ");
        if !missing.is_empty() {
            return Err(ApiError::new(
                Kind::Prompt,
                format!("placeholders not filled: {missing}; pass a list of messages for each (an empty list removes it)"),
            ));
        }
        Ok(self.messages().cloned().collect())
    }
    /// The messages, skipping unfilled placeholders.
    pub fn messages(&self) -> impl Iterator<Item = &ChatMessage> {
        self.entries.iter().filter_map(|e| match e {
            CompiledEntry::Message(m) => Some(m),
            CompiledEntry::Placeholder { .. } => None,
        })
    }
}

/// What links a generation to the prompt version it used: name and version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PromptLink {
    /// Prompt name.
    pub name: String,
    /// Prompt version.
    pub version: u32,
}

/// A prompt version fetched from Langfuse (or a fallback, see [`Prompt::is_fallback`]).
///
/// ```
/// use langfuse_sdk::api::{Prompt, PromptTemplate};
/// let p = Prompt::fallback_text("greet", "Hello {{name}}!");
/// assert_eq!(p.compile_text([("name", "Ann")]).unwrap(), "Hello Ann!");
/// assert!(p.is_fallback() && p.link().is_none());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) template: PromptTemplate,
    pub(crate) config: Value,
    pub(crate) labels: Vec<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) commit_message: Option<String>,
    pub(crate) is_fallback: bool,
}

fn vars<I, K, V>(vars: I) -> HashMap<String, Value>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<Value>,
{
    vars.into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

impl Prompt {
    /// A text fallback: used when the first fetch fails; never linked to a version.
    pub fn fallback_text(name: impl Into<String>, text: impl Into<String>) -> Prompt {
        Self::fallback(name.into(), PromptTemplate::Text(text.into()))
    }
    /// A chat fallback: used when the first fetch fails; never linked to a version.
    pub fn fallback_chat(name: impl Into<String>, entries: Vec<ChatTemplateEntry>) -> Prompt {
        Self::fallback(name.into(), PromptTemplate::Chat(entries))
    }
    fn fallback(name: String, template: PromptTemplate) -> Prompt {
        Prompt {
            name,
            version: 0,
            template,
            config: Value::Object(Map::new()),
            labels: Vec::new(),
            tags: Vec::new(),
            commit_message: None,
            is_fallback: true,
        }
    }

    /// Name (with folders: `a/b`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Version (0 for a fallback without a requested version).
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The template.
    pub fn template(&self) -> &PromptTemplate {
        &self.template
    }
    /// The text of a text prompt.
    pub fn text(&self) -> Option<&str> {
        match &self.template {
            PromptTemplate::Text(t) => Some(t),
            PromptTemplate::Chat(_) => None,
        }
    }
    /// The entries of a chat prompt.
    pub fn chat(&self) -> Option<&[ChatTemplateEntry]> {
        match &self.template {
            PromptTemplate::Chat(c) => Some(c),
            PromptTemplate::Text(_) => None,
        }
    }
    /// Whether this is a chat prompt.
    pub fn is_chat(&self) -> bool {
        matches!(self.template, PromptTemplate::Chat(_))
    }
    /// The prompt's `config` (model parameters etc.; `{}` when none).
    pub fn config(&self) -> &Value {
        &self.config
    }
    /// Labels of this version.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }
    /// Tags of the prompt.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }
    /// The commit message of this version.
    pub fn commit_message(&self) -> Option<&str> {
        self.commit_message.as_deref()
    }
    /// Whether this is the caller's fallback (the server was not asked successfully).
    pub fn is_fallback(&self) -> bool {
        self.is_fallback
    }
    /// Name and version for `ObservationBuilder::prompt(name, version)`; `None` for a fallback,
    /// so a generation is never linked to a version that was not fetched.
    pub fn link(&self) -> Option<PromptLink> {
        (!self.is_fallback).then(|| PromptLink {
            name: self.name.clone(),
            version: self.version,
        })
    }
    /// Links `obs` (a generation) to this prompt version; does nothing for a fallback.
    pub fn link_observation(&self, obs: &crate::Observation) {
        if let Some(l) = self.link() {
            obs.set_prompt(l.name, l.version);
        }
    }
    /// The `{{variables}}` of the template in order, duplicates included (placeholders not).
    pub fn variables(&self) -> Vec<String> {
        match &self.template {
            PromptTemplate::Text(t) => template_variables(t),
            PromptTemplate::Chat(c) => c
                .iter()
                .flat_map(|e| match e {
                    ChatTemplateEntry::Message { content, .. } => template_variables(content),
                    ChatTemplateEntry::Placeholder { .. } => Vec::new(),
                })
                .collect(),
        }
    }

    /// Compiles a text prompt exactly as the official Python SDK (5.0.4 / 5.2.0; all 54
    /// recorded cases are a test). Errors only when this is a chat prompt.
    ///
    /// - A variable is the text between `{{` and the next `}}`, trimmed as Python's
    ///   `str.strip()` does (`{{ name }}` is `name`); no escaping, sections or dotted paths.
    /// - One left-to-right pass; inserted values are never scanned again.
    /// - A variable without a value stays verbatim (`{{name}}`), without error; extra
    ///   variables are ignored.
    /// - Strings go in as they are, `null` as the empty string, other values as Python's
    ///   `str()` prints them: `True`, `42`, `0.30000000000000004`, `{'a': [1, None]}`.
    ///
    /// Where we differ: object keys print in `serde_json::Map` order (sorted by key unless
    /// serde_json's `preserve_order` feature is on; Python keeps insertion order), and string
    /// reprs escape only ASCII control characters (Python also escapes other non-printables).
    ///
    /// ```
    /// # use langfuse_sdk::api::Prompt;
    /// let p = Prompt::fallback_text("t", "{{ who }} has {{n}} {{missing}}");
    /// assert_eq!(p.compile_text([("who", serde_json::json!("Ann")), ("n", 2.into())]).unwrap(),
    ///            "Ann has 2 {{missing}}");
    /// ```
    pub fn compile_text<I, K, V>(&self, variables: I) -> Result<String, ApiError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        match &self.template {
            PromptTemplate::Text(t) => Ok(compile_template(t, &vars(variables))),
            PromptTemplate::Chat(_) => Err(ApiError::new(
                Kind::Prompt,
                format!("prompt '{}' is a chat prompt: use compile_chat", self.name),
            )),
        }
    }

    /// Compiles a chat prompt as the Python SDK does: every message's content is compiled; a
    /// placeholder whose name is a variable holding a list of message objects is replaced by
    /// them (their content compiled too, every other key kept, missing role `"NOT_GIVEN"`,
    /// missing content `""`); an empty list removes it; a placeholder nothing fills stays.
    ///
    /// Differences from the Python SDK, on purpose: a list element that is not an object
    /// becomes one message with `str()` of *that element* (Python puts `str()` of the whole list
    /// in a message once per element); non-string content (multimodal parts) is kept as given
    /// (Python raises `AttributeError`).
    pub fn compile_chat<I, K, V>(&self, variables: I) -> Result<CompiledChat, ApiError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        let PromptTemplate::Chat(entries) = &self.template else {
            return Err(ApiError::new(
                Kind::Prompt,
                format!("prompt '{}' is a text prompt: use compile_text", self.name),
            ));
        };
        let vars = vars(variables);
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            match e {
                ChatTemplateEntry::Message { role, content } => {
                    out.push(CompiledEntry::Message(ChatMessage {
                        role: role.clone(),
                        content: Value::String(compile_template(content, &vars)),
                        extra: Map::new(),
                    }))
                }
                ChatTemplateEntry::Placeholder { name } => match vars.get(name) {
                    None => out.push(CompiledEntry::Placeholder {
                        r#type: "placeholder",
                        name: name.clone(),
                    }),
                    Some(Value::Array(list)) => {
                        for item in list {
                            out.push(CompiledEntry::Message(fill(item, &vars)));
                        }
                    }
                    Some(other) => out.push(CompiledEntry::Message(not_given(py_str(other)))),
                },
            }
        }
        Ok(CompiledChat { entries: out })
    }
}

fn not_given(content: String) -> ChatMessage {
    ChatMessage {
        role: "NOT_GIVEN".into(),
        content: Value::String(content),
        extra: Map::new(),
    }
}

/// One message given for a placeholder.
fn fill(item: &Value, vars: &HashMap<String, Value>) -> ChatMessage {
    let Value::Object(m) = item else {
        return not_given(py_str(item));
    };
    let mut extra = m.clone();
    let role = match extra.remove("role") {
        Some(Value::String(r)) => r,
        Some(other) => py_str(&other),
        None => "NOT_GIVEN".into(),
    };
    let content = match extra.remove("content") {
        Some(Value::String(c)) => Value::String(compile_template(&c, vars)),
        None | Some(Value::Null) => Value::String(String::new()),
        Some(other) => other,
    };
    ChatMessage {
        role,
        content,
        extra,
    }
}

/// A prompt as the server sends it (lenient: unknown fields ignored, absent ones defaulted).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptWire {
    #[serde(default, deserialize_with = "nd")]
    name: String,
    #[serde(default, deserialize_with = "nd")]
    version: u32,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    prompt: Value,
    #[serde(default)]
    config: Value,
    #[serde(default, deserialize_with = "nd")]
    labels: Vec<String>,
    #[serde(default, deserialize_with = "nd")]
    tags: Vec<String>,
    #[serde(default)]
    commit_message: Option<String>,
}

impl PromptWire {
    pub(crate) fn into_prompt(self) -> Prompt {
        let template = match (self.kind.as_deref(), self.prompt) {
            (_, Value::Array(items)) => PromptTemplate::Chat(
                items
                    .into_iter()
                    .filter_map(|v| serde_json::from_value::<ChatTemplateEntry>(v).ok())
                    .collect(),
            ),
            (Some("chat"), _) => PromptTemplate::Chat(Vec::new()),
            (_, Value::String(s)) => PromptTemplate::Text(s),
            (_, other) => PromptTemplate::Text(match other {
                Value::Null => String::new(),
                v => v.to_string(),
            }),
        };
        Prompt {
            name: self.name,
            version: self.version,
            template,
            config: match self.config {
                Value::Null => Value::Object(Map::new()),
                c => c,
            },
            labels: self.labels,
            tags: self.tags,
            commit_message: self.commit_message,
            is_fallback: false,
        }
    }
}
