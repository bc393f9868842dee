#!/usr/bin/env bash
# Marks under load (docs/phases.md; the goals and the figures measured:
# docs/performance.md, "marks"):
#   (a) a job sends RATE marks a second for SECONDS (scripts/mark-flood.c:
#       one datagram each, paced to absolute deadlines, not a burst) under
#       `memsample --phases -i INTERVAL`: every mark must be a row of its own,
#       in order (none lost, none merged);
#   (b) the schedule: the lateness of the interval's rows (trigger
#       `interval`) against their deadlines, the same job with and without
#       the flood. A mark restarts the interval (docs/phases.md), so each
#       row's deadline is the previous `start`, `mark` or `manual` row plus
#       k * INTERVAL; at 1,000 marks a second against a 100 ms interval no
#       interval row falls inside the flood, by design, and the samples
#       taken then are the marks' own rows: their lag behind their sends
#       (each mark's row minus its send, less the first mark's) is given too;
#   (c) the cost of one send: sendto() in the sender (p50, p99), and
#       `memsample mark NAME` from process start to exit (hyperfine when
#       installed), against a live recording and without one.
#
# Usage: scripts/bench-marks.sh [RATE] [SECONDS] [INTERVAL_MS] [MARK_RUNS]
#        (defaults: 1000 marks/s for 5 s at 100 ms; 1000 runs of `memsample mark`)
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-1000}
seconds=${2:-5}
interval_ms=${3:-100}
mark_runs=${4:-1000}

cargo build --release --quiet --bin memsample
bin=$PWD/target/release/memsample
work=$(mktemp -d)
recorder=
cleanup() {
    if [ -n "$recorder" ]; then kill "$recorder" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -Wall -o "$work/mark-flood" scripts/mark-flood.c

# Percentile P (0-100) of the numbers in FILE (one a line), nearest rank.
pct() { sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print v[i] }'; }
# "p50 X, p99 Y, max Z UNIT (N values)" of FILE.
spread() {
    printf 'p50 %.3f, p99 %.3f, max %.3f %s (%d values)' "$(pct "$1" 50)" "$(pct "$1" 99)" \
        "$(pct "$1" 100)" "$2" "$(wc -l <"$1")"
}
# The lateness in ms of each interval row of CSV $1 against its deadline:
# the previous row that restarted the schedule (start, mark, manual) plus
# k * interval.
lateness() {
    awk -F, -v step="$interval_ms" '
        NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "trigger") t = i; if ($i == "elapsed_s") e = i }; next }
        $t == "start" || $t == "mark" || $t == "manual" { origin = $e * 1000; k = 0; next }
        $t == "interval" { k++; printf "%.3f\n", $e * 1000 - (origin + k * step) }' "$1"
}
# Time and CPU of a recording: `run NAME JOB...` records JOB into NAME.csv.
run() {
    local name=$1
    shift
    /usr/bin/time -f "%U %S %M" -o "$work/$name.time" \
        "$bin" -q --phases -i "${interval_ms}ms" -o "$work/$name.csv" -- "$@"
}

echo "machine:  $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
flood="sleep 1; \"$work/mark-flood\" $rate $seconds m \"$work/sends\"; sleep 1"
quiet="sleep 1; sleep $seconds; sleep 1"
echo "job:      sh -c '1 s idle; $rate marks/s for $seconds s; 1 s idle' under memsample --phases -i ${interval_ms}ms"
run flood sh -c "$flood"
run quiet sh -c "$quiet"

# (a) every mark a row, in order.
sent=$(wc -l <"$work/sends")
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "trigger") t = i; if ($i == "phase") p = i }; next }
    $t == "mark" { print $p }' "$work/flood.csv" >"$work/marked"
rows=$(wc -l <"$work/marked")
in_order=$(awk '$1 != "m" (NR - 1) { bad++ } END { print bad ? "NO" : "yes" }' "$work/marked")
echo "(a) marks: $sent sent, $rows mark rows, each its own and in order: $in_order"

