//! The SDK's warnings, as a test sees them: a `tracing` subscriber installed once per test
//! binary that collects every event's fields as text.

use std::sync::{Mutex, OnceLock};

static LOGS: OnceLock<&'static Mutex<String>> = OnceLock::new();

/// Installs the collector (once per test binary: it is the global default subscriber) and
/// returns what it holds. Call it before the SDK first warns, so nothing goes to stderr.
pub fn logs() -> &'static Mutex<String> {
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<String> = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Collect(logs))
            .expect("no other global subscriber in this test binary");
        logs
    })
}

/// Everything logged so far (by every test of this binary).
pub fn logs_now() -> String {
    logs().lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs `f` with a collector of its own as this thread's subscriber: what the SDK says on this
/// thread while `f` runs (and nothing another test says), with `f`'s result.
pub fn on_this_thread<R>(f: impl FnOnce() -> R) -> (R, String) {
    let logs: &'static Mutex<String> = Box::leak(Box::default());
    let r = tracing::subscriber::with_default(Collect(logs), f);
    let said = logs.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (r, said)
}

struct Collect(&'static Mutex<String>);
struct Visit<'a>(&'a mut String);

impl tracing::field::Visit for Visit<'_> {
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?}\n", f.name(), v));
    }
}

impl tracing::Subscriber for Collect {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        e.record(&mut Visit(
            &mut self.0.lock().unwrap_or_else(|e| e.into_inner()),
        ));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
