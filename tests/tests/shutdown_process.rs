//! A real program that returns from `main` with a leaked root handle: dropping the `init` guard
//! shuts the client down, which sends the root (ended then, level WARNING) with its child.

use std::process::Command;

use langfuse_tests::CaptureServer;

#[test]
fn returning_from_main_sends_a_leaked_root_with_a_warning() {
    let server = CaptureServer::start();
    let out = Command::new(env!("CARGO_BIN_EXE_probe"))
        .arg("forget-root")
        .env("LANGFUSE_PUBLIC_KEY", "pk-lf-probe")
        .env("LANGFUSE_SECRET_KEY", "sk-lf-probe-secret")
        .env("LANGFUSE_BASE_URL", server.url())
        .env("LANGFUSE_FLUSH_INTERVAL", "3600")
        .env_remove("LANGFUSE_EXPORTER")
        .output()
        .expect("run the probe");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("still open"), "warns once: {stderr}");
    let spans = server.spans();
    assert_eq!(
        spans.len(),
        2,
        "{:?}",
        spans.iter().map(|s| s.name()).collect::<Vec<_>>()
    );
    let root = spans
        .iter()
        .find(|s| s.name() == "main-forget-root")
        .expect("the leaked root is sent");
    assert_eq!(root.attr_str("langfuse.observation.level"), Some("WARNING"));
    assert!(root
        .attr_str("langfuse.observation.status_message")
        .is_some_and(|m| m.contains("still open when the client shut down")));
    let child = spans.iter().find(|s| s.name() == "child").unwrap();
    assert_eq!(child.parent_id(), Some(root.id()));
}
