//! What a server's answer means: which redirects to follow, and whether a 2xx answer is really a
//! delivery (an OTLP or Langfuse answer) or something else that happened to say 200 (a login
//! page, a proxy's error page).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use crate::diag;

/// Redirects followed for one request at most.
const MAX_REDIRECTS: usize = 5;
/// Bytes of an answer's body kept (the rest is not needed to judge it).
pub(crate) const MAX_BODY: usize = 1 << 20;

/// A 2xx answer: its status, content type and (the start of) its body.
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What an answer to an OTLP traces request says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Traces {
    /// Delivered, but the server rejected `rejected` spans (0: all accepted); `message` is its
    /// explanation, if it gave one.
    Delivered {
        rejected: u64,
        message: Option<String>,
    },
    /// Not an OTLP or Langfuse answer: nothing can be said to have arrived.
    NotOtlp(String),
}

/// What an answer to a score (ingestion) batch says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scores {
    /// Delivered; these events were refused (the ingestion API's per-event `errors`).
    Delivered { errors: Vec<serde_json::Value> },
    /// Not an answer of the ingestion API.
    NotIngestion(String),
}

/// Follows only redirects that resend the same request (307, 308) to the same origin. Others are
/// answers of their own (see [`redirect_problem`]): reqwest would replay a POST redirected by
/// 301/302/303 as a GET without its body, so a login page's 200 would look like a delivery; and
/// to another origin it would drop the credentials.
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let resends = matches!(attempt.status().as_u16(), 307 | 308);
        let same_origin = attempt
            .previous()
            .last()
            .is_some_and(|p| p.origin() == attempt.url().origin());
        if resends && same_origin && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Why a redirect (a 3xx answer the policy did not follow) is not a delivery, naming where it
/// pointed.
pub(crate) fn redirect_problem(status: u16, location: Option<&str>) -> String {
    let to = location.map_or_else(
        || "without a Location".to_string(),
        |l| format!("to {}", diag::truncate_for_log(l)),
    );
    let why = match status {
        301..=303 => {
            "not followed: it would resend the request as a GET without its body \
             (a login page or proxy in front of Langfuse?)"
        }
        307 | 308 => "not followed: it leads to another origin, or redirects again",
        _ => "not followed",
    };
    format!(
        "HTTP {status} redirect {to} {why}; set LANGFUSE_BASE_URL to the Langfuse server's address"
    )
}

/// Judges a 2xx answer to an OTLP traces request. OTLP answers `ExportTraceServiceResponse` in
/// protobuf (an empty body is an empty message) or JSON; Langfuse answers a JSON object about its
/// queue job. Anything else (an HTML page, text) is not a delivery.
pub(crate) fn traces(a: &Answer) -> Traces {
    if a.body.iter().all(u8::is_ascii_whitespace) && !is_kind(a, "text/html") {
        return Traces::Delivered {
            rejected: 0,
            message: None,
        };
    }
    if is_kind(a, "protobuf") {
        return match ExportTraceServiceResponse::decode(&a.body[..]) {
            Ok(r) => {
                let p = r.partial_success.unwrap_or_default();
                Traces::Delivered {
                    rejected: u64::try_from(p.rejected_spans).unwrap_or(0),
                    message: Some(p.error_message).filter(|m| !m.is_empty()),
                }
            }
            Err(e) => Traces::NotOtlp(format!(
                "the protobuf body is not an OTLP ExportTraceServiceResponse ({e}): {}",
                describe(a)
            )),
        };
    }
    match json_object(a) {
        Some(o) => {
            let p = o.get("partialSuccess").or_else(|| o.get("partial_success"));
            let field = |camel: &str, snake: &str| p.and_then(|p| p.get(camel).or(p.get(snake)));
            Traces::Delivered {
                rejected: field("rejectedSpans", "rejected_spans").map_or(0, json_count),
                message: field("errorMessage", "error_message")
                    .and_then(|m| m.as_str())
                    .filter(|m| !m.is_empty())
                    .map(str::to_string),
            }
        }
        None => Traces::NotOtlp(format!("not an OTLP answer: {}", describe(a))),
    }
}

/// Judges a 2xx answer to a score batch: the ingestion API answers a JSON object (207 with
/// `successes` and `errors`).
pub(crate) fn scores(a: &Answer) -> Scores {
    // The API's answer (`IngestionResponse`) always has both lists: any other JSON object (a
    // gateway's `{"error": "quota"}`) says nothing was ingested.
    let lists = json_object(a).and_then(|o| {
        let errors = o.get("errors")?.as_array()?.clone();
        o.get("successes")?.as_array()?;
        Some(errors)
    });
    match lists {
        Some(errors) => Scores::Delivered { errors },
        None => Scores::NotIngestion(format!(
            "not an answer of Langfuse's ingestion API: {}",
            describe(a)
        )),
    }
}

