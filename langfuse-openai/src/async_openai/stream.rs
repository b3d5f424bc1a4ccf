//! A streamed chat completion of an async-openai client whose generation ends with it.

use std::pin::Pin;
use std::task::{Context, Poll};

use ::async_openai::error::OpenAIError;
use ::async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionStreamResponse,
};
use langfuse_sdk::Observation;

use super::{convert, record_error};
use crate::accumulate::Accumulator;
use crate::record::{mark_cancelled, record_response, CANCELLED_STREAM};
use crate::types::ChatChunk;

/// async-openai's stream of chunks, merged into the generation as they pass. Dropped before
/// its end, the generation ends with the partial output, level WARNING and a "cancelled"
/// status message, as [`crate::ChatStream`]'s does.
pub(super) struct TracedStream {
    inner: ChatCompletionResponseStream,
    acc: Accumulator,
    obs: Option<Observation>,
}

impl TracedStream {
    pub(super) fn new(inner: ChatCompletionResponseStream, obs: Option<Observation>) -> Self {
        TracedStream {
            inner,
            acc: Accumulator::default(),
            obs,
        }
    }

    fn record(&self, obs: &Observation) {
        if !obs.is_recording() {
            return;
        }
        if let Some(t) = self.acc.first_token {
            obs.set_completion_start_time(t);
        }
        record_response(obs, &self.acc.response());
    }

    fn finish(&mut self, error: Option<&OpenAIError>, cancelled: bool) {
        if let Some(obs) = self.obs.take() {
            self.record(&obs);
            if let Some(e) = error {
                record_error(&obs, e);
            } else if cancelled {
                mark_cancelled(&obs, CANCELLED_STREAM);
            }
            obs.end();
        }
    }
}

impl futures_core::Stream for TracedStream {
    type Item = Result<CreateChatCompletionStreamResponse, OpenAIError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = this.inner.as_mut().poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(chunk))) => {
                if this.obs.is_some() {
                    if let Some(c) = convert::<_, ChatChunk>(chunk) {
                        this.acc.add(&c);
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => this.finish(Some(e), false),
            Poll::Ready(None) => this.finish(None, false),
            Poll::Pending => {}
        }
        item
    }
}

impl Drop for TracedStream {
    fn drop(&mut self) {
        self.finish(None, true);
    }
}
