#[test]
fn fast_escaping_matches_serde_json() {
    // Every ASCII byte at every offset of a 20-byte string (covers the 8-byte scan, its
    // tail, and several escapes in one word), plus multi-byte characters.
    let mut cases = vec![String::new(), "é€😀\u{7f}".to_string()];
    for b in 0u8..0x80 {
        for at in 0..20 {
            let mut v = vec![b'a'; 20];
            v[at] = b;
            if at + 3 < 20 {
                v[at + 3] = b'"';
            }
            cases.push(String::from_utf8(v).unwrap());
        }
    }
    cases.push("a\u{1}b\\c\"d\ne".repeat(9));
    // Strings of every length up to 20 with an escape followed by every ASCII byte, at every
    // offset: a match passes a borrow to the byte above it in the word arithmetic.
    for len in 1..=20 {
        for at in 0..len {
            for e in [0u8, b'\n', 0x1f, b'"', b'\\'] {
                for b in 0u8..0x80 {
                    let mut v = vec![b'a'; len];
                    v[at] = e;
                    if at + 1 < len {
                        v[at + 1] = b;
                    }
                    cases.push(String::from_utf8(v).unwrap());
                }
            }
        }
    }
    for s in &cases {
        let mut out = String::new();
        super::push_json_string(&mut out, s);
        assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        assert_eq!(
            super::capture(s.as_str(), 1 << 20).as_str(),
            s.as_str(),
            "top-level strings stay plain"
        );
        let nested = super::capture(&[s.as_str()], 1 << 20);
        assert_eq!(nested.as_str(), serde_json::to_string(&[s]).unwrap());
    }
}

use super::escape::push_json_string;
use super::text::Captured;
use super::writer::{capture, capture_json_into};
use serde::Serialize;
use std::collections::BTreeMap;

const BIG: usize = 1 << 20;

fn json(c: Captured) -> String {
    match c {
        Captured::Json(s) => s,
        Captured::Text(s) => panic!("expected JSON, got text {s:?}"),
    }
}

#[test]
fn strings_are_plain_text_at_top_level_only() {
    assert_eq!(
        capture("hello \"x\"", BIG),
        Captured::Text("hello \"x\"".into())
    );
    assert_eq!(capture(&Some("s"), BIG), Captured::Text("s".into()));
    assert_eq!(
        json(capture(&vec!["a\"\n\u{1}"], BIG)),
        r#"["a\"\n\u0001"]"#
    );
}

#[test]
fn output_is_valid_json_matching_serde_json() {
    #[derive(Serialize)]
    struct S {
        a: u32,
        b: Vec<Option<bool>>,
        c: BTreeMap<String, f64>,
        e: E,
        t: (i8, char),
    }
    #[derive(Serialize)]
    enum E {
        Tuple(u8, u8),
    }
    let v = S {
        a: 1,
        b: vec![Some(true), None],
        c: [("x".to_string(), 1.5)].into_iter().collect(),
        e: E::Tuple(1, 2),
        t: (-3, 'z'),
    };
    let ours = json(capture(&v, BIG));
    assert_eq!(ours, serde_json::to_string(&v).unwrap());
}

#[test]
fn odd_numbers_have_documented_renderings() {
    assert_eq!(
        json(capture(
            &vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.5],
            BIG
        )),
        r#"["NaN","Infinity","-Infinity",0.5]"#
    );
    assert_eq!(
        json(capture(&vec![u64::MAX as u128, 1u128 << 53], BIG)),
        r#"["18446744073709551615",9007199254740992]"#
    );
    assert_eq!(
        json(capture(&-(1i64 << 60), BIG)),
        r#""-1152921504606846976""#
    );
    assert_eq!(json(capture(&0.1f32, BIG)), "0.1");
}

