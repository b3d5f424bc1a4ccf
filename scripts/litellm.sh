#!/usr/bin/env bash
# Owned copy of the shared LiteLLM launcher (tests, examples and the demo start the proxy with it).
# Start a real LiteLLM proxy on loopback with no upstream internet, for SDK tests.
#
#   start-litellm.sh [DIR]        (DIR defaults to ./.litellm) create DIR/venv if missing (pinned litellm[proxy]), write DIR/config.yaml and
#                                 DIR/fake_upstream.py, start the fake upstream and the proxy, wait for
#                                 /health/liveliness, print PIDs and the base URL (also written to DIR/env).
#   start-litellm.sh stop [DIR]   stop both processes by the PIDs recorded in DIR/*.pid.
#
# Env: PORT (4000), UPSTREAM_PORT (PORT+14080), MASTER_KEY (sk-test-master-1234; set MASTER_KEY= for none),
#      LITELLM_VERSION (1.108.7), PRISMA_VERSION (0.15.0), WITH_LANGFUSE=1 (also install langfuse>=4.7,<5),
#      STARTUP_TIMEOUT seconds (180), PYTHON (python3),
#      LITELLM_VENV (~/.cache/langfuse-rs/litellm-venv; shared by every proxy, installed once under a
#      lock: concurrent first runs wait for one install instead of racing on it).
# Models: gpt-4o-mini and meta-llama/Llama-3.2-1B-Instruct (mock text), mock-tools (mock tool call), mock-error (mock 429),
#         mock-embed (mock embedding), fake-upstream (chat/SSE/usage/tool calls via the fake upstream),
#         fake-embed (embeddings via the fake upstream), fake-details (usage with cached, audio and
#         reasoning tokens), fake-stall (no byte for 120 s: before the answer, or after a stream's
#         first chunk), fake-midstream-error (a stream that breaks after two chunks; LiteLLM relays
#         an error event), fake-content-filter (the upstream refuses by its safety system),
#         fake-ratelimit (the upstream answers 429 with Retry-After: 7),
#         mock-context-window, mock-stream-error, mock-budget (a pre-call hook answers as a spent
#         budget is answered; real budgets need a database). A fake-upstream request that holds
#         the words "stall at once" (in a message, an input) gets nothing for 120 s.
set -euo pipefail

MODE=start
if [ "${1:-}" = "stop" ]; then MODE=stop; shift; fi
DIR=$(mkdir -p "${1:-.litellm}" && cd "${1:-.litellm}" && pwd)
PORT=${PORT:-4000}
UPSTREAM_PORT=${UPSTREAM_PORT:-$((PORT + 14080))}
MASTER_KEY=${MASTER_KEY-sk-test-master-1234}
LITELLM_VERSION=${LITELLM_VERSION:-1.108.7}
PRISMA_VERSION=${PRISMA_VERSION:-0.15.0}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-180}
PYTHON=${PYTHON:-python3}
LITELLM_VENV=${LITELLM_VENV:-$HOME/.cache/langfuse-rs/litellm-venv}

