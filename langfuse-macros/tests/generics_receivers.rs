//! Receivers, generics, lifetimes, `impl Trait`, `unsafe fn`, and values that are not
//! `Serialize` (captured through `Debug`, or as their type name) — with no bounds added.
mod common;
use std::fmt::Debug;

use langfuse_sdk::observe;
use serde::Serialize;
use serde_json::json;

#[derive(Debug)]
#[allow(dead_code)]
struct DebugOnly {
    id: u8,
}
struct Opaque;

#[derive(Default)]
struct Counter {
    n: u32,
}

impl Counter {
    #[observe]
    fn get(&self) -> u32 {
        self.n
    }
    #[observe]
    fn bump(&mut self, by: u32) -> u32 {
        self.n += by;
        self.n
    }
    #[observe]
    fn into_inner(self) -> u32 {
        self.n
    }
    #[observe]
    fn make(n: u32) -> Self {
        Counter { n }
    }
    #[observe]
    fn name_of<'a>(&'a self, label: &'a str) -> &'a str {
        label
    }
}

trait Greeter {
    fn greet(&self, who: &str) -> String;
}
impl Greeter for Counter {
    #[observe]
    fn greet(&self, who: &str) -> String {
        format!("hi {who} #{}", self.n)
    }
}

#[observe]
fn generic<T, U>(t: T, u: U) -> String
where
    T: Serialize + Clone,
    U: Debug,
{
    format!("{}{:?}", serde_json::to_string(&t).unwrap(), u)
}

#[observe]
fn impl_args(items: impl IntoIterator<Item = u32>) -> impl Debug {
    items.into_iter().sum::<u32>()
}

#[observe]
fn odd_values(d: DebugOnly, o: Opaque) -> Opaque {
    let _ = d;
    o
}

#[observe]
unsafe fn raw_read(p: *const u8) -> u8 {
    *p
}

#[observe]
fn unit_return() {}

#[test]
fn receivers_and_methods() {
    let h = common::harness();
    let mut c = Counter::make(1);
    c.bump(2);
    assert_eq!(c.get(), 3);
    assert_eq!(c.name_of("x"), "x");
    assert_eq!(c.greet("bo"), "hi bo #3");
    assert_eq!(c.into_inner(), 3);
    let spans = h.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
    for n in ["make", "bump", "get", "name_of", "greet", "into_inner"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert_eq!(
        h.span("bump").attr_json("langfuse.observation.input"),
        Some(json!({"by": 2}))
    );
    assert_eq!(
        h.span("get").attr_json("langfuse.observation.input"),
        Some(json!({}))
    );
    assert_eq!(
        h.span("greet").attr_json("langfuse.observation.input"),
        Some(json!({"who": "bo"}))
    );
    // `Self` is not Serialize or Debug: its type name.
    assert_eq!(
        h.span("make").attr_str("langfuse.observation.output"),
        Some("<generics_receivers::Counter>")
    );
}

#[test]
fn generics_impl_trait_and_unsafe() {
    let h = common::harness();
    assert_eq!(generic(vec![1], 'x'), "[1]'x'");
    assert_eq!(format!("{:?}", impl_args([1, 2, 3])), "6");
    let _ = odd_values(DebugOnly { id: 4 }, Opaque);
    let b = 9u8;
    assert_eq!(unsafe { raw_read(&b) }, 9);
    unit_return();
    // In a generic function, capture follows the bounds it has: T is Serialize (JSON), U only
    // Debug (text).
    assert_eq!(
        h.span("generic").attr_json("langfuse.observation.input"),
        Some(json!({"t": [1], "u": "'x'"}))
    );
    assert_eq!(
        h.span("impl_args").attr_str("langfuse.observation.output"),
        Some("6")
    );
    let o = h.span("odd_values");
    assert_eq!(
        o.attr_json("langfuse.observation.input"),
        Some(json!({"d": "DebugOnly { id: 4 }", "o": "<generics_receivers::Opaque>"}))
    );
    assert!(h
        .span("raw_read")
        .attr_str("langfuse.observation.input")
        .is_some());
    assert_eq!(
        h.span("unit_return")
            .attr_str("langfuse.observation.output"),
        None
    );
}
