#!/usr/bin/env bash
# The Python install path, end to end: builds the wheel from this checkout
# (pyproject.toml, maturin `bindings = "bin"`, the same build `pip install .`
# runs), installs that wheel into a fresh virtual environment, records a
# Python command that allocates 30 MiB with the installed `memsample`, and
# checks with the installed `memsample report --json` that the recorded peak
# is at least 30 MiB. Prints the wheel's size and the installed binary's.
#
# Usage: scripts/check-install.sh
# Needs python3 with the venv module, and PyPI reachable (pip fetches maturin
# into its isolated build environment). The release build goes to this
# checkout's target/, so a later `cargo build --release` reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export CARGO_TARGET_DIR="$root/target"

step() { printf '\n== %s\n' "$*"; }

step "fresh virtual environment in $work/venv"
python3 -m venv "$work/venv"
venv=$work/venv/bin

step "building the wheel (pip wheel . : maturin, release profile, symbols stripped)"
"$venv/python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$root"
wheel=$(find "$work/dist" -name 'memsample-*.whl')
echo "built $(basename "$wheel"): $(stat -c %s "$wheel") bytes"

step "the wheel holds the binary and its metadata, no Python code"
"$venv/python" - "$wheel" <<'EOF'
import re, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
allowed = re.compile(r"memsample-[^/]+\.(data/scripts/memsample|dist-info/.+)")
stray = [n for n in names if not allowed.fullmatch(n)]
assert not stray, f"unexpected files in the wheel: {stray}"
assert any(n.endswith(".data/scripts/memsample") for n in names), names
print("\n".join(names))
EOF

step "installing the wheel into the fresh environment"
"$venv/python" -m pip install --quiet "$wheel"
export PATH="$venv:$PATH"
installed=$(command -v memsample)
[ "$installed" = "$venv/memsample" ] || { echo "memsample resolves to $installed, not the venv's"; exit 1; }
echo "$installed: $(stat -c %s "$installed") bytes, $(memsample --version)"

step "recording a 30 MiB allocation with the installed command"
cd "$work"
memsample -q -i 0.1 -o x.csv -- python3 -c \
    'b = bytearray(30 << 20); b[::4096] = b"x" * len(b[::4096]); import time; time.sleep(0.5)'
memsample report x.csv --json >report.json
python3 - <<'EOF'
import json
report = json.load(open("report.json"))
peak = report["peak_rss_bytes"]
print(f"samples {report['samples']}, peak RSS {peak} bytes ({peak / 2**20:.1f} MiB)")
assert peak >= 30 << 20, f"the peak {peak} is below the 30 MiB the command allocated"
EOF
echo "install check passed"
