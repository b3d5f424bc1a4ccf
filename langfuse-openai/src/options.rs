//! Per-call Langfuse controls, and the context a call is recorded in.

use std::borrow::Cow;

use langfuse_sdk::{Context, TraceAttributes};
use serde::Serialize;
use serde_json::{Map, Value};

/// How one call is recorded in Langfuse: what the official `langfuse.openai` integration takes
/// as extra arguments of `create()`.
///
/// Set it on a request with [`ChatRequest::langfuse`](crate::ChatRequest::langfuse) or
/// [`EmbeddingRequest::langfuse`](crate::EmbeddingRequest::langfuse). Nothing of it is sent to
/// the gateway as a body field: LiteLLM's own request `metadata` (spend tags, …) stays in the
/// request's [`extra`](crate::ChatRequest::extra) and is not recorded as the generation's
/// metadata. In [`Recording::Proxy`](crate::Recording::Proxy) mode the name, parent, user,
/// session, tags, version and metadata go to the proxy in LiteLLM's `metadata` keys instead;
/// the prompt link is recorded only by the client.
///
/// ```
/// use langfuse_openai::{CallOptions, ChatRequest, Message};
/// let req = ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]).langfuse(
///     CallOptions::new()
///         .name("greeting")
///         .metadata("feature", "onboarding")
///         .prompt("greeting-prompt", 3)
///         .user_id("user-1")
///         .session_id("session-1")
///         .tags(["beta"])
///         .version("2024-06"),
/// );
/// # drop(req);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct CallOptions {
    pub(crate) name: Option<String>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) prompt: Option<(String, u32)>,
    pub(crate) parent: Option<Context>,
    pub(crate) trace: Option<TraceAttributes>,
    pub(crate) version: Option<String>,
}

impl CallOptions {
    /// No options: the call is recorded under the current observation with default names.
    pub fn new() -> Self {
        Self::default()
    }
    /// Name of the generation (default `chat-completion`, or `embedding`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// A metadata entry of the generation (one attribute per key). A value that cannot be
    /// serialised is left out.
    pub fn metadata<T: Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        if let Ok(v) = serde_json::to_value(value) {
            self.metadata.insert(key.into(), v);
        }
        self
    }
    /// The managed prompt the request was built from (name and version), linking the
    /// generation to it in Langfuse.
    pub fn prompt(mut self, name: impl Into<String>, version: u32) -> Self {
        self.prompt = Some((name.into(), version));
        self
    }
    /// Record the call under the current observation of `parent` instead of the caller's
    /// current one (a context captured elsewhere, or from an incoming `traceparent`).
    pub fn parent(mut self, parent: Context) -> Self {
        self.parent = Some(parent);
        self
    }
    /// Trace attributes (user, session, tags, …) for this call, over those in scope.
    pub fn trace_attributes(mut self, attrs: TraceAttributes) -> Self {
        self.trace = Some(attrs);
        self
    }
    /// The user of this call's trace (also sent as the OpenAI `user` field when unset).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.trace = Some(self.trace.take().unwrap_or_default().user_id(user_id));
        self
    }
    /// The session of this call's trace.
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.trace = Some(self.trace.take().unwrap_or_default().session_id(session_id));
        self
    }
    /// Tags of this call's trace (added to those in scope).
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trace = Some(self.trace.take().unwrap_or_default().tags(tags));
        self
    }
    /// Version of the generation (of the code or prompt that made the call).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }
}

/// One call as it is recorded: its options, the context it runs in and the trace attributes
/// that apply (those in scope with the call's own over them).
pub(crate) struct Call<'a> {
    pub opts: &'a CallOptions,
    pub ctx: Context,
    pub name: Cow<'a, str>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub tags: Vec<String>,
}

impl<'a> Call<'a> {
    /// `legacy_name` is the request's `observation_name` (what `ChatRequest::name` sets).
    pub(crate) fn new(
        opts: &'a CallOptions,
        legacy_name: Option<&'a str>,
        default_name: &'static str,
    ) -> Self {
        let ctx = opts.parent.clone().unwrap_or_else(Context::current);
        let scope = ctx.trace_attributes();
        let own = opts.trace.as_ref();
        let pick = |f: fn(&TraceAttributes) -> Option<&str>| {
            own.and_then(f).or_else(|| f(&scope)).map(str::to_string)
        };
        let mut tags: Vec<String> = scope.tags_ref().to_vec();
        for t in own.map(TraceAttributes::tags_ref).unwrap_or_default() {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        let name = match (&opts.name, legacy_name) {
            (Some(n), _) => Cow::Borrowed(n.as_str()),
            (None, Some(n)) => Cow::Borrowed(n),
            (None, None) => Cow::Borrowed(default_name),
        };
        Call {
            opts,
            user_id: pick(TraceAttributes::user_id_ref),
            session_id: pick(TraceAttributes::session_id_ref),
            tags,
            ctx,
            name,
        }
    }
}

/// Options compare by what they record: a parent by the observation it designates, trace
/// attributes by their values.
impl PartialEq for CallOptions {
    fn eq(&self, other: &Self) -> bool {
        let parent = |o: &CallOptions| {
            o.parent
                .as_ref()
                .map(|c| (c.trace_id(), c.observation_id()))
        };
        let trace = |o: &CallOptions| o.trace.as_ref().map(|t| format!("{t:?}"));
        self.name == other.name
            && self.metadata == other.metadata
            && self.prompt == other.prompt
            && self.version == other.version
            && parent(self) == parent(other)
            && trace(self) == trace(other)
    }
}

/// Starts the observation of `call` with `langfuse` (the global client when `None`): under the
/// call's parent, with its options.
pub(crate) fn start_observation(
    langfuse: Option<&langfuse_sdk::Langfuse>,
    ty: langfuse_sdk::ObservationType,
    call: &Call<'_>,
) -> langfuse_sdk::Observation {
    let name = call.name.to_string();
    let plan = || match langfuse {
        Some(lf) => lf.observation(ty, name),
        None => langfuse_sdk::observation(ty, name),
    };
    // An explicit parent is made current while the observation is planned, so that it is found
    // even when nothing is current here and no global client is set.
    let mut b = match &call.opts.parent {
        Some(_) => call.ctx.clone().in_scope(plan),
        None => plan(),
    };
    let opts = call.opts;
    if let Some(t) = &opts.trace {
        b = b.trace_attributes(t.clone());
    }
    if !opts.metadata.is_empty() {
        b = b.metadata(&opts.metadata);
    }
    if let Some((n, v)) = &opts.prompt {
        b = b.prompt(n.clone(), *v);
    }
    if let Some(v) = &opts.version {
        b = b.version(v.clone());
    }
    b.start()
}
