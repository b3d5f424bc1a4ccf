//! Splitting a request's spans in halves (to resend a request the server found too large).

use crate::export::encode::Spans;

/// Splits `part` (`n` spans) after its first half; returns the second half and its count, or
/// `None` when it holds fewer than two spans.
pub(crate) fn halves(part: &mut Spans, n: u64) -> Option<(Spans, u64)> {
    let starts = span_starts(&part.bytes)?;
    if starts.len() < 2 || n < 2 {
        return None;
    }
    let mid = starts.len() / 2;
    let head = (mid as u64).clamp(1, n - 1);
    Some((part.split_off(starts[mid]), n - head))
}

/// Where each length-delimited entry (a `ScopeSpans.spans` span) of `bytes` starts, or `None`
/// when they do not parse as such.
fn span_starts(bytes: &[u8]) -> Option<Vec<usize>> {
    fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut starts = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        starts.push(at);
        if varint(bytes, &mut at)? & 7 != 2 {
            return None;
        }
        let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
        at = at.checked_add(len).filter(|&end| end <= bytes.len())?;
    }
    Some(starts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` entries framed as `ScopeSpans.spans` (field 2, length-delimited), of `len` bytes.
    fn entries(n: usize, len: usize) -> Vec<u8> {
        let mut b = Vec::new();
        for i in 0..n {
            b.push(0x12);
            let mut l = len;
            while l >= 0x80 {
                b.push((l as u8 & 0x7f) | 0x80);
                l >>= 7;
            }
            b.push(l as u8);
            b.extend(std::iter::repeat(i as u8).take(len));
        }
        b
    }

    #[test]
    fn starts_of_entries() {
        assert_eq!(span_starts(&entries(3, 2)), Some(vec![0, 4, 8]));
        // Two-byte lengths.
        assert_eq!(span_starts(&entries(2, 200)), Some(vec![0, 203]));
        assert_eq!(span_starts(&[]), Some(vec![]));
        // Truncated, or not length-delimited.
        assert_eq!(span_starts(&entries(2, 5)[..9]), None);
        assert_eq!(span_starts(&[0x08, 0x01]), None);
    }

    #[test]
    fn halves_keep_every_span_and_the_count() {
        let mut part = Spans {
            bytes: entries(5, 3),
            ids: Vec::new(),
        };
        let (tail, n_tail) = halves(&mut part, 5).unwrap();
        assert_eq!((part.len(), tail.len(), n_tail), (10, 15, 3));
        assert_eq!(tail.bytes, entries(5, 3)[10..]);
        let mut one = Spans {
            bytes: entries(1, 3),
            ids: Vec::new(),
        };
        assert!(halves(&mut one, 1).is_none());
    }
}
