//! Trace-level attributes (user, session, tags, name, metadata) and the limits they are held to.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::capture::{capture, prefix_at_boundary, split_marker, Captured};
use crate::config::validate::validate_environment;

/// Longest propagated attribute value the official SDKs accept, in characters. Longer values
/// are cut to it (at a character boundary), with one warning per kind of value. (The official
/// SDKs also refuse non-ASCII values; OTLP strings are UTF-8 and the server keeps them, so a
/// user id such as `jürgen@example.com` is sent as it is.)
pub(crate) const MAX_PROPAGATED_LEN: usize = 200;
/// Most tags, and most trace metadata keys, kept on a trace (more are dropped with a warning:
/// they travel on every span of the trace).
pub(crate) const MAX_TRACE_ITEMS: usize = 256;
/// Bytes kept of a trace metadata value (at least 200 characters of any script).
const MAX_METADATA_VALUE: usize = MAX_PROPAGATED_LEN * 4;

/// The kinds of value held to a limit: each warns once, the first time one is cut or dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    UserId,
    SessionId,
    Tag,
    Name,
    Metadata,
    Version,
    Release,
    TooManyTags,
    TooManyMetadata,
    ScoreName,
    ScoreId,
    ScoreComment,
    ScoreValue,
}

impl Kind {
    const COUNT: usize = Kind::ScoreValue as usize + 1;

    fn what(self) -> &'static str {
        match self {
            Kind::UserId => "trace user id",
            Kind::SessionId => "session id",
            Kind::Tag => "trace tag",
            Kind::Name => "trace name",
            Kind::Metadata => "trace metadata",
            Kind::Version => "version",
            Kind::Release => "release",
            Kind::TooManyTags => "trace tags",
            Kind::TooManyMetadata => "trace metadata keys",
            Kind::ScoreName => "score name",
            Kind::ScoreId => "score id",
            Kind::ScoreComment => "score comment",
            Kind::ScoreValue => "score value",
        }
    }

    /// Warns with `msg` the first time for this kind (later ones are cut or dropped alike).
    pub(crate) fn warn_once(self, msg: impl FnOnce() -> String) {
        static WARNED: [AtomicBool; Kind::COUNT] = [const { AtomicBool::new(false) }; Kind::COUNT];
        if !WARNED[self as usize].swap(true, Ordering::Relaxed) {
            crate::diag::warn(&format!(
                "{} (further {} values are handled alike without a warning)",
                msg(),
                self.what()
            ));
        }
    }
}

/// `v` cut to at most `max` characters (at a character boundary), with one warning per kind.
pub(crate) fn limited(kind: Kind, mut v: String, max: usize) -> String {
    // Bytes bound characters: most values are checked without counting them.
    if v.len() <= max {
        return v;
    }
    let chars = v.chars().count();
    if chars <= max {
        return v;
    }
    let cut = v.char_indices().nth(max).map_or(v.len(), |(i, _)| i);
    kind.warn_once(|| {
        format!(
            "{} {:?}… has {chars} characters: cut to the first {max}",
            kind.what(),
            v.chars().take(40).collect::<String>()
        )
    });
    v.truncate(cut);
    v
}

fn too_many(kind: Kind) {
    kind.warn_once(|| {
        format!(
            "more than {MAX_TRACE_ITEMS} {}: the rest are dropped (they are sent on every span)",
            kind.what()
        )
    });
}

fn propagated(kind: Kind, v: String) -> Option<String> {
    Some(limited(kind, v, MAX_PROPAGATED_LEN))
}

/// Trace-level attributes: set for a scope and carried onto every observation created inside it
/// (and onto the observation current when they are set), as the official v4/v5 SDKs do.
///
/// Names, user and session ids, tags, versions, releases and metadata keys longer than 200
/// characters are cut to 200 (at a character boundary), metadata values to 800 bytes (with a
/// truncation marker), each kind of value warning once. Non-ASCII text is kept: OTLP strings
/// are UTF-8.
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

impl TraceAttributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }
    /// Trace name (default: the root observation's name).
    pub fn name(mut self, v: impl Into<String>) -> Self {
        self.name = propagated(Kind::Name, v.into());
        self
    }
    /// User id (`user.id`).
    pub fn user_id(mut self, v: impl Into<String>) -> Self {
        self.user_id = propagated(Kind::UserId, v.into());
        self
    }
    /// Session id (`session.id`).
    pub fn session_id(mut self, v: impl Into<String>) -> Self {
        self.session_id = propagated(Kind::SessionId, v.into());
        self
    }
    /// Version of the code path (`langfuse.version`).
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.version = propagated(Kind::Version, v.into());
        self
    }
    /// Release, overriding the client's.
    pub fn release(mut self, v: impl Into<String>) -> Self {
        self.release = propagated(Kind::Release, v.into());
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
                too_many(Kind::TooManyTags);
                break;
            }
            if let Some(t) = propagated(Kind::Tag, t.into()) {
                if !self.tags.contains(&t) {
                    self.tags.push(t);
                }
            }
        }
        self
    }
    /// Adds one metadata key (`langfuse.trace.metadata.<key>`).
    pub fn metadata<T: Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        let k = limited(Kind::Metadata, key.into(), MAX_PROPAGATED_LEN);
        if self.metadata.len() >= MAX_TRACE_ITEMS && !self.metadata.iter().any(|(x, _)| x == &k) {
            too_many(Kind::TooManyMetadata);
            return self;
        }
        let c = capture(value, MAX_METADATA_VALUE);
        if split_marker(c.as_str()).1.is_some() {
            Kind::Metadata.warn_once(|| {
                format!(
                    "trace metadata {:?} is over {MAX_METADATA_VALUE} bytes: cut to {:?}…",
                    prefix_at_boundary(&k, 40),
                    prefix_at_boundary(c.as_str(), 40)
                )
            });
        }
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
            if self.tags.contains(t) {
                continue;
            }
            if self.tags.len() >= MAX_TRACE_ITEMS {
                too_many(Kind::TooManyTags);
                break;
            }
            self.tags.push(t.clone());
        }
        for (k, v) in &other.metadata {
            self.metadata.retain(|(x, _)| x != k);
            if self.metadata.len() >= MAX_TRACE_ITEMS {
                too_many(Kind::TooManyMetadata);
                break;
            }
            self.metadata.push((k.clone(), v.clone()));
        }
    }
}
