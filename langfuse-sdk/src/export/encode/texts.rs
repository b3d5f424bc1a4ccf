//! An observation's guarded texts where they are: read from the record and its trace
//! attributes, with only what must be made (masked values, metadata, cost and model parameters
//! as JSON) made once, and nothing made for an observation that has none of those. This is what
//! the size guard measures, and what the span writer reads (through [`View`]).

use std::borrow::Cow;

use crate::attributes::TraceAttributes;
use crate::capture::Captured;
use crate::config::options::MaskFn;
use crate::export::encode::guard::{Parts, Source, F};
use crate::export::encode::mask;
use crate::export::record::RecordView;
use crate::fields::{MetaEntry, RareData};

/// The client's settings the texts depend on.
pub(crate) struct Settings<'a> {
    pub mask: Option<&'a MaskFn>,
    /// The client's, for a trace whose attributes set none.
    pub environment: Option<&'a str>,
    pub release: Option<&'a str>,
}

/// Every guarded text of one observation, as it will be sent (masked).
pub(crate) struct Texts<'a> {
    data: &'a RecordView<'a>,
    rare: &'a RareData,
    trace: &'a TraceAttributes,
    /// The usage details as JSON text (empty: none).
    usage: &'a str,
    cfg: &'a Settings<'a>,
    /// `None` for the usual observation: nothing to mask, no metadata, cost or parameters.
    made: Option<Box<Made<'a>>>,
}

/// The texts that are made rather than read where they are.
struct Made<'a> {
    trace_input: Option<Cow<'a, str>>,
    trace_output: Option<Cow<'a, str>>,
    input: Option<Cow<'a, str>>,
    output: Option<Cow<'a, str>>,
    cost: Option<String>,
    model_parameters: Option<String>,
    metadata: Vec<(String, String)>,
    trace_metadata: Vec<(String, String)>,
}

impl<'a> Texts<'a> {
    /// The texts of `data`, whose rare fields are `rare` and trace attributes `trace` (merged),
    /// with its usage details as JSON text in `usage` (empty: none).
    #[inline]
    pub(crate) fn new(
        cfg: &'a Settings<'a>,
        data: &'a RecordView<'a>,
        rare: &'a RareData,
        trace: &'a TraceAttributes,
        usage: &'a str,
    ) -> Texts<'a> {
        let plain = cfg.mask.is_none()
            && trace.metadata.is_empty()
            && rare.metadata.is_empty()
            && rare.cost.is_none()
            && rare.model_parameters.is_none();
        Texts {
            data,
            rare,
            trace,
            usage,
            cfg,
            made: (!plain).then(|| Box::new(Made::new(cfg.mask, data, rare, trace))),
        }
    }
}

impl<'a> Made<'a> {
    #[inline(never)]
    fn new(
        m: Option<&MaskFn>,
        data: &RecordView<'a>,
        rare: &'a RareData,
        trace: &'a TraceAttributes,
    ) -> Made<'a> {
        // The mask (a user function) sees the values in the order they always had.
        let trace_metadata = if trace.metadata.is_empty() {
            Vec::new()
        } else if m.is_none() {
            // Without a mask, the captured JSON text is the attribute value as it is.
            trace
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json_text()))
                .collect()
        } else {
            let entries: Vec<_> = trace
                .metadata
                .iter()
                .map(|(k, v)| MetaEntry::Key(k.clone(), v.clone()))
                .collect();
            mask::metadata(m, &entries)
        };
        let value = |c: &'a Option<Captured>| c.as_ref().map(|c| mask::value(m, c.as_value_ref()));
        let trace_input = value(&trace.input);
        let trace_output = value(&trace.output);
        let input = data.input.map(|v| mask::value(m, v));
        let output = data.output.map(|v| mask::value(m, v));
        let metadata = mask::metadata(m, &rare.metadata);
        Made {
            trace_input,
            trace_output,
            input,
            output,
            cost: rare
                .cost
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(|c| serde_json::to_string(c).unwrap_or_default()),
            model_parameters: rare.model_parameters.as_ref().map(|m| m.to_json_text()),
            metadata,
            trace_metadata,
        }
    }
}

