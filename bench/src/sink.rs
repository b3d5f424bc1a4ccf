//! The sink: this binary started as `langfuse-bench --sink` in a separate process on 127.0.0.1,
//! which decodes every OTLP request and counts spans; and [`Sink`], the handle that starts it
//! and reads its counters.

use std::io::{BufRead, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::wire::{count_spans, gunzip};

#[derive(Default)]
struct SinkStats {
    corrupt: AtomicU64,
    spans: AtomicU64,
    bytes: AtomicU64,
    requests: AtomicU64,
}

/// `langfuse-bench --sink [--stall]`: prints its port, serves until stdin closes.
pub(crate) fn run_sink(stall: bool) {
    let stats = Arc::new(SinkStats::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    println!("{}", listener.local_addr().unwrap().port());
    std::io::stdout().flush().unwrap();
    let st = stats.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((mut s, _)) = l.accept().await else { continue };
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
                        if head.starts_with("get /stats") {
                            buf.drain(..head_end + 4);
                            let body = format!(
                                "{} {} {} {}",
                                st.spans.load(Ordering::SeqCst),
                                st.bytes.load(Ordering::SeqCst),
                                st.requests.load(Ordering::SeqCst),
                                st.corrupt.load(Ordering::SeqCst)
                            );
                            let _ = s
                                .write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len()).as_bytes())
                                .await;
                            continue;
                        }
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
                        if stall {
                            std::future::pending::<()>().await;
                        }
                        let body = &buf[head_end + 4..head_end + 4 + len];
                        let raw = if gz { gunzip(body) } else { Some(body.to_vec()) };
                        match raw.as_deref().and_then(count_spans) {
                            Some(n) => {
                                st.spans.fetch_add(n, Ordering::SeqCst);
                            }
                            None => {
                                st.corrupt.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        st.bytes.fetch_add(len as u64, Ordering::SeqCst);
                        st.requests.fetch_add(1, Ordering::SeqCst);
                        buf.drain(..head_end + 4 + len);
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}")
                            .await;
                    }
                });
            }
        });
    });
    // Serve until the parent closes our stdin.
    let mut sink = String::new();
    let _ = std::io::stdin().read_to_string(&mut sink);
}

pub(crate) struct Sink {
    child: std::process::Child,
    pub(crate) url: String,
    port: u16,
}

impl Sink {
    pub(crate) fn start(stall: bool) -> Sink {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.arg("--sink");
        if stall {
            cmd.arg("--stall");
        }
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the sink process");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("sink port");
        Sink {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
        }
    }
    /// (spans, bytes, requests) the sink has decoded.
    pub(crate) fn stats(&self) -> (u64, u64, u64, u64) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"GET /stats HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("0 0 0 0");
        let v: Vec<u64> = body
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        (at(0), at(1), at(2), at(3))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
