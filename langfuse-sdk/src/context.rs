//! The current observation and trace attributes: per thread for sync code, per future for async
//! code, and carried explicitly into spawned tasks and threads.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use serde::Serialize;

use crate::ids::{format_traceparent, ObservationId, RemoteParent, TraceId};
use crate::observation::{ObsInner, ObservationRef, State};
use crate::value::{capture, Captured};

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
        match crate::config::validate_environment(&v) {
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

    /// The user id, if set.
    pub fn get_user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }
    /// The session id, if set.
    pub fn get_session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
    /// The trace name, if set.
    pub fn get_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The tags.
    pub fn get_tags(&self) -> &[String] {
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

    /// Runs `f` with these attributes in scope on this thread.
    pub fn scope<R>(self, f: impl FnOnce() -> R) -> R {
        let _g = self.enter();
        f()
    }

    /// Puts these attributes in scope on this thread until the guard drops; the current
    /// observation gets them too.
    pub fn enter(self) -> ContextGuard {
        Context::current().with_attributes(self).attach()
    }

    /// Wraps a future so these attributes are in scope whenever it runs.
    pub fn in_future<F: Future>(self, fut: F) -> WithContextFuture<F> {
        fut.with_context(Context::current().with_attributes(self))
    }
}

/// Where new observations attach.
///
/// `repr(usize)` keeps the tag in its own word at the front: left to itself, the compiler stores it
/// in the niche of `RemoteParent::sampled`, which turns every move of a `Parent` on the hot path
/// into odd-sized copies that stall on store forwarding.
#[derive(Clone, Default)]
#[repr(usize)]
pub(crate) enum Parent {
    #[default]
    None,
    Live(Arc<ObsInner>),
    Unsampled(TraceId),
    Remote(RemoteParent),
}

/// The current observation and trace attributes, as a value you can carry.
///
/// Cheap to clone. [`Context::current`] captures the thread's context; [`attach`](Self::attach)
/// makes it current elsewhere. Most code uses the helpers instead:
/// [`WithContext::with_current_context`], [`spawn`](crate::spawn),
/// [`spawn_blocking`](crate::spawn_blocking) and [`thread_spawn`](crate::thread_spawn).
#[derive(Clone, Default)]
pub struct Context {
    pub(crate) parent: Parent,
    pub(crate) attrs: Option<Arc<TraceAttributes>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("traceparent", &self.traceparent())
            .field("attributes", &self.attrs)
            .finish()
    }
}

thread_local! {
    static CURRENT: RefCell<Context> = const {
        RefCell::new(Context {
            parent: Parent::None,
            attrs: None,
        })
    };
}

impl Context {
    /// The context current on this thread (empty when none, or while the thread is exiting).
    pub fn current() -> Context {
        CURRENT
            .try_with(|c| c.try_borrow().map(|c| c.clone()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// An empty context: new observations start new traces.
    pub fn empty() -> Context {
        Context::default()
    }

    /// This context with a parent given by a W3C `traceparent` header.
    pub fn from_traceparent(header: &str) -> Result<Context, crate::Error> {
        Ok(Context::current().with_remote_parent(RemoteParent::from_traceparent(header)?))
    }

    /// This context with a parent given by trace id and observation id.
    pub fn with_remote_parent(self, parent: RemoteParent) -> Context {
        self.with_parent(Parent::Remote(parent))
    }

    pub(crate) fn with_parent(mut self, parent: Parent) -> Context {
        self.parent = parent;
        self
    }

    /// This context with `attrs` overlaid on its trace attributes. The current observation (if
    /// recording) gets them as well.
    pub fn with_attributes(mut self, attrs: TraceAttributes) -> Context {
        if let Parent::Live(o) = &self.parent {
            let a = attrs.clone();
            o.update(|d| match &mut d.rare().trace {
                Some(t) => t.merge_from(&a),
                t @ None => *t = Some(Box::new(a)),
            });
        }
        let merged = match &self.attrs {
            Some(base) => {
                let mut m = (**base).clone();
                m.merge_from(&attrs);
                m
            }
            None => attrs,
        };
        self.attrs = Some(Arc::new(merged));
        self
    }

    /// The trace attributes in scope (propagated, plus those set through the current
    /// observation).
    pub fn trace_attributes(&self) -> TraceAttributes {
        let mut a = self.attrs.as_deref().cloned().unwrap_or_default();
        if let Parent::Live(o) = &self.parent {
            o.update(|d| {
                if let Some(t) = d.trace() {
                    a.merge_from(t);
                }
            });
        }
        a
    }

    /// The current observation of this context (a no-op reference when there is none).
    pub fn observation(&self) -> ObservationRef {
        match &self.parent {
            Parent::Live(o) => ObservationRef {
                state: State::Live(o.clone()),
            },
            Parent::Unsampled(t) => ObservationRef {
                state: State::Unsampled(*t),
            },
            _ => ObservationRef::noop(),
        }
    }

    /// The trace id of this context, if it has one.
    pub fn trace_id(&self) -> Option<TraceId> {
        match &self.parent {
            Parent::None => None,
            Parent::Live(o) => Some(o.trace_id),
            Parent::Unsampled(t) => Some(*t),
            Parent::Remote(r) => Some(r.trace_id),
        }
    }

    /// The id of the observation new ones would attach to.
    pub fn observation_id(&self) -> Option<ObservationId> {
        match &self.parent {
            Parent::Live(o) => Some(o.id),
            Parent::Remote(r) => Some(r.observation_id),
            _ => None,
        }
    }

    /// The W3C `traceparent` for outgoing requests, if there is a trace.
    pub fn traceparent(&self) -> Option<String> {
        match &self.parent {
            Parent::None => None,
            Parent::Live(o) => Some(format_traceparent(o.trace_id, o.id, true)),
            Parent::Unsampled(t) => Some(format_traceparent(*t, ObservationId::random(), false)),
            Parent::Remote(r) => Some(r.to_traceparent()),
        }
    }

    /// Makes this context current on this thread until the guard drops.
    pub fn attach(self) -> ContextGuard {
        let Context { parent, attrs } = self;
        let mut g = ContextGuard::holding(parent, attrs);
        let _ = CURRENT.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                std::mem::swap(&mut c.parent, &mut g.prev_parent);
                std::mem::swap(&mut c.attrs, &mut g.prev_attrs);
                g.restore = Restore::Context;
            }
        });
        g
    }

