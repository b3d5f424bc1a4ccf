//! Trace and observation ids, W3C `traceparent`, and the id generator.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::Error;

/// A trace id: 16 bytes, shown as 32 lowercase hex characters (the OpenTelemetry trace id).
///
/// ```
/// use langfuse_sdk::TraceId;
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// ```
// Aligned so that moving an id (alone or inside an enum) is whole-word copies (see the layout
// checks below and docs/PERFORMANCE.md, "store forwarding").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(align(8))]
pub struct TraceId([u8; 16]);

/// An observation id: 8 bytes, shown as 16 lowercase hex characters (the OpenTelemetry span id).
///
/// ```
/// use langfuse_sdk::ObservationId;
/// let id: ObservationId = "00f067aa0ba902b7".parse().unwrap();
/// assert_eq!(id.to_string(), "00f067aa0ba902b7");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(align(8))]
pub struct ObservationId([u8; 8]);

// Layout: ids are whole words, so every move of one (or of an enum holding one) is word copies.
const _: () = assert!(size_of::<TraceId>() == 16 && align_of::<TraceId>() == 8);
const _: () = assert!(size_of::<ObservationId>() == 8 && align_of::<ObservationId>() == 8);

impl TraceId {
    /// Builds an id from its bytes. All zeros is not a valid trace id; see [`TraceId::is_valid`].
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        TraceId(bytes)
    }
    /// The id's bytes, as sent on the wire.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }
    /// False for the all-zero id, which Langfuse rejects.
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 16]
    }
    /// A new random trace id.
    #[inline]
    pub fn random() -> Self {
        loop {
            let hi = next_u64();
            let lo = next_u64();
            if hi | lo != 0 {
                return TraceId::from_parts(hi, lo);
            }
        }
    }
    /// The id [`TraceId::random`] returns next on this thread; drawn (so the next one differs)
    /// only when `take` says so.
    pub(crate) fn random_if(take: impl FnOnce(&TraceId) -> bool) -> Self {
        RNG.try_with(|c| {
            // `random`'s draws, from a copy of the state.
            let mut s = c.get();
            loop {
                let (s1, hi) = splitmix(s);
                let (s2, lo) = splitmix(s1);
                s = s2;
                if hi | lo != 0 {
                    let t = TraceId::from_parts(hi, lo);
                    if take(&t) {
                        c.set(s);
                    }
                    return t;
                }
            }
        })
        // The thread is exiting: `random` seeds afresh; there is nothing to keep.
        .unwrap_or_else(|_| TraceId::random())
    }

    #[inline]
    fn from_parts(hi: u64, lo: u64) -> Self {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&hi.to_be_bytes());
        b[8..].copy_from_slice(&lo.to_be_bytes());
        TraceId(b)
    }

    /// The lower 8 bytes as a big-endian number, the part OpenTelemetry's ratio sampler looks at.
    pub(crate) fn low_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[8..]);
        u64::from_be_bytes(b)
    }
}

impl ObservationId {
    /// Builds an id from its bytes. All zeros is not a valid observation id.
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        ObservationId(bytes)
    }
    /// The id's bytes, as sent on the wire.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }
    /// False for the all-zero id, which Langfuse rejects.
    pub fn is_valid(&self) -> bool {
        self.0 != [0; 8]
    }
    /// A new random observation id.
    #[inline]
    pub fn random() -> Self {
        loop {
            let v = next_u64();
            if v != 0 {
                return ObservationId(v.to_be_bytes());
            }
        }
    }
}

/// `create_trace_id(seed)` as in the official SDKs: the first 16 bytes of `sha256(seed)`, so the
/// same seed (an external request id, say) gives the same trace id in every language.
///
/// ```
/// let id = langfuse_sdk::create_trace_id("my-request-42");
/// assert_eq!(id, langfuse_sdk::create_trace_id("my-request-42"));
/// assert_eq!(id.to_string().len(), 32);
/// ```
pub fn create_trace_id(seed: &str) -> TraceId {
    let digest = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    TraceId(b)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    let mut buf = [0u8; 32];
    for (i, b) in bytes.iter().enumerate() {
        buf[2 * i] = HEX[(b >> 4) as usize];
        buf[2 * i + 1] = HEX[(b & 0xf) as usize];
    }
    // Only ASCII hex digits were written.
    f.write_str(std::str::from_utf8(&buf[..bytes.len() * 2]).unwrap_or(""))
}

fn parse_hex<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], Error> {
    let s = s.trim();
    if s.len() != N * 2 {
        return Err(Error::invalid_id(what, s, N * 2));
    }
    let mut out = [0u8; N];
    let bytes = s.as_bytes();
    for i in 0..N {
        let hi = hex_val(bytes[2 * i]);
        let lo = hex_val(bytes[2 * i + 1]);
        match (hi, lo) {
            (Some(h), Some(l)) => out[i] = (h << 4) | l,
            _ => return Err(Error::invalid_id(what, s, N * 2)),
        }
    }
    Ok(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}
impl fmt::Display for ObservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Debug for ObservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObservationId({self})")
    }
}

impl FromStr for TraceId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let id = TraceId(parse_hex::<16>(s, "trace id")?);
        if !id.is_valid() {
            return Err(Error::invalid_id("trace id", s, 32));
        }
        Ok(id)
    }
}
impl FromStr for ObservationId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let id = ObservationId(parse_hex::<8>(s, "observation id")?);
        if !id.is_valid() {
            return Err(Error::invalid_id("observation id", s, 16));
        }
        Ok(id)
    }
}

