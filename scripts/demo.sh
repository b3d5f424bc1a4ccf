#!/usr/bin/env bash
# The demo, for a fresh machine: installs (first run, ~2 min) and starts a local LiteLLM proxy
# with mock models, runs the examples against it, shows their trace trees, and stops the proxy.
#
# With LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY (and LANGFUSE_BASE_URL) set, the traces go to
# Langfuse; otherwise each trace is printed as a tree by the console exporter.
#
# Env: LITELLM_PORT (4000; the fake upstream uses LITELLM_PORT+14080), LITELLM_VENV (where the
# launcher installs LiteLLM, default ~/.cache/langfuse-rs/litellm-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${LITELLM_PORT:-4000}
DIR=.litellm/demo
export LITELLM_VENV=${LITELLM_VENV:-$HOME/.cache/langfuse-rs/litellm-venv}
mkdir -p "$DIR"

EXAMPLES="nested hello agent streaming embeddings prompt experiment"
if [ -z "${LANGFUSE_PUBLIC_KEY:-}" ] || [ -z "${LANGFUSE_SECRET_KEY:-}" ]; then
  echo "(no Langfuse keys set: printing traces with the console exporter; proxy_logs is skipped,"
  echo " as the proxy's own Langfuse callback would have nowhere to record its generation)"
else
  # proxy_logs lets the proxy record the generation: its Langfuse callback sends to the same
  # Langfuse (LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY from this environment).
  EXAMPLES="$EXAMPLES proxy_logs"
  export WITH_LANGFUSE=1 LANGFUSE_HOST=${LANGFUSE_BASE_URL:-${LANGFUSE_HOST:-https://cloud.langfuse.com}}
fi

echo "== building the examples"
cargo build -q -p langfuse-examples

echo "== starting LiteLLM on 127.0.0.1:$PORT (first run installs it into $LITELLM_VENV)"
trap 'bash scripts/litellm.sh stop "$DIR" >/dev/null 2>&1 || true' EXIT
# The launcher's progress lines (the first run's install) go to the terminal as well as the log.
if ! PORT=$PORT bash scripts/litellm.sh "$DIR" > "$DIR.start.log" 2> >(tee -a "$DIR.start.log" >&2); then
  cat "$DIR.start.log" >&2
  echo "LiteLLM did not start. If a port is in use, run with another: LITELLM_PORT=4100 scripts/demo.sh" >&2
  exit 1
fi
export OPENAI_BASE_URL="http://127.0.0.1:$PORT"
export OPENAI_API_KEY=sk-test-master-1234

for ex in $EXAMPLES; do
  echo
  echo "== example: $ex"
  "${CARGO_TARGET_DIR:-target}/debug/$ex"
done
echo
echo "== done; stopping LiteLLM"
