#!/usr/bin/env bash
# The Python install paths, end to end, for both wheels memsample has:
#  - the one `pip install .` builds from this checkout (pyproject.toml,
#    maturin `bindings = "bin"`: `pip wheel .` runs the same build);
#  - the distributable one (scripts/build-wheel.sh): a static binary, tagged
#    manylinux2014, for machines without Rust.
# Each is checked to hold the binary and its metadata and no Python code, is
# installed into a fresh virtual environment, records a Python command that
# allocates 30 MiB with the installed `memsample`, and the installed
# `memsample report --json` must show a peak of at least 30 MiB. Prints each
# wheel's size and its installed binary's.
#
# Usage: scripts/check-install.sh
# Needs python3 with the venv module, and PyPI reachable (for maturin). The
# release builds go to this checkout's target/, so a later `cargo build
# --release` reuses them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export CARGO_TARGET_DIR="$root/target"

step() { printf '\n== %s\n' "$*"; }

# check_wheel NAME WHEEL: contents, install into a fresh venv, a recording.
check_wheel() {
    local name=$1 wheel=$2 venv=$work/$1/venv
    echo "built $(basename "$wheel"): $(stat -c %s "$wheel") bytes"

    step "$name: the wheel holds the binary and its metadata, no Python code"
    python3 - "$wheel" <<'PY'
import re, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
allowed = re.compile(r"memsample-[^/]+\.(data/scripts/memsample|dist-info/.+)")
stray = [n for n in names if not allowed.fullmatch(n)]
assert not stray, f"unexpected files in the wheel: {stray}"
assert any(n.endswith(".data/scripts/memsample") for n in names), names
print("\n".join(names))
PY

    step "$name: installed into a fresh virtual environment"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "$wheel"
    local installed
    installed=$(PATH="$venv/bin:$PATH" command -v memsample)
    [ "$installed" = "$venv/bin/memsample" ] || {
        echo "memsample resolves to $installed, not the venv's"
        exit 1
    }
    echo "$installed: $(stat -c %s "$installed") bytes, $("$installed" --version)"

    step "$name: recording a 30 MiB allocation with the installed command"
    (
        cd "$work/$name"
        export PATH="$venv/bin:$PATH"
        memsample -q -i 0.1 -o x.csv -- python3 -c \
            'b = bytearray(30 << 20); b[::4096] = b"x" * len(b[::4096]); import time; time.sleep(0.5)'
        memsample report x.csv --json >report.json
        python3 - <<'PY'
import json
report = json.load(open("report.json"))
peak = report["peak_rss_bytes"]
print(f"samples {report['samples']}, peak RSS {peak} bytes ({peak / 2**20:.1f} MiB)")
assert peak >= 30 << 20, f"the peak {peak} is below the 30 MiB the command allocated"
PY
    )
    INSTALLED=$installed
}

step "the source install's wheel (pip wheel . : maturin, release profile, symbols stripped)"
mkdir -p "$work/source"
python3 -m venv "$work/builder"
"$work/builder/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$work/source/dist" "$root"
check_wheel source "$(find "$work/source/dist" -name 'memsample-*.whl')"

step "the distributable wheel (scripts/build-wheel.sh: static, manylinux2014)"
mkdir -p "$work/static"
wheel=$(scripts/build-wheel.sh "$work/static/dist")
case $(basename "$wheel") in
*-manylinux2014_*.whl) ;;
*)
    echo "not a manylinux2014 wheel: $wheel"
    exit 1
    ;;
esac
check_wheel static "$wheel"
# No shared library at all, glibc's included: it runs whatever the glibc.
if ! ldd "$INSTALLED" 2>&1 | grep -q 'statically linked'; then
    echo "the distributable binary is not statically linked:"
    ldd "$INSTALLED" || true
    exit 1
fi
echo "$INSTALLED: statically linked"
echo "install check passed"
