//! Observation timestamps, as nanoseconds since the Unix epoch.
//!
//! Every observation reads the clock twice on the application's thread. Where the CPU has an
//! invariant time-stamp counter, `quanta` reads it (a fraction of `SystemTime::now()`'s cost
//! plus its conversion: docs/PERFORMANCE.md), scaled to nanoseconds by a calibration against
//! the OS clock. The counter is
//! anchored to the system clock once and re-aligned with it on the exporter's timer, so
//! timestamps follow the wall clock (NTP adjustments included) to within the drift of one
//! flush interval. Until the exporter thread has calibrated the counter (up to 200 ms, never on
//! an application thread), and on machines without a usable counter, the system clock is read.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

struct Counter {
    clock: quanta::Clock,
    /// The counter's raw value and the system clock at the anchor.
    raw0: u64,
    unix0: u64,
    /// Nanoseconds added to keep in step with the system clock, updated by [`sync`].
    adjust: AtomicI64,
}

impl Counter {
    #[inline]
    fn now(&self) -> u64 {
        let since = self.clock.delta_as_nanos(self.raw0, self.clock.raw());
        self.unix0
            .wrapping_add(since)
            .wrapping_add_signed(self.adjust.load(Ordering::Relaxed))
    }
}

static COUNTER: OnceLock<Counter> = OnceLock::new();

/// Now, in nanoseconds since the Unix epoch.
#[inline]
pub(crate) fn now() -> u64 {
    match COUNTER.get() {
        Some(c) => c.now(),
        None => unix_nanos(SystemTime::now()),
    }
}

/// A system time in nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Calibrates the counter the first time (the exporter thread calls this as it starts), and
/// re-aligns it with the system clock after that (on the exporter's timer).
pub(crate) fn sync() {
    match COUNTER.get() {
        None => {
            let clock = quanta::Clock::new();
            let raw0 = clock.raw();
            let unix0 = unix_nanos(SystemTime::now());
            let _ = COUNTER.set(Counter {
                clock,
                raw0,
                unix0,
                adjust: AtomicI64::new(0),
            });
        }
        Some(c) => {
            let system = unix_nanos(SystemTime::now());
            let ours = c.now();
            let off = i64::try_from(i128::from(system) - i128::from(ours)).unwrap_or(0);
            c.adjust.fetch_add(off, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_time_agrees_with_the_system_clock() {
        sync();
        sync();
        // Bracketed by two system clock reads; the counter is re-aligned just before, so it may
        // differ from them only by the calibration's error over a few microseconds.
        let before = unix_nanos(SystemTime::now());
        let t = now();
        let after = unix_nanos(SystemTime::now());
        let slack = 1_000_000; // 1 ms
        assert!(
            t + slack >= before && t <= after + slack,
            "{before} <= {t} <= {after}"
        );
        // Monotonic on one thread.
        let mut last = now();
        for _ in 0..10_000 {
            let n = now();
            assert!(n >= last, "{n} < {last}");
            last = n;
        }
    }
}
