//! The `Retry-After` header: seconds or an HTTP date, capped at an hour.
//!
//! The same rules as the SDK's exporter (which keeps its parser private): a number of seconds
//! (fractions allowed, negative or non-finite rejected) or an RFC 2822 / HTTP date, whose wait is
//! the time left until then (zero when it is past). Both are capped at an hour, so a broken or
//! hostile gateway cannot make a caller that honours it wait for days.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest wait returned.
pub(crate) const MAX: Duration = Duration::from_secs(3600);

/// The wait a response's `Retry-After` header asks for, if it has a valid one. LiteLLM passes
/// the provider's header on as `llm_provider-retry-after` (its own `Retry-After` wins).
pub(crate) fn from_headers(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let read = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse(v, Utc::now()))
    };
    read("retry-after").or_else(|| read("llm_provider-retry-after"))
}

/// Parses a header value, dates relative to `now`.
fn parse(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(MAX.as_secs_f64())));
        }
        return None;
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO).min(MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc2822("Fri, 27 Nov 2026 15:53:50 GMT")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn seconds() {
        assert_eq!(parse("7", now()), Some(Duration::from_secs(7)));
        assert_eq!(parse(" 0.5 ", now()), Some(Duration::from_millis(500)));
        assert_eq!(parse("0", now()), Some(Duration::ZERO));
        assert_eq!(parse("86400", now()), Some(MAX), "capped at an hour");
        assert_eq!(parse("1e300", now()), Some(MAX));
        for bad in ["-1", "NaN", "inf", "", "soon", "12 s"] {
            assert_eq!(parse(bad, now()), None, "{bad:?}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse("Fri, 27 Nov 2026 15:54:20 GMT", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse("Fri, 27 Nov 2026 15:50:00 GMT", now()),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(
            parse("Sat, 28 Nov 2026 15:53:50 GMT", now()),
            Some(MAX),
            "capped at an hour"
        );
        assert_eq!(parse("Fri, 31 Nov 2026 15:53:50 GMT", now()), None);
    }

    #[test]
    fn from_response_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(from_headers(&h), None);
        h.insert("retry-after", "12".parse().unwrap());
        assert_eq!(from_headers(&h), Some(Duration::from_secs(12)));
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(from_headers(&h), None);
        h.insert("llm_provider-retry-after", "7".parse().unwrap());
        assert_eq!(
            from_headers(&h),
            Some(Duration::from_secs(7)),
            "LiteLLM's relay"
        );
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(
            from_headers(&h),
            Some(Duration::from_secs(2)),
            "the proxy's own wins"
        );
    }
}
