//! Trace attributes set with `update_current_trace` after a trace started, kept per trace so
//! that every observation of the trace that ends later in this process carries them (Langfuse v4
//! reads trace attributes from each observation; a span is sent once, when it ends).
//!
//! Costs nothing until the first update: ending an observation checks one relaxed counter. An
//! entry lives until the trace's local root ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::attributes::TraceAttributes;
use crate::export::record::Head;
use crate::fields::ObsData;
use crate::ids::TraceId;

/// Traces with updates (the map's length, readable without its lock).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// At most this many traces are kept (each until its root ends): a program that updates traces
/// whose roots never end cannot grow the map without bound.
const MAX_TRACES: usize = 10_000;

fn map() -> &'static Mutex<HashMap<TraceId, Arc<TraceAttributes>>> {
    static MAP: OnceLock<Mutex<HashMap<TraceId, Arc<TraceAttributes>>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

/// Merges `attrs` into the updates of `trace`.
pub(crate) fn update(trace: TraceId, attrs: &TraceAttributes) {
    let mut m = map().lock().unwrap_or_else(|e| e.into_inner());
    if m.len() >= MAX_TRACES && !m.contains_key(&trace) {
        // Full: the oldest traces are as likely as any to be over; drop one.
        if let Some(k) = m.keys().next().copied() {
            m.remove(&k);
        }
    }
    let e = m.entry(trace).or_default();
    Arc::make_mut(e).merge_from(attrs);
    ACTIVE.store(m.len(), Ordering::Relaxed);
}

/// True once some trace has updates: only then does an ending observation look them up.
#[inline(always)]
pub(crate) fn any() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// Gives an ending observation the updates of its trace (its own trace attributes win), and
/// forgets them when it is the trace's local root. Call only when [`any`] says so.
#[cold]
#[inline(never)]
pub(crate) fn apply(head: &Head<'_>, data: &mut ObsData) {
    let (trace, parent) = (head.trace_id, head.parent);
    let root = parent.map_or(true, |p| p.remote);
    let updates = {
        let mut m = map().lock().unwrap_or_else(|e| e.into_inner());
        let u = if root {
            m.remove(&trace)
        } else {
            m.get(&trace).cloned()
        };
        ACTIVE.store(m.len(), Ordering::Relaxed);
        u
    };
    let Some(updates) = updates else {
        return;
    };
    let rare = data.rare();
    let mut merged = (*updates).clone();
    if let Some(own) = rare.trace.take() {
        merged.merge_from(&own);
    }
    rare.trace = Some(Box::new(merged));
}
