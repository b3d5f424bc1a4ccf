//! Test harness for the workspace: an in-process capture server on 127.0.0.1 that decodes what the
//! SDK sends (OTLP protobuf, gzip, score JSON) and can inject faults.
//!
//! The server runs on a thread of its own with its own runtime, so tests may be plain `#[test]`
//! functions or any tokio flavour.

pub mod litellm;
pub mod logs;
pub mod scenarios;

use std::collections::VecDeque;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use langfuse_sdk::testing::ExportedSpan;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The bytes a gzip body holds (what the SDK's gzip writer wrote, decoded by `flate2`).
pub fn gunzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body).read_to_end(&mut out)?;
    Ok(out)
}
use tokio::sync::Notify;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and body (and a `Retry-After` header when given), without
    /// recording the request as delivered.
    Status(u16, &'static str, Option<&'static str>),
    /// Close the connection without answering (a reset mid-response).
    Drop,
    /// Wait this long before answering 200 (and record the request).
    Delay(Duration),
    /// Never answer (until the connection is closed by the client).
    Stall,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Captured {
    /// HTTP method.
    pub method: String,
    /// Path (with query).
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body as received (possibly gzip).
    pub raw_body: Vec<u8>,
    /// Body after gzip decoding.
    pub body: Vec<u8>,
    /// Status the server answered.
    pub status: u16,
}

impl Captured {
    /// A header value by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The decoded OTLP request (traces endpoint).
    pub fn otlp(&self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest::decode(&self.body[..]).expect("valid OTLP protobuf")
    }
    /// The body as JSON (ingestion endpoint).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("valid JSON")
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Captured>,
    /// Requests seen, whatever the answer (including faults).
    seen: usize,
    faults: VecDeque<Fault>,
    hold: bool,
    /// Connections accepted.
    connections: usize,
    /// Answer for ingestion requests (default: 207 with every event a success).
    score_errors: Vec<usize>,
}

struct Inner {
    state: Mutex<State>,
    cv: Condvar,
    release: Notify,
}

/// An HTTP server on 127.0.0.1 that records what the SDK sends.
pub struct CaptureServer {
    inner: Arc<Inner>,
    addr: SocketAddr,
    accepting: Mutex<Option<(tokio::task::JoinHandle<()>, std::sync::mpsc::Receiver<()>)>>,
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Default for CaptureServer {
    fn default() -> Self {
        Self::start()
    }
}

/// Signals when the accept loop (and so its listener) is gone.
struct Closed(std::sync::mpsc::Sender<()>);
impl Drop for Closed {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

impl CaptureServer {
    /// Starts a server on a free port of 127.0.0.1. Works from sync code and inside any tokio
    /// runtime: the server's own runtime lives on a thread of its own.
    pub fn start() -> CaptureServer {
        let (htx, hrx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            htx.send(rt.handle().clone()).expect("handle");
            rt.block_on(async {
                let _ = stopped.await;
            });
            rt.shutdown_background();
        });
        let handle = hrx.recv().expect("capture server runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
            release: Notify::new(),
        });
        let s = CaptureServer {
            inner,
            addr,
            accepting: Mutex::new(None),
            handle,
            stop: Some(stop),
        };
        s.accept_on(listener);
        s
    }

