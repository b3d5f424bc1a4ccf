//! Benchmarks of the two-level workload (a span calling a generation with small input, output
//! and usage), printed as one table:
//!
//! - untraced function, `#[tracing::instrument]` with no subscriber, and `#[observe]` enabled,
//!   disabled and unsampled: calling-thread nanoseconds per observation;
//! - enabled: total CPU per observation (all threads, until the sink has decoded everything),
//!   end-to-end observations per second, bytes on the wire per observation, delivered count and
//!   peak RSS.
//!
//! The sink is an HTTP server on 127.0.0.1 in this process that gunzips and decodes every OTLP
//! request and counts spans, so "delivered" is measured. Run with `scripts/bench.sh`.

use std::hint::black_box;
use std::io::Read as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use langfuse_sdk::{observe, Langfuse, UsageDetails};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---- the workload ------------------------------------------------------------------------------

#[inline(never)]
fn llm_plain(prompt: &str) -> String {
    black_box(prompt.len());
    String::from("ok")
}
#[inline(never)]
fn handle_plain(req: &str) -> String {
    llm_plain(req)
}

#[tracing::instrument]
#[inline(never)]
fn llm_tracing(prompt: &str) -> String {
    black_box(prompt.len());
    String::from("ok")
}
#[tracing::instrument]
#[inline(never)]
fn handle_tracing(req: &str) -> String {
    llm_tracing(req)
}

#[observe(as_type = "generation")]
#[inline(never)]
fn llm(prompt: &str) -> String {
    langfuse_sdk::current_observation()
        .set_model("gpt-4o-mini")
        .set_usage_details(UsageDetails::new().input(12).output(2).total(14));
    black_box(prompt.len());
    String::from("ok")
}
#[observe]
#[inline(never)]
fn handle(req: &str) -> String {
    llm(req)
}

// ---- measurement helpers -----------------------------------------------------------------------

/// Process CPU time (user + system), from /proc.
fn cpu_time() -> Duration {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ = 100 on Linux
}

/// This thread's CPU time (user + system), from /proc.
fn thread_cpu_time() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Peak resident set size in MB, from /proc.
fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn ns_per_call(iters: u64, f: impl Fn()) -> f64 {
    for _ in 0..iters / 10 {
        f();
    }
    let t0 = Instant::now();
    for _ in 0..iters {
        f();
    }
    t0.elapsed().as_nanos() as f64 / iters as f64
}

// ---- the sink ----------------------------------------------------------------------------------

#[derive(Default)]
struct SinkStats {
    spans: AtomicU64,
    bytes: AtomicU64,
    requests: AtomicU64,
}

fn start_sink() -> (String, Arc<SinkStats>) {
    let stats = Arc::new(SinkStats::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let st = stats.clone();
    std::thread::Builder::new().name("sink".into()).spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                let st = st.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let head_end = loop {
                            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break p;
                            }
                            let mut c = [0u8; 65536];
                            match s.read(&mut c).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&c[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        let gz = head.contains("content-encoding: gzip");
                        while buf.len() < head_end + 4 + len {
                            let mut c = [0u8; 65536];
                            match s.read(&mut c).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&c[..n]),
                            }
                        }
                        let body: Vec<u8> = buf.drain(..head_end + 4 + len).skip(head_end + 4).collect();
                        st.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                        let raw = if gz {
                            let mut out = Vec::new();
                            let _ = flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out);
                            out
                        } else {
                            body
                        };
                        if let Ok(req) = ExportTraceServiceRequest::decode(&raw[..]) {
                            let n: usize = req
                                .resource_spans
                                .iter()
                                .flat_map(|r| &r.scope_spans)
                                .map(|s| s.spans.len())
                                .sum();
                            st.spans.fetch_add(n as u64, Ordering::Relaxed);
                        }
                        st.requests.fetch_add(1, Ordering::Relaxed);
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}")
                            .await;
                    }
                });
            }
        });
    }).unwrap();
    (format!("http://{addr}"), stats)
}

// ---- main --------------------------------------------------------------------------------------

