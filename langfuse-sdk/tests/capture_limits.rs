//! Issue 21 ("nothing lost silently, nothing recorded falsely"), decoded from what is sent:
//! self-wrapping values end at the depth marker, huge values stop being walked at the limit,
//! and the size guard keeps every field of an observation under `max_observation_bytes`.
#![cfg(feature = "testing")]

use std::cell::Cell;
use std::time::Duration;

use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::{Langfuse, LangfuseBuilder, Level, TraceAttributes, UsageDetails};
use prost::Message;
use serde::Serialize;

const T: Duration = Duration::from_secs(30);

fn setup(b: LangfuseBuilder) -> (Langfuse, InMemoryExporter) {
    let exp = InMemoryExporter::new();
    (b.in_memory_exporter(exp.clone()).build().unwrap(), exp)
}

/// `Some` of itself, forever (built lazily, as a recursive `Serialize`).
struct Forever;
impl Serialize for Forever {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_some(&Wrapper(self))
    }
}
/// A newtype of the value it wraps.
struct Wrapper<'a>(&'a Forever);
impl Serialize for Wrapper<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct("Wrapper", self.0)
    }
}

#[test]
fn capture_self_wrapping_value_ends_with_the_depth_marker() {
    let (lf, exp) = setup(Langfuse::builder());
    lf.span("forever").input(&Forever).start().end();
    let o = lf.span("forever-output").start();
    o.set_output(&vec![Forever]);
    o.end();
    lf.flush(T).unwrap();
    let spans = exp.spans();
    let input = spans[0].attr_str("langfuse.observation.input").unwrap();
    assert_eq!(input, "\"<max depth 64 exceeded>\"");
    let output = spans[1].attr_json("langfuse.observation.output").unwrap();
    assert_eq!(output, serde_json::json!(["<max depth 64 exceeded>"]));
}

/// Ten million elements, counting those `serde` was made to visit.
struct Huge<'a>(&'a Cell<usize>);
impl Serialize for Huge<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..10_000_000u32).inspect(|_| self.0.set(self.0.get() + 1)))
    }
}

#[test]
fn capture_of_a_huge_value_stops_walking_it_at_the_limit() {
    let (lf, exp) = setup(Langfuse::builder().max_observation_bytes(100_000));
    let visited = Cell::new(0);
    lf.span("huge").input(&Huge(&visited)).start().end();
    // The field limit is 90% of the observation limit; each element takes at least 2 bytes.
    assert!(
        visited.get() <= 45_001,
        "visited {} elements",
        visited.get()
    );
    // A 200 MB byte vector, the same way.
    let bytes = vec![7u8; 200 * 1024 * 1024];
    let o = lf.span("bytes").start();
    o.set_output(&bytes);
    drop(bytes);
    o.end();
    lf.flush(T).unwrap();
    let spans = exp.spans();
    let input = spans[0].attr_str("langfuse.observation.input").unwrap();
    assert!(input.starts_with("[0,1,2,3,"), "{}", &input[..20]);
    assert!(
        input.ends_with(" bytes, limit 90000]") && input.contains("…[truncated: at least "),
        "{}",
        &input[input.len() - 60..]
    );
    let output = spans[1].attr_str("langfuse.observation.output").unwrap();
    assert!(output.len() < 90_100, "{}", output.len());
    assert!(output.contains("…[truncated: at least "));
}

#[langfuse_sdk::observe]
fn takes_counted(counted: &Huge<'_>, n: u32) -> usize {
    counted.0.get() + n as usize
}

#[langfuse_sdk::observe]
fn takes_bytes(bytes: &Vec<u8>) -> usize {
    bytes.len()
}

/// A value with only `Debug`, whose text is 640 MB written in 64-byte pieces, counted.
struct Chatty<'a>(&'a Cell<u32>);
impl std::fmt::Debug for Chatty<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for _ in 0..10_000_000 {
            self.0.set(self.0.get() + 1);
            f.write_str("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")?;
        }
        Ok(())
    }
}

#[langfuse_sdk::observe]
fn takes_chatty(chatty: &Chatty<'_>) -> u32 {
    chatty.0.get()
}

