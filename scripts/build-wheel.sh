#!/usr/bin/env bash
# The wheel to hand to machines without Rust, or to publish: memsample linked
# statically (glibc's `crt-static`), so that it runs on any Linux of the
# building machine's architecture whatever its glibc, and tagged manylinux2014
# (manylinux_2_17), which pip accepts on any such Linux and PyPI accepts for
# upload; maturin checks the binary against that policy before it tags it.
#
# `pip install .` builds the ordinary, dynamically linked binary instead:
# linking statically needs glibc's static library, which some distributions
# ship apart (Fedora's glibc-static), and a source install must build wherever
# Rust does.
#
# Usage: scripts/build-wheel.sh [OUT_DIR]   (default: dist)
# Needs python3 with the venv module, and PyPI reachable (for maturin, at the
# version pyproject.toml asks for). Prints the wheel's path.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
python3 -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install --quiet "maturin>=1.9.2,<2"
# After `--`: flags for the final link of memsample alone (build scripts and
# proc-macros stay dynamic, as they must). strip and locked: pyproject.toml.
"$tools/venv/bin/maturin" build --quiet --release --compatibility manylinux2014 \
    --out "$out" -- -C target-feature=+crt-static >&2
find "$out" -name 'memsample-*manylinux2014*.whl' -newer "$tools/venv" -print -quit
