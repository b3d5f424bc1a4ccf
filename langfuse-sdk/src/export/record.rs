//! The compact form in which ended observations travel to the exporter thread.
//!
//! When an observation ends, the recording thread appends its fields to a [`Batch`] of its own:
//! ids, times, counts and lengths as one fixed-size record, small values copied into one text
//! buffer; trace attributes, the rarely used fields and large values are moved, not copied. The
//! exporter thread reads the batch back and encodes the OTLP spans from it (masking, size
//! limits, protobuf, gzip and HTTP all happen there). Compared with queueing each observation's allocation, this keeps allocation and
//! freeing on the thread that allocated (the allocator's fast path), moves few cache lines
//! between cores, and holds a queued observation in about a third of the memory.

use std::sync::Arc;

use crate::attributes::TraceAttributes;
use crate::capture::{Captured, ValueRef};
use crate::details::UsageDetails;
use crate::fields::{Level, ObservationType};
use crate::fields::{ObsData, RareData};
use crate::ids::{ObservationId, ParentRef, TraceId};

/// An observation's ids, type and propagated trace attributes, as a recorded batch takes them.
#[derive(Clone, Copy)]
pub(crate) struct Head<'a> {
    pub trace_id: TraceId,
    pub id: ObservationId,
    pub parent: Option<ParentRef>,
    pub ty: ObservationType,
    pub attrs: &'a Option<Arc<TraceAttributes>>,
}

/// Values longer than this are moved into the batch rather than copied.
const COPY_MAX: usize = 4096;
const NONE: u32 = u32::MAX;

/// One recorded observation's fixed fields, as the recording thread writes them: one struct
/// written at once (its strings go to [`Batch::text`], in order, their lengths here).
#[derive(Clone, Copy)]
struct Rec {
    trace_id: TraceId,
    id: ObservationId,
    /// Zeros for a root (see `flags`).
    parent: ObservationId,
    start: u64,
    end: u64,
    /// Input, output and total tokens (present where `usage` has the bit).
    counts: [u64; 3],
    /// Lengths in `text` of the name, the input, the output and the model; for a moved value,
    /// its index in `large`.
    lens: [u32; 4],
    attrs: u32,
    rare: u32,
    /// Index in `others` of the other usage keys, or `NONE`.
    others: u32,
    ty: u8,
    level: u8,
    /// Bit 0: has a parent; 1: the parent is remote; 2: has usage; 3: has a model.
    flags: u8,
    /// 0 for none; 1 (text) or 2 (JSON) copied into `text`; 3 or 4 moved into `large`.
    kinds: [u8; 2],
    /// Which of `counts` are present (bits 0 to 2).
    usage: u8,
}

/// Observations recorded by one thread, on their way to the exporter.
#[derive(Default)]
pub(crate) struct Batch {
    recs: Vec<Rec>,
    /// The records' strings, in order (their lengths are in the records): kept apart so they
    /// are valid UTF-8 by construction and need no checking when read back.
    text: String,
    attrs: Vec<Arc<TraceAttributes>>,
    // Boxed: the box is moved out of the observation as it is, not copied.
    #[allow(clippy::vec_box)]
    rare: Vec<Box<RareData>>,
    large: Vec<String>,
    large_bytes: usize,
    /// Usage keys other than input, output and total (rare), moved out of the observation.
    others: Vec<Vec<(String, u64)>>,
    /// Observations in the batch.
    pub count: u32,
}

/// One observation read back from a batch.
pub(crate) struct RecordView<'a> {
    pub trace_id: TraceId,
    pub id: ObservationId,
    pub parent: Option<ParentRef>,
    pub ty: ObservationType,
    pub level: Option<Level>,
    pub start: u64,
    pub end: u64,
    pub name: &'a str,
    pub input: Option<ValueRef<'a>>,
    pub output: Option<ValueRef<'a>>,
    pub model: Option<&'a str>,
    pub usage: Option<UsageDetails>,
    pub attrs: Option<&'a TraceAttributes>,
    pub rare: Option<&'a RareData>,
}

