//! Observations still open when the client shuts down: where shutdown finds them.
//!
//! Shutdown ends every observation it can reach that is still open, at that moment, with level
//! `WARNING` and the status message [`OPEN_AT_SHUTDOWN`] (appended to one already set), so a
//! long-running root and a handle leaked with `std::mem::forget` are sent, and their ended
//! children do not arrive as orphans. Ending such an observation later does nothing: it was
//! delivered once, so it is not counted as dropped either (`enqueued + dropped` stays the number
//! of items created). Two registries reach them:
//!
//! - [`Handles`]: observations started through a handle (`Langfuse::span(..).start()`,
//!   `observation(..)`, the `tracing` bridge) and observed async functions, streams and
//!   iterators that start a trace (a server's loop, a task, an event feed), which may end on
//!   any thread or never. Each is a weak reference in a slot it knows:
//!   leaving is one lock and no search, and a handle that was the only one is unique again
//!   after leaving, so its allocation is still reused.
//! - thread roots: a sync `#[observe]` call that starts a trace (a worker thread's loop, a
//!   long job) registers in its own thread's list, which only that thread and shutdown lock
//!   (uncontended), and leaves it when the call returns or unwinds, on the same thread (a
//!   stack: the entry is the last one).
//!
//! Observed calls inside a trace are not registered (the per-call path takes no lock for
//! them): one still running at shutdown, other than the shutting-down thread's current
//! observation (`Langfuse::shutdown` ends that one), is dropped and counted when it ends, like
//! anything recorded after shutdown.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::diag;

/// The status message of an observation that shutdown ended because it was still open.
pub(crate) const OPEN_AT_SHUTDOWN: &str =
    "still open when the client shut down: ended by Langfuse shutdown";

/// An observation that shutdown ends if it is still open (implemented by the recorded
/// observation, above this module).
pub(crate) trait Open: Send + Sync {
    /// True until it has ended.
    fn is_open(&self) -> bool;
    /// Ends it now, unless it has ended, with level `WARNING` and [`OPEN_AT_SHUTDOWN`].
    fn end_open(&self);
}

/// An exporter's registered handles: a slab, each observation knowing its slot.
#[derive(Default)]
pub(crate) struct Handles {
    list: Mutex<Slab>,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Option<Weak<dyn Open>>>,
    free: Vec<u32>,
}

impl Handles {
    /// Registers `obs`: its slot (`None` when the slab is full, which never happens in practice).
    pub(crate) fn register(&self, obs: Weak<dyn Open>) -> Option<u32> {
        let mut o = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = o.free.pop() {
            o.slots[slot as usize] = Some(obs);
            return Some(slot);
        }
        let slot = u32::try_from(o.slots.len())
            .ok()
            .filter(|s| *s < THREAD_ROOT)?;
        o.slots.push(Some(obs));
        Some(slot)
    }

    /// Forgets the observation in `slot` (it ended).
    pub(crate) fn deregister(&self, slot: u32) {
        let gone = {
            let mut o = self.list.lock().unwrap_or_else(PoisonError::into_inner);
            let gone = o.slots.get_mut(slot as usize).and_then(Option::take);
            if gone.is_some() {
                o.free.push(slot);
            }
            gone
        };
        // Dropped outside the lock.
        drop(gone);
    }

    /// The registered observations still alive (taken under the lock, ended outside it).
    fn alive(&self) -> Vec<Arc<dyn Open>> {
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .slots
            .iter()
            .filter_map(|w| w.as_ref()?.upgrade())
            .collect()
    }
}

/// The slot value of an observation registered as a thread root (handle slots are below it).
pub(crate) const THREAD_ROOT: u32 = u32::MAX - 1;

/// One thread's open sync roots, in the order they started, each with its exporter's key.
#[derive(Default)]
struct ThreadRoots {
    list: Mutex<Vec<(usize, Arc<dyn Open>)>>,
}

/// Every thread's list (a thread's list goes away with the thread).
static THREADS: Mutex<Vec<Weak<ThreadRoots>>> = Mutex::new(Vec::new());

thread_local! {
    static ROOTS: Arc<ThreadRoots> = {
        let r = Arc::new(ThreadRoots::default());
        let mut all = THREADS.lock().unwrap_or_else(PoisonError::into_inner);
        // Lists of threads that have ended are pruned as threads come.
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&r));
        r
    };
}

/// Registers `obs`, a sync root of the exporter `key`, in this thread's list; false if this
/// thread is ending (its list is gone).
#[inline]
pub(crate) fn push_thread_root(key: usize, obs: Arc<dyn Open>) -> bool {
    ROOTS
        .try_with(|r| {
            r.list
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((key, obs));
        })
        .is_ok()
}

/// Removes the thread root at `obs` (an address) from this thread's list: the last entry when
/// it ends on the thread that started it (always, for the sync path); otherwise it is looked
/// for in every thread's list.
#[inline]
pub(crate) fn leave_thread_root(obs: *const ()) {
    let gone = ROOTS
        .try_with(|r| take(&r.list, obs))
        .ok()
        .flatten()
        .or_else(|| take_anywhere(obs));
    // Dropped outside the lock.
    drop(gone);
}

#[inline]
fn take(list: &Mutex<Vec<(usize, Arc<dyn Open>)>>, obs: *const ()) -> Option<Arc<dyn Open>> {
    let mut l = list.lock().unwrap_or_else(PoisonError::into_inner);
    // The last one, unless it ended on another thread or out of order (rare).
    if l.last()
        .is_some_and(|(_, o)| std::ptr::addr_eq(Arc::as_ptr(o), obs))
    {
        return l.pop().map(|(_, o)| o);
    }
    let at = l
        .iter()
        .rposition(|(_, o)| std::ptr::addr_eq(Arc::as_ptr(o), obs))?;
    Some(l.remove(at).1)
}

#[cold]
fn take_anywhere(obs: *const ()) -> Option<Arc<dyn Open>> {
    threads().iter().find_map(|r| take(&r.list, obs))
}

fn threads() -> Vec<Arc<ThreadRoots>> {
    THREADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter_map(Weak::upgrade)
        .collect()
}

/// Ends every observation of the exporter `key` that `handles` or a thread's list holds and
/// that is still open (see the module docs); warns once with the count.
pub(crate) fn end_open(key: usize, handles: &Handles) {
    let mut open = handles.alive();
    for r in threads() {
        let l = r.list.lock().unwrap_or_else(PoisonError::into_inner);
        open.extend(l.iter().filter(|(k, _)| *k == key).map(|(_, o)| o.clone()));
    }
    let mut ended = 0usize;
    for o in open {
        if o.is_open() {
            o.end_open();
            ended += 1;
        }
    }
    if ended > 0 {
        diag::warn(&format!(
            "Langfuse client shut down with {ended} observation(s) still open: they are \
             sent ended now, with level WARNING; end observations before shutdown"
        ));
    }
}
