//! The compact form in which ended observations travel to the exporter thread.
//!
//! When an observation ends, the recording thread appends its fields to a [`Batch`] of its own:
//! ids, times and small values are copied into one byte buffer; trace attributes, the rarely
//! used fields and large values are moved, not copied. The exporter thread reads the batch back
//! and encodes the OTLP spans from it (masking, size limits, protobuf, gzip and HTTP all happen
//! there). Compared with queueing each observation's allocation, this keeps allocation and
//! freeing on the thread that allocated (the allocator's fast path), moves few cache lines
//! between cores, and holds a queued observation in about a third of the memory.

use std::sync::Arc;

use crate::context::TraceAttributes;
use crate::ids::{ObservationId, TraceId};
use crate::observation::{Head, Level, ObsData, ObservationType, RareData, UsageDetails};
use crate::value::Captured;

/// Values longer than this are moved into the batch rather than copied.
const COPY_MAX: usize = 4096;
const NONE: u32 = u32::MAX;
/// Bytes of a record's fixed part: type, level, flags, padding, trace id, id, parent id, start,
/// end, attributes index, rare-fields index.
const HEADER: usize = 4 + 16 + 8 + 8 + 8 + 8 + 4 + 4;

/// Observations recorded by one thread, on their way to the exporter.
#[derive(Default)]
pub(crate) struct Batch {
    bytes: Vec<u8>,
    /// The records' strings, in order (their lengths are in `bytes`): kept apart so they are
    /// valid UTF-8 by construction and need no checking when read back.
    text: String,
    attrs: Vec<Arc<TraceAttributes>>,
    // Boxed: the box is moved out of the observation as it is, not copied.
    #[allow(clippy::vec_box)]
    rare: Vec<Box<RareData>>,
    large: Vec<String>,
    large_bytes: usize,
    /// Observations in the batch.
    pub count: u32,
}

/// One observation read back from a batch.
pub(crate) struct RecordView<'a> {
    pub trace_id: TraceId,
    pub id: ObservationId,
    pub parent: Option<(ObservationId, bool)>,
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

/// A captured value, borrowed from a batch.
#[derive(Clone, Copy)]
pub(crate) struct ValueRef<'a> {
    pub json: bool,
    pub text: &'a str,
}

impl ValueRef<'_> {
    pub(crate) fn to_captured(self) -> Captured {
        if self.json {
            Captured::Json(self.text.to_string())
        } else {
            Captured::Text(self.text.to_string())
        }
    }
}

const TYPES: [ObservationType; 10] = ObservationType::ALL;
const LEVELS: [Level; 4] = [Level::Debug, Level::Default, Level::Warning, Level::Error];

impl Batch {
    /// An empty batch whose buffers hold about `bytes` without growing.
    pub(crate) fn with_capacity(bytes: usize) -> Batch {
        Batch {
            // Fixed fields take a little more room than strings in small observations.
            bytes: Vec::with_capacity(bytes / 8 * 5),
            text: String::with_capacity(bytes / 8 * 3),
            ..Default::default()
        }
    }

    /// Estimated memory the batch's observations hold (their bytes, moved values and rare
    /// fields), counted against the queue's memory bound.
    pub(crate) fn size(&self) -> usize {
        self.bytes.len()
            + self.text.len()
            + self.large_bytes
            + self.rare.len() * (std::mem::size_of::<RareData>() + 256)
            + self.attrs.len() * 8
    }