const TYPES: [ObservationType; 10] = ObservationType::ALL;
const LEVELS: [Level; 4] = [Level::Debug, Level::Default, Level::Warning, Level::Error];

impl Batch {
    /// An empty batch whose buffers hold about `bytes` without growing.
    pub(crate) fn with_capacity(bytes: usize) -> Batch {
        let rec = std::mem::size_of::<Rec>();
        Batch {
            // Small observations hold about a third as much text as their fixed fields.
            recs: Vec::with_capacity(bytes / 4 * 3 / rec),
            text: String::with_capacity(bytes / 4),
            ..Default::default()
        }
    }

    /// Estimated memory the batch's observations hold (their fields, text, moved values and
    /// rare fields), counted against the queue's memory bound.
    pub(crate) fn size(&self) -> usize {
        self.recs.len() * std::mem::size_of::<Rec>()
            + self.text.len()
            + self.large_bytes
            + self.rare.len() * (std::mem::size_of::<RareData>() + 256)
            + self.attrs.len() * 8
    }

    /// Memory the batch holds, counting its buffers' whole capacity: what the queue's memory
    /// bound is checked against.
    pub(crate) fn mem(&self) -> usize {
        std::mem::size_of::<Batch>()
            + self.recs.capacity() * std::mem::size_of::<Rec>()
            + self.text.capacity()
            + self.large_bytes
            + self.rare.len() * (std::mem::size_of::<RareData>() + 256)
            + self.attrs.capacity() * 8
            + self.large.capacity() * std::mem::size_of::<String>()
            + self.others.len() * 256
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Empties the batch for reuse, keeping its buffer.
    pub(crate) fn clear(&mut self) {
        self.recs.clear();
        self.text.clear();
        self.attrs.clear();
        self.rare.clear();
        self.large.clear();
        self.large_bytes = 0;
        self.others.clear();
        self.count = 0;
    }

    /// Appends an ended observation. Moves its rare fields and large values out of `data`.
    pub(crate) fn push(&mut self, head: Head<'_>, data: &mut ObsData) {
        let Head {
            trace_id,
            id,
            parent,
            ty,
            attrs,
        } = head;
        let attrs = match attrs {
            None => NONE,
            Some(a) => match self.attrs.last() {
                // Consecutive observations usually share their attributes.
                Some(last) if Arc::ptr_eq(last, a) => self.attrs.len() as u32 - 1,
                _ => {
                    self.attrs.push(a.clone());
                    self.attrs.len() as u32 - 1
                }
            },
        };
        let rare = match data.rare.take() {
            None => NONE,
            Some(r) => {
                self.rare.push(r);
                self.rare.len() as u32 - 1
            }
        };
        // In the order the reader takes them: name, input, output, model.
        let name_len = data.name.len() as u32;
        self.text.push_str(&data.name);
        let (in_kind, in_len) = self.value(&mut data.input);
        let (out_kind, out_len) = self.value(&mut data.output);
        let model = data.model.as_deref();
        let mut rec = Rec {
            trace_id,
            id,
            parent: parent.map_or(ObservationId::from_bytes([0; 8]), |p| p.id),
            start: data.start,
            end: data.end.max(data.start),
            counts: [0; 3],
            lens: [name_len, in_len, out_len, 0],
            attrs,
            rare,
            others: NONE,
            ty: ty as u8,
            // Declaration order, which `TYPES` and `LEVELS` follow (checked in a test).
            level: data.level.map_or(0, |l| l as u8 + 1),
            flags: u8::from(parent.is_some())
                | (u8::from(parent.is_some_and(|p| p.remote)) << 1)
                | (u8::from(data.usage.is_some()) << 2)
                | (u8::from(model.is_some()) << 3),
            kinds: [in_kind, out_kind],
            usage: 0,
        };
        if let Some(m) = model {
            self.text.push_str(m);
            rec.lens[3] = m.len() as u32;
        }
        if let Some(u) = &mut data.usage {
            for (i, v) in u.known().into_iter().enumerate() {
                if let Some(v) = v {
                    rec.usage |= 1 << i;
                    rec.counts[i] = v;
                }
            }
            if let Some(o) = u.take_others() {
                self.others.push(o);
                rec.others = self.others.len() as u32 - 1;
            }
        }
        self.recs.push(rec);
        self.count += 1;
    }

    /// Copies a value into `text` (or moves a large one into `large`): its kind and its length
    /// (or index), as [`Rec`] keeps them.
    #[inline]
    fn value(&mut self, v: &mut Option<Captured>) -> (u8, u32) {
        let Some(c) = v.as_ref() else { return (0, 0) };
        let json = u8::from(matches!(c, Captured::Json(_)));
        let s = c.as_str();
        if s.len() <= COPY_MAX {
            self.text.push_str(s);
            return (1 + json, s.len() as u32);
        }
        let Some(c) = v.take() else { return (0, 0) };
        let s = c.into_string();
        self.large_bytes += s.capacity();
        self.large.push(s);
        (3 + json, self.large.len() as u32 - 1)
    }

    /// The observations in the order they were appended.
    pub(crate) fn records(&self) -> Records<'_> {
        Records {
            batch: self,
            at: 0,
            text_at: 0,
        }
    }
}

