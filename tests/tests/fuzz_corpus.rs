//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) and every crash the fuzzer ever found
//! (`fuzz/regressions/<target>/`, kept out of corpus minimisation) through the same entry points
//! the fuzz targets call, so they run in the normal test suite on stable Rust.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files: Vec<_> = ["corpus", "regressions"]
        .iter()
        .filter_map(|d| std::fs::read_dir(root.join(d).join(target)).ok())
        .flatten()
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
fn crashes_found_by_fuzzing_are_kept_as_regressions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/env_config");
    assert!(std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0) >= 2);
}

#[test]
fn env_config_corpus() {
    replay("env_config", langfuse_sdk::fuzz::env);
}

#[test]
fn capture_encode_corpus() {
    replay("capture_encode", langfuse_sdk::fuzz::capture_and_encode);
}

#[test]
fn gzip_corpus() {
    replay("gzip", |data| {
        langfuse_sdk::fuzz::gzip(data, |z| langfuse_tests::gunzip(z).expect("valid gzip"))
    });
}
