//! Where encoded requests go: Langfuse over HTTP, the console, or (tests) memory.

pub(crate) mod console;
pub(crate) mod http;

/// A destination chosen in the builder instead of an [`ExporterKind`](crate::ExporterKind).
#[derive(Clone)]
pub(crate) enum Custom {
    /// The in-memory exporter of the `testing` feature.
    #[cfg(feature = "testing")]
    Memory(crate::testing::InMemoryExporter),
}

impl Custom {
    /// The exporter's name, for `Debug`.
    pub(crate) fn name(&self) -> &'static str {
        match *self {
            #[cfg(feature = "testing")]
            Custom::Memory(_) => "in-memory",
        }
    }
}
