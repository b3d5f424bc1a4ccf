//! A streamed chat completion of an async-openai client whose generation ends with it.

use std::pin::Pin;
use std::task::{Context, Poll};

use ::async_openai::error::OpenAIError;
use ::async_openai::types::chat::{
    ChatCompletionResponseStream, CreateChatCompletionStreamResponse,
};
use langfuse_sdk::Observation;

use super::convert;
use crate::accumulate::Accumulator;
use crate::observed_stream::{End, StreamObservation};
use crate::types::ChatChunk;

/// async-openai's stream of chunks, merged into the generation as they pass. Dropped before
/// its end, the generation ends with the partial output, level WARNING and a "cancelled"
/// status message, as [`crate::ChatStream`]'s does.
pub(super) struct TracedStream {
    inner: ChatCompletionResponseStream,
    acc: Accumulator,
    obs: StreamObservation,
}

impl TracedStream {
    pub(super) fn new(inner: ChatCompletionResponseStream, obs: Option<Observation>) -> Self {
        TracedStream {
            inner,
            acc: Accumulator::default(),
            obs: StreamObservation::new(obs),
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
                if this.obs.is_open() {
                    if let Some(c) = convert::<_, ChatChunk>(chunk) {
                        this.acc.add(&c);
                    }
                }
            }
            Poll::Ready(Some(Err(e))) => this.obs.end(&this.acc, End::Failed(e)),
            // async-openai hides whether `[DONE]` came: the answer's finish reasons tell.
            Poll::Ready(None) => this.obs.end(&this.acc, End::Closed),
            Poll::Pending => {}
        }
        item
    }
}

impl Drop for TracedStream {
    fn drop(&mut self) {
        self.obs.end(&self.acc, End::Dropped);
    }
}
