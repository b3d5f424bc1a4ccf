//! JSON string escaping, eight bytes at a time.
/// Index of the first byte of `bytes[from..]` that JSON must escape (`"`, `\\`, or a control
/// character below 0x20), or `bytes.len()`. Scans eight bytes at a time: strings are mostly
/// plain, and this runs on the application's thread for every captured string.
#[inline]
pub(crate) fn next_escape(bytes: &[u8], from: usize) -> usize {
    // Only the lowest flagged byte is sure to be a match, and that is the one used.
    let flags = |chunk: &[u8]| escape_flags(word(chunk));
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let m = flags(chunk);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = bytes.len().saturating_sub(i);
    if rest == 0 {
        return bytes.len().max(i);
    }
    // The last few bytes: the word that ends the string, overlapping bytes this call scanned
    // and found plain (their flags are masked off; being plain, they pass no borrow up), so the
    // lowest flag left is a true match. Bytes before `from` may be escapes, so the word must
    // not reach below it. (Copying the tail into a padded word instead stalled the load on the
    // byte stores: store forwarding fails.)
    let window = bytes.len().checked_sub(8).filter(|&s| s >= from);
    if let Some(chunk) = window.and_then(|s| bytes.get(s..)) {
        let m = flags(chunk) & (u64::MAX << (8 * (8 - rest)));
        return if m == 0 {
            bytes.len()
        } else {
            bytes.len() - 8 + (m.trailing_zeros() / 8) as usize
        };
    }
    // Shorter than a word: one byte at a time.
    i + bytes[i..]
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .unwrap_or(rest)
}

/// The escape sequence of a byte that [`next_escape`] found.
pub(crate) fn escape_of(b: u8, buf: &mut [u8; 6]) -> &str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0c => "\\f",
        _ => {
            *buf = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ];
            std::str::from_utf8(buf).unwrap_or("\\ufffd")
        }
    }
}

/// High bit of each byte of `w` that is below 0x20, equal to '"' or equal to '\\'. Only the
/// lowest flagged byte is sure to be a match (borrows can flag bytes above it).
#[inline(always)]
fn escape_flags(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let control = w.wrapping_sub(LO * 0x20) & !w;
    let quote = (w ^ (LO * b'"' as u64)).wrapping_sub(LO) & !(w ^ (LO * b'"' as u64));
    let backslash = (w ^ (LO * b'\\' as u64)).wrapping_sub(LO) & !(w ^ (LO * b'\\' as u64));
    (control | quote | backslash) & HI
}

/// Eight bytes as a little-endian word (`c` is eight bytes long).
#[inline(always)]
fn word(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(c);
    u64::from_le_bytes(w)
}

/// True when no byte of `b` needs escaping in JSON. Eight bytes at a time, the last word
/// overlapping the one before (a flag there can only come from a byte that needs escaping or
/// from a borrow out of one, so "no flag" is exact).
#[inline]
fn is_plain(b: &[u8]) -> bool {
    if b.len() < 8 {
        return b.iter().all(|&c| c >= 0x20 && c != b'"' && c != b'\\');
    }
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        // Stops at the first word with something to escape: the escaping path scans again.
        if escape_flags(word(c)) != 0 {
            return false;
        }
    }
    chunks.remainder().is_empty() || escape_flags(word(&b[b.len() - 8..])) == 0
}

/// Appends `s` to `out` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    // The common case: nothing to escape, so the text goes between the quotes as it is.
    if is_plain(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    push_json_string_escaped(out, s);
}

/// [`push_json_string`] for text with something to escape.
#[inline(never)]
fn push_json_string_escaped(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let i = next_escape(bytes, start);
        out.push_str(&s[start..i]);
        if i == bytes.len() {
            break;
        }
        let mut buf = [0u8; 6];
        out.push_str(escape_of(bytes[i], &mut buf));
        start = i + 1;
    }
    out.push('"');
}
