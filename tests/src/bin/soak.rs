//! Soak with faults: many producers (tokio tasks and OS threads) create nested traces, scores
//! and a few large values against a server on 127.0.0.1 that injects 500s, 429s with
//! `Retry-After`, connections reset mid-response, responses slower than the client's timeout, and
//! an outage (connection refused) in the middle. Afterwards it checks that nothing was lost
//! uncounted, that every delivered span decodes with its attributes intact, that memory stayed
//! bounded and that no thread or socket leaked; then that an outage longer than the retry budget
//! counts its batches as failed while later ones are delivered.
//!
//! `soak [--short]`: the full run (1M observations, a 20 s outage; at most 5 minutes) or the
//! short one CI runs. Exit status 0 when every check holds.

use std::collections::HashSet;
use std::io::Read as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use langfuse_sdk::testing::ExportedSpan;
use langfuse_sdk::{Langfuse, Score, WithContext};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct Seen {
    ids: Mutex<HashSet<[u8; 8]>>,
    duplicates: AtomicU64,
    corrupt: AtomicU64,
    scores: AtomicU64,
    requests: AtomicU64,
    faults: AtomicU64,
    /// Request bodies (decoded) that contain the secret key.
    leaked: AtomicU64,
}

const SECRET: &str = "sk-lf-soak-secret";

struct Server {
    seen: Arc<Seen>,
    down: Arc<AtomicBool>,
    port: u16,
    handle: tokio::runtime::Handle,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
    faults_on: Arc<AtomicBool>,
}

fn rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

impl Server {
    fn start(rt: &tokio::runtime::Runtime) -> Server {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let s = Server {
            seen: Arc::new(Seen::default()),
            down: Arc::new(AtomicBool::new(false)),
            port,
            handle: rt.handle().clone(),
            listener: Mutex::new(None),
            faults_on: Arc::new(AtomicBool::new(true)),
        };
        s.listen(std_listener);
        s
    }

