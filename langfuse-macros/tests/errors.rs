//! `Result`: `Ok` is the output; `Err` sets level ERROR, the status message and span status.
mod common;
use langfuse_sdk::observe;
use serde_json::json;

#[derive(Debug)]
#[allow(dead_code)]
struct NotDisplay(u8);

#[observe]
fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.parse()?;
    if n == 0 {
        return Ok(100); // early return still records the output
    }
    Ok(n)
}

#[observe]
fn debug_only_error() -> Result<(), NotDisplay> {
    Err(NotDisplay(7))
}

#[observe(err_level = "WARNING")]
fn soft_fail() -> Result<(), String> {
    Err("retry later".into())
}

#[observe]
async fn async_fail(flag: bool) -> Result<String, std::io::Error> {
    tokio::task::yield_now().await;
    if flag {
        Err(std::io::Error::other("disk full"))?;
    }
    Ok("fine".into())
}

#[test]
fn ok_is_output_err_is_error() {
    let h = common::harness();
    assert_eq!(parse("42").unwrap(), 42);
    assert_eq!(parse("0").unwrap(), 100);
    assert!(parse("x").is_err());
    let spans = h.spans();
    let outs: Vec<_> = spans
        .iter()
        .map(|s| {
            (
                s.attr_json("langfuse.observation.output"),
                s.attr_str("langfuse.observation.level"),
            )
        })
        .collect();
    assert!(outs.contains(&(Some(json!(42)), None)));
    assert!(outs.contains(&(Some(json!(100)), None)));
    let failed = spans
        .iter()
        .find(|s| s.attr_str("langfuse.observation.level") == Some("ERROR"))
        .unwrap();
    assert_eq!(
        failed.attr_str("langfuse.observation.status_message"),
        Some("invalid digit found in string")
    );
    assert_eq!(failed.status_code(), 2);
    assert_eq!(failed.attr_str("langfuse.observation.output"), None);
}

#[test]
fn errors_without_display_and_custom_levels() {
    let h = common::harness();
    let _ = debug_only_error();
    let _ = soft_fail();
    let d = h.span("debug_only_error");
    assert_eq!(
        d.attr_str("langfuse.observation.status_message"),
        Some("NotDisplay(7)")
    );
    let s = h.span("soft_fail");
    assert_eq!(s.attr_str("langfuse.observation.level"), Some("WARNING"));
    assert_eq!(
        s.attr_str("langfuse.observation.status_message"),
        Some("retry later")
    );
    assert_eq!(s.status_code(), 0);
}

#[tokio::test]
async fn async_errors_with_question_mark() {
    let h = common::harness();
    assert!(async_fail(true).await.is_err());
    assert_eq!(async_fail(false).await.unwrap(), "fine");
    let spans = h.spans();
    let err = spans
        .iter()
        .find(|s| s.attr_str("langfuse.observation.level") == Some("ERROR"))
        .unwrap();
    assert_eq!(
        err.attr_str("langfuse.observation.status_message"),
        Some("disk full")
    );
    assert!(spans
        .iter()
        .any(|s| s.attr_str("langfuse.observation.output") == Some("fine")));
}
