use super::dispatch::*;
use crate::capture::{capture_append, capture_json_into};
use std::borrow::Cow;

fn texts() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "a",
        "what is rust?",
        "say \"hi\"\n\tand \\ leave",
        "\u{1}\u{1f}\u{7f}",
        "é漢字🦀 plain after",
        "🦀🦀🦀🦀🦀",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(5_000));
    v.push("\"".repeat(300));
    v
}

/// The text fast path gives, for every string and limit, exactly what `Serialize` gives:
/// as the output, as an argument, and as a stream item.
#[test]
fn text_capture_equals_serialize() {
    for s in texts() {
        for limit in [
            0, 1, 2, 3, 5, 8, 13, 14, 15, 20, 64, 100, 1_000, 4_096, 100_000,
        ] {
            let (mut fast, mut slow) = (String::from("pre"), String::from("pre"));
            let fast_json = (&&&&Wrap(&s)).__lf_capture_into(limit, &mut fast);
            let slow_json = capture_append(s.as_str(), limit, &mut slow);
            assert_eq!((fast_json, &fast), (slow_json, &slow), "{s:?} at {limit}");

            let mut a = Inputs {
                buf: String::from("{"),
                limit,
            };
            (&&&&Wrap(&s.as_str())).__lf_capture_arg("\"q\":", &mut a);
            (&&&&Wrap(&Cow::Borrowed(s.as_str()))).__lf_capture_arg("\"r\":", &mut a);
            let mut b = String::from("{\"q\":");
            capture_json_into(s.as_str(), limit, &mut b);
            b.push_str(",\"r\":");
            capture_json_into(s.as_str(), limit, &mut b);
            assert_eq!(a.buf, b, "{s:?} at {limit}");
            let whole = format!("{}}}", a.buf);
            assert!(
                serde_json::from_str::<serde_json::Value>(&whole).is_ok(),
                "{whole}"
            );

            let fast = (&&&&Wrap(&s.clone().into_boxed_str())).__lf_capture(limit);
            assert_eq!(fast.0, crate::capture::capture(s.as_str(), limit), "{s:?}");
        }
    }
}