/// A parent that lives outside this process (or was handed over explicitly): the trace and
/// observation to attach new observations to.
///
/// ```
/// use langfuse_sdk::RemoteParent;
/// let p = RemoteParent::from_traceparent(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert_eq!(p.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(p.sampled);
/// assert_eq!(p.to_traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteParent {
    /// The trace to join.
    pub trace_id: TraceId,
    /// The observation new observations become children of.
    pub observation_id: ObservationId,
    /// Whether the caller sampled this trace (`traceparent` flag `01`).
    pub sampled: bool,
}

impl RemoteParent {
    /// A parent given by ids; it counts as sampled.
    pub fn new(trace_id: TraceId, observation_id: ObservationId) -> Self {
        RemoteParent {
            trace_id,
            observation_id,
            sampled: true,
        }
    }

    /// Parses a W3C `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex flags>`).
    ///
    /// Unknown future versions are accepted as the spec asks (their first four fields are read);
    /// version `ff`, all-zero ids and malformed fields are errors.
    pub fn from_traceparent(header: &str) -> Result<Self, Error> {
        let h = header.trim();
        let bad = || Error::invalid_traceparent(h);
        let mut parts = h.split('-');
        let version = parts.next().ok_or_else(bad)?;
        let trace = parts.next().ok_or_else(bad)?;
        let span = parts.next().ok_or_else(bad)?;
        let flags = parts.next().ok_or_else(bad)?;
        if version.len() != 2 || flags.len() != 2 || trace.len() != 32 || span.len() != 16 {
            return Err(bad());
        }
        let v = parse_hex::<1>(version, "traceparent version").map_err(|_| bad())?[0];
        if v == 0xff || (v == 0 && parts.next().is_some()) {
            return Err(bad());
        }
        let f = parse_hex::<1>(flags, "traceparent flags").map_err(|_| bad())?[0];
        let trace_id: TraceId = trace.parse().map_err(|_| bad())?;
        let observation_id: ObservationId = span.parse().map_err(|_| bad())?;
        Ok(RemoteParent {
            trace_id,
            observation_id,
            sampled: f & 1 == 1,
        })
    }

    /// Renders the W3C `traceparent` header value.
    pub fn to_traceparent(&self) -> String {
        format_traceparent(self.trace_id, self.observation_id, self.sampled)
    }
}

/// The observation a new one attaches to, as its record carries it: the parent's id, and
/// whether the parent is remote (in another process, reached through a `traceparent`: the span
/// flags say so).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ParentRef {
    pub id: ObservationId,
    pub remote: bool,
}

impl ParentRef {
    /// A parent in this process.
    #[inline]
    pub(crate) fn local(id: ObservationId) -> ParentRef {
        ParentRef { id, remote: false }
    }
    /// A parent in another process.
    #[inline]
    pub(crate) fn remote(id: ObservationId) -> ParentRef {
        ParentRef { id, remote: true }
    }
}

pub(crate) fn format_traceparent(t: TraceId, o: ObservationId, sampled: bool) -> String {
    format!("00-{t}-{o}-{}", if sampled { "01" } else { "00" })
}

// ---- fast per-thread id generator ----------------------------------------------------------
//
// Ids must be unique, not secret: a per-thread SplitMix64 seeded once from the OS-seeded
// `RandomState` costs a few nanoseconds, where a `getrandom` call per id would cost a syscall.
//
// `fork` copies the calling thread's state (and `RandomState`'s per-thread keys) into the child,
// which would then draw its parent's next ids. Checking the process id per draw is a syscall, so
// the state is reseeded where that is rare instead: when a client starts, and when a client
// notices it was inherited through `fork` (see `crate::export::queue`). The seed mixes in the
// process id, so children forked from one parent differ from each other too.

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    let tid = format!("{:?}", std::thread::current().id());
    h.write(tid.as_bytes());
    h.write_u32(std::process::id());
    h.finish()
}

/// Seeds this thread's generator afresh (a client starts, or a `fork` was noticed).
pub(crate) fn reseed() {
    let s = seed();
    // Mixed with the current state: a reseed differs from the parent's even if both read the
    // same clock.
    let _ = RNG.try_with(|c| c.set(splitmix(c.get() ^ s).1));
}

/// One step of SplitMix64: the next state and its output.
#[inline]
fn splitmix(s: u64) -> (u64, u64) {
    let s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (s, z ^ (z >> 31))
}

/// Next pseudo-random number of this thread's generator (SplitMix64).
#[inline]
pub(crate) fn next_u64() -> u64 {
    RNG.try_with(|c| {
        let (s, z) = splitmix(c.get());
        c.set(s);
        z
    })
    .unwrap_or_else(|_| splitmix(seed()).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_trace_id_matches_official_sdks() {
        // sha256("test-seed")[..16]; the Python SDK's create_trace_id(seed="test-seed") gives this.
        let expected = {
            let d = Sha256::digest(b"test-seed");
            d[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(create_trace_id("test-seed").to_string(), expected);
        assert_eq!(
            create_trace_id("abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223"
        );
    }

    #[test]
    fn traceparent_roundtrip_and_rejections() {
        let p = RemoteParent::from_traceparent(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        )
        .unwrap();
        assert!(!p.sampled);
        assert_eq!(
            p.to_traceparent(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
        );
        for bad in [
            "",
            "00",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-é0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
        ] {
            assert!(RemoteParent::from_traceparent(bad).is_err(), "{bad}");
        }
        // A future version with extra fields is accepted.
        assert!(RemoteParent::from_traceparent(
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what"
        )
        .is_ok());
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let a = TraceId::random();
        let b = TraceId::random();
        assert!(a.is_valid() && b.is_valid() && a != b);
        let c = ObservationId::random();
        assert!(c.is_valid());
        assert_eq!(c.to_string().len(), 16);
    }
}
