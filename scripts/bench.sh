#!/usr/bin/env bash
# Builds the benchmark in release mode and prints its table. BENCH_CALLS sets the number of
# two-observation calls of the enabled run (default 200000, i.e. 400k observations).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p langfuse-bench
exec "${CARGO_TARGET_DIR:-target}/release/langfuse-bench" "$@"
