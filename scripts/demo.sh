#!/usr/bin/env bash
# Runs the demo: an example that builds a nested trace (spans, a generation with tokens and
# cost, a tool call, an event, a score) and shows it. With LANGFUSE_PUBLIC_KEY/SECRET_KEY set it
# sends the trace to Langfuse; otherwise it prints the trace tree with the console exporter.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${LANGFUSE_PUBLIC_KEY:-}" ] || [ -z "${LANGFUSE_SECRET_KEY:-}" ]; then
  export LANGFUSE_EXPORTER="${LANGFUSE_EXPORTER:-console}"
  echo "(no Langfuse keys set: printing traces with the console exporter)"
fi
cargo run -q -p langfuse-examples --bin nested
