//! An observation's fields: its kind and severity, and the mutable data the exporter takes when
//! it ends.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use crate::attributes::TraceAttributes;
use crate::capture::Captured;
use crate::details::{CostDetails, UsageDetails};
/// The kind of an observation, as Langfuse shows it (`langfuse.observation.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObservationType {
    /// A unit of work.
    Span,
    /// A model call: model, parameters, usage, cost, time to first token.
    Generation,
    /// A point in time (zero duration).
    Event,
    /// An agent deciding what to do.
    Agent,
    /// A tool called by an agent.
    Tool,
    /// A chain of steps.
    Chain,
    /// A retrieval step (vector store, search).
    Retriever,
    /// An embedding call.
    Embedding,
    /// An evaluator run.
    Evaluator,
    /// A guardrail check.
    Guardrail,
}

impl ObservationType {
    /// Every type, in the order the docs list them.
    pub const ALL: [ObservationType; 10] = [
        ObservationType::Span,
        ObservationType::Generation,
        ObservationType::Event,
        ObservationType::Agent,
        ObservationType::Tool,
        ObservationType::Chain,
        ObservationType::Retriever,
        ObservationType::Embedding,
        ObservationType::Evaluator,
        ObservationType::Guardrail,
    ];

    /// The wire name (`span`, `generation`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            ObservationType::Span => "span",
            ObservationType::Generation => "generation",
            ObservationType::Event => "event",
            ObservationType::Agent => "agent",
            ObservationType::Tool => "tool",
            ObservationType::Chain => "chain",
            ObservationType::Retriever => "retriever",
            ObservationType::Embedding => "embedding",
            ObservationType::Evaluator => "evaluator",
            ObservationType::Guardrail => "guardrail",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for ObservationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity of an observation (`langfuse.observation.level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[non_exhaustive]
pub enum Level {
    /// Verbose detail.
    Debug,
    /// The default.
    #[default]
    Default,
    /// Something odd that did not fail.
    Warning,
    /// A failure; the span status is ERROR too.
    Error,
}

impl Level {
    /// The wire name (`DEBUG`, `DEFAULT`, `WARNING`, `ERROR`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Default => "DEFAULT",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// One metadata update: a whole object merged key by key, or one key.
#[derive(Clone, Debug)]
pub(crate) enum MetaEntry {
    Object(Captured),
    Key(String, Captured),
}

/// The mutable fields of an observation. They stay where they are when it ends: the exporter
/// takes them out of the shared allocation.
#[derive(Debug, Default)]
pub(crate) struct ObsData {
    /// Set once by `end`; later updates and ends are ignored.
    pub ended: bool,
    pub level: Option<Level>,
    pub name: Cow<'static, str>,
    /// Nanoseconds since the Unix epoch; 0 until set.
    pub start: u64,
    pub end: u64,
    pub input: Option<Captured>,
    pub output: Option<Captured>,
    pub model: Option<String>,
    pub usage: Option<UsageDetails>,
    /// Fields most observations never set, kept out of line so the common record stays small.
    pub rare: Option<Box<RareData>>,
    /// An empty value buffer kept with a reused allocation: the next observation captures its
    /// input into it (no allocation, no thread-local pool).
    pub scratch: String,
    /// The same for the output: the last output's buffer, emptied.
    pub scratch_out: String,
    /// The last model name's buffer, kept with a reused allocation for the next `set_model`.
    pub model_spare: String,
}

/// The less common fields of an observation.
#[derive(Debug, Default)]
pub(crate) struct RareData {
    pub metadata: Vec<MetaEntry>,
    pub status_message: Option<String>,
    pub version: Option<String>,
    pub model_parameters: Option<Captured>,
    pub cost: Option<CostDetails>,
    pub completion_start: Option<SystemTime>,
    pub prompt: Option<(String, u32)>,
    /// Trace-level attributes set through this observation.
    pub trace: Option<Box<TraceAttributes>>,
}

impl ObsData {
    /// Sets the model name, into the buffer it already has or the spare one.
    #[inline]
    pub(crate) fn set_model(&mut self, m: &str) {
        let mut b = match self.model.take() {
            Some(b) => b,
            None => std::mem::take(&mut self.model_spare),
        };
        b.clear();
        b.push_str(m);
        self.model = Some(b);
    }
    pub(crate) fn rare(&mut self) -> &mut RareData {
        self.rare.get_or_insert_with(Default::default)
    }
    pub(crate) fn trace(&self) -> Option<&TraceAttributes> {
        self.rare.as_ref().and_then(|r| r.trace.as_deref())
    }
}