#[test]
fn non_string_keys_and_bytes() {
    let m: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
    assert_eq!(json(capture(&m, BIG)), r#"{"[1,2]":3}"#);
    let m: BTreeMap<i32, bool> = [(7, true)].into_iter().collect();
    assert_eq!(json(capture(&m, BIG)), r#"{"7":true}"#);
    struct B;
    impl Serialize for B {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(b"hi")
        }
    }
    assert_eq!(capture(&B, BIG), Captured::Text("base64:aGk=".into()));
}

#[test]
fn json_string_escaping_matches_serde_json() {
    for s in [
        "",
        "plain",
        "q\"uote",
        "back\\slash",
        "nl\n\r\t",
        "\u{1}\u{1f}\u{8}\u{c}",
        "é✓",
    ] {
        let mut out = String::new();
        push_json_string(&mut out, s);
        assert_eq!(out, serde_json::to_string(s).unwrap());
    }
}

#[test]
fn capture_into_a_buffer_keeps_it_valid_json() {
    let mut buf = String::from("{\"a\":");
    capture_json_into("text", BIG, &mut buf);
    buf.push_str(",\"b\":");
    capture_json_into(&vec![1, 2], BIG, &mut buf);
    buf.push_str(",\"c\":");
    capture_json_into(&"é".repeat(100), 11, &mut buf);
    buf.push_str(",\"d\":");
    struct Bad;
    impl Serialize for Bad {
        fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }
    capture_json_into(&Bad, BIG, &mut buf);
    buf.push('}');
    let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
    assert_eq!(v["a"], "text");
    assert_eq!(v["b"], serde_json::json!([1, 2]));
    assert_eq!(v["c"], "\"ééééé…[truncated: at least 202 bytes, limit 11]");
    assert_eq!(v["d"], "<unserializable: nope>");
}

#[test]
fn failing_serialize_gives_marker() {
    struct Bad;
    impl Serialize for Bad {
        fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("socket is not serialisable"))
        }
    }
    assert_eq!(
        capture(&vec![Bad], BIG),
        Captured::Text("<unserializable: socket is not serialisable>".into())
    );
}

#[test]
fn deep_nesting_is_cut_with_marker() {
    // 10k levels, without building them in memory (dropping such a Value would overflow).
    struct Deep(u32);
    impl Serialize for Deep {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if self.0 == 0 {
                s.serialize_u8(1)
            } else {
                [Deep(self.0 - 1)].serialize(s)
            }
        }
    }
    let s = json(capture(&Deep(10_000), BIG));
    assert!(s.contains("<max depth 64 exceeded>"));
    let parsed: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert!(parsed.is_array());
}

#[test]
fn limit_truncates_with_marker_and_true_size() {
    let big = "é".repeat(1000); // 2000 bytes
    let c = capture(&vec![big.clone()], 101);
    let s = match c {
        Captured::Text(s) => s,
        other => panic!("{other:?}"),
    };
    assert!(s.starts_with("[\"éé"));
    assert!(
        s.ends_with("…[truncated: at least 2004 bytes, limit 101]"),
        "{s}"
    );
    let c = capture(big.as_str(), 10);
    assert_eq!(
        c,
        Captured::Text("ééééé…[truncated: 2000 bytes, limit 10]".into())
    );
}

/// A value that wraps itself forever, through one `Serialize` path.
#[derive(Clone, Copy)]
enum Forever {
    Some,
    Newtype,
    NewtypeVariant,
    TupleVariant,
    StructVariant,
    MapKey,
}

impl Serialize for Forever {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeStructVariant, SerializeTupleVariant};
        match self {
            Forever::Some => s.serialize_some(self),
            Forever::Newtype => s.serialize_newtype_struct("F", self),
            Forever::NewtypeVariant => s.serialize_newtype_variant("F", 0, "V", self),
            Forever::TupleVariant => {
                let mut t = s.serialize_tuple_variant("F", 0, "T", 1)?;
                t.serialize_field(self)?;
                t.end()
            }
            Forever::StructVariant => {
                let mut t = s.serialize_struct_variant("F", 0, "S", 1)?;
                t.serialize_field("f", self)?;
                t.end()
            }
            Forever::MapKey => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(self, &1)?;
                m.end()
            }
        }
    }
}

#[test]
fn every_serialize_path_counts_depth_and_a_self_wrapping_value_ends() {
    let marker = "<max depth 64 exceeded>";
    for f in [
        Forever::Some,
        Forever::Newtype,
        Forever::NewtypeVariant,
        Forever::TupleVariant,
        Forever::StructVariant,
        Forever::MapKey,
    ] {
        // A key holding itself grows by escaping at each level: its 4 KB limit ends it first.
        let marker = match f {
            Forever::MapKey => "…[truncated: at least ",
            _ => marker,
        };
        for limit in [BIG, 4096] {
            let c = capture(&f, limit);
            assert!(c.as_str().contains(marker), "{:?}", c.as_str());
            let mut buf = String::new();
            capture_json_into(&f, limit, &mut buf);
            assert!(buf.contains(marker), "{buf}");
            serde_json::from_str::<serde_json::Value>(&buf).unwrap();
        }
        // Nested in an array, too (JSON levels and wrappers add up).
        let c = json(capture(&[[f]], BIG));
        serde_json::from_str::<serde_json::Value>(&c).unwrap();
        assert!(c.contains(marker), "{c}");
    }
    // Wrappers stay transparent below the limit.
    assert_eq!(capture(&Some(Some("s")), BIG), Captured::Text("s".into()));
    assert_eq!(json(capture(&Some(vec![Some(1)]), BIG)), "[1]");
}