    fn listen(&self, l: std::net::TcpListener) {
        l.set_nonblocking(true).unwrap();
        let seen = self.seen.clone();
        let faults_on = self.faults_on.clone();
        let h = self.handle.spawn(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            let mut conn = 0u64;
            loop {
                let Ok((s, _)) = l.accept().await else {
                    continue;
                };
                conn += 1;
                let seen = seen.clone();
                let faults_on = faults_on.clone();
                tokio::spawn(async move {
                    let _ = serve(
                        s,
                        seen,
                        faults_on,
                        conn.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
                    )
                    .await;
                });
            }
        });
        *self.listener.lock().unwrap() = Some(h);
    }

    /// Connection refused until `up`.
    fn down(&self) {
        if let Some(h) = self.listener.lock().unwrap().take() {
            h.abort();
        }
        self.down.store(true, Ordering::SeqCst);
        // Wait until the port refuses connections.
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            std::thread::yield_now();
        }
    }

    fn up(&self) {
        let l = std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.listen(l);
        self.down.store(false, Ordering::SeqCst);
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

async fn serve(
    mut s: tokio::net::TcpStream,
    seen: Arc<Seen>,
    faults_on: Arc<AtomicBool>,
    mut rng: u64,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            let mut c = [0u8; 65536];
            let n = s.read(&mut c).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&c[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + 4 + len {
            let mut c = [0u8; 65536];
            let n = s.read(&mut c).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&c[..n]);
        }
        let body: Vec<u8> = buf.drain(..head_end + 4 + len).skip(head_end + 4).collect();
        seen.requests.fetch_add(1, Ordering::Relaxed);
        let roll = rand(&mut rng) % 1000;
        if faults_on.load(Ordering::Relaxed) {
            let fault = match roll {
                0..=99 => Some("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\noops".to_string()),
                100..=149 => Some(format!(
                    "HTTP/1.1 429 Too Many Requests\r\nretry-after: {}\r\ncontent-length: 0\r\n\r\n",
                    rand(&mut rng) % 2
                )),
                150..=169 => return Ok(()), // connection reset mid-response
                170..=179 => {
                    tokio::time::sleep(Duration::from_millis(1500)).await; // slower than the timeout
                    None
                }
                _ => None,
            };
            if let Some(f) = fault {
                seen.faults.fetch_add(1, Ordering::Relaxed);
                s.write_all(f.as_bytes()).await?;
                continue;
            }
        }
        let gz = head.contains("content-encoding: gzip");
        let raw = if gz {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out)?;
            out
        } else {
            body
        };
        if raw.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()) {
            seen.leaked.fetch_add(1, Ordering::Relaxed);
        }
        let reply = if head.contains("/api/public/ingestion") {
            let v: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_default();
            let n = v["batch"].as_array().map_or(0, |b| b.len());
            seen.scores.fetch_add(n as u64, Ordering::Relaxed);
            "HTTP/1.1 207 Multi-Status\r\ncontent-length: 31\r\n\r\n{\"successes\":[],\"errors\":[]}  ".to_string()
        } else {
            match ExportTraceServiceRequest::decode(&raw[..]) {
                Ok(req) => {
                    let spans = ExportedSpan::from_requests(&[req]);
                    let mut ids = seen.ids.lock().unwrap();
                    for sp in spans {
                        if !intact(&sp) {
                            seen.corrupt.fetch_add(1, Ordering::Relaxed);
                        }
                        let mut id = [0u8; 8];
                        id.copy_from_slice(&sp.span.span_id);
                        if !ids.insert(id) {
                            seen.duplicates.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Err(_) => {
                    seen.corrupt.fetch_add(1, Ordering::Relaxed);
                }
            }
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_string()
        };
        s.write_all(reply.as_bytes()).await?;
    }
}

/// Every span carries its type, and its `seq` metadata matches the number in its name.
fn intact(s: &ExportedSpan) -> bool {
    let Some(ty) = s.observation_type() else {
        return false;
    };
    if !matches!(ty, "span" | "generation" | "tool") {
        return false;
    }
    // Metadata values are JSON text: the string "5" arrives as "\"5\"".
    let seq = format!("\"{}\"", s.name().rsplit('-').next().unwrap_or(""));
    s.attr_str("langfuse.observation.metadata.seq") == Some(seq.as_str())
        && s.attr_str("user.id") == Some("soak-user")
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

static CREATED: AtomicU64 = AtomicU64::new(0);
static SCORES: AtomicU64 = AtomicU64::new(0);

/// One trace: a root span, a generation and a tool, sometimes a 100 KB value and a score.
fn trace(lf: &Langfuse, n: u64) {
    let root = lf.span(format!("root-{n}")).start();
    root.set_metadata_value("seq", &n.to_string());
    let _g = root.enter();
    let llm = lf.generation(format!("gen-{n}")).model("m").start();
    llm.set_metadata_value("seq", &n.to_string());
    if n % 5000 == 0 {
        llm.set_input("x".repeat(100 * 1024).as_str());
    }
    llm.end();
    let tool = lf.tool(format!("tool-{n}")).start();
    tool.set_metadata_value("seq", &n.to_string());
    tool.end();
    if n % 100 == 0 {
        root.score(Score::numeric("quality", 0.5));
        SCORES.fetch_add(1, Ordering::Relaxed);
    }
    CREATED.fetch_add(3, Ordering::Relaxed);
}

fn main() {
    let short = std::env::args().any(|a| a == "--short");
    let traces: u64 = if short { 30_000 } else { 340_000 }; // 3 observations each
    let outage = Duration::from_secs(if short { 3 } else { 20 });
    let rss_bound_mb = 512.0;
    let started = Instant::now();
    let mut failures = Vec::new();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = Arc::new(Server::start(&rt));
    let threads_before = count("/proc/self/task");
    let fds_before = count("/proc/self/fd");

    let lf = Langfuse::builder()
        .public_key("pk-lf-soak")
        .secret_key(SECRET)
        .base_url(server.url())
        .timeout(Duration::from_secs(1))
        .max_retries(8)
        // Small requests: many more of them meet the fault mix than with the default 2048.
        .flush_at(256)
        .build()
        .unwrap();
    let peak = Arc::new(Mutex::new(0f64));
    let done = Arc::new(AtomicBool::new(false));
    // Memory sampler.
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let r = rss_mb();
                let mut p = peak.lock().unwrap();
                *p = p.max(r);
                drop(p);
                std::thread::park_timeout(Duration::from_millis(50));
            }
        })
    };
    // The outage, in the middle of the run.
    let outage_thread = {
        let server = server.clone();
        std::thread::spawn(move || {
            while CREATED.load(Ordering::Relaxed) < traces * 3 / 2 {
                std::thread::park_timeout(Duration::from_millis(10));
            }
            server.down();
            std::thread::park_timeout(outage);
            let t0 = Instant::now();
            while t0.elapsed() < outage {
                std::thread::park_timeout(outage - t0.elapsed());
            }
            server.up();
        })
    };

    let attrs = langfuse_sdk::TraceAttributes::new().user_id("soak-user");
    let per_producer = traces / 10;
    // 8 tokio tasks…
    let tasks: Vec<_> = (0..8u64)
        .map(|p| {
            let lf = lf.clone();
            let attrs = attrs.clone();
            rt.spawn(
                attrs
                    .in_future(async move {
                        for i in 0..per_producer {
                            trace(&lf, p * per_producer + i);
                            if i % 64 == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    })
                    .with_current_context(),
            )
        })
        .collect();
    // …and 2 OS threads.
    let threads: Vec<_> = (8..10u64)
        .map(|p| {
            let lf = lf.clone();
            let attrs = attrs.clone();
            std::thread::spawn(move || {
                attrs.scope(|| {
                    for i in 0..per_producer {
                        trace(&lf, p * per_producer + i);
                    }
                })
            })
        })
        .collect();
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    outage_thread.join().unwrap();
    let shutdown = lf.shutdown(Duration::from_secs(120));
    let st = lf.stats();
    drop(lf);
    done.store(true, Ordering::Relaxed);
    sampler.thread().unpark();
    sampler.join().unwrap();

    let created = CREATED.load(Ordering::Relaxed) + SCORES.load(Ordering::Relaxed);
    let seen = &server.seen;
    let delivered = seen.ids.lock().unwrap().len() as u64;
    let peak_mb = *peak.lock().unwrap();
    println!(
        "soak ({}): {:.1} s",
        if short { "short" } else { "full" },
        started.elapsed().as_secs_f64()
    );
    println!(
        "  created {created} (observations {} + scores {}), enqueued {}, exported {}, dropped {}, failed {}, retried {}",
        CREATED.load(Ordering::Relaxed),
        SCORES.load(Ordering::Relaxed),
        st.enqueued,
        st.exported,
        st.dropped,
        st.failed,
        st.retried
    );
    println!(
        "  server: {} requests, {} faults injected, {} unique spans, {} duplicates, {} corrupt, {} score events",
        seen.requests.load(Ordering::Relaxed),
        seen.faults.load(Ordering::Relaxed),
        delivered,
        seen.duplicates.load(Ordering::Relaxed),
        seen.corrupt.load(Ordering::Relaxed),
        seen.scores.load(Ordering::Relaxed)
    );
    println!("  shutdown: {shutdown:?}; peak RSS {peak_mb:.0} MB");

    let mut checks = 0usize;
    let mut check = |ok: bool, what: String| {
        checks += 1;
        println!("  [{}] {what}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failures.push(what);
        }
    };
    check(
        st.enqueued + st.dropped == created,
        format!(
            "every item was enqueued or counted dropped ({} + {} = {created})",
            st.enqueued, st.dropped
        ),
    );
    check(
        st.exported + st.failed == st.enqueued,
        format!(
            "every enqueued item was exported or counted failed ({} + {} = {})",
            st.exported, st.failed, st.enqueued
        ),
    );
    let obs_created = CREATED.load(Ordering::Relaxed);
    check(
        delivered + st.dropped + st.failed >= obs_created,
        format!(
            "every observation not counted dropped or failed was delivered ({delivered} unique delivered + {} + {} >= {obs_created})",
            st.dropped, st.failed
        ),
    );
    check(
        seen.corrupt.load(Ordering::Relaxed) == 0,
        "every delivered span decodes with its attributes intact".into(),
    );
    check(
        seen.leaked.load(Ordering::Relaxed) == 0,
        "no exported body contains the secret key".into(),
    );
    check(
        peak_mb < rss_bound_mb,
        format!("peak RSS {peak_mb:.0} MB < {rss_bound_mb} MB"),
    );

    // No thread or socket leak once the client is gone (the exporter thread has exited).
    let deadline = Instant::now() + Duration::from_secs(10);
    while (count("/proc/self/task") > threads_before || count("/proc/self/fd") > fds_before)
        && Instant::now() < deadline
    {
        std::thread::park_timeout(Duration::from_millis(20));
    }
    let (t_after, fd_after) = (count("/proc/self/task"), count("/proc/self/fd"));
    check(
        t_after <= threads_before && fd_after <= fds_before,
        format!("no thread or socket leak (threads {threads_before} -> {t_after}, fds {fds_before} -> {fd_after})"),
    );

    // An outage longer than the retry budget: failed and counted; the program goes on.
    server.faults_on.store(false, Ordering::Relaxed);
    let lf = Langfuse::builder()
        .public_key("pk-lf-soak")
        .secret_key(SECRET)
        .base_url(server.url())
        .timeout(Duration::from_millis(300))
        .max_retries(1)
        .build()
        .unwrap();
    server.down();
    for i in 0..50 {
        lf.span(format!("during-outage-{i}")).start().end();
    }
    let r = lf.flush(Duration::from_secs(30));
    let failed = lf.stats().failed;
    server.up();
    let before = server.seen.ids.lock().unwrap().len();
    for i in 0..50 {
        let s = lf.span(format!("after-outage-{i}")).start();
        s.set_metadata_value("seq", &i.to_string());
        s.update_trace(langfuse_sdk::TraceAttributes::new().user_id("soak-user"));
        s.end();
    }
    let r2 = lf.flush(Duration::from_secs(30));
    let after = server.seen.ids.lock().unwrap().len();
    check(
        r.as_ref().is_err_and(|e| e.is_export_failed()) && failed == 50,
        format!("a long outage counts its batch as failed ({failed} failed, flush: {r:?})"),
    );
    check(
        r2.is_ok() && after - before == 50,
        format!(
            "later batches are delivered when the server returns ({} new, flush: {r2:?})",
            after - before
        ),
    );

    if failures.is_empty() {
        println!("soak: {checks} passed, 0 failed");
    } else {
        println!(
            "soak: {} passed, {} failed",
            checks - failures.len(),
            failures.len()
        );
        std::process::exit(1);
    }
}
