//! Observations still open when the client shuts down: shutdown sends them, ended at that
//! moment with level WARNING and a status message that says so, and ending them later sends
//! nothing more.

use std::time::Duration;

use langfuse_sdk::Langfuse;
use langfuse_tests::CaptureServer;

const T: Duration = Duration::from_secs(20);
const LEVEL: &str = "langfuse.observation.level";
const STATUS: &str = "langfuse.observation.status_message";

fn client(server: &CaptureServer) -> Langfuse {
    Langfuse::builder()
        .public_key("pk-lf-open")
        .secret_key("sk-lf-open")
        .base_url(server.url())
        .build()
        .unwrap()
}

#[test]
fn an_open_root_is_sent_at_shutdown_and_its_children_keep_it_as_parent() {
    let server = CaptureServer::start();
    let lf = client(&server);
    let root = lf.span("long-root").start();
    {
        let _in = root.enter();
        lf.span("child-a").start().end();
        lf.generation("child-b").start().end();
    }
    let ended = lf.span("ended-root").start();
    ended.end();
    // Shutdown delivers everything: nothing was dropped or failed.
    lf.shutdown(T).unwrap();

    let spans = server.spans();
    let root_span = spans
        .iter()
        .find(|s| s.name() == "long-root")
        .expect("the open root is sent at shutdown");
    assert_eq!(root_span.attr_str(LEVEL), Some("WARNING"));
    let msg = root_span.attr_str(STATUS).unwrap_or_default();
    assert!(
        msg.contains("still open when the client shut down"),
        "{msg}"
    );
    assert!(root_span.span.end_time_unix_nano >= root_span.span.start_time_unix_nano);
    for child in ["child-a", "child-b"] {
        let c = spans.iter().find(|s| s.name() == child).expect(child);
        assert_eq!(c.parent_id(), Some(root_span.id()), "{child}");
        assert_eq!(c.trace_id(), root_span.trace_id(), "{child}");
        // Ended normally: no warning.
        assert_eq!(c.attr_str(LEVEL), None, "{child}");
    }
    // An observation that had ended is sent as it was.
    let e = spans.iter().find(|s| s.name() == "ended-root").unwrap();
    assert_eq!(e.attr_str(LEVEL), None);
    assert_eq!(spans.len(), 4);

    // Ending it after shutdown sends nothing more and counts nothing: it was delivered once.
    let before = lf.stats();
    root.set_level(langfuse_sdk::Level::Error);
    root.end();
    drop(root);
    let after = lf.stats();
    assert_eq!(after, before);
    assert_eq!((after.dropped, after.failed), (0, 0), "{after:?}");
    lf.shutdown(T).unwrap();
    assert_eq!(server.spans().len(), 4);
}

#[test]
fn a_forgotten_handle_is_sent_at_shutdown_with_its_status_message_kept() {
    let server = CaptureServer::start();
    let lf = client(&server);
    let leaked = lf.span("leaked").start();
    leaked.set_status_message("waiting for the model");
    {
        let _in = leaked.enter();
        lf.span("leaked-child").start().end();
    }
    std::mem::forget(leaked);
    lf.shutdown(T).unwrap();

    let spans = server.spans();
    let l = spans
        .iter()
        .find(|s| s.name() == "leaked")
        .expect("a forgotten handle's observation is sent");
    assert_eq!(l.attr_str(LEVEL), Some("WARNING"));
    let msg = l.attr_str(STATUS).unwrap_or_default();
    assert!(msg.starts_with("waiting for the model; "), "{msg}");
    assert!(
        msg.contains("still open when the client shut down"),
        "{msg}"
    );
    let c = spans.iter().find(|s| s.name() == "leaked-child").unwrap();
    assert_eq!(c.parent_id(), Some(l.id()));
    let st = lf.stats();
    assert_eq!((st.exported, st.dropped, st.failed), (2, 0, 0), "{st:?}");
}
