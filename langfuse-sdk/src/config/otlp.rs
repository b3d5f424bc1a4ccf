//! The standard OpenTelemetry exporter variables, read as any OTel exporter reads them, and the
//! checks of their values (shared by the builder and the environment reader).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | none | full traces URL, used as is (no fragment) |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | none | base URL (no query); `/v1/traces` is appended |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_HEADERS` | none | `k=v,k2=v2`, values URL-decoded; the traces list wins per name |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION`, `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` | `gzip` | `gzip` or `none` |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` | `http/protobuf` | the only one this SDK speaks; any other fails `build()` |
//! | `OTEL_RESOURCE_ATTRIBUTES` | none | `k=v,…` added to the resource (`service.name` only when `OTEL_SERVICE_NAME` is unset) |
//! | `LANGFUSE_OTEL_TRACES_EXPORT_PATH` | `/api/public/otel/v1/traces` | path appended to the base URL when no endpoint is set |
//!
//! With an endpoint set (a collector in between, which adds the credentials), the Langfuse keys
//! are optional: without them no `Authorization` header is sent, and tracing stays on.
//! `docs/COLLECTOR.md` shows a collector configuration that forwards to Langfuse.

use crate::config::options::Config;
use crate::config::validate::Fatal;

/// Reads the OTel variables through `lookup` into `cfg`; unusable values go to `fatal`.
pub(crate) fn read(
    lookup: &dyn Fn(&str) -> Option<String>,
    cfg: &mut Config,
    fatal: &mut Vec<Fatal>,
) {
    let get = |k: &str| {
        lookup(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(v) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        match validate_endpoint(&v) {
            Ok(u) => cfg.traces_endpoint = Some(u),
            Err(e) => fatal.push(Fatal {
                setting: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                message: format!("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not a usable URL: {e}"),
            }),
        }
    } else if let Some(v) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        let full = format!("{}/v1/traces", v.trim_end_matches('/'));
        match validate_base_endpoint(&v).and_then(|_| validate_endpoint(&full)) {
            Ok(u) => cfg.traces_endpoint = Some(u),
            Err(e) => fatal.push(Fatal {
                setting: "OTEL_EXPORTER_OTLP_ENDPOINT",
                message: format!("OTEL_EXPORTER_OTLP_ENDPOINT is not a usable URL: {e}"),
            }),
        }
    }
    for name in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ] {
        let Some(v) = get(name) else { continue };
        let checked = parse_pairs(&v).and_then(|pairs| {
            for (k, v) in &pairs {
                validate_header(k, v)?;
            }
            Ok(pairs)
        });
        match checked {
            Ok(pairs) => {
                for (k, v) in pairs {
                    set_header(&mut cfg.headers, k, v);
                }
            }
            // The value is never shown: headers carry credentials.
            Err(e) => fatal.push(Fatal {
                setting: if name.contains("TRACES") {
                    "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
                } else {
                    "OTEL_EXPORTER_OTLP_HEADERS"
                },
                message: format!("{name} is not a usable header list: {e}"),
            }),
        }
    }
    // The signal's own variable wins, as for every OTLP setting.
    let protocol = [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ]
    .into_iter()
    .find_map(|name| get(name).map(|v| (name, v)));
    if let Some((name, v)) = protocol {
        if !v.eq_ignore_ascii_case("http/protobuf") {
            fatal.push(Fatal {
                setting: name,
                message: format!(
                    "{name}={v:?} is not a protocol this SDK speaks: it sends OTLP over HTTP as \
                     protobuf; set http/protobuf and point the endpoint at the collector's \
                     OTLP/HTTP port (4318 by default, not gRPC's 4317)"
                ),
            });
        }
    }
    for name in [
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    ] {
        let Some(v) = get(name) else { continue };
        match v.to_ascii_lowercase().as_str() {
            "gzip" => cfg.gzip = true,
            "none" => cfg.gzip = false,
            _ => fatal.push(Fatal {
                setting: if name.contains("TRACES") {
                    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
                } else {
                    "OTEL_EXPORTER_OTLP_COMPRESSION"
                },
                message: format!(
                    "{name}={v:?} is not a compression this SDK sends; use gzip or none"
                ),
            }),
        }
    }
    if let Some(v) = get("OTEL_RESOURCE_ATTRIBUTES") {
        match parse_pairs(&v) {
            Ok(pairs) => {
                for (k, v) in pairs {
                    if k == "service.name" {
                        if get("OTEL_SERVICE_NAME").is_none() {
                            cfg.service_name = v;
                        }
                        continue;
                    }
                    cfg.resource_attributes.retain(|(old, _)| *old != k);
                    cfg.resource_attributes.push((k, v));
                }
            }
            Err(e) => fatal.push(Fatal {
                setting: "OTEL_RESOURCE_ATTRIBUTES",
                message: format!("OTEL_RESOURCE_ATTRIBUTES={v:?} is not a list of key=value: {e}"),
            }),
        }
    }
    if let Some(v) = get("LANGFUSE_OTEL_TRACES_EXPORT_PATH") {
        match validate_path(&v) {
            Ok(p) => cfg.traces_path = p,
            Err(e) => fatal.push(Fatal {
                setting: "LANGFUSE_OTEL_TRACES_EXPORT_PATH",
                message: format!(
                    "LANGFUSE_OTEL_TRACES_EXPORT_PATH={v:?} is not a usable path: {e}"
                ),
            }),
        }
    }
}

