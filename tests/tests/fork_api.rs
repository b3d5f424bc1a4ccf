//! A forked child and the public API client its parent started (review rev21; sibling of issue
//! 21 item 10). One test in this file: the fork happens with as few threads as possible.

use std::time::Duration;

use langfuse_sdk::api::{ApiClient, ApiConfig};
use langfuse_tests::{Reply, ScriptServer};

/// What the child does: one API call, which must come back (with any result) — the inherited
/// client's worker thread is not in this process.
fn child(api: &ApiClient) -> i32 {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return 30;
    };
    let call = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), api.get_prompt("in-child").send()).await
    });
    match call {
        Ok(_) => 0,
        // Still waiting after 5 s for a server that answers at once.
        Err(_) => 1,
    }
}

/// README "fork": an inherited client "notices at once"; the tracing client does. The API
/// client's calls in the child wait forever on a worker thread that only exists in the parent
/// (`api.get_prompt(..).await`, `api.block_on(..)`; the blocking form waits out its whole bound
/// and then blames the server).
#[test]
fn an_inherited_api_client_answers_at_once_in_the_child() {
    let server = ScriptServer::start(|_| {
        Reply::new(
            404,
            "application/json",
            r#"{"message":"Prompt not found","error":"LangfuseNotFoundError"}"#,
        )
    });
    let api = ApiClient::new(
        ApiConfig::builder()
            .base_url(server.url())
            .public_key("pk-lf-fork")
            .secret_key("sk-lf-fork")
            .max_retries(0)
            .build()
            .unwrap(),
    );
    // The worker thread starts with the first call, in the parent.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(rt.block_on(api.get_prompt("in-parent").send()).is_err());
    drop(rt);
    // SAFETY: fork has no memory-safety preconditions; the child only runs `child` and leaves
    // with `_exit`, running no destructor of the parent's state.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child(&api))).unwrap_or(20);
        // SAFETY: ends the child at once, as a forked child should.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `status` is a valid place for waitpid to write to.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid");
    assert!(libc::WIFEXITED(status), "child did not exit: {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "the child's API call did not come back within 5 s"
    );
}
