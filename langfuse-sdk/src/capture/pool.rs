//! Spare value buffers, kept per thread so that capturing a value rarely allocates.

use std::cell::RefCell;

/// Spare value buffers kept per thread, and the largest kept.
const SPARE_STRINGS: usize = 64;
pub(crate) const SPARE_STRING_MAX: usize = 4096;
/// The capacity of a new value buffer, and the smallest kept: short exact-size strings (a model
/// name) would only be grown again.
const SPARE_STRING_MIN: usize = 64;

thread_local! {
    static STRINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// An empty string, with the capacity of a spare buffer when this thread has one.
#[inline]
pub(crate) fn spare_string() -> String {
    STRINGS
        .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.pop()))
        .ok()
        .flatten()
        .unwrap_or_else(|| String::with_capacity(SPARE_STRING_MIN))
}

/// Keeps a value buffer in this thread's pool, if it is worth keeping and there is room.
pub(crate) fn keep_string(mut b: String) {
    if b.capacity() < SPARE_STRING_MIN || b.capacity() > SPARE_STRING_MAX {
        return;
    }
    let _ = STRINGS.try_with(|strings| {
        if let Ok(mut strings) = strings.try_borrow_mut() {
            if strings.len() < SPARE_STRINGS {
                b.clear();
                strings.push(b);
            }
        }
    });
}
