//! Which spans and events the bridge sees: a per-layer filter, decided from a callsite's static
//! metadata, so that everything else costs the bridge nothing after the first call.

use std::borrow::Cow;

use tracing::subscriber::Interest;
use tracing::Metadata;
use tracing_subscriber::layer::{Context, Filter};

use super::fields::{is_langfuse_field, marks_observation};

/// Which `tracing` spans become Langfuse observations.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Spans {
    /// Every span (the default).
    All,
    /// Spans whose target (by default the module path) starts with this prefix, such as
    /// `"my_app"` (also matches `my_app::db`, but not `my_application`).
    Target(Cow<'static, str>),
    /// Only spans that declare a `langfuse.*` field (or `as_type`), such as
    /// `#[tracing::instrument(fields(langfuse.observation.type = "generation"))]`.
    WithLangfuseFields,
}

/// Which `tracing` events become Langfuse events (zero-duration observations under the
/// enclosing observation).
///
/// Whatever is chosen, an event at level ERROR or with an `error` field marks the enclosing
/// observation failed (level ERROR, status message = the error), and an event with a `return`
/// field (`#[instrument(ret)]`) sets its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Events {
    /// No Langfuse events (the default).
    Ignore,
    /// Events at this level or more severe (`tracing::Level::INFO` keeps INFO, WARN, ERROR).
    AtLeast(tracing::Level),
}

/// The bridge's per-layer filter: spans and events it is given, by their callsite.
#[derive(Clone, Debug)]
pub struct Selection {
    pub(crate) spans: Spans,
    pub(crate) events: Events,
}

/// The SDK's own diagnostics are never turned into observations.
fn is_sdk(target: &str) -> bool {
    target == "langfuse_sdk" || target.starts_with("langfuse_sdk::")
}

fn target_matches(target: &str, prefix: &str) -> bool {
    target
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || prefix.ends_with("::"))
}

impl Selection {
    /// True when the bridge wants spans or events of this callsite.
    pub(crate) fn wants(&self, meta: &Metadata<'_>) -> bool {
        if is_sdk(meta.target()) {
            return false;
        }
        if let Spans::Target(p) = &self.spans {
            if !target_matches(meta.target(), p) {
                return false;
            }
        }
        if meta.is_span() {
            return match self.spans {
                Spans::WithLangfuseFields => {
                    meta.fields().iter().any(|f| is_langfuse_field(f.name()))
                }
                _ => true,
            };
        }
        if *meta.level() == tracing::Level::ERROR
            || meta.fields().iter().any(|f| marks_observation(f.name()))
        {
            return true;
        }
        match self.events {
            Events::Ignore => false,
            // tracing's levels compare by verbosity: ERROR < WARN < INFO.
            Events::AtLeast(min) => *meta.level() <= min,
        }
    }

    /// True when the bridge turns this event into a Langfuse event.
    pub(crate) fn records_event(&self, meta: &Metadata<'_>) -> bool {
        match self.events {
            Events::Ignore => false,
            Events::AtLeast(min) => *meta.level() <= min,
        }
    }
}

impl<S> Filter<S> for Selection {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.wants(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.wants(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_prefix_matches_whole_path_segments() {
        assert!(target_matches("my_app", "my_app"));
        assert!(target_matches("my_app::db", "my_app"));
        assert!(target_matches("my_app::db", "my_app::"));
        assert!(!target_matches("my_application", "my_app"));
        assert!(!target_matches("other", "my_app"));
        assert!(is_sdk("langfuse_sdk::export"));
        assert!(!is_sdk("langfuse_sdk_user"));
    }
}
