//! The spans entered on this thread, each holding the guard that made its observation current.
//!
//! A [`ContextGuard`] belongs to its thread (it is `!Send`), so it cannot live in the span's
//! extensions, which any thread may reach: it lives here, keyed by layer and span id, from
//! `on_enter` to the matching `on_exit` on the same thread.

use std::cell::RefCell;

use crate::ContextGuard;

thread_local! {
    static ENTERED: RefCell<Vec<(u64, u64, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `guard` until span `span` of layer `layer` exits on this thread.
pub(crate) fn push(layer: u64, span: u64, guard: ContextGuard) {
    // While the thread is exiting (or re-entrantly) the guard drops at once: the context is
    // restored, which is what an exit would have done.
    let _ = ENTERED.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.push((layer, span, guard));
        }
    });
}

/// Drops the guard of the most recent entry of span `span` of layer `layer`, restoring what was
/// current before it. Spans exit in the reverse order of entering in practice; when one exits out
/// of order its guard is dropped all the same (the context may then be off until the spans
/// entered after it exit too).
pub(crate) fn pop(layer: u64, span: u64) {
    let guard = ENTERED
        .try_with(|s| {
            let mut s = s.try_borrow_mut().ok()?;
            let i = s
                .iter()
                .rposition(|(l, id, _)| *l == layer && *id == span)?;
            Some(s.remove(i).2)
        })
        .ok()
        .flatten();
    // Dropped outside the borrow: restoring the context may drop the last handle of an
    // observation, which ends it.
    drop(guard);
}

/// How many spans are entered on this thread (for tests).
#[cfg(test)]
pub(crate) fn depth() -> usize {
    ENTERED.with(|s| s.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_out_of_order_still_drop_their_guards() {
        let ctx = crate::Context::empty();
        push(1, 10, ctx.clone().attach());
        push(1, 11, ctx.clone().attach());
        push(2, 10, ctx.attach());
        pop(1, 10);
        assert_eq!(depth(), 2);
        pop(2, 10);
        pop(1, 11);
        pop(1, 11);
        assert_eq!(depth(), 0);
    }
}
