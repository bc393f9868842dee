#!/usr/bin/env bash
# What memsample.mark() costs the Python job that calls it (docs/phases.md,
# "From Python"; goal: a few µs, never waiting while memsample keeps up): a job
# recorded with --phases sends N marks paced 1 ms apart (1,000 a second),
# then N back to back, timing each call; then as many plain `sendto`s of a
# socket made once, paced then back to back (the floor: the system call
# alone). The pacing spins, as
# a job is running when it marks (a sleep would time the wake-up instead).
# Prints each one's p50, p99 and max in µs, and checks that every mark has
# its row.
#
# Usage: scripts/bench-python-mark.sh [N]   (default 1000)
# Needs python3. Uses the package in python/ of this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
cargo build --release --quiet --bin memsample
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

PYTHONPATH=$PWD/python PYTHONDONTWRITEBYTECODE=1 target/release/memsample -q --phases -i 1s \
    -o "$out/marks.csv" -- python3 - "$n" >"$out/times.txt" <<'PY'
import os, socket, sys, time
import memsample

n = int(sys.argv[1])
clock = time.perf_counter_ns

def report(what, ns):
    ns.sort()
    pick = lambda q: ns[min(len(ns) - 1, int(q * len(ns)))] / 1000
    print(f"{what:<38} p50 {pick(0.5):7.1f} µs  p99 {pick(0.99):7.1f} µs  max {ns[-1] / 1000:8.1f} µs")

memsample.mark("warm-up")
paced = []
for i in range(n):
    deadline = clock() + 1_000_000
    start = clock()
    memsample.mark(f"paced {i}")
    paced.append(clock() - start)
    while clock() < deadline:
        pass
report(f"mark(), {n} paced 1 ms apart", paced)

burst = []
for i in range(n):
    start = clock()
    memsample.mark(f"burst {i}")
    burst.append(clock() - start)
report(f"mark(), {n} back to back", burst)

# The floor, paced as the first: one sendto of a socket made once.
path = os.environ["MEMSAMPLE_CONTROL"]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
floor = []
for i in range(n):
    deadline = clock() + 1_000_000
    start = clock()
    sock.sendto(f"floor {i}".encode(), path)
    floor.append(clock() - start)
    while clock() < deadline:
        pass
report(f"sendto() alone, {n} paced 1 ms apart", floor)

floor = []
for i in range(n):
    start = clock()
    sock.sendto(f"floor burst {i}".encode(), path)
    floor.append(clock() - start)
report(f"sendto() alone, {n} back to back", floor)
PY
cat "$out/times.txt"
rows=$(grep -c ',mark,' "$out/marks.csv" || true)
expected=$((4 * n + 1))
echo "mark rows: $rows of $expected sent"
[ "$rows" -eq "$expected" ]
