//! A streamed chat completion: a `futures_core::Stream` of chunks whose generation ends with it.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::accumulate::Accumulator;
use crate::body::EventBody;
use crate::error::Error;
use crate::gateway::GatewayError;
use crate::observed_stream::{excerpt, Decode, ObservedStream};
use crate::send::Opened;
use crate::types::{ChatChunk, ChatResponse};

/// A streamed chat completion: read chunks with [`next`](Self::next), or use it as a
/// [`futures_core::Stream`] (`StreamExt::next`, `map`, `forward`, …).
///
/// The generation ends when the stream ends. Dropped early, it ends with the partial output, level
/// WARNING and a status message that starts with "cancelled". A body that ends without
/// `[DONE]` and without a finish reason (a proxy or connection gone mid-answer) still yields
/// its chunks, and the generation gets level WARNING and a status message that starts with
/// "incomplete". A stream that sends nothing for longer than the client's timeout ends with an
/// [`is_timeout`](Error::is_timeout) error.
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
    inner: ObservedStream<Accumulator>,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("done", &self.inner.is_done())
            .finish()
    }
}

impl ChatStream {
    pub(crate) fn new(opened: Opened, idle: Duration) -> Self {
        let acc = Accumulator {
            gateway: opened.gateway,
            ..Default::default()
        };
        ChatStream {
            inner: ObservedStream::new(EventBody::new(opened.resp, idle), opened.obs, acc),
        }
    }

    /// The next chunk; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Result<ChatChunk, Error>> {
        self.inner.next().await
    }

    /// Reads the rest of the stream and returns the merged response.
    pub async fn collect(mut self) -> Result<ChatResponse, Error> {
        self.inner.drain().await?;
        Ok(self.response())
    }

    /// The response merged from the chunks read so far (content and tool calls by index).
    pub fn response(&self) -> ChatResponse {
        self.inner.decoder.response()
    }
}

/// A chunk per event; an error event or a chunk that is not one ends the stream.
impl Decode for Accumulator {
    type Item = ChatChunk;

    fn decode(&mut self, data: &str) -> Result<ChatChunk, Error> {
        match serde_json::from_str::<ChatChunk>(data) {
            Ok(ChatChunk {
                error: Some(err), ..
            }) => Err(Error::gateway(GatewayError::from_event(&err))),
            Ok(c) => {
                self.add(&c);
                Ok(c)
            }
            Err(_) => Err(Error::decode(
                "stream chunk",
                format!("not a chat completion chunk: {}", excerpt(data)),
            )),
        }
    }
}

impl futures_core::Stream for ChatStream {
    type Item = Result<ChatChunk, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.poll_item(cx)
    }
}

impl Drop for ChatStream {
    fn drop(&mut self) {
        self.inner.dropped();
    }
}
