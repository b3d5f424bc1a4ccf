//! Capturing user values (`Serialize`) into the text that goes on the wire.
//!
//! A small JSON writer of our own instead of `serde_json::to_string`, because capture must never
//! fail or explode on odd values, and serde_json has no hook for that:
//!
//! | value | rendering |
//! |---|---|
//! | a string at the top level | the plain text, unquoted (as the official SDKs send it) |
//! | anything else `Serialize` | JSON text |
//! | `NaN`, `inf`, `-inf` | the JSON strings `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | integers beyond ±2^53 (incl. `i128`/`u128`) | a JSON string of the exact digits (JavaScript would round them) |
//! | bytes (`serialize_bytes`) | the string `"base64:<data>"` |
//! | non-string map keys | their JSON text as the key (`1`, `true`, `[1,2]`) |
//! | nesting deeper than 64 levels | the string `"<max depth 64 exceeded>"` in place of the deeper value |
//! | a value whose `Serialize` fails | the plain text `<unserializable: reason>` |
//! | a value whose `Serialize` or `Debug` panics | the plain text `<unserializable: panicked: message>` |
//! | text beyond the capture limit | a prefix, then `…[truncated: N bytes, limit L]` (plain text) |

mod escape;
pub(crate) mod pool;
mod serializer;
mod text;
mod writer;

#[cfg(test)]
mod tests;

pub(crate) use escape::push_json_string;
pub(crate) use text::{
    debug_text, panic_message, prefix_at_boundary, split_marker, truncation_marker, Captured,
    ValueRef,
};
pub(crate) use writer::{capture, capture_append, capture_json_into};
