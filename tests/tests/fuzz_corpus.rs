//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) through the same entry points the fuzz
//! targets call, so every input the fuzzer keeps — and every crash it ever found, saved there as
//! a regression — runs in the normal test suite on stable Rust.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus for {target}");
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn replay(target: &str, f: fn(&[u8])) {
    for (name, data) in corpus(target) {
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {name} panicked");
    }
}

#[test]
fn sse_stream_corpus() {
    replay("sse_stream", langfuse_openai::fuzz::sse);
}

#[test]
fn responses_corpus() {
    replay("responses", langfuse_openai::fuzz::responses);
}

#[test]
fn traceparent_corpus() {
    replay("traceparent", langfuse_sdk::fuzz::traceparent);
}

#[test]
fn env_config_corpus() {
    replay("env_config", langfuse_sdk::fuzz::env);
}

#[test]
fn capture_encode_corpus() {
    replay("capture_encode", langfuse_sdk::fuzz::capture_and_encode);
}
