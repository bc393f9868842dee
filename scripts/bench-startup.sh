#!/usr/bin/env bash
# Start-up and exit cost of memsample: N runs of a command that exits at
# once (the fixture, sleeping 1 ms), alone and under memsample; the difference
# per run is memsample's own start and end (goal, docs/performance.md: <= 5 ms).
#
# Usage: scripts/bench-startup.sh [RUNS]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
cargo build --release --quiet --example fixture --bin memsample
fixture=target/release/examples/fixture
out=$(mktemp)
trap 'rm -f "$out"' EXIT

elapsed() {
    local start end
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do "$@"; done
    end=$(date +%s%N)
    echo $(((end - start) / runs))
}
alone=$(elapsed "$fixture" sleep 1)
wrapped=$(elapsed target/release/memsample -q -o "$out" -- "$fixture" sleep 1)
awk -v a="$alone" -v w="$wrapped" -v n="$runs" 'BEGIN {
    printf "command alone:     %.2f ms per run (%d runs)\n", a / 1e6, n
    printf "under memsample:   %.2f ms per run\n", w / 1e6
    printf "memsample adds:    %.2f ms per run (start-up, first sample, exit)\n", (w - a) / 1e6
}'