/// Sets header `name` (case-insensitive) to `value`, replacing an earlier value.
pub(crate) fn set_header(headers: &mut Vec<(String, String)>, name: String, value: String) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
    headers.push((name, value));
}

/// Parses `k=v,k2=v2` (the W3C baggage-like format of the OTel variables): entries trimmed,
/// empty entries skipped, values percent-decoded.
pub(crate) fn parse_pairs(v: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, entry) in v.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((k, val)) = entry.split_once('=') else {
            return Err(format!("entry {} has no '=' (expected key=value)", i + 1));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("entry {} has an empty key", i + 1));
        }
        let val = percent_decode(val.trim())
            .ok_or_else(|| format!("the value of entry {} is not valid URL encoding", i + 1))?;
        out.push((k.to_string(), val));
    }
    Ok(out)
}

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Checks a header name and value as HTTP allows them; the error never shows the value.
pub(crate) fn validate_header(name: &str, value: &str) -> Result<(), String> {
    header_pair(name, value).map(|_| ())
}

/// An extra header as sent: its value marked sensitive (extra headers often carry
/// credentials, and reqwest then keeps them out of `Debug`). The error never shows the value.
pub(crate) fn header_pair(
    name: &str,
    value: &str,
) -> Result<(reqwest::header::HeaderName, reqwest::header::HeaderValue), String> {
    let n = reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a valid header name"))?;
    let mut v = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        format!("the value of header {name:?} has characters a header cannot carry")
    })?;
    v.set_sensitive(true);
    Ok((n, v))
}

/// Checks a full traces URL: http(s), a host, no credentials in it. Kept as given (trimmed).
pub(crate) fn validate_endpoint(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let u = reqwest::Url::parse(raw).map_err(|e| {
        format!(
            "{raw:?} does not parse as a URL ({e}); give e.g. http://otel-collector:4318/v1/traces"
        )
    })?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!("{raw:?} must start with http:// or https://"));
    }
    if u.host_str().map(str::is_empty).unwrap_or(true) {
        return Err(format!("{raw:?} has no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("put credentials in OTEL_EXPORTER_OTLP_HEADERS, not in the URL".into());
    }
    if u.fragment().is_some() {
        return Err(format!(
            "{raw:?} has a fragment ('#…'), which is never sent: remove it"
        ));
    }
    Ok(raw.to_string())
}

/// Checks a base URL that `/v1/traces` is appended to: a full URL's checks, and no query
/// (the path would land inside it).
pub(crate) fn validate_base_endpoint(raw: &str) -> Result<String, String> {
    let checked = validate_endpoint(raw)?;
    if checked.contains('?') {
        return Err(format!(
            "{raw:?} has a query ('?…'): /v1/traces is appended to this base URL; give the \
             full URL in OTEL_EXPORTER_OTLP_TRACES_ENDPOINT instead"
        ));
    }
    Ok(checked)
}

/// Checks a path appended to the base URL: starts with `/`, no query, fragment or whitespace.
pub(crate) fn validate_path(p: &str) -> Result<String, String> {
    let p = p.trim();
    if !p.starts_with('/') {
        return Err("it must start with '/', e.g. /api/public/otel/v1/traces".into());
    }
    if p.contains(['?', '#']) || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it must be a plain path without query, fragment or spaces".into());
    }
    Ok(p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_trimmed_and_decoded() {
        assert_eq!(
            parse_pairs(" a = 1 ,, b=x%20y%3Dz ,c=").unwrap(),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y=z".into()),
                ("c".into(), String::new())
            ]
        );
        assert!(parse_pairs("a").unwrap_err().contains("entry 1"));
        assert!(parse_pairs("=1").is_err());
        assert!(parse_pairs("a=%zz").is_err());
        assert!(parse_pairs("a=%ff").is_err());
    }

    #[test]
    fn endpoints_and_paths() {
        assert_eq!(
            validate_endpoint(" http://c:4318/v1/traces ").unwrap(),
            "http://c:4318/v1/traces"
        );
        assert!(validate_endpoint("c:4318").is_err());
        assert!(validate_endpoint("ftp://c/x").is_err());
        assert!(validate_endpoint("http://u:p@c/x").is_err());
        assert!(validate_endpoint("http://c/x#f").is_err());
        assert!(validate_endpoint("http://c/v1/traces?tenant=a").is_ok());
        assert!(validate_base_endpoint("http://c/otel?tenant=a").is_err());
        assert!(validate_base_endpoint("http://c/otel").is_ok());
        assert_eq!(validate_path("/otel/t").unwrap(), "/otel/t");
        assert!(validate_path("otel").is_err());
        assert!(validate_path("/a?b").is_err());
        assert!(validate_header("x-a", "1").is_ok());
        let e = validate_header("x-a", "sec\nret").unwrap_err();
        assert!(!e.contains("sec"), "{e}");
        assert!(validate_header("bad name", "1").is_err());
    }
}
