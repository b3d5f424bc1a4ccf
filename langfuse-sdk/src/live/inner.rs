//! A recorded observation's one allocation: ids, place, fields behind a lock, and how it ends.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::attributes::TraceAttributes;
use crate::core::Core;
use crate::export::record::Head;
use crate::fields::ObsData;
use crate::fields::ObservationType;
use crate::ids::{ObservationId, ParentRef, TraceId};
/// A recorded (enabled, sampled) observation: allocated once when it is planned, shared by its
/// handles, and queued to the exporter as it is when it ends.
pub(crate) struct ObsInner {
    pub core: Arc<Core>,
    pub trace_id: TraceId,
    pub id: ObservationId,
    /// Parent observation id and whether it is remote.
    pub parent: Option<ParentRef>,
    pub ty: ObservationType,
    pub attrs: Option<Arc<TraceAttributes>>,
    pub data: Mutex<ObsData>,
    /// Its slot in the exporter's registry of open observations, or
    /// [`THREAD_ROOT`](crate::export::open::THREAD_ROOT) in its thread's list of sync roots
    /// ([`NOT_OPEN`] when not registered: sync `#[observe]` calls inside a trace, and every
    /// spare allocation). Read with a plain load; changed only on the registered paths.
    pub open_slot: AtomicU32,
}
/// [`ObsInner::open_slot`] when the observation is not registered.
pub(crate) const NOT_OPEN: u32 = u32::MAX;
/// A new observation's place and name, as its allocation is filled in.
pub(crate) struct NewObs {
    pub trace_id: TraceId,
    pub id: ObservationId,
    /// Parent observation id and whether it is remote.
    pub parent: Option<ParentRef>,
    pub ty: ObservationType,
    pub attrs: Option<Arc<TraceAttributes>>,
    pub name: Cow<'static, str>,
}

impl NewObs {
    /// A new observation (with a new id) in trace `trace_id` under `parent`, carrying the trace
    /// attributes `attrs` (those in scope in its context).
    #[inline]
    pub(crate) fn at(
        trace_id: TraceId,
        parent: Option<ParentRef>,
        ty: ObservationType,
        attrs: &Option<Arc<TraceAttributes>>,
        name: Cow<'static, str>,
    ) -> NewObs {
        NewObs {
            trace_id,
            id: ObservationId::random(),
            parent,
            ty,
            attrs: attrs.clone(),
            name,
        }
    }
}
impl ObsInner {
    /// A new allocation's fields.
    pub(crate) fn fresh(core: &Arc<Core>, new: NewObs) -> ObsInner {
        ObsInner {
            core: core.clone(),
            trace_id: new.trace_id,
            id: new.id,
            parent: new.parent,
            ty: new.ty,
            attrs: new.attrs,
            data: Mutex::new(ObsData {
                name: new.name,
                ..Default::default()
            }),
            open_slot: AtomicU32::new(NOT_OPEN),
        }
    }

    /// Enters the registry of open observations, so that shutdown ends and sends it if it is
    /// still open then (`crate::export::open`). For observations that may outlive the client:
    /// those behind a user's handle, and observed async roots (sync roots: `track_thread_root`).
    pub(crate) fn track_open(this: &Arc<ObsInner>) {
        let w: std::sync::Weak<ObsInner> = Arc::downgrade(this);
        if let Some(slot) = this.core.register_open(w) {
            this.open_slot.store(slot, Ordering::Relaxed);
        }
    }

    /// Enters this thread's list of sync roots (a sync `#[observe]` call that starts a trace),
    /// so that shutdown ends and sends it if it is still open then (`crate::export::open`). It
    /// leaves the list on the same thread, as its call returns.
    #[inline]
    pub(crate) fn track_thread_root(this: &Arc<ObsInner>) {
        if this.core.register_thread_root(this.clone()) {
            this.open_slot
                .store(crate::export::open::THREAD_ROOT, Ordering::Relaxed);
        }
    }

