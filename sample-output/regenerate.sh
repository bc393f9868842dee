#!/usr/bin/env bash
# Regenerates sample-output/: a real recording by memsample of phases.py (a
# Python program that maps a 96 MiB file, grows its heap, frees half, runs a
# pool of 3 workers sharing a 64 MiB table, spikes for 50 ms and leaks, and
# marks each of these phases), with --phases (each phase's peak) and
# --breakdown (what the memory is) in both layouts, its report (text and
# JSON) and charts. Needs python3.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --quiet --bin memsample
memsample=../target/release/memsample

"$memsample" -i 250ms --phases --breakdown --pss -o phases.csv --plot phases.svg -- python3 phases.py
"$memsample" report phases.csv >phases.report.txt
"$memsample" report phases.csv --json >phases.report.json

"$memsample" -i 250ms --phases --breakdown --per-process -o phases-per-process.csv \
    --plot phases-per-process.svg -- python3 phases.py
"$memsample" report phases-per-process.csv >phases-per-process.report.txt