# (b) the schedule with and without the flood.
lateness "$work/quiet.csv" >"$work/late-quiet"
lateness "$work/flood.csv" >"$work/late-flood"
echo "(b) interval rows' lateness, no marks:     $(spread "$work/late-quiet" ms)"
echo "    interval rows' lateness, with the flood: $(spread "$work/late-flood" ms) (none inside the flood: each mark restarts the interval)"
# Each mark's row against its send, less the first mark's lag (the two
# clocks' offset): how much later than the first a mark's row came.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "trigger") t = i; if ($i == "elapsed_s") e = i }; next }
    $t == "mark" { print $e * 1e6 }' "$work/flood.csv" >"$work/mark-rows"
paste -d' ' "$work/mark-rows" "$work/sends" |
    awk 'NR == 1 { lag0 = $1 - $4 } { printf "%.3f\n", ($1 - $4 - lag0) / 1000 }' >"$work/lag"
echo "    mark rows behind their sends (less the first's lag): $(spread "$work/lag" ms)"
for name in quiet flood; do
    read -r user sys maxrss_kb <"$work/$name.time"
    n=$(($(wc -l <"$work/$name.csv") - 1))
    awk -v u="$user" -v s="$sys" -v n="$n" -v kb="$maxrss_kb" -v name="$name" 'BEGIN {
        printf "    memsample, %-5s: %d rows, CPU %.2f s (%.1f us a row, 10 ms resolution), max RSS %.1f MiB\n",
            name, n, u + s, (u + s) * 1e6 / n, kb / 1024 }'
done

# (c) one send.
awk '{ print $4 }' "$work/sends" >"$work/sendto"
echo "(c) sendto() in the sender: $(spread "$work/sendto" us)"
# The floor: the same sends to a socket of the sender's own that it reads
# back itself, waking no other thread.
"$work/mark-flood" "$rate" "$seconds" m "$work/sends-self" self
awk '{ print $4 }' "$work/sends-self" >"$work/sendto-self"
echo "    sendto() to a socket no thread waits on (the floor): $(spread "$work/sendto-self" us)"
# `memsample mark` against a live recording (its marks are recorded: counted
# below), and without one (a no-op).
"$bin" -q --phases -i 1h -o "$work/target.csv" -- sh -c "echo \"\$MEMSAMPLE_CONTROL\" >\"$work/ctl\"; exec sleep 3600" &
recorder=$!
for _ in $(seq 100); do [ -s "$work/ctl" ] && break; sleep 0.05; done
control=$(cat "$work/ctl")
if command -v hyperfine >/dev/null; then
    MEMSAMPLE_CONTROL=$control hyperfine -N --style none --warmup 20 --runs "$mark_runs" \
        --export-json "$work/mark.json" "$bin mark bench" >/dev/null 2>&1
    env -u MEMSAMPLE_CONTROL hyperfine -N --style none --warmup 20 --runs "$mark_runs" \
        --export-json "$work/noop.json" "$bin mark bench" >/dev/null 2>&1
    hyperfine -N --style none --warmup 20 --runs "$mark_runs" \
        --export-json "$work/true.json" true >/dev/null 2>&1
    for name in mark noop true; do
        jq -r '.results[0].times[] * 1000' "$work/$name.json" >"$work/$name.ms"
    done
    echo "    memsample mark, to a recording (hyperfine, process start to exit): $(spread "$work/mark.ms" ms)"
    echo "    memsample mark, no recording (a no-op):                          $(spread "$work/noop.ms" ms)"
    echo "    true(1), for scale:                                              $(spread "$work/true.ms" ms)"
    sent_by_mark=$((mark_runs + 20))
else
    for _ in $(seq "$mark_runs"); do
        start=$(date +%s%N)
        MEMSAMPLE_CONTROL=$control "$bin" mark bench
        end=$(date +%s%N)
        awk -v d=$((end - start)) 'BEGIN { printf "%.3f\n", d / 1e6 }'
    done >"$work/mark.ms"
    echo "    memsample mark, to a recording (no hyperfine: date around each run): $(spread "$work/mark.ms" ms)"
    sent_by_mark=$mark_runs
fi
kill -TERM "$recorder"
wait "$recorder" 2>/dev/null || true
recorder=
got=$(grep -c ',mark,bench,' "$work/target.csv" || true)
echo "    its marks recorded: $got of $sent_by_mark"
