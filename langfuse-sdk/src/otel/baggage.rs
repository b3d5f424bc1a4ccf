//! Trace attributes as a W3C `baggage` header, under the keys the official SDKs use
//! (`propagate_attributes(..., as_baggage=True)` in Python): `langfuse_user_id`,
//! `langfuse_session_id`, `langfuse_version`, `langfuse_trace_name`, `langfuse_tags` and
//! `langfuse_metadata_<key>`.

use std::fmt::Write as _;

use crate::attributes::TraceAttributes;
use crate::capture::Captured;
use crate::context::Context;

/// The prefix of every baggage key this module writes or reads.
pub const BAGGAGE_PREFIX: &str = "langfuse_";

/// The W3C limits: a header of at most 8192 bytes and 180 list members.
const MAX_HEADER: usize = 8192;
const MAX_MEMBERS: usize = 180;

/// Writes `attrs` as a W3C `baggage` header value (empty when there is nothing to send).
///
/// Carried: user id, session id, version, trace name, tags (comma-separated in one entry; tags
/// that contain a comma are left out) and metadata (one `langfuse_metadata_<key>` entry each,
/// its value as text: a string as is, other values as their JSON; [`from_baggage`] reads every
/// value back as a string, as the official SDKs' metadata are). Values are percent-encoded.
/// Release, environment, `public`, input and output stay in this process, as in the official
/// SDKs. Entries that would take the header over the W3C limits (8192 bytes, 180 members) are
/// left out.
///
/// ```
/// use langfuse_sdk::TraceAttributes;
/// let attrs = TraceAttributes::new().user_id("user 1").session_id("s-1");
/// let header = langfuse_sdk::otel::to_baggage(&attrs);
/// assert_eq!(header, "langfuse_user_id=user%201,langfuse_session_id=s-1");
/// let back = langfuse_sdk::otel::from_baggage(&header);
/// assert_eq!(back.user_id_ref(), Some("user 1"));
/// assert_eq!(back.session_id_ref(), Some("s-1"));
/// ```
pub fn to_baggage(attrs: &TraceAttributes) -> String {
    let mut out = Baggage::default();
    let fixed = [
        ("user_id", attrs.user_id.as_deref()),
        ("session_id", attrs.session_id.as_deref()),
        ("version", attrs.version.as_deref()),
        ("trace_name", attrs.name.as_deref()),
    ];
    for (key, value) in fixed {
        if let Some(v) = value {
            out.push(key, v);
        }
    }
    let tags: Vec<&str> = attrs
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| !t.contains(','))
        .collect();
    if !tags.is_empty() {
        out.push("tags", &tags.join(","));
    }
    for (key, value) in &attrs.metadata {
        let text = match value {
            Captured::Json(j) => serde_json::from_str::<String>(j).ok(),
            Captured::Text(_) => None,
        };
        let text = text.as_deref().unwrap_or(value.as_str());
        out.push(&format!("metadata_{key}"), text);
    }
    out.header
}

/// [`to_baggage`] of the trace attributes in scope on this thread (propagated, plus those set
/// through the current observation), for an outgoing request's `baggage` header.
pub fn current_baggage() -> String {
    to_baggage(&Context::current().trace_attributes())
}

/// Reads the `langfuse_…` entries of a W3C `baggage` header into trace attributes (see
/// [`to_baggage`] for the keys). Other entries, entry properties (after `;`) and malformed
/// members are ignored; values go through the same limits as the [`TraceAttributes`] setters.
///
/// Put the result in scope with [`propagate_attributes`](crate::propagate_attributes) or
/// [`Context::with_attributes`]; with the `traceparent` of the same request:
///
/// ```
/// use langfuse_sdk::Context;
/// # fn main() -> Result<(), langfuse_sdk::Error> {
/// let (traceparent, baggage) = (
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
///     "langfuse_user_id=user-1,langfuse_session_id=s-1",
/// );
/// let incoming = Context::from_traceparent(traceparent)?
///     .with_attributes(langfuse_sdk::otel::from_baggage(baggage));
/// assert_eq!(incoming.trace_attributes().user_id_ref(), Some("user-1"));
/// let _in_request = incoming.attach(); // observations started here join the caller's trace
/// # Ok(()) }
/// ```
pub fn from_baggage(header: &str) -> TraceAttributes {
    let mut attrs = TraceAttributes::new();
    for member in header.split(',') {
        let entry = member.split(';').next().unwrap_or("");
        let Some((key, value)) = entry.split_once('=') else {
            continue;
        };
        let key = percent_decode(key.trim());
        let Some(key) = key.strip_prefix(BAGGAGE_PREFIX) else {
            continue;
        };
        attrs = with_entry(attrs, key, &percent_decode(value.trim()));
    }
    attrs
}