#[test]
fn capture_of_huge_observe_arguments_stops_at_the_limit() {
    // The only test of this file that uses the global client.
    let exp = InMemoryExporter::new();
    let _guard = langfuse_sdk::init_with(
        Langfuse::builder()
            .in_memory_exporter(exp.clone())
            .max_observation_bytes(100_000)
            .build()
            .unwrap(),
    );
    let visited = Cell::new(0);
    takes_counted(&Huge(&visited), 7);
    assert!(
        visited.get() <= 45_001,
        "visited {} elements",
        visited.get()
    );
    // Captured through `Debug`: formatting stops at the limit too.
    let written = Cell::new(0);
    takes_chatty(&Chatty(&written));
    assert!(
        written.get() <= 90_000 / 64 + 1,
        "wrote {} pieces",
        written.get()
    );
    let bytes = vec![1u8; 200 * 1024 * 1024];
    takes_bytes(&bytes);
    drop(bytes);
    langfuse_sdk::flush(T).unwrap();
    let spans = exp.spans();
    for (name, arg) in [
        ("takes_counted", "counted"),
        ("takes_bytes", "bytes"),
        ("takes_chatty", "chatty"),
    ] {
        let s = spans.iter().find(|s| s.name() == name).unwrap();
        let input = s.attr_json("langfuse.observation.input").unwrap();
        let v = input[arg]
            .as_str()
            .unwrap_or_else(|| panic!("{arg}: {input}"));
        assert!(v.contains("…[truncated: at least "), "{arg}");
        assert!(v.len() < 90_100, "{arg}: {}", v.len());
        if arg == "chatty" {
            assert!(v.starts_with("0123456789abcdef"), "{}", &v[..40]);
            assert!(
                v.ends_with(" bytes, limit 90000]"),
                "{}",
                &v[v.len() - 60..]
            );
        }
        if arg == "counted" {
            assert_eq!(input["n"], 7, "the other argument is kept");
        }
    }
}

#[test]
fn capture_size_guard_covers_every_field_and_sends_the_status_once() {
    let limit = 100_000;
    let (lf, exp) = setup(Langfuse::builder().max_observation_bytes(limit));
    let huge = "n".repeat(2_000_000);
    let mut usage = UsageDetails::new().input(1);
    for i in 0..20_000 {
        usage = usage.with(format!("key-{i:05}-{}", "k".repeat(40)), i);
    }
    let o = lf.generation(huge.clone()).start();
    o.set_level(Level::Error)
        .set_status_message("s".repeat(2_000_000))
        .set_model("m".repeat(2_000_000))
        .set_version("v".repeat(2_000_000))
        .set_prompt("p".repeat(2_000_000), 1)
        .set_usage_details(usage)
        .update_trace(
            TraceAttributes::new()
                .input(&"t".repeat(500_000))
                .tags((0..256).map(|i| format!("{i:03}{}", "g".repeat(190)))),
        )
        .set_input("small input");
    o.end();
    lf.flush(T).unwrap();
    let spans = exp.spans();
    assert_eq!(spans.len(), 1, "the observation is sent");
    let s = &spans[0];
    let size = s.span.encoded_len();
    assert!(size <= limit, "span of {size} bytes, limit {limit}");
    let marker = format!(" bytes, limit {limit}]");
    assert!(
        s.name().starts_with("nnnn") && s.name().ends_with(&marker),
        "{}",
        s.name()
    );
    assert!(s.name().contains("…[truncated: 2000000 bytes"));
    for key in [
        "langfuse.observation.status_message",
        "langfuse.observation.model.name",
        "langfuse.version",
        "langfuse.observation.prompt.name",
        "langfuse.observation.usage_details",
        "langfuse.trace.input",
    ] {
        let v = s.attr_str(key).unwrap_or_else(|| panic!("{key} missing"));
        assert!(v.contains("…[truncated: ") && v.ends_with(&marker), "{key}");
    }
    assert_eq!(
        s.attr_str("langfuse.observation.input"),
        Some("small input")
    );
    assert_eq!(s.attr_str("langfuse.observation.level"), Some("ERROR"));
    // The status message goes once: as the attribute, the span status only says ERROR.
    assert_eq!(s.status_code(), 2);
    assert_eq!(s.status_message(), "");
}
