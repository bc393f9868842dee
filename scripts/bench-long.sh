#!/usr/bin/env bash
# A long, fast run while descendants come and go: memsample attached at
# INTERVAL_MS for DURATION_S to a shell that starts a short-lived child (the
# fixture, holding 1 MiB for 5 ms) over and over. Reports drift, skipped
# ticks, and memsample's own RSS and open file descriptors near the start and
# near the end (no growth, no leak).
#
# Usage: scripts/bench-long.sh [INTERVAL_MS] [DURATION_S]   (default 1 ms, 60 s:
#        60,000 samples, as many as 16 hours at 1 s)
set -euo pipefail
cd "$(dirname "$0")/.."
interval_ms=${1:-1}
duration_s=${2:-60}
cargo build --release --quiet --example fixture --bin memsample
fixture=$PWD/target/release/examples/fixture
work=$(mktemp -d)
sh -c "while :; do '$fixture' hold 1 sleep 5; done" &
churn=$!
trap 'kill "$churn" 2>/dev/null || true; rm -rf "$work"' EXIT

target/release/memsample -i "${interval_ms}ms" --duration "${duration_s}s" \
    -o "$work/mem.csv" --pid "$churn" 2>"$work/stderr" &
memsample=$!

probe() { # RSS in KiB and number of open fds of memsample
    local rss fds
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$memsample/status")
    fds=$(find "/proc/$memsample/fd" -mindepth 1 | wc -l)
    echo "$rss $fds"
}
sleep 1
read -r rss_start fds_start < <(probe)
sleep $((duration_s - 2))
read -r rss_end fds_end < <(probe)
wait "$memsample"

rows=$(($(wc -l <"$work/mem.csv") - 1))
interval_s=$(awk -v ms="$interval_ms" 'BEGIN { printf "%.9f", ms / 1000 }')
echo "run:        attach at ${interval_ms} ms for ${duration_s} s to a shell starting children all the time"
echo "rows:       $rows; most processes in a row: $(awk -F, 'NR > 1 && $4 > m { m = $4 } END { print m }' "$work/mem.csv")"
grep -E "samples over|skipped" "$work/stderr" | sed 's/^memsample: /summary:    /' | head -1
skipped=$(sed -n 's/.*(\([0-9]*\) ticks\{0,1\} skipped.*/\1/p' "$work/stderr")
# The last interval row is tick k = (interval rows + skipped ticks): its
# lateness against k·interval is the cumulative drift.
awk -F, -v step="$interval_s" -v skipped="${skipped:-0}" '$3 == "interval" { n++; last = $2 }
    END { k = n + skipped; printf "drift:      last tick k=%d at %.6f s, k·interval %.6f s: %+.3f ms\n", k, last, k * step, (last - k * step) * 1000 }' "$work/mem.csv"
echo "own RSS:    ${rss_start} KiB after 1 s, ${rss_end} KiB 1 s before the end"
echo "open fds:   ${fds_start} after 1 s, ${fds_end} 1 s before the end"
