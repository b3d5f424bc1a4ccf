#!/usr/bin/env bash
# Counts the calling thread's instructions per observation for the two-level workload, with
# valgrind's callgrind: unlike time, the count does not drift with the machine or its neighbours,
# so it compares builds and machines. Each variant runs 50k and 100k calls; the difference,
# divided by the 100k extra observations, leaves out start-up and the client's setup.
# Needs valgrind (`apt-get install valgrind`); takes under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || {
    echo "bench-instructions: valgrind is not installed (apt-get install valgrind)" >&2
    exit 2
}
cargo build --release -q -p langfuse-bench
bin="${CARGO_TARGET_DIR:-target}/release/langfuse-bench"
# Absolute, for the runs below in a temporary directory (CARGO_TARGET_DIR may be either).
case "$bin" in /*) ;; *) bin="$(pwd)/$bin" ;; esac
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The main thread's instruction total (callgrind's file for thread 1) for `calls` calls.
count() {
    local variant=$1 calls=$2 out="$work/$1.$2"
    # The sink never answers (BENCH_PROFILE_STALL): the exporter stays idle, which keeps the run
    # short under valgrind. The calling thread runs the same code, except that full batches do
    # not come back for reuse, so it allocates one more buffer per 64 KB batch. (The exit
    # status is not checked: the stalled shutdown reports what it could not deliver.)
    (cd "$work" && BENCH_PROFILE_STALL=1 BENCH_PROFILE_CALLS=$calls \
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
        "$bin" --profile "$variant" >/dev/null 2>&1) || true
    [ -s "$out-01" ] || {
        echo "bench-instructions: callgrind wrote no profile for '$variant' ($calls calls)" >&2
        exit 1
    }
    awk '/^(summary|totals):/ { print $2; exit }' "$out-01"
}

echo "calling-thread instructions per observation (callgrind, marginal between 50k and 100k calls)"
echo
echo "| variant | instructions / observation | over untraced |"
echo "|---|---:|---:|"
base=""
for v in untraced disabled unsampled enabled; do
    a=$(count "$v" 50000)
    b=$(count "$v" 100000)
    per=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.0f", (b - a) / 100000 }')
    if [ -z "$base" ]; then
        base=$per
        echo "| $v | $per | - |"
    else
        echo "| $v | $per | +$(( per - base )) |"
    fi
done