    /// Memory the batch holds, counting its buffers' whole capacity: what the queue's memory
    /// bound is checked against.
    pub(crate) fn mem(&self) -> usize {
        std::mem::size_of::<Batch>()
            + self.bytes.capacity()
            + self.text.capacity()
            + self.large_bytes
            + self.rare.len() * (std::mem::size_of::<RareData>() + 256)
            + self.attrs.capacity() * 8
            + self.large.capacity() * std::mem::size_of::<String>()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Empties the batch for reuse, keeping its buffer.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.text.clear();
        self.attrs.clear();
        self.rare.clear();
        self.large.clear();
        self.large_bytes = 0;
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
        // Declaration order, which `TYPES` and `LEVELS` follow (checked in a test).
        let level = data.level.map_or(0, |l| l as u8 + 1);
        let ty_i = ty as u8;
        let flags = u8::from(parent.is_some())
            | (u8::from(parent.is_some_and(|p| p.1)) << 1)
            | (u8::from(data.usage.is_some()) << 2)
            | (u8::from(data.model.is_some()) << 3);
        let attrs_i = match attrs {
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
        let rare_i = match data.rare.take() {
            None => NONE,
            Some(r) => {
                self.rare.push(r);
                self.rare.len() as u32 - 1
            }
        };
        let start = data.start;
        let end = data.end.max(start);
        // The fixed part and the name's length are assembled on the stack (constant offsets)
        // and appended at once.
        let mut h = [0u8; HEADER + 4];
        h[0..4].copy_from_slice(&[ty_i, level, flags, 0]);
        h[4..20].copy_from_slice(&trace_id.to_bytes());
        h[20..28].copy_from_slice(&id.to_bytes());
        // Always present (zeros for a root), so the header has a fixed size.
        h[28..36].copy_from_slice(&parent.map_or([0; 8], |(p, _)| p.to_bytes()));
        h[36..44].copy_from_slice(&start.to_le_bytes());
        h[44..52].copy_from_slice(&end.to_le_bytes());
        h[52..56].copy_from_slice(&attrs_i.to_le_bytes());
        h[56..60].copy_from_slice(&rare_i.to_le_bytes());
        h[60..64].copy_from_slice(&(data.name.len() as u32).to_le_bytes());
        self.bytes.reserve(HEADER + 64);
        self.bytes.extend_from_slice(&h);
        self.text.push_str(&data.name);
        self.put_value(&mut data.input);
        self.put_value(&mut data.output);
        if let Some(m) = &data.model {
            put_str(&mut self.bytes, &mut self.text, m);
        }
        if let Some(u) = &data.usage {
            // Which of input, output and total are present, those counts, and how many others
            // follow: assembled on the stack and appended at once.
            let mut u_head = [0u8; 1 + 3 * 8 + 4];
            let mut at = 1;
            for (i, v) in u.known().into_iter().enumerate() {
                if let Some(v) = v {
                    u_head[0] |= 1 << i;
                    u_head[at..at + 8].copy_from_slice(&v.to_le_bytes());
                    at += 8;
                }
            }
            let others = u.others();
            u_head[at..at + 4].copy_from_slice(&(others.len() as u32).to_le_bytes());
            let b = &mut self.bytes;
            b.extend_from_slice(&u_head[..at + 4]);
            for (k, v) in others {
                put_str(b, &mut self.text, k);
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        self.count += 1;
    }

    fn put_value(&mut self, v: &mut Option<Captured>) {
        let (json, len) = match v.as_ref() {
            None => {
                self.bytes.push(0);
                return;
            }
            Some(c) => (matches!(c, Captured::Json(_)), c.len()),
        };
        if len <= COPY_MAX {
            self.bytes.push(1 + u8::from(json));
            put_str(
                &mut self.bytes,
                &mut self.text,
                v.as_ref().map_or("", |c| c.as_str()),
            );
        } else if let Some(c) = v.take() {
            let s = match c {
                Captured::Text(s) | Captured::Json(s) => s,
            };
            self.large_bytes += s.capacity();
            self.large.push(s);
            self.bytes.push(3 + u8::from(json));
            self.bytes
                .extend_from_slice(&(self.large.len() as u32 - 1).to_le_bytes());
        }
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

fn put_str(b: &mut Vec<u8>, text: &mut String, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    text.push_str(s);
}

/// Reads a batch back. Yields `None` early only if the batch is malformed, which would be a bug.
pub(crate) struct Records<'a> {
    batch: &'a Batch,
    at: usize,
    text_at: usize,
}

impl<'a> Records<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.batch.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        let s = self
            .batch
            .text
            .get(self.text_at..self.text_at.checked_add(n)?)?;
        self.text_at += n;
        Some(s)
    }
    fn value(&mut self) -> Option<Option<ValueRef<'a>>> {
        let kind = self.take(1)?[0];
        Some(match kind {
            0 => None,
            1 | 2 => Some(ValueRef {
                json: kind == 2,
                text: self.str()?,
            }),
            3 | 4 => Some(ValueRef {
                json: kind == 4,
                text: self.batch.large.get(self.u32()? as usize)?.as_str(),
            }),
            _ => return None,
        })
    }

    fn record(&mut self) -> Option<RecordView<'a>> {
        // The fixed part, read at once (constant offsets, as `push` wrote it).
        let h: [u8; HEADER] = self.array()?;
        let [ty_i, level, flags, _] = [h[0], h[1], h[2], h[3]];
        let field = |at: usize| -> [u8; 8] {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[at..at + 8]);
            b
        };
        let word = |at: usize| -> u32 {
            let mut b = [0u8; 4];
            b.copy_from_slice(&h[at..at + 4]);
            u32::from_le_bytes(b)
        };
        let mut t = [0u8; 16];
        t.copy_from_slice(&h[4..20]);
        let trace_id = TraceId::from_bytes(t);
        let id = ObservationId::from_bytes(field(20));
        let parent_id = ObservationId::from_bytes(field(28));
        let parent = (flags & 1 != 0).then_some((parent_id, flags & 2 != 0));
        let start = u64::from_le_bytes(field(36));
        let end = u64::from_le_bytes(field(44));
        let attrs_i = word(52);
        let rare_i = word(56);
        let name = self.str()?;
        let input = self.value()?;
        let output = self.value()?;
        let model = if flags & 8 != 0 {
            Some(self.str()?)
        } else {
            None
        };
        let usage = if flags & 4 != 0 {
            let present = self.take(1)?[0];
            let mut known = [None; 3];
            for (i, v) in known.iter_mut().enumerate() {
                if present & (1 << i) != 0 {
                    *v = Some(self.u64()?);
                }
            }
            let mut others = Vec::new();
            for _ in 0..self.u32()? {
                let k = self.str()?;
                others.push((k.to_string(), self.u64()?));
            }
            Some(UsageDetails::from_parts(known, others))
        } else {
            None
        };
        let batch = self.batch;
        Some(RecordView {
            trace_id,
            id,
            parent,
            ty: *TYPES.get(ty_i as usize)?,
            level: match level {
                0 => None,
                l => Some(*LEVELS.get(l as usize - 1)?),
            },
            start,
            end,
            name,
            input,
            output,
            model,
            usage,
            attrs: match attrs_i {
                NONE => None,
                i => Some(&**batch.attrs.get(i as usize)?),
            },
            rare: match rare_i {
                NONE => None,
                i => Some(&**batch.rare.get(i as usize)?),
            },
        })
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = RecordView<'a>;
    fn next(&mut self) -> Option<RecordView<'a>> {
        if self.at >= self.batch.bytes.len() {
            return None;
        }
        let r = self.record();
        if r.is_none() {
            // Unreadable: stop here rather than read garbage (the caller counts the rest).
            self.at = self.batch.bytes.len();
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::CostDetails;
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
            head(id, Some((p, true)), ObservationType::Generation, &attrs),
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
        assert_eq!((r.trace_id, r.id, r.parent), (t, id, Some((p, true))));
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
        assert_eq!(r.attrs.and_then(|a| a.get_user_id()), Some("u1"));
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