stop_pid() { # stop_pid FILE: TERM, then INT (uvicorn's "force quit"), then KILL; only the recorded PID
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -INT "$pid" 2>/dev/null || true; sleep 2; fi
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

if [ "$MODE" = stop ]; then
  stop_pid "$DIR/litellm.pid"
  stop_pid "$DIR/fake-upstream.pid"
  echo "stopped"
  exit 0
fi

stop_pid "$DIR/litellm.pid"; stop_pid "$DIR/fake-upstream.pid"   # a previous run from this DIR
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PORT" "$UPSTREAM_PORT"; do
  if port_busy "$p"; then echo "port 127.0.0.1:$p is already in use" >&2; exit 1; fi
done

# (a) venv with pinned litellm[proxy]; prisma makes auth errors 401 instead of a bare 500 (not a DB).
# Several first runs may race (parallel test binaries, the demo): the check and the install happen
# under an exclusive lock on a file beside the venv, so one installs and the others wait and re-check.
# A venv cannot be renamed once made (its scripts name their interpreter by absolute path), so the
# install is in place and marked complete only at the end: an interrupted one is redone.
mkdir -p "$(dirname "$LITELLM_VENV")"
WANT="$LITELLM_VERSION $PRISMA_VERSION"
[ "${WITH_LANGFUSE:-0}" = 1 ] && WANT="$WANT langfuse"
installed() { # the versions the marker records, if the venv's interpreter still runs
  [ -f "$LITELLM_VENV/.langfuse-rs-installed" ] && "$LITELLM_VENV/bin/python" -c '' 2>/dev/null &&
    cat "$LITELLM_VENV/.langfuse-rs-installed"
}
has_all() { # has_all WANT...: the marker lists every wanted word
  local have; have=" $(installed || true) "
  for w in $WANT; do case "$have" in *" $w "*) ;; *) return 1 ;; esac; done
}
if ! has_all; then
  exec 9>"$LITELLM_VENV.lock"
  flock 9
  if ! has_all; then
    base=$(installed || true)
    case " $base " in
      *" $LITELLM_VERSION $PRISMA_VERSION "*) ;;
      *)
        echo "installing litellm[proxy]==$LITELLM_VERSION into $LITELLM_VENV, ~2 min, once" >&2
        rm -rf "$LITELLM_VENV"
        "$PYTHON" -m venv "$LITELLM_VENV"
        "$LITELLM_VENV/bin/pip" install -q --disable-pip-version-check "litellm[proxy]==$LITELLM_VERSION" "prisma==$PRISMA_VERSION"
        base="$LITELLM_VERSION $PRISMA_VERSION"
        echo "$base" > "$LITELLM_VENV/.langfuse-rs-installed"
        ;;
    esac
    if [ "${WITH_LANGFUSE:-0}" = 1 ] && ! has_all; then
      echo "installing langfuse>=4.7,<5 into $LITELLM_VENV (the proxy's Langfuse callback), once" >&2
      "$LITELLM_VENV/bin/pip" install -q --disable-pip-version-check "langfuse>=4.7,<5"
      echo "$base langfuse" > "$LITELLM_VENV/.langfuse-rs-installed"
    fi
  fi
  flock -u 9
  exec 9>&-
fi

# (b) fake OpenAI-compatible upstream (stdlib only) and the proxy config
cat > "$DIR/fake_upstream.py" <<'PYEOF'
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
REPLY = "Hello from the fake upstream."
ARGS = '{"city": "Paris"}'
USAGE = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
# fake-details: usage with cached, audio and reasoning token details (gross prompt/completion counts).
DETAILS = {"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32,
           "prompt_tokens_details": {"cached_tokens": 5, "audio_tokens": 3},
           "completion_tokens_details": {"reasoning_tokens": 4, "audio_tokens": 2}}
