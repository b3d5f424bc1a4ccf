//! [`WithTraceId`]: log lines that carry the Langfuse trace id of the observation they were
//! written in, so a line in the logs leads to its trace.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A `tracing_subscriber::fmt` event format that appends ` langfuse.trace_id=<32 hex>` to each
/// line written while an observation is current (an entered span the bridge mapped, an
/// `#[observe]` function, an entered [`Observation`](crate::Observation)); other lines are as
/// the wrapped format writes them.
///
/// Lines that carry an id are written without ANSI colours (`tracing_subscriber` gives no way to
/// keep them while the line is rewritten).
///
/// ```
/// use tracing_subscriber::{fmt, prelude::*};
/// use langfuse_sdk::bridge::{self, WithTraceId};
/// let subscriber = tracing_subscriber::registry()
///     .with(bridge::layer())
///     .with(fmt::layer().event_format(WithTraceId::new(fmt::format().compact())));
/// tracing::subscriber::with_default(subscriber, || tracing::info!("no observation: no id"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct WithTraceId<E> {
    inner: E,
}

impl<E> WithTraceId<E> {
    /// Wraps an event format (`tracing_subscriber::fmt::format()`, `.compact()`, …).
    pub fn new(inner: E) -> Self {
        WithTraceId { inner }
    }
}

impl<S, N, E> FormatEvent<S, N> for WithTraceId<E>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    E: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(trace_id) = crate::current_trace_id() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line.as_str(), ""),
        };
        write!(writer, "{body} langfuse.trace_id={trace_id}{newline}")
    }
}
