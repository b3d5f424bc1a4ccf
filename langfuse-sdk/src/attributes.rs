//! Trace-level attributes (user, session, tags, name, metadata) and the limits they are held to.

use serde::Serialize;

use crate::capture::{capture, Captured};
use crate::config::validate::validate_environment;
/// Longest propagated attribute value the official SDKs accept.
const MAX_PROPAGATED_LEN: usize = 200;
/// Most tags, and most trace metadata keys, kept on a trace (more are dropped with a warning:
/// they travel on every span of the trace).
pub(crate) const MAX_TRACE_ITEMS: usize = 256;

fn too_many(what: &str) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        crate::diag::warn(&format!(
            "more than {MAX_TRACE_ITEMS} trace {what}: the rest are dropped (they are sent on every span)"
        ));
    }
}

/// Trace-level attributes: set for a scope and carried onto every observation created inside it
/// (and onto the observation current when they are set), as the official v4/v5 SDKs do.
///
/// ```
/// use langfuse_sdk::TraceAttributes;
/// let attrs = TraceAttributes::new()
///     .user_id("user-1")
///     .session_id("session-1")
///     .tags(["lab"])
///     .metadata("tenant", &"acme");
/// let answer = attrs.scope(|| {
///     // observations started here carry user.id, session.id, tags and metadata
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct TraceAttributes {
    pub(crate) name: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) public: Option<bool>,
    pub(crate) tags: Vec<String>,
    pub(crate) metadata: Vec<(String, Captured)>,
    pub(crate) input: Option<Captured>,
    pub(crate) output: Option<Captured>,
}

fn propagated(what: &str, v: String) -> Option<String> {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if v.len() > MAX_PROPAGATED_LEN || !v.is_ascii() {
        if WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        crate::diag::warn(&format!(
            "trace {what} {:?}… dropped: propagated values must be US-ASCII and at most \
             {MAX_PROPAGATED_LEN} characters (further such values are dropped without a warning)",
            v.chars().take(40).collect::<String>()
        ));
        None
    } else {
        Some(v)
    }
}

impl TraceAttributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }
    /// Trace name (default: the root observation's name).
    pub fn name(mut self, v: impl Into<String>) -> Self {
        self.name = propagated("name", v.into());
        self
    }
    /// User id (`user.id`).
    pub fn user_id(mut self, v: impl Into<String>) -> Self {
        self.user_id = propagated("user id", v.into());
        self
    }
    /// Session id (`session.id`).
    pub fn session_id(mut self, v: impl Into<String>) -> Self {
        self.session_id = propagated("session id", v.into());
        self
    }
    /// Version of the code path (`langfuse.version`).
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.version = propagated("version", v.into());
        self
    }
    /// Release, overriding the client's.
    pub fn release(mut self, v: impl Into<String>) -> Self {
        self.release = propagated("release", v.into());
        self
    }
    /// Environment, overriding the client's (same rules as `LANGFUSE_TRACING_ENVIRONMENT`).
    pub fn environment(mut self, v: impl Into<String>) -> Self {
        let v = v.into();
        match validate_environment(&v) {
            Ok(()) => self.environment = Some(v),
            Err(e) => crate::diag::warn(&format!("environment {v:?} ignored: {e}")),
        }
        self
    }
    /// Makes the trace public (shareable link).
    pub fn public(mut self, v: bool) -> Self {
        self.public = Some(v);
        self
    }
    /// Adds tags (kept unique, in order).
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for t in tags {
            if self.tags.len() >= MAX_TRACE_ITEMS {
                too_many("tags");
                break;
            }
            if let Some(t) = propagated("tag", t.into()) {
                if !self.tags.contains(&t) {
                    self.tags.push(t);
                }
            }
        }
        self
    }
    /// Adds one metadata key (`langfuse.trace.metadata.<key>`).
    pub fn metadata<T: Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        let k = key.into();
        if self.metadata.len() >= MAX_TRACE_ITEMS && !self.metadata.iter().any(|(x, _)| x == &k) {
            too_many("metadata keys");
            return self;
        }
        let c = capture(value, MAX_PROPAGATED_LEN * 4);
        self.metadata.retain(|(x, _)| x != &k);
        self.metadata.push((k, c));
        self
    }
    /// Explicit trace input (otherwise the root observation's).
    pub fn input<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.input = Some(capture(value, 1_000_000));
        self
    }
    /// Explicit trace output (otherwise the root observation's).
    pub fn output<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.output = Some(capture(value, 1_000_000));
        self
    }

    /// The user id, if set. (The getters are named `…_ref`, as in `http`'s request builder:
    /// the plain names set.)
    pub fn user_id_ref(&self) -> Option<&str> {
        self.user_id.as_deref()
    }
    /// The session id, if set.
    pub fn session_id_ref(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
    /// The trace name, if set.
    pub fn name_ref(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The tags.
    pub fn tags_ref(&self) -> &[String] {
        &self.tags
    }

    /// Overlays `other` on `self`: its set fields win, tags and metadata are merged.
    pub(crate) fn merge_from(&mut self, other: &TraceAttributes) {
        macro_rules! take {
            ($($f:ident),*) => {$(if other.$f.is_some() { self.$f = other.$f.clone(); })*};
        }
        take!(
            name,
            user_id,
            session_id,
            version,
            release,
            environment,
            public,
            input,
            output
        );
        for t in &other.tags {
            if self.tags.len() < MAX_TRACE_ITEMS && !self.tags.contains(t) {
                self.tags.push(t.clone());
            }
        }
        for (k, v) in &other.metadata {
            self.metadata.retain(|(x, _)| x != k);
            if self.metadata.len() < MAX_TRACE_ITEMS {
                self.metadata.push((k.clone(), v.clone()));
            }
        }
    }
}
