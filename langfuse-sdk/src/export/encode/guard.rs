//! The per-observation size guard: keeps every text an observation sends (name, input, output,
//! metadata, model, usage and cost, status message, trace attributes, …) together under
//! `max_observation_bytes` by cutting the largest ones, each with a truncation marker where it
//! was cut. The observation itself is always sent.
//!
//! Nearly every observation is far under the limit: [`fits`] tells that from the texts where
//! they are (a [`Source`]), and only an observation that does not fit is copied into [`Parts`]
//! and cut.

use std::borrow::Cow;

use crate::capture::{prefix_at_boundary, split_marker, truncation_marker};

/// The guarded single-text fields, as indices into [`Parts::text`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum F {
    Name,
    TraceName,
    UserId,
    SessionId,
    TraceInput,
    TraceOutput,
    Input,
    Output,
    Model,
    Usage,
    Cost,
    ModelParameters,
    StatusMessage,
    Version,
    PromptName,
    Environment,
    Release,
}
const TEXT_FIELDS: usize = F::Release as usize + 1;

impl F {
    /// Every field, in index order.
    pub(crate) const ALL: [F; TEXT_FIELDS] = [
        F::Name,
        F::TraceName,
        F::UserId,
        F::SessionId,
        F::TraceInput,
        F::TraceOutput,
        F::Input,
        F::Output,
        F::Model,
        F::Usage,
        F::Cost,
        F::ModelParameters,
        F::StatusMessage,
        F::Version,
        F::PromptName,
        F::Environment,
        F::Release,
    ];
}

/// An observation's guarded texts, as they will be sent: what the guard measures and the span
/// writer reads.
pub(crate) trait Source {
    /// A tag as held.
    type Tag: AsRef<str>;
    /// A single-text field, if set.
    fn text(&self, f: F) -> Option<&str>;
    /// Observation metadata: (key, JSON text).
    fn metadata(&self) -> &[(String, String)];
    /// Trace metadata: (key, JSON text).
    fn trace_metadata(&self) -> &[(String, String)];
    /// Trace tags.
    fn tags(&self) -> &[Self::Tag];
    /// At least the bytes the set single texts take together, for [`fits`]: a source can
    /// count more (every text a field could be sent from, set or not) if that is quicker.
    fn text_bytes(&self) -> usize {
        F::ALL
            .iter()
            .map(|&f| self.text(f).map_or(0, str::len))
            .sum()
    }
}

/// Room for what the guard does not count: ids, times, kind, flags, status, the type, level,
/// completion start and prompt version attributes, and the framing of the span.
const FIXED: usize = 320;
/// An attribute's key and framing, at most (the longest guarded key has 37 bytes).
const PER_ATTR: usize = 48;
/// A metadata entry's key prefix (`langfuse.observation.metadata.`) and framing.
const PER_ENTRY: usize = 40;
/// A tag's framing in the array attribute (value and array entry tags and lengths).
const PER_TAG: usize = 8;
/// Room left for the truncation marker after a cut prefix.
const MARKER_ROOM: usize = 64;
/// Longest prefix kept of a cut field when the limit is large enough.
const MIN_PREFIX: usize = 1024;

/// Every guarded text of one observation that does not fit, as it will be sent once cut.
pub(crate) struct Parts<'a> {
    text: [Option<Cow<'a, str>>; TEXT_FIELDS],
    /// Observation metadata: (key, JSON text).
    metadata: Vec<(String, String)>,
    /// Trace metadata: (key, JSON text).
    trace_metadata: Vec<(String, String)>,
    tags: Vec<Cow<'a, str>>,
}

/// What the guard can cut: one text, or a whole collection.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Text(usize),
    Metadata,
    TraceMetadata,
    Tags,
}

/// What a source's span will take, about (never less): the texts with their keys and framing,
/// and [`FIXED`] for the rest.
pub(crate) fn total(s: &impl Source) -> usize {
    let text: usize = F::ALL
        .iter()
        .map(|&f| s.text(f).map_or(0, |t| t.len() + PER_ATTR))
        .sum();
    let (m, tm, tags) = (
        entries(s.metadata()),
        entries(s.trace_metadata()),
        tags(s.tags()),
    );
    FIXED + text + m.0 + m.1 + tm.0 + tm.1 + tags.0 + tags.1
}

/// Whether a source's texts fit in `limit` as they are, so that the guard would cut nothing:
/// quicker than [`total`], and never more (every field counted with its attribute's overhead,
/// set or not). `false` can still fit: a span within some 800 bytes of the limit is left to
/// the guard to tell.
#[inline]
pub(crate) fn fits(s: &impl Source, limit: usize) -> bool {
    let (m, tm, tags) = (
        entries(s.metadata()),
        entries(s.trace_metadata()),
        tags(s.tags()),
    );
    let bound =
        FIXED + TEXT_FIELDS * PER_ATTR + s.text_bytes() + m.0 + m.1 + tm.0 + tm.1 + tags.0 + tags.1;
    bound <= limit
}

