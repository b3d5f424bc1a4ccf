//! CPU the client's tracing adds to a call: the same calls to an in-process fake upstream,
//! plain reqwest vs this client with Langfuse off vs traced (OTLP export to an in-process sink).
//!
//! `cargo bench -p langfuse-openai --bench overhead` (`OVERHEAD_CALLS`, default 300 per variant
//! and round; 5 rounds, the variants interleaved). CPU is the process's on-CPU time summed over
//! its threads (`/proc/self/task/*/schedstat`): the caller, the runtime, the exporter and the
//! fake upstream, which serves every variant alike, so differences are what tracing adds.
//! Linux only (the bench prints nothing useful elsewhere).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use langfuse_openai::{ChatRequest, Client, Message};
use langfuse_sdk::Langfuse;

const STREAM_CHUNKS: usize = 500;

/// Nanoseconds on CPU of every thread of this process.
fn cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn chat_body() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the fake upstream."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2600, "completion_tokens": 6, "total_tokens": 2606}
    }))
    .unwrap_or_default()
}

fn stream_body() -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..STREAM_CHUNKS {
        let c = serde_json::json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "fake-model",
            "choices": [{"index": 0, "delta": {"content": format!("tok{i} ")}, "finish_reason": null}]});
        b.extend_from_slice(format!("data: {c}\n\n").as_bytes());
    }
    b.extend_from_slice(b"data: {\"id\":\"chatcmpl-bench\",\"model\":\"fake-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":500,\"total_tokens\":509}}\n\ndata: [DONE]\n\n");
    b
}

/// Answers chat completions (JSON, or SSE when the body asks for a stream) and anything else
/// (the OTLP export) with 200, keeping connections alive.
fn serve(mut s: TcpStream, chat: &[u8], stream: &[u8]) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 65536];
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            match s.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + 4 + len {
            match s.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
        let body = &buf[head_end + 4..head_end + 4 + len];
        let is_chat = head.starts_with("post /v1/chat/completions");
        let wants_stream = body.windows(13).any(|w| w == b"\"stream\":true");
        let (ctype, payload): (&str, &[u8]) = match (is_chat, wants_stream) {
            (true, true) => ("text/event-stream", stream),
            (true, false) => ("application/json", chat),
            _ => ("application/json", b"{}"),
        };
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
            payload.len()
        );
        if s.write_all(resp.as_bytes()).is_err() || s.write_all(payload).is_err() {
            return;
        }
        buf.drain(..head_end + 4 + len);
    }
}

fn start_upstream() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let (chat, stream) = (chat_body(), stream_body());
        for s in l.incoming().flatten() {
            let (c, st) = (chat.clone(), stream.clone());
            std::thread::spawn(move || serve(s, &c, &st));
        }
    });
    url
}

fn prompt() -> Vec<Message> {
    vec![Message::user("lorem ipsum dolor sit amet ".repeat(380))] // ~10 KB
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = start_upstream();
    let calls: u64 = std::env::var("OVERHEAD_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let lf = Langfuse::builder()
        .base_url(&url)
        .public_key("pk-bench")
        .secret_key("sk-bench")
        .build()
        .expect("langfuse");
    let off = Langfuse::disabled();
    let traced = Client::builder()
        .base_url(&url)
        .langfuse(lf.clone())
        .build()
        .expect("client");
    let untraced = Client::builder()
        .base_url(&url)
        .langfuse(off)
        .build()
        .expect("client");
    let http = reqwest::Client::new();
    let messages = prompt();
    let req = ChatRequest::new("fake-model", messages.clone());
    let raw = serde_json::json!({"model": "fake-model", "messages": messages});
    let raw_stream = serde_json::json!({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "stream": true});
    let sreq = ChatRequest::new("fake-model", vec![Message::user("hi")]);

    // name -> (cpu ns, calls) summed over rounds, and each round's ns per call
    type Totals = Vec<(&'static str, u64, u64, Vec<f64>)>;
    let mut totals: Totals = Vec::new();
    let mut add = |name: &'static str, ns: u64, n: u64| {
        let per = ns as f64 / n as f64;
        match totals.iter_mut().find(|t| t.0 == name) {
            Some(t) => {
                t.1 += ns;
                t.2 += n;
                t.3.push(per);
            }
            None => totals.push((name, ns, n, vec![per])),
        }
    };
    let started = Instant::now();
    for _round in 0..5 {
        let t = cpu_ns();
        for _ in 0..calls {
            let r = http
                .post(format!("{url}/v1/chat/completions"))
                .json(&raw)
                .send()
                .await
                .expect("send");
            let b = r.bytes().await.expect("body");
            let _: serde_json::Value = serde_json::from_slice(&b).expect("json");
        }
        add("chat 10 KB prompt: plain reqwest", cpu_ns() - t, calls);
        let t = cpu_ns();
        for _ in 0..calls {
            untraced.chat(req.clone()).await.expect("chat");
        }
        add(
            "chat 10 KB prompt: client, Langfuse off",
            cpu_ns() - t,
            calls,
        );
        let t = cpu_ns();
        for _ in 0..calls {
            traced.chat(req.clone()).await.expect("chat");
        }
        let _ = lf.flush(Duration::from_secs(30));
        add("chat 10 KB prompt: client, traced", cpu_ns() - t, calls);

        let n = (calls / 10).max(1);
        let t = cpu_ns();
        for _ in 0..n {
            let mut r = http
                .post(format!("{url}/v1/chat/completions"))
                .json(&raw_stream)
                .send()
                .await
                .expect("send");
            while r.chunk().await.expect("chunk").is_some() {}
        }
        add(
            "500-chunk stream: plain reqwest (bytes only)",
            cpu_ns() - t,
            n,
        );
        let t = cpu_ns();
        for _ in 0..n {
            untraced
                .chat_stream(sreq.clone())
                .await
                .expect("stream")
                .collect()
                .await
                .expect("collect");
        }
        add("500-chunk stream: client, Langfuse off", cpu_ns() - t, n);
        let t = cpu_ns();
        for _ in 0..n {
            traced
                .chat_stream(sreq.clone())
                .await
                .expect("stream")
                .collect()
                .await
                .expect("collect");
        }
        let _ = lf.flush(Duration::from_secs(30));
        add("500-chunk stream: client, traced", cpu_ns() - t, n);
    }
    println!(
        "CPU per call (all threads), 5 interleaved rounds, {:.0}s:",
        started.elapsed().as_secs_f64()
    );
    for (name, ns, n, rounds) in &totals {
        let lo = rounds.iter().copied().fold(f64::MAX, f64::min);
        let hi = rounds.iter().copied().fold(0.0, f64::max);
        println!(
            "  {name:48} {:>9.1} µs  (rounds {:.1} .. {:.1})",
            *ns as f64 / *n as f64 / 1000.0,
            lo / 1000.0,
            hi / 1000.0
        );
    }
    let per = |name: &str| {
        totals
            .iter()
            .find(|t| t.0 == name)
            .map_or(0.0, |t| t.1 as f64 / t.2 as f64)
    };
    let chat_added =
        per("chat 10 KB prompt: client, traced") - per("chat 10 KB prompt: client, Langfuse off");
    let stream_added =
        per("500-chunk stream: client, traced") - per("500-chunk stream: client, Langfuse off");
    println!(
        "added by tracing: {:.1} µs per chat call; {:.1} µs per stream, {:.0} ns per chunk",
        chat_added / 1000.0,
        stream_added / 1000.0,
        stream_added / STREAM_CHUNKS as f64
    );
    println!("exporter: {:?}", lf.stats());
}
