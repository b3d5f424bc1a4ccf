//! Enabled runs against the sink (calling-thread and total CPU, throughput, delivery) and the
//! stalled-server run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use langfuse_sdk::Langfuse;

use crate::measure::{cpu_time, exporter_cpu_time, rss_mb, thread_cpu_time, threads};
use crate::sink::Sink;
use crate::workload::{bridge_dispatch, handle, handle_bridge, Workload};

pub(crate) struct RunResult {
    pub(crate) label: String,
    pub(crate) calling_ns: f64,
    pub(crate) calling_cpu_ns: f64,
    pub(crate) total_cpu_ns: f64,
    pub(crate) exporter_cpu_ns: f64,
    pub(crate) per_sec: f64,
    pub(crate) wire_bytes: f64,
    pub(crate) delivered: u64,
    pub(crate) observations: u64,
    pub(crate) dropped: u64,
    pub(crate) flush: String,
}

/// The run with the median calling-thread CPU time.
pub(crate) fn median_run(mut runs: Vec<RunResult>) -> RunResult {
    runs.sort_by(|a, b| a.calling_cpu_ns.total_cmp(&b.calling_cpu_ns));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

/// Best, median and worst of repeated runs, each figure on its own.
pub(crate) fn spread_of(runs: &[RunResult]) -> String {
    let three = |f: fn(&RunResult) -> f64, higher_is_better: bool| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        if higher_is_better {
            v.reverse();
        }
        format!(
            "{:.0} / {:.0} / {:.0}",
            v[0],
            v[v.len() / 2],
            v[v.len() - 1]
        )
    };
    format!(
        "{}: calling-thread CPU {} ns/obs, total CPU {} ns/obs, {} obs/s, delivered {}",
        runs[0].label,
        three(|r| r.calling_cpu_ns, false),
        three(|r| r.total_cpu_ns, false),
        three(|r| r.per_sec, true),
        if runs.iter().all(|r| r.delivered == r.observations) {
            "all, every time".to_string()
        } else {
            format!(
                "{} of {} at worst",
                runs.iter().map(|r| r.delivered).min().unwrap_or(0),
                runs[0].observations
            )
        }
    )
}

/// One enabled run: `producers` threads make `calls_per_thread` two-observation calls each, as
/// fast as they can, or at `pace` calls per second per thread (the time between slices of calls
/// is not counted as the calling thread's).
pub(crate) fn enabled_run(
    label: &str,
    workload: Workload,
    calls_per_thread: u64,
    producers: usize,
    input: &str,
    gzip: bool,
    pace: Option<u64>,
) -> RunResult {
    let sink = Sink::start(false);
    let lf = Langfuse::builder()
        .public_key("pk-lf-bench")
        .secret_key("sk-lf-bench")
        .base_url(&sink.url)
        .gzip(gzip);
    // BENCH_QUEUE overrides the queue bound (for experiments; the table uses the default).
    let lf = match std::env::var("BENCH_QUEUE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(n) => lf.max_queue_size(n),
        None => lf,
    }
    .build()
    .unwrap();
    let g = langfuse_sdk::init_with(lf.clone());
    let cpu0 = cpu_time();
    let exporter0 = exporter_cpu_time();
    let t0 = Instant::now();
    let input = Arc::new(input.to_string());
    let handles: Vec<_> = (0..producers)
        .map(|_| {
            let input = input.clone();
            let dispatch = (workload == Workload::Bridge).then(bridge_dispatch);
            std::thread::spawn(move || match dispatch {
                None => produce(handle, &input, calls_per_thread, pace),
                Some(d) => tracing::dispatcher::with_default(&d, || {
                    produce(handle_bridge, &input, calls_per_thread, pace)
                }),
            })
        })
        .collect();
    let mut wall = Duration::ZERO;
    let mut tcpu = Duration::ZERO;
    for h in handles {
        let (w, c) = h.join().unwrap();
        wall += w;
        tcpu += c;
    }
    let flushed = lf.flush(Duration::from_secs(300));
    let total = t0.elapsed();
    let cpu = cpu_time() - cpu0;
    let exporter_cpu = exporter_cpu_time().saturating_sub(exporter0);
    let stats = lf.stats();
    drop(g);
    let observations = calls_per_thread * producers as u64 * 2;
    let (delivered, bytes, _, corrupt) = sink.stats();
    assert_eq!(corrupt, 0, "the sink received malformed requests");
    RunResult {
        label: label.to_string(),
        calling_ns: wall.as_nanos() as f64 / observations as f64,
        calling_cpu_ns: tcpu.as_nanos() as f64 / observations as f64,
        total_cpu_ns: cpu.as_nanos() as f64 / observations as f64,
        exporter_cpu_ns: exporter_cpu.as_nanos() as f64 / observations as f64,
        per_sec: observations as f64 / total.as_secs_f64(),
        wire_bytes: bytes as f64 / delivered.max(1) as f64,
        delivered,
        observations,
        dropped: stats.dropped,
        flush: match flushed {
            Ok(()) => "ok".into(),
            Err(e) => format!("{e}"),
        },
    }
}

