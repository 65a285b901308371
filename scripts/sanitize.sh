#!/usr/bin/env bash
# Builds tinytf._core with AddressSanitizer + UndefinedBehaviorSanitizer into
# build/asan and runs tests against it (default: the kernel and op tests).
#   scripts/sanitize.sh                      # kernel + op tests
#   scripts/sanitize.sh tests/               # the whole suite
# The sanitized package lives in build/asan/pkg; the normal build is untouched.
# Leak checking (LeakSanitizer) is on, with the Python interpreter's own
# allocations suppressed (scripts/lsan.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=build/asan/pkg
rm -rf "$pkg" && mkdir -p "$pkg"
cp -r python/tinytf "$pkg/"
rm -f "$pkg"/tinytf/_core*.so
BUILD_DIR=build/asan scripts/dev-build.sh -DTINYTF_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTINYTF_DEV_OUTPUT_DIR="$PWD/$pkg/tinytf"
cp build/asan/_core*.so "$pkg/tinytf/"  # also when ninja had nothing to relink (and so copied nothing)
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(tests/test_tensor.py tests/test_ops.py tests/test_tape.py tests/test_gemm.py
  tests/test_conv_pool.py tests/test_nn_kernels.py tests/test_optim_kernels.py tests/test_index_kernels.py
  tests/test_rnn.py)
python=$(python3 -c "import sys; print(sys.executable)")  # the real interpreter, not a shim script
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
PYTHONPATH="$pkg" "$python" -m pytest -q -p no:cacheprovider "${tests[@]}"