STALL = 120  # fake-stall: seconds without a byte (before the answer, or after the first chunk of a stream)
class H(BaseHTTPRequestHandler):
    def _json(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            return self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]})
        self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        model, now, cid = req.get("model", "fake-model"), int(time.time()), "chatcmpl-fake-%d" % time.time_ns()
        if "stall at once" in json.dumps(req):  # any endpoint: a request holding these words waits STALL s
            time.sleep(STALL)
        if self.path.endswith("/embeddings"):
            inp = req.get("input", ""); inputs = inp if isinstance(inp, list) else [inp]
            data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i, _ in enumerate(inputs)]
            return self._json(200, {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 3, "total_tokens": 3}})
        if self.path.endswith("/responses"):
            return self._responses(req, model, now)
        if not self.path.endswith("/chat/completions"):
            return self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
        if model == "fake-ratelimit":
            b = json.dumps({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}).encode()
            self.send_response(429); self.send_header("Content-Type", "application/json"); self.send_header("Retry-After", "7")
            self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b); return
        if model == "fake-content-filter":
            return self._json(400, {"error": {"message": "Your request was rejected as a result of the safety system. Your prompt may contain text that is not allowed by our safety system.",
                                              "type": "invalid_request_error", "param": None, "code": "content_policy_violation"}})
        if model == "fake-stall" and not req.get("stream"):
            time.sleep(STALL)
        usage = DETAILS if model == "fake-details" else USAGE
        msgs, tools = req.get("messages") or [{}], req.get("tools") or []
        tool = tools[0]["function"]["name"] if tools and req.get("tool_choice") != "none" and msgs[-1].get("role") != "tool" else None
        call = {"id": "call_fake_1", "type": "function", "function": {"name": tool, "arguments": ARGS}}
        if not req.get("stream"):
            msg = {"role": "assistant", "content": None, "tool_calls": [call]} if tool else {"role": "assistant", "content": REPLY}
            return self._json(200, {"id": cid, "object": "chat.completion", "created": now, "model": model, "usage": usage,
                                    "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if tool else "stop"}]})
        self.send_response(200); self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache"); self.end_headers()
        def chunk(delta, finish=None, usage=None, choices=True):
            c = {"id": cid, "object": "chat.completion.chunk", "created": now, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []}
            if usage is not None: c["usage"] = usage
            self.wfile.write(b"data: " + json.dumps(c).encode() + b"\n\n"); self.wfile.flush()
        if tool:
            chunk({"role": "assistant", "content": None, "tool_calls": [{"index": 0, **call, "function": {"name": tool, "arguments": ""}}]})
            for piece in ('{"city": ', '"Paris"}'):
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        else:
            chunk({"role": "assistant", "content": ""})
            for i, piece in enumerate(("Hello", " from", " the", " fake", " upstream.")):
                if i == 2 and model == "fake-midstream-error":
                    err = {"error": {"message": "upstream overloaded mid-stream", "type": "server_error", "code": "overloaded"}}
                    self.wfile.write(b"data: " + json.dumps(err).encode() + b"\n\n"); self.wfile.flush()
                    return
                if i == 1 and model == "fake-stall":
                    time.sleep(STALL)
                chunk({"content": piece})
        chunk({}, finish="tool_calls" if tool else "stop")
        if (req.get("stream_options") or {}).get("include_usage"):
            chunk(None, usage=usage, choices=False)
        self.wfile.write(b"data: [DONE]\n\n"); self.wfile.flush()
    def _responses(self, req, model, now):  # the Responses API, plain and streamed
        rid, mid = "resp_fake_%d" % time.time_ns(), "msg_fake_1"
        u = {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 6,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15}
        if model == "fake-details":
            u = {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 5}, "output_tokens": 12,
                 "output_tokens_details": {"reasoning_tokens": 4}, "total_tokens": 32}
        def resp(status, text):
            out = [] if text is None else [{"type": "message", "id": mid, "status": "completed", "role": "assistant",
                                              "content": [{"type": "output_text", "text": text, "annotations": []}]}]
            return {"id": rid, "object": "response", "created_at": now, "status": status, "model": model,
                    "output": out, "usage": u if status == "completed" else None}
        if not req.get("stream"):
            return self._json(200, resp("completed", REPLY))
        self.send_response(200); self.send_header("Content-Type", "text/event-stream"); self.end_headers()
        seq = [0]
        def ev(kind, **fields):
            e = {"type": kind, "sequence_number": seq[0], **fields}; seq[0] += 1
            self.wfile.write(("event: %s\ndata: %s\n\n" % (kind, json.dumps(e))).encode()); self.wfile.flush()
        ev("response.created", response=resp("in_progress", None))
        for piece in ("Hello", " from", " the", " fake", " upstream."):
            ev("response.output_text.delta", item_id=mid, output_index=0, content_index=0, delta=piece)
        ev("response.output_text.done", item_id=mid, output_index=0, content_index=0, text=REPLY)
        ev("response.completed", response=resp("completed", REPLY))
    def log_message(self, fmt, *args): sys.stderr.write("fake-upstream: " + fmt % args + "\n")
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF

# A pre-call hook that answers mock-budget the way a spent key, user or team budget is answered
# (the budgets themselves need a database, which this proxy has not).
cat > "$DIR/budget_hook.py" <<'PYEOF'
import litellm
from litellm.integrations.custom_logger import CustomLogger
class BudgetHook(CustomLogger):
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        if data.get("model") == "mock-budget":
            raise litellm.BudgetExceededError(current_cost=0.02, max_budget=0.01,
                message="Budget has been exceeded! Current cost: 0.02, Max budget: 0.01")
        return data
budget_hook = BudgetHook()
PYEOF

UP="http://127.0.0.1:$UPSTREAM_PORT/v1"
{
cat <<EOF
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-mock-not-used
      mock_response: "Hello from the LiteLLM mock."
  - model_name: meta-llama/Llama-3.2-1B-Instruct
    litellm_params:
      model: openai/meta-llama/Llama-3.2-1B-Instruct
      api_key: sk-mock-not-used
      mock_response: "Hi! How can I help you today?"
      input_cost_per_token: 0.0000001
      output_cost_per_token: 0.0000002
  - model_name: mock-tools
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-mock-not-used
      mock_response: ""
      mock_tool_calls:
        - id: call_mock_1
          type: function
          function: {name: get_weather, arguments: '{"city": "Paris"}'}
  - model_name: mock-error
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-mock-not-used
      mock_response: "litellm.RateLimitError"
  - model_name: mock-embed
    litellm_params:
      model: openai/text-embedding-3-small
      api_key: sk-mock-not-used
      mock_response: [0.1, 0.2, 0.3]
  - model_name: fake-upstream
    litellm_params:
      model: openai/fake-model
      api_base: $UP
      api_key: sk-fake-upstream
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
  - model_name: fake-details
    litellm_params:
      model: openai/fake-details
      api_base: $UP
      api_key: sk-fake-upstream
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
  - model_name: fake-stall
    litellm_params:
      model: openai/fake-stall
      api_base: $UP
      api_key: sk-fake-upstream
  - model_name: fake-midstream-error
    litellm_params:
      model: openai/fake-midstream-error
      api_base: $UP
      api_key: sk-fake-upstream
  - model_name: fake-ratelimit
    litellm_params:
      model: openai/fake-ratelimit
      api_base: $UP
      api_key: sk-fake-upstream
      max_retries: 0
  - model_name: fake-content-filter
    litellm_params:
      model: openai/fake-content-filter
      api_base: $UP
      api_key: sk-fake-upstream
  - model_name: mock-context-window
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-mock-not-used
      mock_response: "litellm.ContextWindowExceededError"
  - model_name: mock-stream-error
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-mock-not-used
      mock_response: "Exception: mock_streaming_error"
  - model_name: fake-embed
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: $UP
      api_key: sk-fake-upstream
  - model_name: mock-budget
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-mock-not-used
      mock_response: "not reached: budget_hook rejects mock-budget"
router_settings:
  num_retries: 0          # default 2 retries with backoff turn a mock 429 into a 4-6 s wait
litellm_settings:
  drop_params: true
  callbacks: budget_hook.budget_hook
EOF
if [ "${WITH_LANGFUSE:-0}" = 1 ]; then
  printf '  success_callback: ["langfuse"]\n  failure_callback: ["langfuse"]\n'
fi
if [ -z "$MASTER_KEY" ]; then
  printf 'general_settings:\n  dangerously_permit_weak_or_unset_master_key: true\n'
fi
} > "$DIR/config.yaml"

# (c) start both in the background, offline settings, wait for liveliness
export LITELLM_LOCAL_MODEL_COST_MAP=True   # no fetch of the remote model cost map (raw.githubusercontent.com)
export LITELLM_TELEMETRY_DISABLED=true     # telemetry veto (off by default anyway without an endpoint)
unset DATABASE_URL
if [ -n "$MASTER_KEY" ]; then export LITELLM_MASTER_KEY="$MASTER_KEY"; else unset LITELLM_MASTER_KEY; fi

nohup "$LITELLM_VENV/bin/python" "$DIR/fake_upstream.py" "$UPSTREAM_PORT" > "$DIR/fake-upstream.log" 2>&1 &
echo $! > "$DIR/fake-upstream.pid"
T0=$(date +%s.%N)
nohup "$LITELLM_VENV/bin/litellm" --config "$DIR/config.yaml" --host 127.0.0.1 --port "$PORT" > "$DIR/litellm.log" 2>&1 &
PID=$!
echo "$PID" > "$DIR/litellm.pid"

deadline=$(( $(date +%s) + STARTUP_TIMEOUT ))
until curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$PORT/health/liveliness" 2>/dev/null; do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "litellm exited during startup; last log lines:" >&2; tail -n 30 "$DIR/litellm.log" >&2
    stop_pid "$DIR/fake-upstream.pid"; exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "litellm not ready after ${STARTUP_TIMEOUT}s; see $DIR/litellm.log" >&2
    stop_pid "$DIR/litellm.pid"; stop_pid "$DIR/fake-upstream.pid"; exit 1
  fi
  sleep 0.25
done
T1=$(date +%s.%N)

cat > "$DIR/env" <<EOF
LITELLM_BASE_URL=http://127.0.0.1:$PORT
LITELLM_API_KEY=$MASTER_KEY
LITELLM_PID=$PID
FAKE_UPSTREAM_URL=$UP
FAKE_UPSTREAM_PID=$(cat "$DIR/fake-upstream.pid")
EOF
cat "$DIR/env"
awk -v a="$T0" -v b="$T1" 'BEGIN { printf "ready in %.1fs (proxy start to /health/liveliness)\n", b - a }' 
echo "$PID"