/// The answer in a log line: status, content type and the body's start.
pub(crate) fn describe(a: &Answer) -> String {
    let body = String::from_utf8_lossy(&a.body);
    format!(
        "HTTP {} ({}): {:?}",
        a.status,
        a.content_type.as_deref().unwrap_or("no content type"),
        diag::truncate_for_log(body.trim())
    )
}

/// True when the content type names `kind` (`protobuf` also matches `application/x-protobuf`).
fn is_kind(a: &Answer, kind: &str) -> bool {
    a.content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().contains(kind))
}

/// The body as a JSON object, unless the content type says it is something else.
pub(crate) fn json_object(a: &Answer) -> Option<serde_json::Map<String, serde_json::Value>> {
    let declared_other = a
        .content_type
        .as_deref()
        .is_some_and(|c| !c.to_ascii_lowercase().contains("json"));
    if declared_other {
        return None;
    }
    match serde_json::from_slice(&a.body) {
        Ok(serde_json::Value::Object(o)) => Some(o),
        _ => None,
    }
}

/// A count in proto3 JSON: a number or (int64) a string of digits.
fn json_count(v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::String(s) => s.trim().parse().unwrap_or(0),
        v => v.as_u64().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;

    fn answer(ct: Option<&str>, body: &[u8]) -> Answer {
        Answer {
            status: 200,
            content_type: ct.map(str::to_string),
            body: body.to_vec(),
        }
    }
    fn delivered(rejected: u64, message: Option<&str>) -> Traces {
        Traces::Delivered {
            rejected,
            message: message.map(str::to_string),
        }
    }

    #[test]
    fn otlp_and_langfuse_answers_are_deliveries() {
        let pb = "application/x-protobuf";
        assert_eq!(traces(&answer(Some(pb), b"")), delivered(0, None));
        assert_eq!(traces(&answer(None, b"")), delivered(0, None));
        assert_eq!(traces(&answer(None, b"{}")), delivered(0, None));
        let json = Some("application/json; charset=utf-8");
        assert_eq!(traces(&answer(json, b"{}")), delivered(0, None));
        let job = br#"{"name":"otel-ingestion-job","data":{"id":"4706"},"id":"6"}"#;
        assert_eq!(traces(&answer(json, job)), delivered(0, None));
        let partial = br#"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}}"#;
        assert_eq!(
            traces(&answer(json, partial)),
            delivered(2, Some("too old"))
        );
        let snake = br#"{"partial_success":{"rejected_spans":3}}"#;
        assert_eq!(traces(&answer(json, snake)), delivered(3, None));
        let body = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 4,
                error_message: "quota".into(),
            }),
        }
        .encode_to_vec();
        assert_eq!(
            traces(&answer(Some(pb), &body)),
            delivered(4, Some("quota"))
        );
    }

    #[test]
    fn pages_and_garbage_are_not_deliveries() {
        let html = b"<!DOCTYPE html><html><body>Sign in</body></html>";
        for ct in [
            Some("text/html; charset=utf-8"),
            None,
            Some("application/json"),
        ] {
            match traces(&answer(ct, html)) {
                Traces::NotOtlp(m) => assert!(m.contains("Sign in"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            traces(&answer(Some("text/html"), b"")),
            Traces::NotOtlp(_)
        ));
        assert!(matches!(
            traces(&answer(None, b"[1,2]")),
            Traces::NotOtlp(_)
        ));
        // A field number and wire type protobuf cannot have.
        let garbage = [0x0f, 0xff, 0xff];
        assert!(matches!(
            traces(&answer(Some("application/x-protobuf"), &garbage)),
            Traces::NotOtlp(_)
        ));
        let long = "x".repeat(10_000);
        match traces(&answer(Some("text/plain"), long.as_bytes())) {
            Traces::NotOtlp(m) => assert!(m.len() < 600, "{}", m.len()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn score_answers() {
        let json = Some("application/json");
        let ok = br#"{"successes":[{"id":"a","status":201}],"errors":[]}"#;
        assert_eq!(
            scores(&answer(json, ok)),
            Scores::Delivered { errors: vec![] }
        );
        let bad = br#"{"successes":[],"errors":[{"id":"a","status":400}]}"#;
        match scores(&answer(json, bad)) {
            Scores::Delivered { errors } => assert_eq!(errors.len(), 1),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            scores(&answer(Some("text/html"), b"<html></html>")),
            Scores::NotIngestion(_)
        ));
        // JSON, but not the ingestion API's answer: nothing was ingested.
        for other in [
            &br#"{"error":"quota exceeded"}"#[..],
            br#"{}"#,
            br#"{"successes":[]}"#,
            br#"{"successes":{},"errors":[]}"#,
        ] {
            assert!(
                matches!(scores(&answer(json, other)), Scores::NotIngestion(_)),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn redirect_problems_name_the_location() {
        let m = redirect_problem(302, Some("https://sso.example.com/login?next=%2F"));
        assert!(m.contains("https://sso.example.com/login?next=%2F"), "{m}");
        assert!(m.contains("GET without its body"), "{m}");
        assert!(redirect_problem(308, None).contains("without a Location"));
    }
}
