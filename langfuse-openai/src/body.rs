//! The body of a streamed answer, read as server-sent events with an idle timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::Error;
use crate::sse;

/// One read of the body in flight: it owns the response and gives it back with the chunk.
type Read = Pin<
    Box<
        dyn Future<Output = (reqwest::Response, reqwest::Result<Option<bytes::Bytes>>)>
            + Send
            + Sync,
    >,
>;

pub(crate) fn timeout_error(d: Duration) -> Error {
    Error::timeout(format!(
        "no data from the gateway for {:.0}s (raise the client's timeout for slower models)",
        d.as_secs_f64()
    ))
}

/// Reads a response body as events; a read that waits longer than `idle` is a timeout.
pub(crate) struct EventBody {
    /// The response between reads; `None` while a read is in flight or after the end.
    resp: Option<reqwest::Response>,
    read: Option<Read>,
    idle_deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    parser: sse::Parser,
    idle: Duration,
}

impl EventBody {
    pub(crate) fn new(resp: reqwest::Response, idle: Duration) -> Self {
        EventBody {
            resp: Some(resp),
            read: None,
            idle_deadline: None,
            parser: sse::Parser::default(),
            idle,
        }
    }

    /// The events of the next piece of the body (possibly none); `Ok(None)` once it has ended.
    pub(crate) fn poll_events(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Vec<sse::Event>>, Error>> {
        let read = match &mut self.read {
            Some(r) => r,
            None => {
                let Some(resp) = self.resp.take() else {
                    return Poll::Ready(Ok(None));
                };
                self.idle_deadline = Some(Box::pin(tokio::time::sleep(self.idle)));
                self.read.insert(Box::pin(async move {
                    let mut resp = resp;
                    let chunk = resp.chunk().await;
                    (resp, chunk)
                }))
            }
        };
        let chunk = match read.as_mut().poll(cx) {
            Poll::Ready((resp, chunk)) => {
                self.read = None;
                self.idle_deadline = None;
                self.resp = Some(resp);
                chunk
            }
            Poll::Pending => {
                let idle = self
                    .idle_deadline
                    .as_mut()
                    .is_some_and(|d| d.as_mut().poll(cx).is_ready());
                if !idle {
                    return Poll::Pending;
                }
                self.close();
                return Poll::Ready(Err(timeout_error(self.idle)));
            }
        };
        Poll::Ready(match chunk {
            Err(e) => {
                self.close();
                Err(Error::from_reqwest(e))
            }
            Ok(Some(bytes)) => self.parser.feed(&bytes).map(Some),
            Ok(None) => {
                // End of body: a last event without its blank line (or `[DONE]`) still counts.
                self.close();
                self.parser.finish().map(Some)
            }
        })
    }

    /// Stops reading (the connection is dropped).
    pub(crate) fn close(&mut self) {
        self.resp = None;
        self.read = None;
        self.idle_deadline = None;
    }
}