    /// Runs `f` with this context current.
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let _g = self.attach();
        f()
    }

    /// Wraps a closure so it runs in this context, on whatever thread calls it.
    pub fn wrap<F, R>(self, f: F) -> impl FnOnce() -> R
    where
        F: FnOnce() -> R,
    {
        move || self.in_scope(f)
    }
}

/// Restores the previous context when dropped. Not `Send`: it belongs to the thread that made it.
#[must_use = "the context is restored when the guard drops"]
pub struct ContextGuard {
    // Flat fields rather than an enum of contexts: guards are made and dropped on every observed
    // call, and nested enums made the compiler copy them in odd-sized pieces.
    prev_parent: Parent,
    prev_attrs: Option<Arc<TraceAttributes>>,
    restore: Restore,
    _not_send: PhantomData<*const ()>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(usize)] // written and copied as a whole word (a byte store then a word copy stalls)
enum Restore {
    /// The thread's context could not be changed (thread exiting, or re-entrant use).
    Nothing,
    /// Only the parent was replaced (entering an observation): the cheap path.
    Parent,
    /// The whole context was replaced.
    Context,
}

impl ContextGuard {
    #[inline]
    fn holding(parent: Parent, attrs: Option<Arc<TraceAttributes>>) -> ContextGuard {
        ContextGuard {
            prev_parent: parent,
            prev_attrs: attrs,
            restore: Restore::Nothing,
            _not_send: PhantomData,
        }
    }
}

impl fmt::Debug for ContextGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContextGuard")
    }
}

impl Drop for ContextGuard {
    #[inline]
    fn drop(&mut self) {
        if self.restore == Restore::Nothing {
            return;
        }
        // Swapping back leaves the replaced values in the guard, dropped after the borrow ends.
        let _ = CURRENT.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                std::mem::swap(&mut c.parent, &mut self.prev_parent);
                if self.restore == Restore::Context {
                    std::mem::swap(&mut c.attrs, &mut self.prev_attrs);
                }
            }
        });
    }
}

/// Makes `parent` the current observation, keeping the trace attributes in scope.
#[inline]
pub(crate) fn enter_parent(parent: Parent) -> ContextGuard {
    let mut g = ContextGuard::holding(parent, None);
    if swap_current_parent(&mut g.prev_parent) {
        g.restore = Restore::Parent;
    }
    g
}

/// Swaps the thread's current parent with `p`; false (nothing changed) while the thread is
/// exiting or its context is borrowed.
#[inline]
fn swap_current_parent(p: &mut Parent) -> bool {
    CURRENT
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) => {
                std::mem::swap(&mut c.parent, p);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false)
}

/// [`enter_parent`] for a scope that stays in one frame (a sync observed body): makes the
/// parent in `slot` current, and `slot` then holds the previous one until the scope ends; the
/// guard is only a pointer to it. (A [`ContextGuard`] holds the previous parent itself, and
/// moving it right after the swap read the just-written words back in other pieces: loads
/// that stall on store forwarding.)
#[inline]
pub(crate) fn enter_parent_in(slot: &mut Parent) -> ParentScope<'_> {
    let entered = swap_current_parent(slot);
    ParentScope { slot, entered }
}

/// Restores the previous parent when dropped (see [`enter_parent_in`]); what was current is
/// left in the slot, dropped with it after the thread's context is released.
pub(crate) struct ParentScope<'a> {
    slot: &'a mut Parent,
    entered: bool,
}

impl Drop for ParentScope<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.entered {
            swap_current_parent(self.slot);
        }
    }
}

