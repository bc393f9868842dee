#!/usr/bin/env bash
# End-to-end cost and schedule of memsample, from the outside:
#   CPU per sample  = (user + sys of memsample) / rows, attached to a steady
#                     process at a 10 ms interval for 10 s (goal: <= 1.25x the
#                     floor of `cargo bench --bench wakeup_floor`, run in turns);
#   max RSS         = memsample's own peak (goal: <= 4 MiB);
#   drift           = elapsed_s of the last row minus k * interval (goal: 0);
#   lateness        = elapsed_s - k * interval per row: p50, p99, max
#                     (goal: p99 < 1 ms at 10 ms).
# The goals and the figures measured: docs/performance.md.
#
# Usage: scripts/bench-record.sh [INTERVAL_MS] [DURATION_S] [memsample flags...]
#        (defaults: 10 ms for 10 s; e.g. `scripts/bench-record.sh 10 10 --no-children`)
# The target is the test fixture; FIXTURE_ARGS changes what it does, e.g. a
# tree of 200 processes at 10 Hz:
#   FIXTURE_ARGS="children 200 1 3600000 sleep 3600000" scripts/bench-record.sh 100 10
set -euo pipefail
cd "$(dirname "$0")/.."
interval_ms=${1:-10}
duration_s=${2:-10}
shift $(($# < 2 ? $# : 2))
interval="${interval_ms}ms"
duration="${duration_s}s"

cargo build --release --quiet --example fixture --bin memsample
bin=target/release/memsample
work=$(mktemp -d)
trap 'pkill -P "$target" 2>/dev/null || true; kill "$target" 2>/dev/null || true; rm -rf "$work"' EXIT

read -r -a fixture_args <<<"${FIXTURE_ARGS:-hold 64 sleep 3600000}"
target/release/examples/fixture "${fixture_args[@]}" &
target=$!
# Let a tree of children start before attaching.
sleep 1

# /usr/bin/time gives the max RSS; its CPU times come in 10 ms steps, so the
# CPU is taken from `perf stat` (task-clock, in ms) when perf works here.
run=("$bin" -q -i "$interval" --duration "$duration" -o "$work/mem.csv" "$@" --pid "$target")
if perf stat -e task-clock true >/dev/null 2>&1; then
    perf stat -x, -e task-clock -o "$work/perf" /usr/bin/time -f "%U %S %M" -o "$work/time" "${run[@]}"
    cpu_ms=$(awk -F, '/task-clock/ { print $1 }' "$work/perf")
else
    /usr/bin/time -f "%U %S %M" -o "$work/time" "${run[@]}"
    cpu_ms=""
fi
read -r user sys maxrss_kb <"$work/time"
rows=$(($(wc -l <"$work/mem.csv") - 1))
procs=$(awk -F, 'NR > 1 { n = $4 } END { print n }' "$work/mem.csv")
interval_s=$(awk -v ms="$interval_ms" 'BEGIN { printf "%.9f", ms / 1000 }')
echo "machine:      $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "run:          attach to: fixture ${fixture_args[*]}; -i $interval --duration $duration $*"
echo "rows:         $rows (procs in the last: $procs)"
if [ -n "$cpu_ms" ]; then
    awk -v ms="$cpu_ms" -v n="$rows" 'BEGIN { printf "CPU/sample:   %.1f us (task-clock %.1f ms over %d rows, start-up included)\n", ms * 1000 / n, ms, n }'
    awk -v ms="$cpu_ms" -v s="$duration_s" 'BEGIN { printf "CPU load:     %.2f %% of one core\n", ms / (s * 1000) * 100 }'
else
    awk -v u="$user" -v s="$sys" -v n="$rows" 'BEGIN { printf "CPU/sample:   %.1f us (user %.2f s + sys %.2f s over %d rows, 10 ms resolution)\n", (u + s) * 1e6 / n, u, s, n }'
fi
awk -v kb="$maxrss_kb" 'BEGIN { printf "max RSS:      %.1f MiB\n", kb / 1024 }'
# Lateness of each interval row against its absolute deadline k * interval.
awk -F, -v step="$interval_s" 'NR > 2 && $3 == "interval" {
        k = NR - 2; late = ($2 - k * step) * 1000; print late
    }' "$work/mem.csv" | sort -n >"$work/late"
count=$(wc -l <"$work/late")
p50=$(awk -v n="$count" 'NR == int(n * 0.50) + 1' "$work/late")
p99=$(awk -v n="$count" 'NR == int(n * 0.99) + 1' "$work/late")
max=$(tail -1 "$work/late")
last=$(awk -F, -v step="$interval_s" '$3 == "interval" { k = NR - 2; d = ($2 - k * step) * 1000 } END { printf "%.3f", d }' "$work/mem.csv")
echo "lateness:     p50 ${p50} ms, p99 ${p99} ms, max ${max} ms (per tick, vs k·interval)"
echo "drift:        ${last} ms at the last tick (cumulative; a tick's lateness does not carry over)"
