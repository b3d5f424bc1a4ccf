//! Streams from a misbehaving gateway: a clear error or a clean end, never a panic or a hang.

use std::time::Duration;

use langfuse_openai::{ChatRequest, Client, Message};
use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::Langfuse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves one scripted SSE body (in pieces, optionally stalling after them) to every request.
async fn serve(pieces: Vec<&'static [u8]>, stall: bool) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let pieces = pieces.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                // Read the request head and body (enough for these small requests).
                loop {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&got[..p]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if got.len() >= p + 4 + len {
                            break;
                        }
                    }
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
                    .await;
                for p in pieces {
                    let _ = s.write_all(p).await;
                    let _ = s.flush().await;
                }
                if stall {
                    std::future::pending::<()>().await;
                }
            });
        }
    });
    format!("http://{addr}")
}

fn client(url: &str, lf: &Langfuse) -> Client {
    Client::builder()
        .base_url(url)
        .api_key("k")
        .timeout(Duration::from_millis(500))
        .langfuse(lf.clone())
        .build()
        .unwrap()
}

const CHUNK: &[u8] = b"data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";

/// A client that records into memory, and what it records.
fn recorder() -> (InMemoryExporter, Langfuse) {
    let exp = InMemoryExporter::new();
    let lf = Langfuse::builder()
        .in_memory_exporter(exp.clone())
        .build()
        .unwrap();
    (exp, lf)
}

fn req() -> ChatRequest {
    ChatRequest::new("m", vec![Message::user("hi")])
}

const LAST: &[u8] = b"data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";

/// Reads a whole stream from `url` (its text must be `text`) and returns its generation.
async fn collect_recorded(url: &str, text: &str) -> langfuse_sdk::testing::ExportedSpan {
    let (exp, lf) = recorder();
    let r = client(url, &lf)
        .chat_stream(req())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(r.text(), Some(text));
    lf.flush(Duration::from_secs(5)).unwrap();
    exp.spans().remove(0)
}

/// Without `[DONE]`, but the answer says it is whole (a finish reason): a clean end.
#[tokio::test]
async fn split_lines_comments_and_a_missing_done_end_cleanly() {
    let url = serve(
        vec![
            b": keep-alive\n\ndata: {\"id\":\"x\",\"model\":\"m\",\"choi",
            b"ces\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n: ping\n\n",
            CHUNK,
            LAST,
        ],
        false,
    )
    .await;
    let g = collect_recorded(&url, "HiHi").await;
    assert_eq!(g.attr_str("langfuse.observation.level"), None);
    assert_eq!(
        g.attr_json("langfuse.observation.output").unwrap()["content"],
        "HiHi"
    );
}

/// The body ends mid-answer (no `[DONE]`, no finish reason: a proxy or connection that went
/// away): the chunks are delivered, and the generation does not claim a whole answer.
#[tokio::test]
async fn a_body_cut_off_mid_answer_is_recorded_as_incomplete() {
    let url = serve(vec![CHUNK, CHUNK], false).await;
    let g = collect_recorded(&url, "HiHi").await;
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("WARNING"));
    assert!(g
        .attr_str("langfuse.observation.status_message")
        .is_some_and(|m| m.starts_with("incomplete")));
    assert_eq!(
        g.attr_json("langfuse.observation.output").unwrap()["content"],
        "HiHi"
    );
}

#[tokio::test]
async fn garbage_json_is_a_decode_error_recorded_as_error() {
    let url = serve(vec![CHUNK, b"data: {not json at all\n\n", CHUNK], false).await;
    let (exp, lf) = recorder();
    let mut s = client(&url, &lf).chat_stream(req()).await.unwrap();
    assert!(s.next().await.unwrap().is_ok());
    let e = s.next().await.unwrap().unwrap_err();
    assert!(e.is_decode(), "{e}");
    assert!(s.next().await.is_none(), "the stream ends after an error");
    drop(s);
    lf.flush(Duration::from_secs(5)).unwrap();
    let g = &exp.spans()[0];
    assert_eq!(g.attr_str("langfuse.observation.level"), Some("ERROR"));
    assert_eq!(
        g.attr_json("langfuse.observation.output").unwrap()["content"],
        "Hi"
    );
}

#[tokio::test]
async fn an_error_object_mid_stream_is_reported() {
    let url = serve(
        vec![
            CHUNK,
            b"data: {\"error\":{\"message\":\"upstream overloaded\",\"code\":503}}\n\n",
        ],
        false,
    )
    .await;
    let (_, lf) = recorder();
    let r = client(&url, &lf)
        .chat_stream(req())
        .await
        .unwrap()
        .collect()
        .await;
    let e = r.unwrap_err();
    assert!(e.is_gateway() && !e.is_stream(), "{e}");
    assert_eq!(e.message(), Some("upstream overloaded"));
    assert_eq!(e.code(), Some("503"), "a numeric code, as text");
    assert_eq!(e.status(), None, "answered 200: no error status");
}

#[tokio::test]
async fn a_stalled_stream_times_out_instead_of_hanging() {
    let url = serve(vec![CHUNK], true).await;
    let (exp, lf) = recorder();
    let mut s = client(&url, &lf).chat_stream(req()).await.unwrap();
    assert!(s.next().await.unwrap().is_ok());
    let e = s.next().await.unwrap().unwrap_err();
    assert!(e.is_timeout() && e.to_string().contains("no data"), "{e}");
    drop(s);
    lf.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(
        exp.spans()[0].attr_str("langfuse.observation.level"),
        Some("ERROR")
    );
}

#[tokio::test]
async fn a_gateway_that_is_down_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_, lf) = recorder();
    let c = client(&format!("http://127.0.0.1:{port}"), &lf);
    let e = c.chat(req()).await.unwrap_err();
    assert!(e.is_connect(), "{e}");
    assert!(e.to_string().contains("OPENAI_BASE_URL"));
}

/// Drives a `futures_core::Stream` to its end through `poll_next` alone, as stream adapters do.
async fn drain<S: futures_core::Stream + Unpin>(mut s: S) -> Vec<S::Item> {
    let mut out = Vec::new();
    while let Some(item) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut s).poll_next(cx)).await
    {
        out.push(item);
    }
    out
}

#[tokio::test]
async fn the_stream_is_a_futures_stream_and_its_generation_ends_with_it() {
    let url = serve(
        vec![CHUNK, CHUNK, b"data: [DONE]\n\n"],
        true, // the connection stays open after [DONE]: the stream ends on [DONE] alone
    )
    .await;
    let (exp, lf) = recorder();
    let s = client(&url, &lf).chat_stream(req()).await.unwrap();
    let items = drain(s).await;
    let text: String = items
        .iter()
        .map(|c| c.as_ref().unwrap().text().unwrap_or_default())
        .collect();
    assert_eq!((items.len(), text.as_str()), (2, "HiHi"));
    lf.flush(Duration::from_secs(5)).unwrap();
    let g = &exp.spans()[0];
    assert_eq!(g.attr_str("langfuse.observation.level"), None);
    assert_eq!(
        g.attr_json("langfuse.observation.output").unwrap()["content"],
        "HiHi"
    );
}

#[tokio::test]
async fn a_stalled_futures_stream_times_out_too() {
    let url = serve(vec![CHUNK], true).await;
    let (_, lf) = recorder();
    let s = client(&url, &lf).chat_stream(req()).await.unwrap();
    let items = drain(s).await;
    assert_eq!(items.len(), 2);
    assert!(items[1].as_ref().unwrap_err().is_timeout());
}