/// Reads a batch back. Yields `None` early only if the batch is malformed, which would be a bug.
pub(crate) struct Records<'a> {
    batch: &'a Batch,
    at: usize,
    text_at: usize,
}

impl<'a> Records<'a> {
    fn str(&mut self, n: u32) -> Option<&'a str> {
        let n = n as usize;
        let s = self
            .batch
            .text
            .get(self.text_at..self.text_at.checked_add(n)?)?;
        self.text_at += n;
        Some(s)
    }
    fn value(&mut self, kind: u8, len: u32) -> Option<Option<ValueRef<'a>>> {
        Some(match kind {
            0 => None,
            1 | 2 => Some(ValueRef {
                json: kind == 2,
                text: self.str(len)?,
            }),
            3 | 4 => Some(ValueRef {
                json: kind == 4,
                text: self.batch.large.get(len as usize)?.as_str(),
            }),
            _ => return None,
        })
    }

    fn record(&mut self) -> Option<RecordView<'a>> {
        let r = *self.batch.recs.get(self.at)?;
        self.at += 1;
        let name = self.str(r.lens[0])?;
        let input = self.value(r.kinds[0], r.lens[1])?;
        let output = self.value(r.kinds[1], r.lens[2])?;
        let model = if r.flags & 8 != 0 {
            Some(self.str(r.lens[3])?)
        } else {
            None
        };
        let batch = self.batch;
        let usage = if r.flags & 4 != 0 {
            let mut known = [None; 3];
            for (i, v) in known.iter_mut().enumerate() {
                if r.usage & (1 << i) != 0 {
                    *v = Some(r.counts[i]);
                }
            }
            let others = match r.others {
                NONE => Vec::new(),
                i => batch.others.get(i as usize)?.clone(),
            };
            Some(UsageDetails::from_parts(known, others))
        } else {
            None
        };
        Some(RecordView {
            trace_id: r.trace_id,
            id: r.id,
            parent: (r.flags & 1 != 0).then_some(ParentRef {
                id: r.parent,
                remote: r.flags & 2 != 0,
            }),
            ty: *TYPES.get(r.ty as usize)?,
            level: match r.level {
                0 => None,
                l => Some(*LEVELS.get(l as usize - 1)?),
            },
            start: r.start,
            end: r.end,
            name,
            input,
            output,
            model,
            usage,
            attrs: match r.attrs {
                NONE => None,
                i => Some(&**batch.attrs.get(i as usize)?),
            },
            rare: match r.rare {
                NONE => None,
                i => Some(&**batch.rare.get(i as usize)?),
            },
        })
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = RecordView<'a>;
    fn next(&mut self) -> Option<RecordView<'a>> {
        if self.at >= self.batch.recs.len() {
            return None;
        }
        let r = self.record();
        if r.is_none() {
            // Unreadable: stop here rather than read garbage (the caller counts the rest).
            self.at = self.batch.recs.len();
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::details::CostDetails;
    use std::borrow::Cow;

    #[test]
    fn records_read_back_as_written() {
        let mut b = Batch::default();
        let attrs = Some(Arc::new(TraceAttributes::new().user_id("u1")));
        let t0 = 1_700_000_000_123_456_789;
        let mut d = ObsData {
            name: Cow::Borrowed("llm"),
            start: t0,
            end: t0 + 5_000_000,
            level: Some(Level::Warning),
            input: Some(Captured::Json("{\"q\":\"hi\"}".into())),
            output: Some(Captured::Text("x".repeat(10_000))),
            model: Some("gpt-4o-mini".into()),
            usage: Some(
                UsageDetails::new()
                    .input(3)
                    .total(9)
                    .with("input_cached_tokens", 2),
            ),
            ..Default::default()
        };
        d.rare().cost = Some(CostDetails::new().total(0.5));
        let (t, id, p) = (
            TraceId::from_bytes([7; 16]),
            ObservationId::from_bytes([1; 8]),
            ObservationId::from_bytes([2; 8]),
        );
        let head = |id, parent, ty, attrs| Head {
            trace_id: t,
            id,
            parent,
            ty,
            attrs,
        };
        b.push(
            head(
                id,
                Some(crate::ids::ParentRef::remote(p)),
                ObservationType::Generation,
                &attrs,
            ),
            &mut d,
        );
        let mut root = ObsData {
            name: Cow::Owned("root".into()),
            ..Default::default()
        };
        b.push(head(p, None, ObservationType::Span, &None), &mut root);
        assert_eq!(b.count, 2);

        let rs: Vec<_> = b.records().collect();
        assert_eq!(rs.len(), 2);
        let r = &rs[0];
        assert_eq!(
            (r.trace_id, r.id, r.parent),
            (t, id, Some(ParentRef::remote(p)))
        );
        assert_eq!(r.ty, ObservationType::Generation);
        assert_eq!(r.level, Some(Level::Warning));
        assert_eq!(r.start, 1_700_000_000_123_456_789);
        assert_eq!(r.end, r.start + 5_000_000);
        assert_eq!(r.name, "llm");
        let i = r.input.unwrap();
        assert!(i.json && i.text == "{\"q\":\"hi\"}");
        let o = r.output.unwrap();
        assert!(!o.json && o.text.len() == 10_000);
        assert_eq!(r.model, Some("gpt-4o-mini"));
        let u = r.usage.as_ref().unwrap();
        assert_eq!(
            (u.get("input"), u.get("output"), u.get("total")),
            (Some(3), None, Some(9))
        );
        assert_eq!(u.get("input_cached_tokens"), Some(2));
        assert_eq!(r.attrs.and_then(|a| a.user_id_ref()), Some("u1"));
        assert_eq!(
            r.rare
                .and_then(|r| r.cost.as_ref())
                .and_then(|c| c.get("total")),
            Some(0.5)
        );
        // The large output was moved, the small input copied.
        assert!(d.output.is_none() && d.input.is_some() && d.rare.is_none());

        let r = &rs[1];
        assert_eq!((r.id, r.parent, r.name), (p, None, "root"));
        assert!(r.input.is_none() && r.output.is_none() && r.usage.is_none());
        assert!(r.attrs.is_none() && r.rare.is_none() && r.level.is_none());

        b.clear();
        assert!(b.is_empty() && b.records().next().is_none());
    }

    #[test]
    fn type_and_level_codes_follow_declaration_order() {
        for (i, t) in TYPES.iter().enumerate() {
            assert_eq!(*t as usize, i, "{t:?}");
        }
        for (i, l) in LEVELS.iter().enumerate() {
            assert_eq!(*l as usize, i, "{l:?}");
        }
    }
}