/// `f` of the thread's current parent; false while the thread is exiting or the context is
/// being replaced.
#[inline]
fn current_parent_is(f: impl FnOnce(&Parent) -> bool) -> bool {
    CURRENT
        .try_with(|c| c.try_borrow().is_ok_and(|c| f(&c.parent)))
        .unwrap_or(false)
}

/// True when the current observation belongs to an unsampled trace.
#[inline]
pub(crate) fn current_is_unsampled() -> bool {
    current_parent_is(|p| matches!(p, Parent::Unsampled(_)))
}

/// True when no observation is current (a new observation starts a trace).
#[inline]
pub(crate) fn current_is_empty() -> bool {
    current_parent_is(|p| matches!(p, Parent::None))
}

/// Makes the unsampled trace `t` current on a thread that has no current observation, for a
/// sync call that started it (undone by [`leave_unsampled_root`]). False, with nothing
/// changed, when the context is in use or has an observation.
#[inline]
pub(crate) fn enter_unsampled_root(t: TraceId) -> bool {
    CURRENT
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) if matches!(c.parent, Parent::None) => {
                c.parent = Parent::Unsampled(t);
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}

/// Undoes [`enter_unsampled_root`]: no observation is current again.
#[inline]
pub(crate) fn leave_unsampled_root() {
    // Whatever the body left current is dropped after the borrow ends.
    let _left = CURRENT.try_with(|c| {
        c.try_borrow_mut()
            .ok()
            .map(|mut c| std::mem::take(&mut c.parent))
    });
}

/// Runs `f` with the thread's current context, without cloning it. `None` (and `f` not run)
/// while the thread is exiting or the context is being replaced re-entrantly.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.try_borrow().ok().map(|c| f(&c)))
        .ok()
        .flatten()
}

pin_project_lite::pin_project! {
    /// A future that runs in a [`Context`]: the context is made current on every poll (like
    /// `tracing::Instrumented`), so nesting survives `.await`, `join!` and `select!`.
    #[derive(Debug)]
    pub struct WithContextFuture<F> {
        #[pin]
        inner: F,
        ctx: Context,
    }
}

impl<F: Future> Future for WithContextFuture<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _g = this.ctx.clone().attach();
        this.inner.poll(cx)
    }
}

/// Runs futures in a Langfuse [`Context`].
///
/// ```
/// use langfuse_sdk::{Langfuse, WithContext};
/// # async fn demo(lf: Langfuse) {
/// let root = lf.span("request").start();
/// async {
///     // observations started here are children of `root`, across every .await
/// }
/// .with_context(root.context())
/// .await;
/// # }
/// ```
pub trait WithContext: Sized {
    /// Runs this future in `ctx`.
    fn with_context(self, ctx: Context) -> WithContextFuture<Self> {
        WithContextFuture { inner: self, ctx }
    }
    /// Runs this future in the context current now (use before handing it to another task).
    fn with_current_context(self) -> WithContextFuture<Self> {
        self.with_context(Context::current())
    }
}

impl<F: Future> WithContext for F {}

/// `tokio::spawn` that carries the current context into the task. Needs a tokio runtime, as
/// `tokio::spawn` does.
pub fn spawn<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(fut.with_current_context())
}

/// `tokio::task::spawn_blocking` that carries the current context into the closure.
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let ctx = Context::current();
    tokio::task::spawn_blocking(move || ctx.in_scope(f))
}

/// `std::thread::spawn` that carries the current context into the thread.
pub fn thread_spawn<F, R>(f: F) -> std::thread::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let ctx = Context::current();
    std::thread::spawn(move || ctx.in_scope(f))
}

/// The current observation (a no-op reference when none is current or tracing is off).
///
/// ```
/// langfuse_sdk::current_observation().set_metadata_value("step", &3);
/// ```
#[inline]
pub fn current_observation() -> ObservationRef {
    if !crate::any_recording() {
        return ObservationRef::noop();
    }
    CURRENT
        .try_with(|c| c.try_borrow().map(|c| c.observation()).unwrap_or_default())
        .unwrap_or_default()
}

/// The current trace id, if any.
pub fn current_trace_id() -> Option<TraceId> {
    Context::current().trace_id()
}

/// The current observation id, if any.
pub fn current_observation_id() -> Option<ObservationId> {
    Context::current().observation_id()
}

/// The current context as a W3C `traceparent` header value, for outgoing requests.
pub fn current_traceparent() -> Option<String> {
    Context::current().traceparent()
}

/// The URL of the current trace in the Langfuse UI.
pub fn current_trace_url() -> Option<String> {
    current_observation().trace_url()
}

/// Sets trace-level attributes on the current observation and everything started after, on this
/// thread, until the guard drops. Same as [`TraceAttributes::enter`].
pub fn propagate_attributes(attrs: TraceAttributes) -> ContextGuard {
    attrs.enter()
}

/// Sets trace-level attributes through the current observation only (not propagated to later
/// observations; use [`propagate_attributes`] for that).
pub fn update_current_trace(attrs: TraceAttributes) {
    current_observation().update_trace(attrs);
}
