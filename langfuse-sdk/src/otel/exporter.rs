//! [`LangfuseSpanExporter`]: the same path as [`LangfuseSpanProcessor`](super::LangfuseSpanProcessor)
//! as an `opentelemetry_sdk` span exporter, for a pipeline that wants its own
//! `BatchSpanProcessor` (or another processor) in front.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::client::Langfuse;
use crate::otel::processor::Forwarder;

/// Hands each exported batch of spans to a client's exporter, filtered as
/// [`LangfuseSpanProcessor`](super::LangfuseSpanProcessor) does (the same default,
/// [`is_default_export_span`](super::is_default_export_span), and the same handling of sizes,
/// sampling and counting). `export` returns at once: delivery (retries, gzip) happens on the
/// client's exporter thread, and its outcome is in [`Langfuse::stats`] and the next flush.
/// No trace attributes are added (an exporter sees spans only once they ended): put
/// [`LangfuseSpanProcessor`](super::LangfuseSpanProcessor) in the pipeline for those.
///
/// `force_flush` and `shutdown` are the client's flush (`shutdown` does **not** shut the client
/// down). `BatchSpanProcessor::force_flush` exports its batch into the client's queue without
/// calling the exporter's `force_flush`: call [`Langfuse::flush`] after it when the spans must
/// be delivered by then (the provider's `shutdown` does call the exporter's).
///
/// ```
/// use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
/// use langfuse_sdk::otel::LangfuseSpanExporter;
///
/// let lf = langfuse_sdk::Langfuse::disabled();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(BatchSpanProcessor::builder(LangfuseSpanExporter::new(&lf)).build())
///     .build();
/// # drop(provider);
/// ```
#[derive(Clone)]
pub struct LangfuseSpanExporter {
    fwd: Forwarder,
}

impl std::fmt::Debug for LangfuseSpanExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LangfuseSpanExporter")
            .finish_non_exhaustive()
    }
}

impl LangfuseSpanExporter {
    /// An exporter sending through `client`'s exporter, with the default filter.
    pub fn new(client: &Langfuse) -> LangfuseSpanExporter {
        LangfuseSpanExporter {
            fwd: Forwarder::new(client, None),
        }
    }

    /// An exporter with `filter` instead of the default (see
    /// [`LangfuseSpanProcessorBuilder::filter`](super::LangfuseSpanProcessorBuilder::filter)).
    pub fn with_filter(
        client: &Langfuse,
        filter: impl Fn(&SpanData) -> bool + Send + Sync + 'static,
    ) -> LangfuseSpanExporter {
        LangfuseSpanExporter {
            fwd: Forwarder::new(client, Some(std::sync::Arc::new(filter))),
        }
    }
}

impl SpanExporter for LangfuseSpanExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.fwd.forward(batch);
        std::future::ready(Ok(()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.fwd.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.fwd.flush_within(timeout)
    }
}