/// `n` elements, counting how many `serde` was made to visit.
struct Counted<'a> {
    n: usize,
    visited: &'a std::cell::Cell<usize>,
}

impl Serialize for Counted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..self.n).map(|i| {
            self.visited.set(self.visited.get() + 1);
            i as u32
        }))
    }
}

#[test]
fn capture_stops_walking_a_huge_value_at_the_limit() {
    let visited = std::cell::Cell::new(0);
    let huge = Counted {
        n: 10_000_000,
        visited: &visited,
    };
    let limit = 10_000;
    let c = capture(&huge, limit);
    // Each element takes at least two bytes ("0,"): about limit / 2 fit, then it stops.
    assert!(visited.get() <= limit / 2 + 2, "visited {}", visited.get());
    let s = c.as_str();
    assert!(s.len() <= limit + 80, "{}", s.len());
    assert!(
        s.ends_with(&format!(", limit {limit}]")) && s.contains("…[truncated: at least "),
        "{}",
        &s[s.len() - 60..]
    );

    // As an argument inside the caller's JSON: the same stop, and the buffer stays JSON.
    visited.set(0);
    let mut buf = String::from("{\"a\":");
    capture_json_into(&huge, limit, &mut buf);
    buf.push('}');
    assert!(visited.get() <= limit / 2 + 2, "visited {}", visited.get());
    let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
    assert!(v["a"].as_str().unwrap().contains("…[truncated: at least "));

    // Inside a struct and a map: the stop goes through every level.
    visited.set(0);
    let mut m = BTreeMap::new();
    m.insert(
        "k",
        vec![Counted {
            n: 1_000_000,
            visited: &visited,
        }],
    );
    m.insert(
        "l",
        vec![Counted {
            n: 1_000_000,
            visited: &visited,
        }],
    );
    let c = capture(&m, limit);
    assert!(visited.get() <= limit / 2 + 2, "visited {}", visited.get());
    assert!(c.as_str().contains("…[truncated: at least "));
}

#[test]
fn huge_strings_and_bytes_are_not_scanned_past_the_limit() {
    // A nested string: cut, its size a lower bound (the unscanned rest is not escaped).
    let big = "a\"b".repeat(1_000_000);
    let c = capture(&vec![big.as_str()], 100);
    // (The scanned part is counted escaped, the rest at its 3 MB.)
    let s = c.as_str();
    assert!(s.len() < 200, "{s}");
    assert!(s.contains("…[truncated: at least 300") && s.ends_with(" bytes, limit 100]"));
    // Bytes: only what is kept is encoded, the size is exact.
    struct B(Vec<u8>);
    impl Serialize for B {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
    let c = capture(&B(vec![7u8; 3_000_000]), 100);
    assert!(c.as_str().starts_with("base64:Bwc"), "{}", c.as_str());
    assert!(
        c.as_str()
            .ends_with("…[truncated: 4000007 bytes, limit 100]"),
        "{}",
        c.as_str()
    );
    // A top-level string's size stays exact.
    assert!(capture(big.as_str(), 100)
        .as_str()
        .ends_with("…[truncated: 3000000 bytes, limit 100]"));
}

#[test]
fn a_huge_display_is_formatted_only_to_the_limit() {
    /// Ten million pieces of text through `collect_str`, counting those written.
    struct Chatty<'a>(&'a std::cell::Cell<usize>);
    impl std::fmt::Display for Chatty<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            for _ in 0..10_000_000 {
                self.0.set(self.0.get() + 1);
                f.write_str("ab")?;
            }
            Ok(())
        }
    }
    impl Serialize for Chatty<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }
    let written = std::cell::Cell::new(0);
    let c = capture(&[Chatty(&written)], 1000);
    assert!(written.get() <= 503, "wrote {} pieces", written.get());
    let s = c.as_str();
    assert!(s.starts_with("[\"abab"), "{s}");
    assert!(
        s.contains("…[truncated: at least ") && s.ends_with(", limit 1000]"),
        "{s}"
    );
}
