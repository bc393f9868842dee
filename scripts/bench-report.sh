#!/usr/bin/env bash
# Reading recordings at scale: time and max RSS (/usr/bin/time -v) of
#  - `report` over 1,000 recordings of 600 rows each (goal: < 2 s, < 50 MiB),
#  - `report` and `plot` of one recording of about SIZE_MB MB (goal: max RSS
#    under 1/5 of the file's size).
# The inputs are generated under target/bench-report/ (never committed) and
# removed at the end unless KEEP=1.
#
# Usage: scripts/bench-report.sh [SIZE_MB]   (default 1000: a 1 GB recording)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1000}
cargo build --release --quiet --bin memsample
memsample=$PWD/target/release/memsample
work=$PWD/target/bench-report
rm -rf "$work"
mkdir -p "$work/many"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

header=timestamp,elapsed_s,trigger,procs,rss_bytes,vsz_bytes,cpu_percent,peak_rss_bytes
# rows N SEED: a default-layout recording of N rows at 1 s, RSS noisy
# between 100 and 150 MiB with a slow leak, its peak column never decreasing.
rows() {
    awk -v n="$1" -v seed="$2" -v header="$header" 'BEGIN {
        srand(seed); print header; peak = 0; rss = 104857600
        for (i = 0; i < n; i++) {
            rss = 104857600 + int(rand() * 52428800) + i * 8
            if (rss > peak) peak = rss
            s = i % 60; m = int(i / 60) % 60; h = int(i / 3600) % 24; d = 1 + int(i / 86400) % 28
            printf "2026-11-%02dT%02d:%02d:%02d.000Z,%d.000000,%s,1,%.0f,%.0f,%.1f,%.0f\n",
                d, h, m, s, i, (i == 0 ? "start" : "interval"), rss, rss * 3, rand() * 100, peak
        }
    }'
}

measure() { # LABEL COMMAND...: prints wall time and max RSS
    local label=$1; shift
    /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || {
        local code=$?
        [ "$code" = 1 ] || { cat "$work/time.txt"; exit "$code"; }
    }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$work/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
    printf '%-44s wall %8s   max RSS %8d KiB (%.1f MiB)\n' "$label" "$wall" "$rss" "$(echo "$rss / 1024" | bc -l)"
    last_rss_kib=$rss
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 1000); do rows 600 "$i" >"$work/many/r$i.csv"; done
measure "report of 1,000 recordings x 600 rows" "$memsample" report "$work"/many/r*.csv
measure "report --json of the same" "$memsample" report --json "$work"/many/r*.csv
measure "report --markdown --baseline of the same" \
    "$memsample" report --markdown --baseline "$work/many/r1.csv" "$work"/many/r*.csv

# About 75 bytes a row.
count=$((size_mb * 1000000 / 75))
rows "$count" 7 >"$work/big.csv"
bytes=$(stat -c %s "$work/big.csv")
echo "big recording: $count rows, $bytes bytes"
measure "report of the big recording" "$memsample" report "$work/big.csv"
echo "  max RSS / file size: $(echo "$last_rss_kib * 1024 / $bytes" | bc -l | cut -c1-6) (goal < 0.2)"
measure "plot of the big recording" "$memsample" plot "$work/big.csv" -o "$work/big.svg"
echo "  max RSS / file size: $(echo "$last_rss_kib * 1024 / $bytes" | bc -l | cut -c1-6) (goal < 0.2)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
