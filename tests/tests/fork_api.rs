//! A forked child and the public API client its parent started (a sibling of issue
//! 21 item 10): the inherited client's worker thread exists only in the parent, so each call in
//! the child fails at once with a typed error (`is_forked()`) saying to create a new client
//! there; a new client in the child works. One test in this file: the fork happens with as few
//! threads as possible.

use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::sync::mpsc;
use std::time::Duration;

use langfuse_sdk::api::{ApiClient, ApiConfig, ApiError};
use langfuse_tests::{Reply, ScriptServer};
use serde_json::{json, Value};

/// Not a bound on the answer (that is asserted through its kind): only how long a child that
/// hangs anyway is left before it is killed, so the test fails instead of hanging.
const WATCHDOG: Duration = Duration::from_secs(120);

fn config(url: &str) -> ApiConfig {
    ApiConfig::builder()
        .base_url(url)
        .public_key("pk-lf-fork")
        .secret_key("sk-lf-fork")
        .max_retries(0)
        .build()
        .unwrap()
}

fn outcome<T>(r: Result<T, ApiError>) -> Value {
    match r {
        Ok(_) => json!({"ok": true}),
        Err(e) => json!({
            "ok": false,
            "forked": e.is_forked(),
            "not_found": e.is_not_found(),
            "message": e.to_string(),
        }),
    }
}

/// What the child does: calls through the inherited client (async and blocking), then through a
/// client of its own; what each returned, as JSON.
fn child(api: &ApiClient, url: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let inherited_async = outcome(rt.block_on(api.get_prompt("in-child").send()));
    let inherited_blocking = outcome(api.get_prompt("in-child").blocking());
    let c = api.clone();
    let inherited_block_on = outcome(api.block_on(async move { c.auth_check().await }));
    let own = ApiClient::new(config(url));
    let own = outcome(rt.block_on(own.get_prompt("own-in-child").send()));
    json!({
        "async": inherited_async,
        "blocking": inherited_blocking,
        "block_on": inherited_block_on,
        "own": own,
    })
}

/// README "fork": an inherited client "notices at once", as the tracing client does
/// (`Error::is_forked`).
#[test]
fn an_inherited_api_client_answers_at_once_in_the_child() {
    let server = ScriptServer::start(|_| {
        Reply::new(
            404,
            "application/json",
            r#"{"message":"Prompt not found","error":"LangfuseNotFoundError"}"#,
        )
    });
    let url = server.url();
    let api = ApiClient::new(config(&url));
    // The worker thread starts with the first call, in the parent.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let parent = rt.block_on(api.get_prompt("in-parent").send()).unwrap_err();
    assert!(parent.is_not_found() && !parent.is_forked(), "{parent:?}");
    drop(rt);

    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: fork has no memory-safety preconditions; the child only runs `child` (which
    // allocates: glibc's fork keeps malloc usable in the child), writes its report and leaves
    // with `_exit`, running no destructor of the parent's state.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child(&api, &url)))
            .unwrap_or_else(|_| json!({"panicked": true}));
        // SAFETY: the write end, owned by this process from here on.
        let mut out = unsafe { std::fs::File::from_raw_fd(fds[1]) };
        let code = i32::from(out.write_all(report.to_string().as_bytes()).is_err());
        // SAFETY: ends the child at once, as a forked child should.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: the parent's copy of the write end, closed so the read below ends with the child.
    unsafe { libc::close(fds[1]) };
    // A child that hangs despite all is killed (and the test fails on how it ended).
    let (done, cancelled) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if cancelled.recv_timeout(WATCHDOG) == Err(mpsc::RecvTimeoutError::Timeout) {
            // SAFETY: signals the child this test forked, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    // SAFETY: the read end, owned by the parent from here on.
    let mut input = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    let mut report = String::new();
    input.read_to_string(&mut report).unwrap();
    let mut status = 0;
    // SAFETY: `status` is a valid place for waitpid to write to.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    let _ = done.send(());
    watchdog.join().unwrap();
    assert_eq!(r, pid, "waitpid");
    assert!(
        libc::WIFEXITED(status),
        "the child did not exit (killed by the watchdog after {WATCHDOG:?}: a call hung): {status}"
    );
    assert_eq!(libc::WEXITSTATUS(status), 0, "child: {report}");

    let report: Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"));
    for form in ["async", "blocking", "block_on"] {
        let o = &report[form];
        assert_eq!(o["ok"], false, "{form}: {o}");
        assert_eq!(o["forked"], true, "{form}: not is_forked(): {o}");
        let m = o["message"].as_str().unwrap();
        for part in [
            "inherited through fork()",
            "create a new ApiClient in the child",
        ] {
            assert!(m.contains(part), "{form}: {part:?} missing: {m}");
        }
        assert!(!m.contains("sk-lf-fork"), "{m}");
    }
    // A client of the child's own reaches the server.
    let own = &report["own"];
    assert_eq!(own["not_found"], true, "a new client in the child: {own}");
    assert_eq!(
        server.requests().len(),
        2,
        "in-parent and own-in-child only"
    );
}
