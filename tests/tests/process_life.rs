//! Every way a program ends, in a real child process: returning from `main` with the init guard,
//! a panic in `main` (unwinding delivers), a panic on a worker thread, dropping a tokio runtime
//! with an observation open, and `std::process::exit` with and without a flush before it.

use std::collections::BTreeSet;
use std::process::Command;

use langfuse_tests::CaptureServer;

fn run(mode: &str) -> (std::process::Output, BTreeSet<String>) {
    let server = CaptureServer::start();
    let out = Command::new(env!("CARGO_BIN_EXE_probe"))
        .arg(mode)
        .env("LANGFUSE_PUBLIC_KEY", "pk-lf-probe")
        .env("LANGFUSE_SECRET_KEY", "sk-lf-probe-secret")
        .env("LANGFUSE_BASE_URL", server.url())
        .env("LANGFUSE_FLUSH_INTERVAL", "3600")
        .env_remove("LANGFUSE_EXPORTER")
        .output()
        .expect("run the probe");
    let names = server
        .spans()
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    (out, names)
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn returning_from_main_delivers() {
    let (out, names) = run("return");
    assert!(out.status.success());
    assert_eq!(names, set(&["main-return", "child"]));
}

#[test]
fn a_panic_in_main_unwinds_and_delivers() {
    let (out, names) = run("panic");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("main panicked on purpose"));
    assert_eq!(names, set(&["main-panic", "child"]));
}

#[test]
fn a_panic_on_a_worker_thread_is_delivered_and_main_goes_on() {
    let (out, names) = run("worker-panic");
    assert!(out.status.success());
    assert_eq!(names, set(&["main-worker-panic", "child", "worker"]));
}

#[test]
fn dropping_a_runtime_with_an_open_observation_ends_it() {
    let (out, names) = run("runtime-drop");
    assert!(out.status.success());
    assert_eq!(names, set(&["main-runtime-drop", "child", "open-in-task"]));
}

#[test]
fn process_exit_skips_destructors_unless_flushed_first() {
    // Documented: `exit` runs no destructors, so what is queued is not delivered…
    let (out, names) = run("exit");
    assert!(out.status.success());
    assert!(names.is_empty(), "{names:?}");
    // …and a flush before it delivers everything ended so far.
    let (out, names) = run("flush-then-exit");
    assert!(out.status.success());
    assert_eq!(names, set(&["main-flush-then-exit", "child"]));
}

#[test]
fn the_secret_key_appears_in_no_output() {
    for mode in ["return", "panic", "worker-panic"] {
        let (out, _) = run(mode);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("sk-lf-probe-secret"), "{mode}: {all}");
    }
}

/// A client that is not there while Langfuse keys are set says so once, naming the fix: the
/// init guard dropped at once (`let _ = init()`), a client built but never installed, `client()`
/// without `init()`.
#[test]
fn a_client_that_is_not_there_says_why_once() {
    for (mode, says) in [
        ("guard-dropped", "keep the guard"),
        ("never-installed", "init_with"),
        ("never-initialised", "call langfuse_sdk::init()"),
    ] {
        let (out, names) = run(mode);
        assert!(out.status.success(), "{mode}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches(says).count(), 1, "{mode}: {err}");
        assert!(names.is_empty(), "{mode}: {names:?}");
    }
}

/// Missing keys: the warning names the variable that is missing and the other spelling.
#[test]
fn missing_keys_are_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_probe"))
        .arg("return")
        .env("LANGFUSE_PUBLIC_KEY", "pk-lf-probe")
        .env_remove("LANGFUSE_SECRET_KEY")
        .env_remove("Langfuse_SECRET_KEY")
        .env_remove("LANGFUSE_EXPORTER")
        .output()
        .expect("run the probe");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LANGFUSE_SECRET_KEY not set"), "{err}");
    assert!(!err.contains("LANGFUSE_PUBLIC_KEY and"), "{err}");
    assert!(err.contains("Langfuse_SECRET_KEY"), "{err}");
}

/// Observed roots still open when the client shuts down are sent then, ended with level WARNING
/// and a message that says so: an observed `main`-like function whose `init` guard drops in its
/// body (the observation current on the shutting-down thread), an observed async root pending
/// on another thread (a server's loop), a sync observed root running on another thread (a
/// worker's loop), an observed iterator half consumed, and the root above the shutting-down
/// thread's current observation; their ended children keep them as parent.
#[test]
fn observed_roots_open_at_shutdown_are_sent_with_a_warning() {
    for (mode, root, child) in [
        ("observed-main", "observed_main", "observed"),
        ("async-root", "serve", "served"),
        ("sync-root-thread", "worker_loop", "observed"),
        ("nested-main", "outer_main", "inner_main"),
        ("iterator-root", "numbers", "observed"),
    ] {
        let server = CaptureServer::start();
        let out = Command::new(env!("CARGO_BIN_EXE_probe"))
            .arg(mode)
            .env("LANGFUSE_PUBLIC_KEY", "pk-lf-probe")
            .env("LANGFUSE_SECRET_KEY", "sk-lf-probe-secret")
            .env("LANGFUSE_BASE_URL", server.url())
            .env("LANGFUSE_FLUSH_INTERVAL", "3600")
            .env_remove("LANGFUSE_EXPORTER")
            .output()
            .expect("run the probe");
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let spans = server.spans();
        let r = spans
            .iter()
            .find(|s| s.name() == root)
            .unwrap_or_else(|| panic!("{mode}: the open root {root} is sent"));
        assert_eq!(
            r.attr_str("langfuse.observation.level"),
            Some("WARNING"),
            "{mode}"
        );
        assert!(
            r.attr_str("langfuse.observation.status_message")
                .is_some_and(|m| m.contains("still open when the client shut down")),
            "{mode}"
        );
        let c = spans.iter().find(|s| s.name() == child).expect(child);
        assert_eq!(c.parent_id(), Some(r.id()), "{mode}");
        match mode {
            // The worker's child that ended after shutdown is not sent (dropped and counted).
            "sync-root-thread" => {
                assert_eq!(spans.iter().filter(|s| s.name() == child).count(), 1)
            }
            // The current observation was open too: both are sent with the warning.
            "nested-main" => {
                assert_eq!(c.attr_str("langfuse.observation.level"), Some("WARNING"));
                let leaf = spans.iter().find(|s| s.name() == "observed").unwrap();
                assert_eq!(leaf.parent_id(), Some(c.id()));
            }
            _ => {}
        }
    }
}