fn main() {
    let calls: u64 = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000); // two observations per call
    let micro: u64 = std::env::var("BENCH_MICRO")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let mut rows: Vec<(String, f64, String)> = Vec::new();

    // Untraced and tracing::instrument (no subscriber installed).
    let base = ns_per_call(micro, || {
        black_box(handle_plain(black_box("what is rust?")));
    });
    let tr = ns_per_call(micro, || {
        black_box(handle_tracing(black_box("what is rust?")));
    });

    // Ours, disabled (no client).
    let disabled = ns_per_call(micro, || {
        black_box(handle(black_box("what is rust?")));
    });

    // Ours, unsampled.
    let (url, sink) = start_sink();
    let unsampled_client = Langfuse::builder()
        .public_key("pk-lf-bench")
        .secret_key("sk-lf-bench")
        .base_url(&url)
        .sample_rate(0.0)
        .build()
        .unwrap();
    let g = langfuse_sdk::init_with(unsampled_client);
    let unsampled = ns_per_call(micro, || {
        black_box(handle(black_box("what is rust?")));
    });
    drop(g);

    rows.push(("untraced function".into(), base / 2.0, "-".into()));
    rows.push((
        "#[tracing::instrument], no subscriber".into(),
        tr / 2.0,
        format!("+{:.1}", (tr - base) / 2.0),
    ));
    rows.push((
        "#[observe], tracing disabled".into(),
        disabled / 2.0,
        format!("+{:.1}", (disabled - base) / 2.0),
    ));
    rows.push((
        "#[observe], trace not sampled".into(),
        unsampled / 2.0,
        format!("+{:.1}", (unsampled - base) / 2.0),
    ));

    // Ours, enabled, exporting to the sink.
    let lf = Langfuse::builder()
        .public_key("pk-lf-bench")
        .secret_key("sk-lf-bench")
        .base_url(&url)
        .max_queue_size(1_000_000)
        .build()
        .unwrap();
    let g = langfuse_sdk::init_with(lf.clone());
    let before = sink.spans.load(Ordering::Relaxed);
    let cpu0 = cpu_time();
    let tcpu0 = thread_cpu_time();
    let t0 = Instant::now();
    for _ in 0..calls {
        black_box(handle(black_box("what is rust?")));
    }
    let calling = t0.elapsed();
    let calling_cpu = thread_cpu_time() - tcpu0;
    let flushed = lf.flush(Duration::from_secs(120));
    let total = t0.elapsed();
    let cpu = cpu_time() - cpu0;
    let observations = calls * 2;
    let delivered = sink.spans.load(Ordering::Relaxed) - before;
    let stats = lf.stats();
    drop(g);
    rows.push((
        "#[observe], enabled, exporting".into(),
        calling.as_nanos() as f64 / observations as f64,
        format!(
            "+{:.1}",
            calling.as_nanos() as f64 / observations as f64 - base / 2.0
        ),
    ));

    println!(
        "two-level workload (span -> generation), release build, {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!();
    println!("| variant | calling-thread ns / observation | overhead vs untraced (ns) |");
    println!("|---|---:|---:|");
    for (name, ns, over) in &rows {
        println!("| {name} | {ns:.1} | {over} |");
    }
    println!();
    println!("| enabled, {observations} observations | value |");
    println!("|---|---:|");
    println!(
        "| calling-thread CPU ns / observation (wall time above includes waiting for a core) | {:.0} |",
        calling_cpu.as_nanos() as f64 / observations as f64
    );
    println!(
        "| total CPU ns / observation (all threads, until decoded) | {:.0} |",
        cpu.as_nanos() as f64 / observations as f64
    );
    println!(
        "| end-to-end observations / s | {:.0} |",
        observations as f64 / total.as_secs_f64()
    );
    println!(
        "| bytes on the wire / observation (gzip) | {:.1} |",
        sink.bytes.load(Ordering::Relaxed) as f64 / delivered.max(1) as f64
    );
    println!("| delivered (decoded by the sink) | {delivered} of {observations} |");
    println!(
        "| dropped / failed (SDK counters) | {} / {} |",
        stats.dropped, stats.failed
    );
    println!(
        "| flush result | {} |",
        match &flushed {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    );
    println!("| peak RSS (MB) | {:.0} |", peak_rss_mb());
}
