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
//! | nesting deeper than 64 levels (arrays, maps, structs, enum variants, and also `Some` and newtype structs, which add no JSON level) | the string `"<max depth 64 exceeded>"` in place of the deeper value; a value that wraps itself forever ends there |
//! | a value whose `Serialize` fails | the plain text `<unserializable: reason>` |
//! | a value whose `Serialize` or `Debug` panics | the plain text `<unserializable: panicked: message>` (but see `panic = "abort"` below) |
//! | text beyond the capture limit, size known | a prefix, then `…[truncated: N bytes, limit L]` (plain text) |
//! | a value capture stopped walking at the limit | a prefix, then `…[truncated: at least N bytes, limit L]` (plain text) |
//!
//! # Huge values
//!
//! Once the limit is reached, the writer answers the value's `Serialize` with an error of its
//! own (the early stop), so `serde` stops iterating: capturing a 200 MB `Vec<u8>` or a
//! ten-million-element `Vec<u32>` costs the calling thread about what a value of the limit's
//! size costs. The rest is not counted, hence `at least N bytes`. A string is not scanned
//! past the limit either (a nested one is counted at its unescaped size, a lower bound); a
//! top-level string's and a byte buffer's size stay exact, since they are known without
//! walking them. A `Serialize` that turns the early stop into an error of its own still gets
//! the truncation marker, not the unserializable one.
//!
//! # Panics
//!
//! A panicking `Serialize` or `Debug` is caught with `catch_unwind` and becomes the marker
//! above: the observation is still recorded and the application's thread goes on. This needs
//! unwinding. Under `panic = "abort"` (in the profile of the binary being built) nothing can
//! catch a panic: the first panic inside a value's `Serialize` aborts the whole process, as
//! any panic would, and the observation being captured, with everything still queued, is lost.
//! A panic hook runs before unwinding starts: a hook that exits the process (for example
//! `std::process::exit` in a hook installed to fail fast) ends it there, so the observation
//! that panicked is never recorded either, and whatever is queued is delivered only if the
//! hook itself flushes (`langfuse_sdk::flush`), as exit skips the guard of `init`. A hook that
//! only logs and returns is harmless: capture catches the panic after it.

mod escape;
pub(crate) mod pool;
mod serializer;
mod text;
mod writer;

#[cfg(test)]
mod tests;

pub(crate) use escape::push_json_string;
pub(crate) use text::{
    capture_debug, panic_message, prefix_at_boundary, split_marker, truncation_marker, Captured,
    ValueRef,
};
pub(crate) use writer::{capture, capture_append, capture_json_into};
