//! Checks of configuration values, shared by the builder and the environment reader.

/// A variable whose value makes the configuration unusable: `build()` fails with it, so a client
/// from the environment records nothing (with one warning) rather than send elsewhere.
#[derive(Clone, Debug)]
pub(crate) struct Fatal {
    /// The setting, as `Error::setting` names it.
    pub setting: &'static str,
    /// What is wrong, naming the variable as it was spelled.
    pub message: String,
}

pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Checks a public or secret key: it goes into an HTTP header, so it must be printable ASCII
/// without whitespace (a key copied from a file with its newline, or with a space inside, is
/// refused here rather than making every request fail).
pub(crate) fn validate_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(c) = key.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "it contains {}; copy the key without spaces, newlines or quotes around it",
            match c {
                '\n' | '\r' => "a line break".to_string(),
                c if c.is_whitespace() => "whitespace".to_string(),
                c => format!("the character {c:?}"),
            }
        ));
    }
    Ok(())
}

/// Checks an environment name as the server does: `^(?!langfuse)[a-z0-9-_]+$`, at most 40 chars.
pub(crate) fn validate_environment(env: &str) -> Result<(), String> {
    if env.is_empty() || env.len() > 40 {
        return Err("it must be 1 to 40 characters".into());
    }
    if env.starts_with("langfuse") {
        return Err("names starting with \"langfuse\" are reserved".into());
    }
    if !env
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(
            "use only lowercase letters, digits, '-' and '_' (for example \"production\")".into(),
        );
    }
    Ok(())
}

/// Parses and normalises a base URL: http(s), a host, no trailing slash.
pub(crate) fn validate_base_url(raw: &str) -> Result<String, String> {
    let u = reqwest::Url::parse(raw.trim()).map_err(|e| {
        format!(
            "{raw:?} does not parse as a URL ({e}); give scheme and host, e.g. https://cloud.langfuse.com"
        )
    })?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!("{raw:?} must start with http:// or https://"));
    }
    if u.host_str().map(str::is_empty).unwrap_or(true) {
        return Err(format!("{raw:?} has no host"));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!(
            "{raw:?} has a query or fragment; give the server's base URL only, e.g. https://cloud.langfuse.com"
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(
            "put credentials in LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY, not in the URL".into(),
        );
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}
