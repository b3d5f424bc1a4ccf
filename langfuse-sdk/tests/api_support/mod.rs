//! Test support for the `api` module: a minimal HTTP/1.1 server on 127.0.0.1:0 (std threads,
//! blocking I/O, keep-alive) answering with the real Langfuse responses kept in
//! `tests/fixtures/api/`, and recording every request.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

use langfuse_sdk::api::{ApiClient, ApiConfig, Clock};
use serde_json::Value;

pub const PUBLIC: &str = "pk-lf-test";
pub const SECRET: &str = "sk-lf-test-secret";

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path as sent (percent-encoding kept), without the query.
    pub path: String,
    /// Query string as sent.
    pub query: String,
    /// Header names lower-case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
    /// Decoded query parameters.
    pub fn params(&self) -> HashMap<String, String> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A response to send.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: serde_json::to_vec(body).unwrap(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/api/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The recorded response of a fixture: status, body, content type and ETag as the server sent.
pub fn recorded(name: &str) -> Reply {
    let f = fixture(name);
    let resp = &f["response"];
    let status = resp["status"].as_u64().unwrap() as u16;
    let mut headers = Vec::new();
    let mut etag = None;
    let mut ctype = "application/json; charset=utf-8".to_string();
    if let Some(h) = resp["headers"].as_object() {
        for (k, v) in h {
            match k.to_ascii_lowercase().as_str() {
                "etag" => etag = v.as_str().map(str::to_string),
                "content-type" => ctype = v.as_str().unwrap_or_default().to_string(),
                _ => {}
            }
        }
    }
    headers.push(("content-type".into(), ctype));
    if let Some(e) = etag {
        headers.push(("etag".into(), e));
    }
    let body = match &resp["body"] {
        Value::String(s) => s.clone().into_bytes(),
        v => serde_json::to_vec(v).unwrap(),
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// The response body of a fixture.
pub fn body(name: &str) -> Value {
    fixture(name)["response"]["body"].clone()
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// The test server.
pub struct Server {
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    /// Starts a server answering with `handler`; it runs until the test process ends.
    pub fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let reqs = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = handler.clone();
                let reqs = reqs.clone();
                std::thread::spawn(move || serve(stream, &*handler, &reqs));
            }
        });
        Server { base, requests }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .count()
    }

    pub fn client(&self) -> ApiClient {
        ApiClient::new(self.config().build().unwrap())
    }

    pub fn config(&self) -> langfuse_sdk::api::ApiConfigBuilder {
        ApiConfig::builder()
            .base_url(&self.base)
            .public_key(PUBLIC)
            .secret_key(SECRET)
            .timeout(Duration::from_secs(5))
            .retry_backoff(Duration::from_millis(1))
    }
}

fn serve(stream: TcpStream, handler: &Handler, reqs: &Mutex<Vec<Recorded>>) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.clone(), String::new()),
        };
        let req = Recorded {
            method,
            path,
            query,
            headers,
            body,
        };
        reqs.lock().unwrap().push(req.clone());
        let reply = handler(&req);
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if out.write_all(head.as_bytes()).is_err() || out.write_all(&reply.body).is_err() {
            return;
        }
    }
}

/// A base URL where nothing listens (a port just freed).
pub fn down_base() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    base
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct ManualClock {
    start: Instant,
    offset_ms: Arc<AtomicU64>,
}

impl ManualClock {
    pub fn new() -> Self {
        ManualClock {
            start: Instant::now(),
            offset_ms: Arc::new(AtomicU64::new(0)),
        }
    }
    pub fn advance(&self, d: Duration) {
        self.offset_ms
            .fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }
    pub fn clock(&self) -> Clock {
        let c = self.clone();
        Clock::new(move || c.start + Duration::from_millis(c.offset_ms.load(Ordering::SeqCst)))
    }
}

/// Polls a future once (to start it) with a waker that does nothing.
pub fn poll_once<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    fn noop(_: *const ()) {}
    fn clone(p: *const ()) -> RawWaker {
        RawWaker::new(p, &VTABLE)
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: the vtable functions ignore the data pointer.
    let waker = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) };
    f.poll(&mut Context::from_waker(&waker))
}
