//! Hostile sizes finish in bounded time and memory, with the documented markers: a 100 MB
//! output, 10k-deep JSON, a million metadata keys, 100k tags.

use std::collections::BTreeMap;
use std::time::Duration;

use langfuse_sdk::testing::InMemoryExporter;
use langfuse_sdk::{Langfuse, TraceAttributes};

const T: Duration = Duration::from_secs(60);

fn setup() -> (Langfuse, InMemoryExporter) {
    let exp = InMemoryExporter::new();
    (
        Langfuse::builder()
            .in_memory_exporter(exp.clone())
            .build()
            .unwrap(),
        exp,
    )
}

#[test]
fn a_100_mb_output_is_cut_to_the_limit() {
    let (lf, exp) = setup();
    let huge = "z".repeat(100 * 1024 * 1024);
    let o = lf.span("huge").start();
    o.set_output(huge.as_str());
    drop(huge);
    o.end();
    lf.flush(T).unwrap();
    let out = exp.spans()[0]
        .attr_str("langfuse.observation.output")
        .unwrap()
        .to_string();
    assert!(out.len() < 1_000_000, "{}", out.len());
    assert!(out.ends_with("…[truncated: 104857600 bytes, limit 900000]"));
}

#[test]
fn ten_thousand_levels_of_nesting_are_cut_at_depth_64() {
    let (lf, exp) = setup();
    // Built as text and parsed without recursion limits would overflow; serde_json's own limit
    // is 128, so build the value by hand and serialise it through our capture.
    struct Deep(u32);
    impl serde::Serialize for Deep {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(1))?;
            if self.0 == 0 {
                m.serialize_entry("leaf", &true)?;
            } else {
                m.serialize_entry("child", &Deep(self.0 - 1))?;
            }
            m.end()
        }
    }
    lf.span("deep").input(&Deep(10_000)).start().end();
    lf.flush(T).unwrap();
    let input = exp.spans()[0]
        .attr_str("langfuse.observation.input")
        .unwrap()
        .to_string();
    assert!(input.contains("<max depth 64 exceeded>"));
    assert!(input.len() < 2_000);
}

#[test]
fn a_million_metadata_keys_stay_bounded() {
    let (lf, exp) = setup();
    let m: BTreeMap<String, u32> = (0..1_000_000).map(|i| (format!("key-{i}"), i)).collect();
    let o = lf.span("wide").start();
    o.set_metadata(&m);
    drop(m);
    o.end();
    lf.flush(T).unwrap();
    let s = &exp.spans()[0];
    // Captured up to the limit, then kept as one truncated value.
    let total: usize = s.span.attributes.iter().map(|a| a.key.len() + 64).sum();
    assert!(total < 2_000_000, "{total}");
    let v = s.attr_json("langfuse.observation.metadata.value").unwrap();
    assert!(v.as_str().unwrap().contains("…[truncated:"));
}

#[test]
fn a_hundred_thousand_tags_are_capped() {
    let (lf, exp) = setup();
    let tags: Vec<String> = (0..100_000).map(|i| format!("t{i}")).collect();
    let attrs = TraceAttributes::new().tags(tags);
    let many_keys = (0..100_000).fold(TraceAttributes::new(), |a, i| {
        a.metadata(format!("k{i}"), &i)
    });
    let _g = langfuse_sdk::propagate_attributes(attrs);
    let _h = langfuse_sdk::propagate_attributes(many_keys);
    lf.span("tagged").start().end();
    lf.flush(T).unwrap();
    let s = &exp.spans()[0];
    assert_eq!(s.attr_strings("langfuse.trace.tags").unwrap().len(), 256);
    let meta = s
        .attr_keys()
        .into_iter()
        .filter(|k| k.starts_with("langfuse.trace.metadata."))
        .count();
    assert_eq!(meta, 256);
}
