#!/usr/bin/env bash
# Incremental development build without pip: compiles tinytf._core into
# build/dev (or $BUILD_DIR) and copies it next to the Python sources, so
#   scripts/dev-build.sh && PYTHONPATH=python python -m pytest
# tests the working tree. Extra arguments go to CMake (e.g. -DTINYTF_BUILD_BENCH=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/dev}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v python3)" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
