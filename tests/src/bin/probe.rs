//! A small program for the process-life tests: it records a trace and then ends in the way its
//! first argument names. It sends to `LANGFUSE_BASE_URL` with the keys from the environment.

use std::time::Duration;

#[langfuse_sdk::observe]
fn observed(n: u32) -> u32 {
    n + 1
}

/// Mistakes with the client's lifetime, each of which must warn once (on stderr).
fn misuse(mode: &str) -> bool {
    match mode {
        "guard-dropped" => {
            let _ = langfuse_sdk::init();
            observed(1);
            observed(2);
            langfuse_sdk::client().span("after-drop").start().end();
        }
        "never-installed" => {
            let lf = langfuse_sdk::Langfuse::from_env();
            observed(1);
            observed(2);
            lf.shutdown(Duration::from_secs(5)).ok();
        }
        "never-initialised" => {
            langfuse_sdk::client().span("no-init").start().end();
        }
        _ => return false,
    }
    true
}

#[langfuse_sdk::observe(skip(guard))]
fn observed_main(guard: langfuse_sdk::ClientGuard) {
    observed(1);
    // The guard drops inside this observed function: shutdown then ends and sends it.
    drop(guard);
}

#[langfuse_sdk::observe]
async fn serve(ready: std::sync::mpsc::Sender<()>) {
    served().await;
    ready.send(()).ok();
    // A server's loop: never ends on its own.
    std::future::pending::<()>().await;
}

#[langfuse_sdk::observe]
async fn served() {}

#[langfuse_sdk::observe(skip(ready, release))]
fn worker_loop(ready: std::sync::mpsc::Sender<()>, release: std::sync::mpsc::Receiver<()>) {
    observed(1);
    ready.send(()).ok();
    // A worker thread's loop: still running when the client shuts down on the main thread.
    release.recv().ok();
    observed(2);
}

#[langfuse_sdk::observe(skip(guard))]
fn outer_main(guard: langfuse_sdk::ClientGuard) {
    inner_main(guard);
}

#[langfuse_sdk::observe(skip(guard))]
fn inner_main(guard: langfuse_sdk::ClientGuard) {
    observed(1);
    // Shutdown from two observed calls deep: the current one and its root are both open.
    drop(guard);
}

#[langfuse_sdk::observe]
fn numbers() -> impl Iterator<Item = u32> {
    (0..3).map(observed)
}

/// Observed roots still open at shutdown.
fn open_at_shutdown(mode: &str) -> bool {
    match mode {
        "observed-main" => observed_main(langfuse_sdk::init()),
        "nested-main" => outer_main(langfuse_sdk::init()),
        "iterator-root" => {
            let guard = langfuse_sdk::init();
            let mut it = numbers();
            it.next();
            // The client shuts down while the observed iterator is half consumed.
            drop(guard);
            it.next();
        }
        "sync-root-thread" => {
            let guard = langfuse_sdk::init();
            let (ready_tx, ready) = std::sync::mpsc::channel();
            let (release, release_rx) = std::sync::mpsc::channel();
            let worker = std::thread::spawn(move || worker_loop(ready_tx, release_rx));
            ready.recv().unwrap();
            // The client shuts down while the sync root runs on its thread.
            drop(guard);
            release.send(()).unwrap();
            worker.join().unwrap();
        }
        "async-root" => {
            let guard = langfuse_sdk::init();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .build()
                .unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            rt.spawn(serve(tx));
            rx.recv().unwrap();
            // The client shuts down while the root is pending on its worker thread.
            drop(guard);
            drop(rt);
        }
        _ => return false,
    }
    true
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if misuse(&mode) || open_at_shutdown(&mode) {
        return;
    }
    let guard = langfuse_sdk::init();
    let lf = guard.client().clone();
    let root = lf.span(format!("main-{mode}")).start();
    let _in = root.enter();
    lf.span("child").start().end();
    match mode.as_str() {
        "return" => {}
        "panic" => panic!("main panicked on purpose"),
        "worker-panic" => {
            let lf2 = lf.clone();
            let h = langfuse_sdk::thread_spawn(move || {
                let _w = lf2.span("worker").start();
                panic!("worker panicked on purpose");
            });
            assert!(h.join().is_err());
        }
        "exit" => std::process::exit(0),
        "flush-then-exit" => {
            drop(_in);
            root.end();
            langfuse_sdk::flush(Duration::from_secs(10)).expect("flush");
            std::process::exit(0)
        }
        "runtime-drop" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            let lf3 = lf.clone();
            rt.spawn(langfuse_sdk::WithContext::with_current_context(
                async move {
                    let _open = lf3.span("open-in-task").start();
                    tx.send(()).unwrap();
                    std::future::pending::<()>().await;
                },
            ));
            rx.recv().unwrap();
            drop(rt);
        }
        "forget-root" => {
            // A leaked handle: its observation never ends on its own. Returning from main
            // drops the guard, whose shutdown sends it (level WARNING).
            drop(_in);
            std::mem::forget(root);
        }
        other => eprintln!("unknown mode {other:?}"),
    }
}
