//! `{{variable}}` substitution exactly as the official Python SDK does it (5.0.4 / 5.2.0), and
//! Python's `str()` of JSON values, which is how that SDK renders a non-string variable.
//!
//! Rules (checked against the 54 recorded cases in `tests/fixtures/api/compile-cases-*.json`):
//! - A variable is the text between `{{` and the next `}}`, trimmed of whitespace as Python's
//!   `str.strip()` does; no escaping, sections, filters or dotted paths.
//! - One left-to-right pass; inserted values are never scanned again.
//! - A variable without a value stays verbatim (`{{ name }}`), without error.
//! - Values: strings as they are, `null` as the empty string, everything else as Python `str()`
//!   would print it (`True`, `42`, `0.30000000000000004`, `{'a': [1, 2]}`).
//!
//! Where we differ: objects print their keys in `serde_json::Map` order (sorted by key unless
//! serde_json's `preserve_order` feature is on; Python keeps insertion order), and only ASCII
//! control characters are escaped in Python-style string reprs (Python also escapes other
//! non-printable code points).

use std::collections::HashMap;

use serde_json::Value;

/// Python's `str.isspace()`: Rust's whitespace plus the ASCII separators 0x1C–0x1F.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Substitutes `{{name}}` with `vars[name]`; unknown names stay as written.
pub(crate) fn compile_template(template: &str, vars: &HashMap<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    loop {
        let Some(start) = rest.find("{{") else {
            out.push_str(rest);
            break;
        };
        let Some(len) = rest[start + 2..].find("}}") else {
            out.push_str(rest);
            break;
        };
        let end = start + 2 + len;
        out.push_str(&rest[..start]);
        let name = rest[start + 2..end].trim_matches(py_space);
        match vars.get(name) {
            Some(v) => out.push_str(&py_str(v)),
            None => out.push_str(&rest[start..end + 2]),
        }
        rest = &rest[end + 2..];
    }
    out
}

/// The variable names of a template in order, duplicates included (Python's `.variables`).
pub(crate) fn template_variables(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let end = start + 2 + len;
        names.push(rest[start + 2..end].trim_matches(py_space).to_string());
        rest = &rest[end + 2..];
    }
    names
}

/// Python's `str(value)` for a variable: strings unquoted, `null` empty, the rest as `repr`.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => {
            let mut out = String::new();
            py_repr(other, &mut out);
            out
        }
    }
}

fn py_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if n.is_f64() {
                out.push_str(&py_float(n.as_f64().unwrap_or(f64::NAN)));
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => py_str_repr(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_str_repr(k, out);
                out.push_str(": ");
                py_repr(x, out);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits; exponent form below 1e-4 and from 1e16.
fn py_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "nan".into()
        } else if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "3.0000000000000004e-1".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let m = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`.
fn py_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_as_python_repr() {
        for (f, s) in [
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789012345.6, "123456789012345.6"),
            (1e22, "1e+22"),
        ] {
            assert_eq!(py_float(f), s, "{f}");
        }
    }

    #[test]
    fn values_print_as_python_str() {
        assert_eq!(
            py_str(&json!({"a": 1, "b": [1, 2], "c": null, "d": "x"})),
            "{'a': 1, 'b': [1, 2], 'c': None, 'd': 'x'}"
        );
        assert_eq!(
            py_str(&json!(["it's", "say \"hi\"", "a\nb"])),
            "[\"it's\", 'say \"hi\"', 'a\\nb']"
        );
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(null)), "");
    }

    #[test]
    fn variables_are_listed_in_order() {
        assert_eq!(
            template_variables("{{a}} {{ b }} {{a}} {{c"),
            ["a", "b", "a"]
        );
    }
}
