//! Thread-local reuse of observation allocations.
//!
//! An observation's allocation and its value buffers are reused by the thread that made them once
//! its last handle is gone (the usual case: `#[observe]` drops its handle when the function
//! returns). The exporter never holds them (see `crate::export::record`), so this is all
//! thread-local: no locks, and no memory moving between threads.

use std::cell::RefCell;
use std::sync::Arc;

use crate::capture::pool::{keep_string, SPARE_STRING_MAX};
use crate::capture::Captured;
use crate::core::Core;
use crate::live::inner::{NewObs, ObsInner};

/// Spare observation allocations kept per thread.
const SPARE_OBSERVATIONS: usize = 32;

thread_local! {
    static SPARES: RefCell<Vec<Arc<ObsInner>>> = const { RefCell::new(Vec::new()) };
}
impl ObsInner {
    /// Readies an ended observation's allocation for reuse: its input and output buffers
    /// become the scratch buffers of the next observation (a buffer whose place is taken goes
    /// to the thread's pool). Everything else is dropped when the allocation is reused (on this
    /// thread).
    #[inline]
    fn recycle_buffers(&mut self) {
        let d = self.data.get_mut().unwrap_or_else(|e| e.into_inner());
        for (value, scratch) in [
            (&mut d.input, &mut d.scratch),
            (&mut d.output, &mut d.scratch_out),
        ] {
            if let Some(c) = value.take() {
                let mut b = c.into_string();
                if scratch.capacity() == 0 && b.capacity() <= SPARE_STRING_MAX {
                    b.clear();
                    *scratch = b;
                } else {
                    keep_string(b);
                }
            }
        }
    }
}
/// Keeps an ended observation's allocation (the caller's only handle) for this thread's next
/// observations.
#[inline]
pub(crate) fn keep_spare(obs: Arc<ObsInner>) {
    let _ = SPARES.try_with(|spares| {
        if let Ok(mut spares) = spares.try_borrow_mut() {
            if spares.len() < SPARE_OBSERVATIONS {
                spares.push(obs);
            }
        }
    });
}
/// This thread's next spare allocation, if it has one.
#[inline]
pub(crate) fn pop_spare() -> Option<Arc<ObsInner>> {
    SPARES
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.pop()))
        .ok()
        .flatten()
}
impl ObsInner {
    /// A recorded observation: a spare allocation of this thread's, or a new one.
    #[inline]
    pub(crate) fn new(core: &Arc<Core>, new: NewObs) -> Arc<ObsInner> {
        if let Some(mut a) = pop_spare() {
            if let Some(o) = Arc::get_mut(&mut a) {
                o.reset(core, new);
                return a;
            }
        }
        Arc::new(ObsInner::fresh(core, new))
    }

    /// Ends the observation through its only handle, with `output` if given (ignored if it
    /// has ended already: then only the buffer is reused), and empties its buffers for reuse.
    #[inline]
    pub(crate) fn finish_unique(&mut self, output: Option<Captured>) {
        if let Some(c) = output {
            self.data
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .output = Some(c);
        }
        self.end_unique(None);
        self.recycle_buffers();
    }
}