/// Metadata entries' values and their keys with framing.
fn entries(m: &[(String, String)]) -> (usize, usize) {
    m.iter().fold((0, 0), |(v, o), (k, x)| {
        (v + x.len(), o + k.len() + PER_ENTRY)
    })
}

/// Tags with their framing, and the attribute's.
fn tags<T: AsRef<str>>(tags: &[T]) -> (usize, usize) {
    (
        tags.iter().map(|t| t.as_ref().len() + PER_TAG).sum(),
        if tags.is_empty() { 0 } else { PER_ATTR },
    )
}

impl<'a> Parts<'a> {
    /// A copy of `s`'s texts (borrowed) and collections, for cutting.
    pub(crate) fn new<S: Source>(s: &'a S) -> Parts<'a> {
        Parts {
            text: F::ALL.map(|f| s.text(f).map(Cow::Borrowed)),
            metadata: s.metadata().to_vec(),
            trace_metadata: s.trace_metadata().to_vec(),
            tags: s.tags().iter().map(|t| Cow::Borrowed(t.as_ref())).collect(),
        }
    }

    /// The bytes a slot's values take (what a cut can shorten), and its overhead.
    fn size(&self, s: Slot) -> (usize, usize) {
        match s {
            Slot::Text(i) => self.text[i]
                .as_ref()
                .map_or((0, 0), |t| (t.len(), PER_ATTR)),
            Slot::Metadata => entries(&self.metadata),
            Slot::TraceMetadata => entries(&self.trace_metadata),
            Slot::Tags => tags(&self.tags),
        }
    }

    fn slots() -> impl Iterator<Item = Slot> {
        (0..TEXT_FIELDS)
            .map(Slot::Text)
            .chain([Slot::Metadata, Slot::TraceMetadata, Slot::Tags])
    }

    /// Cuts the largest parts until the observation fits in `limit` bytes.
    pub(crate) fn guard(&mut self, limit: usize) {
        // Every slot cut to the floor, with its marker, still fits (for any sane limit).
        let floor = MIN_PREFIX.min(limit.saturating_sub(FIXED) / 64);
        for _ in 0..3 * (TEXT_FIELDS + 3) {
            let total = total(self);
            if total <= limit {
                return;
            }
            let Some((slot, len)) = Self::slots()
                .map(|s| (s, self.size(s).0))
                .filter(|&(_, len)| len > floor + MARKER_ROOM)
                .max_by_key(|&(_, len)| len)
            else {
                return;
            };
            let keep = limit
                .saturating_sub(total - len)
                .saturating_sub(MARKER_ROOM)
                .max(floor);
            self.cut(slot, keep, limit);
        }
    }

    fn cut(&mut self, slot: Slot, keep: usize, limit: usize) {
        match slot {
            Slot::Text(i) => {
                if let Some(t) = self.text[i].take() {
                    self.text[i] = Some(Cow::Owned(shorten(&t, keep, limit)));
                }
            }
            Slot::Metadata => cut_entries(&mut self.metadata, keep, limit),
            Slot::TraceMetadata => cut_entries(&mut self.trace_metadata, keep, limit),
            Slot::Tags => {
                // Cut once already: the one tag left is that text.
                let text = match self.tags.as_slice() {
                    [one] => one.to_string(),
                    all => serde_json::to_string(all).unwrap_or_default(),
                };
                self.tags = vec![Cow::Owned(shorten(&text, keep, limit))];
            }
        }
    }
}

impl<'a> Source for Parts<'a> {
    type Tag = Cow<'a, str>;
    fn text(&self, f: F) -> Option<&str> {
        self.text[f as usize].as_deref()
    }
    fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }
    fn trace_metadata(&self) -> &[(String, String)] {
        &self.trace_metadata
    }
    fn tags(&self) -> &[Cow<'a, str>] {
        &self.tags
    }
}

/// Metadata entries as one `truncated` entry: their JSON object text, cut.
fn cut_entries(entries: &mut Vec<(String, String)>, keep: usize, limit: usize) {
    // Cut once already: the text is inside the one `truncated` entry (a JSON string).
    if let [(k, v)] = entries.as_slice() {
        if k == "truncated" {
            if let Ok(serde_json::Value::String(text)) = serde_json::from_str(v) {
                *entries = vec![(
                    k.clone(),
                    serde_json::Value::String(shorten(&text, keep, limit)).to_string(),
                )];
                return;
            }
        }
    }
    let text = serde_json::Value::Object(
        entries
            .drain(..)
            .map(|(k, v)| {
                let parsed = serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
                (k, parsed)
            })
            .collect(),
    )
    .to_string();
    *entries = vec![(
        "truncated".to_string(),
        serde_json::Value::String(shorten(&text, keep, limit)).to_string(),
    )];
}

/// `s` cut to `keep` bytes with the marker; a value truncated at capture keeps its original
/// size in the marker.
pub(crate) fn shorten(s: &str, keep: usize, limit: usize) -> String {
    let (body, original) = split_marker(s);
    let mut t = prefix_at_boundary(body, keep).to_string();
    match original {
        Some(size) => t.push_str(&size.marker(limit)),
        None => t.push_str(&truncation_marker(s.len(), limit)),
    }
    t
}
