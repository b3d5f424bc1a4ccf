//! A streamed chat completion: a `futures_core::Stream` of chunks whose generation ends with it.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use langfuse_sdk::{Level, Observation};

use crate::accumulate::Accumulator;
use crate::body::EventBody;
use crate::error::Error;
use crate::gateway::GatewayError;
use crate::record::{mark_cancelled, record_response, CANCELLED_STREAM};
use crate::sse;
use crate::types::{ChatChunk, ChatResponse, GatewayInfo};

/// A streamed chat completion: read chunks with [`next`](Self::next), or use it as a
/// [`futures_core::Stream`] (`StreamExt::next`, `map`, `forward`, …).
///
/// The generation ends when the stream ends. Dropped early, it ends with the partial output, level
/// WARNING and a status message that starts with "cancelled". A stream that sends nothing for
/// longer than the client's timeout ends with an [`is_timeout`](Error::is_timeout) error.
///
/// ```no_run
/// # async fn run(llm: langfuse_openai::Client) -> Result<(), langfuse_openai::Error> {
/// use langfuse_openai::{ChatRequest, Message};
/// let mut stream = llm
///     .chat_stream(ChatRequest::new("gpt-4o-mini", vec![Message::user("hi")]))
///     .await?;
/// while let Some(chunk) = stream.next().await {
///     print!("{}", chunk?.text().unwrap_or_default());
/// }
/// # Ok(()) }
/// ```
pub struct ChatStream {
    body: EventBody,
    pending: VecDeque<Result<ChatChunk, Error>>,
    acc: Accumulator,
    obs: Option<Observation>,
    done: bool,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("done", &self.done)
            .finish()
    }
}

impl ChatStream {
    pub(crate) fn new(
        resp: reqwest::Response,
        gateway: GatewayInfo,
        obs: Option<Observation>,
        idle: Duration,
    ) -> Self {
        ChatStream {
            body: EventBody::new(resp, idle),
            pending: VecDeque::new(),
            acc: Accumulator {
                gateway,
                ..Default::default()
            },
            obs,
            done: false,
        }
    }

    /// The next chunk; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Result<ChatChunk, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_chunk(cx)).await
    }

    /// Reads the rest of the stream and returns the merged response.
    pub async fn collect(mut self) -> Result<ChatResponse, Error> {
        while let Some(c) = self.next().await {
            c?;
        }
        Ok(self.acc.response())
    }

    /// The response merged from the chunks read so far (content and tool calls by index).
    pub fn response(&self) -> ChatResponse {
        self.acc.response()
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<ChatChunk, Error>>> {
        loop {
            if let Some(c) = self.pending.pop_front() {
                return Poll::Ready(Some(c));
            }
            if self.done {
                self.finish(None);
                return Poll::Ready(None);
            }
            match self.body.poll_events(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Some(events))) => self.take_events(events),
                Poll::Ready(Ok(None)) => self.done = true, // `[DONE]` missing is tolerated
                Poll::Ready(Err(e)) => {
                    let e = self.fail(e);
                    self.pending.push_back(Err(e));
                }
            }
        }
    }

    /// Decodes the events of one read into pending chunks; an error event or a chunk that is
    /// not one ends the stream (the chunks before it are still delivered first).
    fn take_events(&mut self, events: Vec<sse::Event>) {
        for ev in events {
            let d = match ev {
                sse::Event::Done => {
                    self.done = true;
                    continue;
                }
                sse::Event::Data(d) => d,
            };
            match serde_json::from_str::<ChatChunk>(&d) {
                Ok(ChatChunk {
                    error: Some(err), ..
                }) => {
                    let e = self.fail(Error::gateway(GatewayError::from_event(&err)));
                    self.pending.push_back(Err(e));
                    return;
                }
                Ok(c) => {
                    self.acc.add(&c);
                    self.pending.push_back(Ok(c));
                }
                Err(_) => {
                    let e = Error::decode(
                        "stream chunk",
                        format!(
                            "not a chat completion chunk: {}",
                            d.chars().take(200).collect::<String>()
                        ),
                    );
                    let e = self.fail(e);
                    self.pending.push_back(Err(e));
                    return;
                }
            }
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        self.done = true;
        self.body.close();
        if let Some(obs) = self.obs.take() {
            self.record(&obs);
            obs.set_level(Level::Error);
            obs.set_status_message(e.to_string());
            obs.end();
        }
        e
    }

    fn record(&self, obs: &Observation) {
        if !obs.is_recording() {
            return;
        }
        let r = self.acc.response();
        if let Some(t) = self.acc.first_token {
            obs.set_completion_start_time(t);
        }
        record_response(obs, &r);
    }

    fn finish(&mut self, warning: Option<&str>) {
        if let Some(obs) = self.obs.take() {
            self.record(&obs);
            if let Some(w) = warning {
                mark_cancelled(&obs, w);
            }
            obs.end();
        }
    }
}

impl futures_core::Stream for ChatStream {
    type Item = Result<ChatChunk, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl Drop for ChatStream {
    fn drop(&mut self) {
        if !self.done || !self.pending.is_empty() {
            self.finish(Some(CANCELLED_STREAM));
        } else {
            self.finish(None);
        }
    }
}
