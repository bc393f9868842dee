#!/usr/bin/env bash
# CPU per sample of two memsample binaries, measured in turns against the
# same steady target, so that both see the same machine: on a shared or
# virtual machine the cost of a wake-up moves by up to 2x from minute to
# minute, and only runs side by side can show a regression.
#
# Usage: scripts/bench-compare.sh OLD_BIN NEW_BIN [ROUNDS] [memsample flags...]
#        (defaults: 5 rounds of 10 s at a 10 ms interval each, attached to the
#        fixture holding 64 MiB; e.g. build the old one with
#        `git worktree add /tmp/old REV && cargo build --release --manifest-path /tmp/old/Cargo.toml`)
# Prints each run's task-clock per sample (perf) and the median of each binary.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1
new=$2
rounds=${3:-5}
shift $(($# < 3 ? $# : 3))

perf stat -e task-clock true >/dev/null 2>&1 || {
    echo "bench-compare: needs perf (Debian's linux-perf)" >&2
    exit 2
}
cargo build --release --quiet --example fixture
work=$(mktemp -d)
target/release/examples/fixture hold 64 sleep 3600000 &
target=$!
trap 'kill "$target" 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 0.5

# One run: task-clock (ms) per row, in microseconds.
measure() {
    local bin=$1
    shift
    perf stat -x, -e task-clock -o "$work/perf" \
        "$bin" -q -i 10ms --duration 10s -o "$work/mem.csv" "$@" --pid "$target" 2>/dev/null
    local ms rows
    ms=$(awk -F, '/task-clock/ { print $1 }' "$work/perf")
    rows=$(($(wc -l <"$work/mem.csv") - 1))
    awk -v ms="$ms" -v n="$rows" 'BEGIN { printf "%.1f\n", ms * 1000 / n }'
}

for round in $(seq 1 "$rounds"); do
    a=$(measure "$old" "$@")
    b=$(measure "$new" "$@")
    echo "round $round: old $a us, new $b us (load $(cut -d' ' -f1 /proc/loadavg))"
    echo "$a" >>"$work/old"
    echo "$b" >>"$work/new"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median CPU per sample: old $(median "$work/old") us, new $(median "$work/new") us"
