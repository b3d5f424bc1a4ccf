//! Measurement helpers: CPU time (process, thread, exporter threads), RSS, thread count, and
//! interleaved timing of alternatives; the run's settings from the environment.

use std::time::{Duration, Instant};

pub(crate) fn proc_ticks(path: &str) -> Duration {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ = 100 on Linux
}
/// CPU time of this process (all threads).
pub(crate) fn cpu_time() -> Duration {
    proc_ticks("/proc/self/stat")
}
/// CPU time of the calling thread, in nanoseconds (`schedstat`; `stat` counts 10 ms ticks).
pub(crate) fn thread_cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| proc_ticks("/proc/thread-self/stat"))
}
/// CPU time of this process's exporter threads (`langfuse-exporter`), in nanoseconds.
pub(crate) fn exporter_cpu_time() -> Duration {
    let mut ns = 0;
    for t in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if comm.trim_end() == "langfuse-export" {
            ns += std::fs::read_to_string(p.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(ns)
}
pub(crate) fn status_kb(key: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
}
pub(crate) fn rss_mb() -> f64 {
    status_kb("VmRSS:") / 1024.0
}
pub(crate) fn peak_rss_mb() -> f64 {
    status_kb("VmHWM:") / 1024.0
}
pub(crate) fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Nanoseconds per call of each function: 20 rounds in which every function runs `iters / 20`
/// times in turn; the best round of each.
pub(crate) fn interleaved(iters: u64, fs: &[&dyn Fn()]) -> Vec<f64> {
    const ROUNDS: u64 = 20;
    let per = (iters / ROUNDS).max(1);
    for f in fs {
        for _ in 0..per {
            f();
        }
    }
    let mut best = vec![f64::INFINITY; fs.len()];
    for _ in 0..ROUNDS {
        for (f, b) in fs.iter().zip(best.iter_mut()) {
            let t0 = Instant::now();
            for _ in 0..per {
                f();
            }
            *b = b.min(t0.elapsed().as_nanos() as f64 / per as f64);
        }
    }
    best
}

/// A number from the environment, or `d`.
pub(crate) fn env_u64(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}
