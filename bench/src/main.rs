//! Benchmarks of the two-level workload (a span calling a generation with small input, output
//! and usage), printed as tables a reader can compare:
//!
//! 1. calling-thread nanoseconds per observation: the untraced function,
//!    `#[tracing::instrument]` with no subscriber, and `#[observe]` disabled, unsampled, enabled;
//! 2. enabled runs until the sink has decoded every span: calling-thread CPU, total CPU of this
//!    process (application + exporter: encode, gzip, HTTP), end-to-end throughput, bytes on the
//!    wire, delivered count (counted by the sink), drops, peak RSS — for 1, 2 and 4 producer
//!    threads, 10 KB and 1 MB inputs, gzip on and off;
//! 3. a stalled server (accepts, never answers) at full call rate: memory, drops, `flush(5 s)`.
//!
//! The sink is this binary started as `langfuse-bench --sink` in a separate process on
//! 127.0.0.1: it gunzips and decodes every OTLP request and counts spans, so its work is not
//! counted as ours and "delivered" is measured. Run with `scripts/bench.sh`.
//!
//! The enabled rows and runs are also measured for the same workload written with
//! `#[tracing::instrument]` and sent through the SDK's `tracing` bridge (`LangfuseLayer`).
//!
//! Single runs: `--burst` or `--paced` (add `--bridge` for the bridge's workload), `--stalled`,
//! `--profile <untraced|disabled|unsampled|enabled|paced|bridge|bridge-disabled>`.

mod measure;
mod profile;
mod report;
mod runs;
mod sink;
mod wire;
mod workload;

use crate::measure::env_u64;
use crate::runs::{enabled_run, stalled};
use crate::workload::Workload;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--sink") {
        sink::run_sink(args.iter().any(|a| a == "--stall"));
        return;
    }
    if args.iter().any(|a| a == "--stalled") {
        stalled("what is rust?", env_u64("BENCH_STALL_SECS", 10));
        return;
    }
    // `--bridge` with `--burst` or `--paced`: the workload through the `tracing` bridge.
    let bridge = args.iter().any(|a| a == "--bridge");
    let (workload, prefix) = if bridge {
        (Workload::Bridge, "tracing bridge, ")
    } else {
        (Workload::Observe, "")
    };
    for (flag, label, pace) in [
        ("--burst", "1 producer, burst", None),
        ("--paced", "1 producer, paced at 200k obs/s", Some(100_000)),
    ] {
        if args.iter().any(|a| a == flag) {
            // One enabled run alone (for comparing builds): one line.
            let calls = env_u64("BENCH_CALLS", 200_000);
            let label = format!("{prefix}{label}");
            let r = enabled_run(&label, workload, calls, 1, "what is rust?", true, pace);
            println!(
                "{label}: calling-thread CPU {:.0} ns/obs, exporter thread {:.0}, total CPU {:.0} ns/obs, {:.0} obs/s end to end, {:.1} B/obs on the wire, {} of {} delivered",
                r.calling_cpu_ns, r.exporter_cpu_ns, r.total_cpu_ns, r.per_sec, r.wire_bytes, r.delivered, r.observations
            );
            return;
        }
    }
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        profile::profile(args.get(i + 1).map(String::as_str).unwrap_or(""));
        return;
    }
    report::full();
}
