//! The current observation and trace attributes of a thread, and the guards that set them.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::attributes::TraceAttributes;
use crate::error::Error;
use crate::ids::{format_traceparent, ObservationId, RemoteParent, TraceId};
use crate::live::inner::ObsInner;

/// Where new observations attach.
///
/// `repr(usize)` keeps the tag in its own word at the front: left to itself, the compiler stores it
/// in the niche of `RemoteParent::sampled`, which turns every move of a `Parent` on the hot path
/// into odd-sized copies (checked below; docs/PERFORMANCE.md, "store forwarding").
#[derive(Clone, Default)]
#[repr(usize)]
pub(crate) enum Parent {
    /// No observation is current: a new one starts a trace.
    #[default]
    None,
    /// A recorded observation of this process.
    Recording(Arc<ObsInner>),
    /// An observation of an unsampled trace: new ones are unsampled too.
    Unsampled(TraceId),
    /// An observation of another process (a parsed `traceparent`).
    Remote(RemoteParent),
}

/// The current observation and trace attributes, as a value you can carry.
///
/// Cheap to clone. [`Context::current`] captures the thread's context; [`attach`](Self::attach)
/// makes it current elsewhere. Most code uses the helpers instead:
/// [`WithContext::with_current_context`](crate::WithContext::with_current_context), [`spawn`](crate::spawn),
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
    pub(crate) static CURRENT: RefCell<Context> = const {
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
    pub fn from_traceparent(header: &str) -> Result<Context, Error> {
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
        if let Parent::Recording(o) = &self.parent {
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
        if let Parent::Recording(o) = &self.parent {
            o.update(|d| {
                if let Some(t) = d.trace() {
                    a.merge_from(t);
                }
            });
        }
        a
    }

    /// The trace id of this context, if it has one.
    pub fn trace_id(&self) -> Option<TraceId> {
        match &self.parent {
            Parent::None => None,
            Parent::Recording(o) => Some(o.trace_id),
            Parent::Unsampled(t) => Some(*t),
            Parent::Remote(r) => Some(r.trace_id),
        }
    }

    /// The id of the observation new ones would attach to.
    pub fn observation_id(&self) -> Option<ObservationId> {
        match &self.parent {
            Parent::Recording(o) => Some(o.id),
            Parent::Remote(r) => Some(r.observation_id),
            _ => None,
        }
    }

    /// The W3C `traceparent` for outgoing requests, if there is a trace.
    pub fn traceparent(&self) -> Option<String> {
        match &self.parent {
            Parent::None => None,
            Parent::Recording(o) => Some(format_traceparent(o.trace_id, o.id, true)),
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

// Layout: a tag word in front of the largest payload (a remote parent: trace id, observation id,
// flag), nothing packed into niches.
const _: () = assert!(size_of::<Parent>() == 40 && align_of::<Parent>() == 8);

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

/// [`enter_parent_in`] for the whole context (parent and trace attributes) of a future that is
/// polled more than once: makes `slot` current, and `slot` then holds the previous context until
/// the scope ends, when the two are swapped back. So whatever the future's body left current —
/// attributes of a `propagate_attributes` guard held across an `.await`, say — stays with the
/// future, and the thread gets its own context back between polls.
#[inline]
pub(crate) fn enter_context_in(slot: &mut Context) -> ContextScope<'_> {
    let entered = swap_current(slot);
    ContextScope { slot, entered }
}

/// Swaps the thread's context with `slot`; false (nothing changed) while the thread is exiting
/// or its context is borrowed.
#[inline]
fn swap_current(slot: &mut Context) -> bool {
    CURRENT
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) => {
                std::mem::swap(&mut c.parent, &mut slot.parent);
                std::mem::swap(&mut c.attrs, &mut slot.attrs);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false)
}

/// Restores the previous context when dropped (see [`enter_context_in`]).
pub(crate) struct ContextScope<'a> {
    slot: &'a mut Context,
    entered: bool,
}

impl Drop for ContextScope<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.entered {
            swap_current(self.slot);
        }
    }
}

/// The trace attributes in scope on this thread (a cheap clone of their `Arc`).
#[inline]
pub(crate) fn current_attributes() -> Option<Arc<TraceAttributes>> {
    with_current(|c| c.attrs.clone()).flatten()
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

impl TraceAttributes {
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
}
