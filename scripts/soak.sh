#!/usr/bin/env bash
# Soak with faults: 1M observations from 8 tokio tasks and 2 threads against a fault-injecting
# server on 127.0.0.1 (500s, 429s with Retry-After, resets, slow responses, a 20 s outage), then
# the accounting, integrity, memory and leak checks (at most 5 minutes). `--short` is the
# version CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p langfuse-tests --bin soak
exec timeout 300 "${CARGO_TARGET_DIR:-target}/release/soak" "$@"
