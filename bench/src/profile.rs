//! `--profile <variant>`: one variant alone, for callgrind or perf.

use std::hint::black_box;
use std::time::{Duration, Instant};

use langfuse_sdk::Langfuse;

use crate::measure::{env_u64, thread_cpu_time};
use crate::sink::Sink;
use crate::workload::{bridge_dispatch, handle, handle_bridge, handle_plain};

/// `langfuse-bench --profile <untraced|disabled|unsampled|enabled|paced|bridge|bridge-disabled>`: runs one
/// variant 100k times and nothing else, for `valgrind --tool=callgrind` or `perf record`.
/// (`bridge`: enabled, the workload through the `tracing` bridge; `bridge-disabled`: the same
/// with no client.)
pub(crate) fn profile(variant: &str) {
    let q = "what is rust?";
    let n = env_u64("BENCH_PROFILE_CALLS", 100_000);
    // BENCH_PROFILE_STALL=1: the sink never answers, so the exporter stays idle and the calling
    // thread is measured alone (records wait in the queue).
    let stall = std::env::var_os("BENCH_PROFILE_STALL").is_some();
    let sink =
        matches!(variant, "enabled" | "unsampled" | "paced" | "bridge").then(|| Sink::start(stall));
    let g = sink.as_ref().map(|s| {
        langfuse_sdk::init_with(
            Langfuse::builder()
                .public_key("pk-lf-bench")
                .secret_key("sk-lf-bench")
                .base_url(&s.url)
                .sample_rate(if variant == "unsampled" { 0.0 } else { 1.0 })
                .build()
                .unwrap(),
        )
    });
    if g.is_some() {
        // Nothing recorded yet, so this returns once the exporter thread runs: by then it has
        // calibrated the clock, and every run measures the same clock (not the system clock
        // it falls back to before that; under valgrind, calibration is slow).
        let _ = langfuse_sdk::flush(Duration::from_secs(30));
    }
    // The bridge's registry, current on this thread for the calls below only.
    let bridge = variant.starts_with("bridge");
    let _bridge = bridge.then(|| tracing::dispatcher::set_default(&bridge_dispatch()));
    let start = Instant::now();
    let cpu0 = thread_cpu_time();
    for i in 0..n {
        if variant == "untraced" {
            black_box(handle_plain(black_box(q)));
        } else if bridge {
            black_box(handle_bridge(black_box(q)));
        } else {
            black_box(handle(black_box(q)));
        }
        // `paced`: 100 000 calls per second, in slices of 500.
        if variant == "paced" && i % 500 == 499 {
            let due = start + Duration::from_secs_f64((i + 1) as f64 / 100_000.0);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
    let per_obs = |d: Duration| d.as_nanos() as f64 / (2 * n) as f64;
    eprintln!(
        "{variant}: calling thread {:.1} ns/obs CPU, {:.1} ns/obs wall",
        per_obs(thread_cpu_time() - cpu0),
        per_obs(start.elapsed())
    );
    drop(g);
}
