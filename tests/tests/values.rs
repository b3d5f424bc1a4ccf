//! Bad values never break the host: markers instead of crashes, masking that cannot leak, size
//! limits, and the secret key never shown anywhere.

use std::time::Duration;

use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::Langfuse;
use langfuse_tests::{CaptureServer, Fault};
use serde_json::json;

const T: Duration = Duration::from_secs(10);

fn setup(b: langfuse_sdk::LangfuseBuilder) -> (Langfuse, InMemoryExporter) {
    let exp = InMemoryExporter::new();
    (b.in_memory_exporter(exp.clone()).build().unwrap(), exp)
}

struct Unserializable;
impl serde::Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a socket cannot be serialised"))
    }
}

#[test]
fn odd_values_get_markers_and_the_span_still_arrives() {
    let (lf, exp) = setup(Langfuse::builder());
    let o = lf.span("odd").input(&Unserializable).start();
    o.set_output(&json!({"x": 1}));
    o.set_output(&vec![f64::NAN, f64::INFINITY]);
    o.set_metadata(&json!({"big": u64::MAX, "bytes": serde_bytes_like()}));
    o.end();
    lf.flush(T).unwrap();
    let s = &exp.spans()[0];
    assert_eq!(
        s.attr_str("langfuse.observation.input"),
        Some("<unserializable: a socket cannot be serialised>")
    );
    assert_eq!(
        s.attr_str("langfuse.observation.output"),
        Some(r#"["NaN","Infinity"]"#)
    );
    // Beyond 2^53 integers travel as strings so JavaScript cannot round them.
    assert_eq!(
        s.attr_str("langfuse.observation.metadata.big"),
        Some("\"18446744073709551615\"")
    );
    assert_eq!(
        s.attr_json("langfuse.observation.metadata.bytes"),
        Some(json!([1, 2, 3]))
    );
}

fn serde_bytes_like() -> Vec<u8> {
    vec![1, 2, 3]
}

#[test]
fn a_10_mb_string_is_truncated_with_a_marker() {
    let (lf, exp) = setup(Langfuse::builder());
    let huge = "x".repeat(10 * 1024 * 1024);
    let o = lf.generation("huge").input(huge.as_str()).start();
    o.set_output("small output");
    o.end();
    lf.flush(T).unwrap();
    let s = &exp.spans()[0];
    let input = s.attr_str("langfuse.observation.input").unwrap();
    assert!(input.len() < 1_000_100, "{}", input.len());
    assert!(input.starts_with("xxxx"));
    assert!(
        input.ends_with("…[truncated: 10485760 bytes, limit 900000]"),
        "{}",
        &input[input.len() - 60..]
    );
    assert_eq!(
        s.attr_str("langfuse.observation.output"),
        Some("small output")
    );
}

#[test]
fn the_size_guard_truncates_the_largest_field_to_fit() {
    let (lf, exp) = setup(Langfuse::builder().max_observation_bytes(10_000));
    let o = lf.span("two-big").start();
    o.set_input("i".repeat(6_000).as_str());
    o.set_output("o".repeat(8_000).as_str());
    o.end();
    lf.flush(T).unwrap();
    let s = &exp.spans()[0];
    let input = s.attr_str("langfuse.observation.input").unwrap();
    let output = s.attr_str("langfuse.observation.output").unwrap();
    assert_eq!(input.len(), 6_000, "the smaller field is kept");
    assert!(output.contains("…[truncated: 8000 bytes, limit 10000]"));
    assert!(input.len() + output.len() <= 10_000 + 100);
}

#[test]
fn masking_runs_before_export_and_a_panicking_mask_masks_everything() {
    let (lf, exp) = setup(Langfuse::builder().mask(|v| match v {
        serde_json::Value::String(s) if s.contains("PANIC") => panic!("mask bug"),
        serde_json::Value::String(s) => serde_json::Value::String(s.replace("secret", "***")),
        serde_json::Value::Object(mut m) => {
            if m.contains_key("password") {
                m.insert("password".into(), json!("***"));
            }
            serde_json::Value::Object(m)
        }
        other => other,
    }));
    let o = lf.span("masked").input("my secret plan").start();
    o.set_output("PANIC please");
    o.set_metadata(&json!({"password": "hunter2", "user": "u"}));
    o.end();
    lf.flush(T).unwrap();
    let s = &exp.spans()[0];
    assert_eq!(
        s.attr_str("langfuse.observation.input"),
        Some("my *** plan")
    );
    assert_eq!(
        s.attr_str("langfuse.observation.output"),
        Some("<fully masked: the mask function failed>")
    );
    assert_eq!(
        s.attr_str("langfuse.observation.metadata.password"),
        Some("\"***\"")
    );
    assert_eq!(
        s.attr_str("langfuse.observation.metadata.user"),
        Some("\"u\"")
    );

    let (lf, exp) = setup(Langfuse::builder().try_mask(|_| Err::<serde_json::Value, _>("nope")));
    lf.span("failing")
        .input("x")
        .metadata(&json!({"a": 1}))
        .start()
        .end();
    lf.flush(T).unwrap();
    let s = &exp.spans()[0];
    assert_eq!(
        s.attr_str("langfuse.observation.input"),
        Some("<fully masked: the mask function failed>")
    );
    assert_eq!(
        s.attr_str("langfuse.observation.metadata.masked"),
        Some("\"<fully masked: the mask function failed>\"")
    );
}

#[test]
fn the_secret_key_never_shows_in_debug_errors_or_logs() {
    const SECRET: &str = "sk-lf-TOP-SECRET-0123456789";
    langfuse_tests::logs::logs();

    let server = CaptureServer::start();
    server.push_faults([
        Fault::Status(401, "{\"message\":\"Invalid credentials\"}", None),
        Fault::Status(500, "oops", None),
    ]);
    let b = Langfuse::builder()
        .public_key("pk-lf-x")
        .secret_key(SECRET)
        .base_url(server.url())
        .debug(true)
        .max_retries(1)
        .max_queue_size(1);
    let mut seen = format!("{b:?}");
    let lf = b.clone().build().unwrap();
    seen += &format!("{lf:?}");
    for _ in 0..5 {
        lf.span("s").start().end(); // overflows the 1-item queue: a warning
    }
    if let Err(e) = lf.flush(T) {
        seen += &format!("{e} {e:?}");
    }
    lf.span("t").start().end();
    if let Err(e) = lf.flush(T) {
        seen += &format!("{e} {e:?}");
    }
    if let Err(e) = b.sample_rate(7.0).build() {
        seen += &format!("{e} {e:?}");
    }
    lf.shutdown(T).ok();
    let logs = langfuse_tests::logs::logs_now();
    assert!(logs.contains("401"), "the refusal was logged: {logs}");
    assert!(logs.contains("queue is full"), "{logs}");
    assert!(
        !seen.contains(SECRET) && !seen.contains("TOP-SECRET"),
        "{seen}"
    );
    assert!(!logs.contains("TOP-SECRET"), "{logs}");
}
