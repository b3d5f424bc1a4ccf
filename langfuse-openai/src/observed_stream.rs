//! What the streamed answers share: a body of server-sent events decoded into items, and the
//! call's generation, which ends once with what was received and how the stream ended
//! (complete, failed, or dropped before its end).

use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll};
use std::time::SystemTime;

use langfuse_sdk::Observation;

use crate::accumulate::Accumulator;
use crate::body::EventBody;
use crate::error::Error;
use crate::record::{mark_cancelled, record_error, record_response, CANCELLED_STREAM};

/// The status message of a stream whose body ended before its end marker and whose answer
/// does not say it is whole (a proxy or connection that went away mid-answer).
pub(crate) const INCOMPLETE_STREAM: &str =
    "incomplete: the stream ended without its end marker ([DONE]) or a finish reason; the \
     output may be cut off";
use crate::sse;

/// What a stream received so far, as its generation records it.
pub(crate) trait Received {
    /// When the first token came.
    fn first_token(&self) -> Option<SystemTime>;
    /// Writes the answer received so far into the generation (only while it records).
    fn record(&self, obs: &Observation);
    /// The answer says it is whole (a finish reason, `response.completed`), whether or not
    /// the stream's end marker came.
    fn is_complete(&self) -> bool;
}

impl Received for Accumulator {
    fn first_token(&self) -> Option<SystemTime> {
        self.first_token
    }
    fn record(&self, obs: &Observation) {
        record_response(obs, &self.response());
    }
    fn is_complete(&self) -> bool {
        !self.choices.is_empty() && self.choices.values().all(|(_, finish)| finish.is_some())
    }
}

/// How a stream ended.
pub(crate) enum End<'a> {
    /// It ended with its end marker (`data: [DONE]`).
    Complete,
    /// The body ended without the marker: complete only if the answer says so, else level
    /// WARNING and a status message saying the output may be cut off.
    Closed,
    /// It was dropped before its end: level WARNING and a "cancelled" status message.
    Dropped,
    /// It failed: level ERROR and the error's text.
    Failed(&'a dyn fmt::Display),
}

/// The generation of a stream (`None` when the proxy records), ended once.
pub(crate) struct StreamObservation(Option<Observation>);

impl StreamObservation {
    pub(crate) fn new(obs: Option<Observation>) -> Self {
        StreamObservation(obs)
    }

    /// The generation has not ended yet.
    pub(crate) fn is_open(&self) -> bool {
        self.0.is_some()
    }

    /// Ends the generation with what was `received` and how the stream ended; later calls do
    /// nothing.
    pub(crate) fn end(&mut self, received: &impl Received, how: End<'_>) {
        let Some(obs) = self.0.take() else {
            return;
        };
        if obs.is_recording() {
            if let Some(t) = received.first_token() {
                obs.set_completion_start_time(t);
            }
            received.record(&obs);
        }
        match how {
            End::Complete => {}
            End::Closed if received.is_complete() => {}
            End::Closed => mark_cancelled(&obs, INCOMPLETE_STREAM),
            End::Dropped => mark_cancelled(&obs, CANCELLED_STREAM),
            End::Failed(e) => record_error(&obs, e),
        }
        obs.end();
    }
}

/// How one kind of stream reads its events.
pub(crate) trait Decode: Received {
    /// What the stream yields.
    type Item;
    /// The item of one `data:` event, or the error that ends the stream.
    fn decode(&mut self, data: &str) -> Result<Self::Item, Error>;
}

/// The first 200 characters of an event's data, for an error message.
pub(crate) fn excerpt(data: &str) -> String {
    data.chars().take(200).collect()
}

/// A streamed answer: its events decoded by `D`, its generation ended with the stream.
///
/// It has no `Drop` of its own: its owner's `Drop` (the public stream's) calls
/// [`dropped`](Self::dropped).
pub(crate) struct ObservedStream<D: Decode> {
    body: EventBody,
    pending: VecDeque<Result<D::Item, Error>>,
    obs: StreamObservation,
    done: bool,
    /// How the body ended, once it did.
    closed_without_marker: bool,
    /// What was decoded so far.
    pub(crate) decoder: D,
}

impl<D: Decode> ObservedStream<D> {
    pub(crate) fn new(body: EventBody, obs: Option<Observation>, decoder: D) -> Self {
        ObservedStream {
            body,
            pending: VecDeque::new(),
            obs: StreamObservation::new(obs),
            done: false,
            closed_without_marker: false,
            decoder,
        }
    }

    /// The stream has ended (its last items may still be pending).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// The next item; `None` at the end of the stream.
    pub(crate) async fn next(&mut self) -> Option<Result<D::Item, Error>> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await
    }

    /// Reads the rest of the stream; the first error ends it.
    pub(crate) async fn drain(&mut self) -> Result<(), Error> {
        while let Some(item) = self.next().await {
            item?;
        }
        Ok(())
    }

    pub(crate) fn poll_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<D::Item, Error>>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            if self.done {
                let how = if self.closed_without_marker {
                    End::Closed
                } else {
                    End::Complete
                };
                self.obs.end(&self.decoder, how);
                return Poll::Ready(None);
            }
            match self.body.poll_events(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Some(events))) => self.take_events(events),
                // `[DONE]` missing: the items are delivered, the generation says it may be cut.
                Poll::Ready(Ok(None)) => {
                    self.done = true;
                    self.closed_without_marker = true;
                }
                Poll::Ready(Err(e)) => self.fail(e),
            }
        }
    }

    /// Decodes the events of one read into pending items; an event that is not one ends the
    /// stream (the items before it are still delivered first).
    fn take_events(&mut self, events: Vec<sse::Event>) {
        for ev in events {
            let sse::Event::Data(d) = ev else {
                self.done = true;
                continue;
            };
            match self.decoder.decode(&d) {
                Ok(item) => self.pending.push_back(Ok(item)),
                Err(e) => {
                    self.fail(e);
                    return;
                }
            }
        }
    }

    /// Ends the stream with `e`, delivered after the pending items.
    fn fail(&mut self, e: Error) {
        self.done = true;
        self.body.close();
        self.obs.end(&self.decoder, End::Failed(&e));
        self.pending.push_back(Err(e));
    }

    /// The stream is dropped: its generation ends as cancelled unless the stream had ended
    /// and every item was read.
    pub(crate) fn dropped(&mut self) {
        let how = if !self.done || !self.pending.is_empty() {
            End::Dropped
        } else if self.closed_without_marker {
            End::Closed
        } else {
            End::Complete
        };
        self.obs.end(&self.decoder, how);
    }
}
