#!/usr/bin/env bash
# Runs every test of the workspace, plus the format and lint checks CI holds us to.
# Usage: scripts/test.sh            (from anywhere; needs only cargo)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

echo "== cargo test (workspace, all features)"
cargo test --workspace --all-features

echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features -q
