//! A process that forks: children draw ids unlike their parent's and each other's, and a client
//! a child inherited says at once that it does not work there (instead of waiting out the
//! flush timeout). One test in this file: the fork happens with as few threads as possible.

use std::collections::HashSet;
use std::time::Duration;

use langfuse_sdk::Langfuse;
use langfuse_tests::CaptureServer;

const T: Duration = Duration::from_secs(20);

fn client(url: &str) -> Langfuse {
    Langfuse::builder()
        .public_key("pk-lf-fork")
        .secret_key("sk-lf-fork")
        .base_url(url)
        // No timer work on the exporter thread while the test forks.
        .flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap()
}

/// What a child does; its exit status says what went wrong (0: nothing).
fn child(inherited: &Langfuse, url: &str, name: &str) -> i32 {
    // The inherited client records nothing here, and says so at once.
    inherited.span("inherited-in-child").start().end();
    match inherited.flush(T) {
        Ok(()) => return 10,
        Err(e) if !e.is_forked() => return 11,
        Err(_) => {}
    }
    match inherited.shutdown(T) {
        Ok(()) => return 12,
        Err(e) if !e.is_forked() => return 13,
        Err(_) => {}
    }
    // A client of its own works.
    let own = client(url);
    for i in 0..3 {
        own.span(format!("{name}-{i}")).start().end();
    }
    match own.shutdown(T) {
        Ok(()) => 0,
        Err(_) => 14,
    }
}

fn fork_child(inherited: &Langfuse, url: &str, name: &str) -> libc::pid_t {
    // SAFETY: fork has no memory-safety preconditions; the child only runs `child` (which
    // allocates: glibc's fork keeps malloc usable in the child) and leaves with `_exit`,
    // running no destructor of the parent's state.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| child(inherited, url, name)))
                .unwrap_or(20);
        // SAFETY: ends the child at once, as a forked child should.
        unsafe { libc::_exit(code) };
    }
    pid
}

fn wait_child(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: `status` is a valid place for waitpid to write to.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid");
    assert!(libc::WIFEXITED(status), "child did not exit: {status}");
    libc::WEXITSTATUS(status)
}

#[test]
fn forked_children_draw_their_own_ids_and_an_inherited_client_refuses_at_once() {
    let server = CaptureServer::start();
    let url = server.url();
    let lf = client(&url);
    lf.span("before-fork").start().end();
    // The exporter thread is idle from here on: it holds no lock when the process forks.
    lf.flush(T).unwrap();

    let a = fork_child(&lf, &url, "child-a");
    let b = fork_child(&lf, &url, "child-b");
    // The parent draws on from the state both children copied.
    for i in 0..3 {
        lf.span(format!("parent-{i}")).start().end();
    }
    assert_eq!(wait_child(a), 0, "child a");
    assert_eq!(wait_child(b), 0, "child b");
    lf.shutdown(T).unwrap();

    let spans = server.spans();
    let names: HashSet<String> = spans.iter().map(|s| s.name().to_string()).collect();
    let expected: HashSet<String> = ["before-fork"]
        .into_iter()
        .map(String::from)
        .chain(
            ["parent", "child-a", "child-b"]
                .iter()
                .flat_map(|p| (0..3).map(move |i| format!("{p}-{i}"))),
        )
        .collect();
    assert_eq!(names, expected, "the inherited client sent nothing");
    assert_eq!(spans.len(), 10);
    let span_ids: HashSet<String> = spans.iter().map(|s| s.id()).collect();
    let trace_ids: HashSet<String> = spans.iter().map(|s| s.trace_id()).collect();
    assert_eq!(
        span_ids.len(),
        10,
        "observation ids repeat across processes"
    );
    assert_eq!(trace_ids.len(), 10, "trace ids repeat across processes");
}
