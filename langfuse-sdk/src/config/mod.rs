//! Configuration: the validated [`Config`](options::Config) a client runs with, the
//! `LANGFUSE_*` environment variables with their defaults ([`env`]), and the checks both the
//! builder and the environment reader apply ([`validate`]).

pub(crate) mod env;
pub(crate) mod options;
pub(crate) mod otlp;
pub(crate) mod validate;

#[cfg(test)]
mod tests;

pub use options::{ExporterKind, Transport, DEFAULT_BASE_URL};
