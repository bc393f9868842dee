#!/usr/bin/env bash
# The Python install paths, end to end, for both wheels memsample has:
#  - the one `pip install .` builds from this checkout (pyproject.toml,
#    maturin `bindings = "bin"`: `pip wheel .` runs the same build);
#  - the distributable one (scripts/build-wheel.sh): a static binary, tagged
#    manylinux2014, for machines without Rust.
# Each is checked to hold the binary, its metadata and exactly the files of
# the Python package `memsample` (python/memsample: mark() and the pytest
# plugin, registered under pytest11), and is installed into a fresh virtual
# environment, with pytest from PyPI. There: `import memsample;
# memsample.mark('x')` without a recording is silent; the package's own
# tests (tests/python) pass against the installed package; the installed
# `memsample` records a Python command that marks a phase and allocates
# 30 MiB (`report --json`: a peak of at least 30 MiB, in that phase); and a
# small pytest suite whose tests allocate 10, 50 and 100 MiB (the 100 in a
# child process) is recorded with --phases, where `report --json` must rank
# the tests' peaks 100 > 50 > 10, each at least what the test allocated.
# Prints each wheel's size and its installed binary's.
#
# Usage: scripts/check-install.sh
# Needs python3 with the venv module, and PyPI reachable (for maturin and
# pytest). The release builds go to this checkout's target/, so a later
# `cargo build --release` reuses them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# No __pycache__ left in the checkout by tests/python.
export PYTHONDONTWRITEBYTECODE=1
export CARGO_TARGET_DIR="$root/target"

step() { printf '\n== %s\n' "$*"; }

# check_wheel NAME WHEEL: contents, install into a fresh venv, a recording.
check_wheel() {
    local name=$1 wheel=$2 venv=$work/$1/venv
    echo "built $(basename "$wheel"): $(stat -c %s "$wheel") bytes"

    step "$name: the wheel holds the binary, its metadata and the package memsample"
    python3 - "$wheel" <<'PY'
import re, sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
names = wheel.namelist()
package = {"memsample/__init__.py", "memsample/pytest_plugin.py"}
allowed = re.compile(r"memsample-[^/]+\.(data/scripts/memsample|dist-info/.+)")
stray = [n for n in names if not allowed.fullmatch(n) and n not in package]
assert not stray, f"unexpected files in the wheel: {stray}"
assert package <= set(names), f"the package's files are missing: {sorted(package - set(names))}"
assert any(n.endswith(".data/scripts/memsample") for n in names), names
entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
text = wheel.read(entry_points).decode()
assert re.search(r"\[pytest11\]\s*memsample\s*=\s*memsample\.pytest_plugin\s*$", text), text
print("\n".join(names))
PY

    step "$name: installed into a fresh virtual environment, with pytest"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "$wheel"
    "$venv/bin/python" -m pip install --quiet pytest
    local installed
    installed=$(PATH="$venv/bin:$PATH" command -v memsample)
    [ "$installed" = "$venv/bin/memsample" ] || {
        echo "memsample resolves to $installed, not the venv's"
        exit 1
    }
    echo "$installed: $(stat -c %s "$installed") bytes, $("$installed" --version)"
    echo "pytest $("$venv/bin/python" -m pytest --version 2>&1 | awk '{print $2}')"

    step "$name: without a recording, memsample.mark() is a silent no-op"
    local said
    said=$(cd "$work/$name" && env -u MEMSAMPLE_CONTROL "$venv/bin/python" -W error -c \
        'import memsample; memsample.mark("x"); print(memsample.__version__, end="")' 2>&1)
    [ "$said" = "$("$installed" --version | awk '{print $2}')" ] || {
        echo "expected only the version, got: $said"
        exit 1
    }
    echo "silent; memsample.__version__ $said"

    step "$name: the package's tests (tests/python), against the installed package"
    (cd "$work/$name" && env -u MEMSAMPLE_CONTROL "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        --rootdir "$root/tests/python" "$root/tests/python")

    step "$name: a 30 MiB allocation in a marked phase, recorded with the installed command"
    (
        cd "$work/$name"
        export PATH="$venv/bin:$PATH"
        memsample -q --phases -i 0.1 -o x.csv -- python3 -c \
            'import memsample, time; memsample.mark("alloc"); b = bytearray(30 << 20); b[::4096] = b"x" * len(b[::4096]); time.sleep(0.5)'
        memsample report x.csv --json >report.json
        python3 - <<'PY'
import json
report = json.load(open("report.json"))
peak = report["peak_rss_bytes"]
print(f"samples {report['samples']}, peak RSS {peak} bytes ({peak / 2**20:.1f} MiB)")
assert peak >= 30 << 20, f"the peak {peak} is below the 30 MiB the command allocated"
phases = {phase["name"]: phase for phase in report["phases"]}
assert list(phases) == ["start", "alloc"], list(phases)
assert phases["alloc"]["peak_bytes"] >= 30 << 20, phases["alloc"]
PY
    )

    step "$name: each test of a pytest suite its own peak, a child's memory included"
    (
        cd "$work/$name"
        export PATH="$venv/bin:$PATH"
        mkdir -p suite
        cat >suite/test_memory.py <<'PY'
import subprocess
import sys
import time

MIB = 1 << 20


def hold(mib):
    # Written, so resident; held for several samples at -i 50ms.
    block = b"x" * (mib * MIB)
    time.sleep(0.5)
    return len(block)


def test_fifty():
    assert hold(50) == 50 * MIB


def test_hundred_in_a_child():
    child = "import time; b = b'x' * (100 << 20); time.sleep(0.5)"
    subprocess.run([sys.executable, "-c", child], check=True)


def test_ten():
    assert hold(10) == 10 * MIB
PY
        memsample --phases -i 50ms -o t.csv -- python -m pytest -q -p no:cacheprovider suite
        memsample report t.csv
        memsample report t.csv --json >suite.json
        python3 - <<'PY'
import json
phases = {phase["name"]: phase for phase in json.load(open("suite.json"))["phases"]}
allocated = {
    "test:suite/test_memory.py::test_hundred_in_a_child": 100,
    "test:suite/test_memory.py::test_fifty": 50,
    "test:suite/test_memory.py::test_ten": 10,
}
assert set(allocated) <= set(phases), sorted(phases)
assert phases["between"]["count"] == 3, phases["between"]
assert list(phases)[-1] == "end", list(phases)
for name, mib in allocated.items():
    peak = phases[name]["peak_bytes"]
    print(f"{name}: peak {peak / 2**20:.1f} MiB, allocated {mib} MiB")
    assert peak >= mib << 20, f"{name}: peak {peak} below the {mib} MiB it allocated"
# The pytest process itself never holds 100 MiB (its largest test holds 50):
# the child test's peak of at least 100 MiB is the child's memory, counted.
ranking = sorted(allocated, key=lambda name: phases[name]["peak_bytes"], reverse=True)
assert ranking == list(allocated), f"ranked by peak: {ranking}"
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