    /// Leaves the registry of open observations if it is there; true if it was. A spare
    /// allocation is never registered (a registered one has a weak reference, so it is not
    /// unique and does not become a spare), so `reset` leaves the slot alone.
    #[inline]
    pub(crate) fn leave_open(&self) -> bool {
        if self.open_slot.load(Ordering::Relaxed) == NOT_OPEN {
            return false;
        }
        self.leave_open_slow()
    }
    #[cold]
    #[inline(never)]
    fn leave_open_slow(&self) -> bool {
        // A swap: two handles may end the observation at once; one deregisters.
        match self.open_slot.swap(NOT_OPEN, Ordering::AcqRel) {
            NOT_OPEN => false,
            crate::export::open::THREAD_ROOT => {
                crate::export::open::leave_thread_root((self as *const ObsInner).cast());
                true
            }
            slot => {
                self.core.deregister_open(slot);
                true
            }
        }
    }

    /// Resets a reused allocation in place for a new observation, keeping the scratch buffers.
    #[inline]
    pub(crate) fn reset(&mut self, core: &Arc<Core>, new: NewObs) {
        // Field by field: a spare of the same client keeps its reference to the core (two
        // atomic operations saved per observation).
        if !Arc::ptr_eq(&self.core, core) {
            self.core = core.clone();
        }
        self.trace_id = new.trace_id;
        self.id = new.id;
        self.parent = new.parent;
        self.ty = new.ty;
        self.attrs = new.attrs;
        // Every field but the scratch buffers.
        let ObsData {
            ended,
            level,
            name: old_name,
            start,
            end,
            input,
            output,
            model,
            usage,
            rare,
            scratch: _,
            scratch_out: _,
            model_spare,
        } = self.data.get_mut().unwrap_or_else(|e| e.into_inner());
        *ended = false;
        *level = None;
        *old_name = new.name;
        *start = 0;
        *end = 0;
        // Checked first, here and below: a drop is a call even when there is nothing to drop
        // (recycling has already taken the values out).
        if input.is_some() {
            *input = None;
        }
        if output.is_some() {
            *output = None;
        }
        if let Some(m) = model.take() {
            *model_spare = m;
        }
        if usage.is_some() {
            *usage = None;
        }
        if rare.is_some() {
            *rare = None;
        }
    }

    /// What the exporter needs besides the fields.
    pub(crate) fn head(&self) -> Head<'_> {
        Head {
            trace_id: self.trace_id,
            id: self.id,
            parent: self.parent,
            ty: self.ty,
            attrs: &self.attrs,
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, ObsData> {
        // Our own code never panics while holding this lock; recover rather than propagate.
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `f` unless the observation has ended.
    pub(crate) fn update(&self, f: impl FnOnce(&mut ObsData)) {
        let mut d = self.lock();
        if !d.ended {
            f(&mut d);
        }
    }

    pub(crate) fn end(&self, at: Option<SystemTime>) {
        // Appended to this thread's batch while the lock is held: nothing else can change the
        // fields, and the exporter never takes this lock.
        self.lock().end(&self.core, self.head(), at);
        self.leave_open();
    }
    /// [`end`](Self::end) through the only handle: no lock.
    #[inline]
    pub(crate) fn end_unique(&mut self, at: Option<SystemTime>) {
        let data = self.data.get_mut().unwrap_or_else(|e| e.into_inner());
        let head = Head {
            trace_id: self.trace_id,
            id: self.id,
            parent: self.parent,
            ty: self.ty,
            attrs: &self.attrs,
        };
        data.end(&self.core, head, at);
    }
}
impl crate::export::open::Open for ObsInner {
    fn is_open(&self) -> bool {
        !self.lock().ended
    }
    fn end_open(&self) {
        let mut d = self.lock();
        if d.ended {
            return;
        }
        d.level = Some(crate::fields::Level::Warning);
        let msg = crate::export::open::OPEN_AT_SHUTDOWN;
        let r = d.rare();
        r.status_message = Some(match r.status_message.take() {
            Some(m) if !m.is_empty() => format!("{m}; {msg}"),
            _ => msg.to_string(),
        });
        d.end(&self.core, self.head(), None);
        drop(d);
        self.leave_open();
    }
}
impl ObsData {
    /// Ends the observation (once; later calls do nothing) and records it.
    #[inline]
    fn end(&mut self, core: &Core, head: Head<'_>, at: Option<SystemTime>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.end = if head.ty == ObservationType::Event && self.start != 0 {
            self.start
        } else {
            at.map_or_else(crate::clock::now, crate::clock::unix_nanos)
        };
        if crate::live::updates::any() {
            crate::live::updates::apply(&head, self);
        }
        core.record(head, self);
    }
}
