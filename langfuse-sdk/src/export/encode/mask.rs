//! The user's mask over input, output and metadata, run before a value is sent.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::capture::{Captured, ValueRef};
use crate::config::options::MaskFn;
use crate::diag;
use crate::fields::MetaEntry;

/// What replaces a value whose mask failed.
pub(crate) const MASK_FAILED: &str = "<fully masked: the mask function failed>";

/// The value's text as sent, after the mask (if any).
#[inline]
pub(crate) fn value<'a>(mask: Option<&MaskFn>, v: ValueRef<'a>) -> Cow<'a, str> {
    match mask {
        None => Cow::Borrowed(v.text),
        Some(m) => Cow::Owned(masked(m, v)),
    }
}

fn masked(m: &MaskFn, v: ValueRef<'_>) -> String {
    match run_mask(m, v.to_captured().to_json_value()) {
        Some(v) => Captured::from_json_value(v).into_string(),
        None => MASK_FAILED.to_string(),
    }
}

/// Merged, masked metadata as (key, JSON text) pairs in insertion order.
pub(crate) fn metadata(mask: Option<&MaskFn>, entries: &[MetaEntry]) -> Vec<(String, String)> {
    if entries.is_empty() {
        return Vec::new();
    }
    let mut map = serde_json::Map::new();
    for e in entries {
        match e {
            MetaEntry::Object(c) => match c.to_json_value() {
                serde_json::Value::Object(o) => map.extend(o),
                other => {
                    map.insert("value".into(), other);
                }
            },
            MetaEntry::Key(k, c) => {
                map.insert(k.clone(), c.to_json_value());
            }
        }
    }
    let mut value = serde_json::Value::Object(map);
    if let Some(m) = mask {
        value = run_mask(m, value).unwrap_or_else(|| serde_json::json!({ "masked": MASK_FAILED }));
    }
    match value {
        serde_json::Value::Object(o) => o.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        other => vec![("value".into(), other.to_string())],
    }
}

/// Runs the user's mask; `None` when it failed or panicked.
pub(crate) fn run_mask(m: &MaskFn, v: serde_json::Value) -> Option<serde_json::Value> {
    match catch_unwind(AssertUnwindSafe(|| m(v))) {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            diag::debug(|| format!("mask function failed: {e}"));
            None
        }
        Err(_) => {
            diag::debug(|| "mask function panicked".to_string());
            None
        }
    }
}