impl Source for Texts<'_> {
    type Tag = String;
    #[inline]
    fn text(&self, f: F) -> Option<&str> {
        let (data, rare, trace, made) = (self.data, self.rare, self.trace, self.made.as_deref());
        match f {
            F::Name => Some(data.name),
            F::TraceName => trace.name.as_deref(),
            F::UserId => trace.user_id.as_deref(),
            F::SessionId => trace.session_id.as_deref(),
            F::TraceInput => match made {
                Some(m) => m.trace_input.as_deref(),
                None => trace.input.as_ref().map(Captured::as_str),
            },
            F::TraceOutput => match made {
                Some(m) => m.trace_output.as_deref(),
                None => trace.output.as_ref().map(Captured::as_str),
            },
            F::Input => match made {
                Some(m) => m.input.as_deref(),
                None => data.input.map(|v| v.text),
            },
            F::Output => match made {
                Some(m) => m.output.as_deref(),
                None => data.output.map(|v| v.text),
            },
            F::Model => data.model,
            F::Usage => (!self.usage.is_empty()).then_some(self.usage),
            F::Cost => made.and_then(|m| m.cost.as_deref()),
            F::ModelParameters => made.and_then(|m| m.model_parameters.as_deref()),
            F::StatusMessage => rare.status_message.as_deref(),
            // The observation's own, or else the trace's.
            F::Version => rare.version.as_deref().or(trace.version.as_deref()),
            F::PromptName => rare.prompt.as_ref().map(|(n, _)| n.as_str()),
            // The trace attributes', or else the client's.
            F::Environment => trace.environment.as_deref().or(self.cfg.environment),
            F::Release => trace.release.as_deref().or(self.cfg.release),
        }
    }
    #[inline]
    fn metadata(&self) -> &[(String, String)] {
        self.made.as_deref().map_or(&[], |m| &m.metadata)
    }
    #[inline]
    fn trace_metadata(&self) -> &[(String, String)] {
        self.made.as_deref().map_or(&[], |m| &m.trace_metadata)
    }
    #[inline]
    fn tags(&self) -> &[String] {
        &self.trace.tags
    }
    /// Every text a field could be sent from, set or not (the version, environment and
    /// release are each the first of two): fewer tests than each field's text.
    #[inline]
    fn text_bytes(&self) -> usize {
        let (data, rare, trace) = (self.data, self.rare, self.trace);
        let o = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let c = |c: &Option<Captured>| c.as_ref().map_or(0, |c| c.as_str().len());
        let v = |v: Option<crate::capture::ValueRef<'_>>| v.map_or(0, |v| v.text.len());
        let made = match self.made.as_deref() {
            None => v(data.input) + v(data.output) + c(&trace.input) + c(&trace.output),
            Some(m) => {
                [&m.input, &m.output, &m.trace_input, &m.trace_output]
                    .iter()
                    .map(|t| t.as_ref().map_or(0, |t| t.len()))
                    .sum::<usize>()
                    + m.cost.as_ref().map_or(0, String::len)
                    + m.model_parameters.as_ref().map_or(0, String::len)
            }
        };
        let cfg = self.cfg.environment.map_or(0, str::len) + self.cfg.release.map_or(0, str::len);
        data.name.len()
            + data.model.map_or(0, str::len)
            + self.usage.len()
            + made
            + cfg
            + o(&trace.name)
            + o(&trace.user_id)
            + o(&trace.session_id)
            + o(&trace.version)
            + o(&trace.environment)
            + o(&trace.release)
            + o(&rare.status_message)
            + o(&rare.version)
            + rare.prompt.as_ref().map_or(0, |(n, _)| n.len())
    }
}

/// What the span writer reads: the texts as they are, or as cut by the size guard. (One type
/// for both, so that the writer is made once and its attribute writers are inlined into it.)
pub(crate) struct View<'a> {
    pub texts: &'a Texts<'a>,
    pub cut: Option<&'a Parts<'a>>,
}

impl View<'_> {
    #[inline]
    pub(crate) fn text(&self, f: F) -> Option<&str> {
        match self.cut {
            None => self.texts.text(f),
            Some(p) => p.text(f),
        }
    }
    #[inline]
    pub(crate) fn metadata(&self) -> &[(String, String)] {
        match self.cut {
            None => self.texts.metadata(),
            Some(p) => p.metadata(),
        }
    }
    #[inline]
    pub(crate) fn trace_metadata(&self) -> &[(String, String)] {
        match self.cut {
            None => self.texts.trace_metadata(),
            Some(p) => p.trace_metadata(),
        }
    }
    /// The tags (none: no allocation).
    #[inline]
    pub(crate) fn tags(&self) -> Vec<&str> {
        match self.cut {
            None => self.texts.tags().iter().map(String::as_str).collect(),
            Some(p) => p.tags().iter().map(|t| t.as_ref()).collect(),
        }
    }
}