/// One producer thread's calls: (calling time, calling-thread CPU time).
fn produce(
    call: impl Fn(&str) -> String,
    input: &str,
    calls_per_thread: u64,
    pace: Option<u64>,
) -> (Duration, Duration) {
    let tcpu = thread_cpu_time();
    let Some(rate) = pace else {
        let t = Instant::now();
        for _ in 0..calls_per_thread {
            black_box(call(black_box(input)));
        }
        return (t.elapsed(), thread_cpu_time() - tcpu);
    };
    const SLICE: u64 = 500;
    let start = Instant::now();
    let mut busy = Duration::ZERO;
    let mut done = 0;
    while done < calls_per_thread {
        let n = SLICE.min(calls_per_thread - done);
        let t = Instant::now();
        for _ in 0..n {
            black_box(call(black_box(input)));
        }
        busy += t.elapsed();
        done += n;
        let due = start + Duration::from_secs_f64(done as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    (busy, thread_cpu_time() - tcpu)
}

/// A stalled server (accepts, never answers) at full call rate: memory, drops, `flush(5 s)`.
/// `langfuse-bench --stalled` runs it alone.
pub(crate) fn stalled(q: &str, stall_secs: u64) {
    let sink = Sink::start(true);
    let lf = Langfuse::builder()
        .public_key("pk-lf-bench")
        .secret_key("sk-lf-bench")
        .base_url(&sink.url)
        .build()
        .unwrap();
    let g = langfuse_sdk::init_with(lf.clone());
    let threads_before = threads();
    let rss_before = rss_mb();
    let t0 = Instant::now();
    let mut max_rss: f64 = 0.0;
    let mut calls_made = 0u64;
    while t0.elapsed() < Duration::from_secs(stall_secs) {
        for _ in 0..10_000 {
            black_box(handle(black_box(q)));
        }
        calls_made += 10_000;
        max_rss = max_rss.max(rss_mb());
    }
    let f0 = Instant::now();
    let flushed = lf.flush(Duration::from_secs(5));
    let flush_took = f0.elapsed();
    let st = lf.stats();
    println!();
    println!("stalled server (accepts, never answers) for {stall_secs} s at full call rate, default queue bounds (1 000 000 items, 128 MiB):");
    println!(
        "  observations created {}, enqueued {}, dropped (counted) {}, RSS {:.0} MB before, max {:.0} MB (+{:.0} MB), threads {}",
        calls_made * 2,
        st.enqueued,
        st.dropped,
        rss_before,
        max_rss,
        max_rss - rss_before,
        threads_before
    );
    println!(
        "  flush(5 s) returned in {:.2} s: {}",
        flush_took.as_secs_f64(),
        match flushed {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    );
    let s0 = Instant::now();
    let _ = lf.shutdown(Duration::from_secs(1));
    println!(
        "  shutdown(1 s) returned in {:.2} s",
        s0.elapsed().as_secs_f64()
    );
    drop(g);
}