/// `attrs` with one baggage entry (its key without [`BAGGAGE_PREFIX`], its value decoded) set;
/// unchanged for a key that is not one of [`to_baggage`]'s.
fn with_entry(attrs: TraceAttributes, key: &str, value: &str) -> TraceAttributes {
    match key {
        "user_id" => attrs.user_id(value),
        "session_id" => attrs.session_id(value),
        "version" => attrs.version(value),
        "trace_name" => attrs.name(value),
        "tags" => attrs.tags(value.split(',').filter(|t| !t.is_empty())),
        k => match k.strip_prefix("metadata_") {
            Some(m) if !m.is_empty() => attrs.metadata(m, value),
            _ => attrs,
        },
    }
}

/// The trace attributes of the `langfuse_…` entries of `cx`'s OpenTelemetry baggage (what a
/// `BaggagePropagator` read from an incoming request), as [`from_baggage`] reads them from a
/// header.
pub(crate) fn otel_baggage_attributes(cx: &opentelemetry::Context) -> TraceAttributes {
    use opentelemetry::baggage::BaggageExt as _;
    let mut attrs = TraceAttributes::new();
    for (key, (value, _)) in cx.baggage() {
        if let Some(k) = key.as_str().strip_prefix(BAGGAGE_PREFIX) {
            attrs = with_entry(attrs, k, value.as_str());
        }
    }
    attrs
}

#[derive(Default)]
struct Baggage {
    header: String,
    members: usize,
}

impl Baggage {
    /// Appends `langfuse_<key>=<value>`, unless that would break the W3C limits.
    fn push(&mut self, key: &str, value: &str) {
        if self.members >= MAX_MEMBERS {
            return;
        }
        let mut member = String::with_capacity(BAGGAGE_PREFIX.len() + key.len() + value.len() + 1);
        member.push_str(BAGGAGE_PREFIX);
        percent_encode(key, &mut member);
        member.push('=');
        percent_encode(value, &mut member);
        let sep = usize::from(!self.header.is_empty());
        if self.header.len() + sep + member.len() > MAX_HEADER {
            return;
        }
        if sep == 1 {
            self.header.push(',');
        }
        self.header.push_str(&member);
        self.members += 1;
    }
}

/// Percent-encodes every byte but the unreserved characters of RFC 3986 (a subset of what
/// both W3C baggage keys and values allow as is).
fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Decodes `%XX` escapes; a malformed escape stays as it is, and bytes that do not make UTF-8
/// become U+FFFD.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h << 4) | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding_round_trips_and_keeps_malformed_escapes() {
        let mut e = String::new();
        percent_encode("a b,c=d;é%", &mut e);
        assert_eq!(e, "a%20b%2Cc%3Dd%3B%C3%A9%25");
        assert_eq!(percent_decode(&e), "a b,c=d;é%");
        assert_eq!(percent_decode("50%"), "50%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%41"), "A");
    }

    #[test]
    fn header_stays_within_the_w3c_size_limit() {
        let mut attrs = TraceAttributes::new();
        for i in 0..100 {
            attrs = attrs.metadata(format!("k{i}"), &"x".repeat(150));
        }
        let h = to_baggage(&attrs);
        assert!(h.len() <= MAX_HEADER, "{}", h.len());
        assert!(h.split(',').count() < 100);
        assert_eq!(from_baggage(&h).metadata.len(), h.split(',').count());
    }
}