    fn accept_on(&self, listener: std::net::TcpListener) {
        listener.set_nonblocking(true).expect("nonblocking");
        let inner = self.inner.clone();
        let (closed_tx, closed_rx) = std::sync::mpsc::channel();
        let h = self.handle.spawn(async move {
            let _closed = Closed(closed_tx);
            let listener = TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                inner.state.lock().unwrap().connections += 1;
                let inner = inner.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, inner).await;
                });
            }
        });
        *self.accepting.lock().unwrap() = Some((h, closed_rx));
    }

    /// Base URL to give the SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops listening: new connections are refused until [`resume`](Self::resume).
    pub fn pause(&self) {
        if let Some((h, closed)) = self.accepting.lock().unwrap().take() {
            h.abort();
            let _ = closed.recv();
        }
    }

    /// Listens again on the same port.
    pub fn resume(&self) {
        let l = std::net::TcpListener::bind(self.addr).expect("rebind the same port");
        self.accept_on(l);
    }

    /// Queues faults for the next requests, in order; later requests get 200.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.inner.state.lock().unwrap().faults.extend(faults);
    }

    /// Makes every request wait until [`release`](Self::release).
    pub fn hold(&self) {
        self.inner.state.lock().unwrap().hold = true;
    }

    /// Lets held requests through and stops holding.
    pub fn release(&self) {
        self.inner.state.lock().unwrap().hold = false;
        self.inner.release.notify_waiters();
    }

    /// Makes the ingestion endpoint report these event indexes of each batch as errors (207).
    pub fn score_errors(&self, idx: Vec<usize>) {
        self.inner.state.lock().unwrap().score_errors = idx;
    }

    /// Requests answered 2xx, in order.
    pub fn requests(&self) -> Vec<Captured> {
        self.inner.state.lock().unwrap().requests.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.inner.state.lock().unwrap().connections
    }

    /// Waits (on a condition, not a sleep) until `n` requests have arrived, whatever their fate.
    pub fn wait_seen(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.inner.state.lock().unwrap();
        while st.seen < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self.inner.cv.wait_timeout(st, deadline - now).unwrap().0;
        }
        true
    }

    /// Requests to the OTLP traces endpoint that were accepted.
    pub fn trace_requests(&self) -> Vec<Captured> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == "/api/public/otel/v1/traces")
            .collect()
    }

    /// Every span delivered, decoded.
    pub fn spans(&self) -> Vec<ExportedSpan> {
        let reqs: Vec<_> = self.trace_requests().iter().map(|r| r.otlp()).collect();
        ExportedSpan::from_requests(&reqs)
    }

    /// Every score event delivered (ingestion batches, flattened).
    pub fn score_events(&self) -> Vec<serde_json::Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == "/api/public/ingestion")
            .flat_map(|r| r.json()["batch"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

impl Drop for CaptureServer {
    fn drop(&mut self) {
        self.release();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Reads one HTTP/1.1 request from `stream` (`buf` keeps what was read past it), its body
/// gunzipped when sent with gzip; `None` when the peer closed the connection.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Captured>> {
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buf.len() < body_start + len {
        let mut chunk = [0u8; 65536];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let raw_body = buf[body_start..body_start + len].to_vec();
    buf.drain(..body_start + len);
    let gz = headers
        .iter()
        .any(|(k, v)| k == "content-encoding" && v.contains("gzip"));
    let body = if gz {
        gunzip(&raw_body)?
    } else {
        raw_body.clone()
    };
    Ok(Some(Captured {
        method,
        path,
        headers,
        raw_body,
        body,
        status: 0,
    }))
}

async fn serve(mut stream: TcpStream, inner: Arc<Inner>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut stream, &mut buf).await? else {
            return Ok(());
        };
        let Captured {
            method,
            path,
            headers,
            raw_body,
            body,
            ..
        } = req;

        let (fault, hold) = {
            let mut st = inner.state.lock().unwrap();
            st.seen += 1;
            inner.cv.notify_all();
            (st.faults.pop_front(), st.hold)
        };
        if hold {
            let released = inner.release.notified();
            let still = inner.state.lock().unwrap().hold;
            if still {
                released.await;
            }
        }
        let mut extra = String::new();
        let (status, text) = match fault {
            Some(Fault::Drop) => return Ok(()),
            Some(Fault::Stall) => {
                std::future::pending::<()>().await;
                unreachable!()
            }
            Some(Fault::Status(code, body, retry_after)) => {
                if let Some(r) = retry_after {
                    extra = format!("retry-after: {r}\r\n");
                }
                (code, body.to_string())
            }
            Some(Fault::Delay(d)) => {
                tokio::time::sleep(d).await;
                (200, String::new())
            }
            None => (200, String::new()),
        };
        let (status, text) = if status == 200 && path == "/api/public/ingestion" {
            let errs = inner.state.lock().unwrap().score_errors.clone();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let mut ok = Vec::new();
            let mut bad = Vec::new();
            for (i, e) in v["batch"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let item = serde_json::json!({"id": e["id"], "status": if errs.contains(&i) {400} else {201}});
                if errs.contains(&i) {
                    bad.push(serde_json::json!({"id": e["id"], "status": 400, "message": "invalid score", "error": "test"}));
                } else {
                    ok.push(item);
                }
            }
            (
                207,
                serde_json::json!({"successes": ok, "errors": bad}).to_string(),
            )
        } else if status == 200 {
            (200, "{}".to_string())
        } else {
            (status, text)
        };
        if (200..300).contains(&status) {
            inner.state.lock().unwrap().requests.push(Captured {
                method,
                path,
                headers: headers.clone(),
                raw_body,
                body,
                status,
            });
        }
        let resp = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n{text}",
            text.len()
        );
        stream.write_all(resp.as_bytes()).await?;
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

// ---- a server whose answers a test writes ------------------------------------------------

/// An answer of a [`ScriptServer`]: status, headers and body as given.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Headers (a `content-length` is added).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// An answer with this status, content type and body.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }
    /// The ingestion API's answer accepting every event of the batch `c` carries (207, each
    /// id in `successes`), as Langfuse answers it.
    pub fn ingestion_accepting(c: &Captured) -> Reply {
        let ok: Vec<_> = c.json()["batch"]
            .as_array()
            .map(|b| {
                b.iter()
                    .map(|e| serde_json::json!({"id": e["id"], "status": 201}))
                    .collect()
            })
            .unwrap_or_default();
        let body = serde_json::json!({"successes": ok, "errors": []}).to_string();
        Reply::new(207, "application/json", body)
    }
    /// A redirect to `location` with an empty body.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply {
            status,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

type Script = dyn Fn(&Captured) -> Reply + Send + Sync;

/// An HTTP server on 127.0.0.1 that answers every request as its script says, and records every
/// request (whatever the answer; [`Captured::status`] is the status it got).
pub struct ScriptServer {
    requests: Arc<Mutex<Vec<Captured>>>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ScriptServer {
    /// Starts a server on a free port of 127.0.0.1 (on a thread and runtime of its own).
    pub fn start(script: impl Fn(&Captured) -> Reply + Send + Sync + 'static) -> ScriptServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let requests: Arc<Mutex<Vec<Captured>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let recorded = requests.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let (script, recorded) = (script.clone(), recorded.clone());
                        tokio::spawn(async move {
                            let _ = serve_script(stream, script, recorded).await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
            rt.shutdown_background();
        });
        ScriptServer {
            requests,
            addr,
            stop: Some(stop),
        }
    }

    /// Base URL to give the SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }

    /// Every span of the OTLP requests to `path` that were answered with `status`, decoded.
    pub fn spans_answered(&self, path: &str, status: u16) -> Vec<ExportedSpan> {
        let reqs: Vec<_> = self
            .requests()
            .iter()
            .filter(|r| r.path == path && r.status == status)
            .map(|r| r.otlp())
            .collect();
        ExportedSpan::from_requests(&reqs)
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn serve_script(
    mut stream: TcpStream,
    script: Arc<Script>,
    recorded: Arc<Mutex<Vec<Captured>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let Some(req) = read_request(&mut stream, &mut buf).await? else {
            return Ok(());
        };
        let Captured {
            method,
            path,
            headers,
            raw_body,
            body,
            ..
        } = req;
        let mut req = Captured {
            method,
            path,
            headers,
            raw_body,
            body,
            status: 0,
        };
        let reply = script(&req);
        req.status = reply.status;
        recorded.lock().unwrap().push(req);
        let mut head = format!("HTTP/1.1 {} X\r\n", reply.status);
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&reply.body).await?;
    }
}
