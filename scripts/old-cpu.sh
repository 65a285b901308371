#!/usr/bin/env bash
# Runs tests on an emulated CPU without AVX (qemu-user, CPU model Nehalem:
# SSE4.2 only), to check that the portable build never executes an AVX
# instruction and that run-time dispatch falls back to the scalar kernels.
#   scripts/old-cpu.sh                         # op, tensor and kernel tests
#   scripts/old-cpu.sh tests/test_training.py  # any pytest arguments
# Needs qemu-x86_64 (Debian/Ubuntu: apt-get install qemu-user) and a build of
# tinytf._core in python/tinytf (scripts/dev-build.sh). Emulation is slow:
# the default selection takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not found (apt-get install qemu-user)"; exit 2; }
python=$(python3 -c "import sys; print(sys.executable)")
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(tests/test_tensor.py tests/test_gemm.py tests/test_nn_kernels.py tests/test_ops.py -x)
PYTHONPATH=python qemu-x86_64 -cpu Nehalem "$python" -c "import tinytf; from tinytf import _core; print('ISA chosen on the emulated CPU:', _core.isa())"
PYTHONPATH=python qemu-x86_64 -cpu Nehalem "$python" -m pytest -q -p no:cacheprovider "${tests[@]}"
