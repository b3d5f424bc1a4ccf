#!/usr/bin/env bash
# Runs every test of the workspace, plus the format, lint and doc checks CI holds us to.
# Usage: scripts/test.sh            (from anywhere; needs only cargo)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features -q

echo "== soak with faults (short version; scripts/soak.sh runs the full one)"
cargo build --release -q -p langfuse-tests --bin soak
"${CARGO_TARGET_DIR:-target}/release/soak" --short 2>&1 | grep -v '^\[langfuse\]'

echo "== cargo test (workspace, all features)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --all-features 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "workspace: $passed passed, $failed failed"
exit "$rc"
