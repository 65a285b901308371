"""Thread scaling and thread-count determinism of tinytf's OpenMP kernels.

    PYTHONPATH=python python3 bench/thread_scaling.py [--threads 1,2,4,8,16]

For each thread count, in one process (tinytf's setting is obeyed per call):
  - GEMM 2048^3 and 512^3 float32 (GFLOP/s, median of repeats),
  - conv2d forward+backward on the kernels issue's deep shape (64,16,16,64,128,3),
  - one epoch-slice of MLP training (Dense 784-64-10, Adam, batch 128, 15,000
    synthetic samples), wall time,
and a SHA-256 of every output and of the trained weights: the design promises
bitwise-identical results for any thread count, so all hashes must agree.
Prints one table; exits 1 if any hash differs.
"""
import argparse
import hashlib
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import tinytf  # noqa: E402
from tinytf import _core  # noqa: E402


def digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a)).tobytes())
    return h.hexdigest()[:12]


def timed(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def gemm(n, reps):
    rng = np.random.default_rng(0)
    a = _core.from_numpy(rng.standard_normal((n, n), dtype=np.float32))
    b = _core.from_numpy(rng.standard_normal((n, n), dtype=np.float32))
    t, c = timed(lambda: _core.matmul(a, b, False, False), reps)
    return 2 * n ** 3 / t / 1e9, digest(np.asarray(c))


def small_gemm(reps):
    rng = np.random.default_rng(4)
    a = _core.from_numpy(rng.standard_normal((64, 3136), dtype=np.float32))
    b = _core.from_numpy(rng.standard_normal((3136, 128), dtype=np.float32))
    t, c = timed(lambda: _core.matmul(a, b, False, False), reps)
    return 2 * 64 * 3136 * 128 / t / 1e9, digest(np.asarray(c))


def region(reps, idle_s):
    """Microseconds for an add of 16 x 32768 floats (one elementwise grain per
    thread at 16 threads), called back to back or after idle_s of sleep (as
    between the ops of an eager training step, when OpenMP threads may sleep)."""
    x = _core.from_numpy(np.ones(16 * 32768, np.float32))
    ts = []
    for _ in range(reps * 4):
        if idle_s:
            time.sleep(idle_s)
        t = time.perf_counter()
        _core.binary(_core.Binary.add, x, x)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e6


def conv(reps):
    n, h, w, ci, co, k = 64, 16, 16, 64, 128, 3
    x = tinytf.constant(np.random.default_rng(1).standard_normal((n, h, w, ci), dtype=np.float32))
    f = tinytf.Variable(np.random.default_rng(2).standard_normal((k, k, ci, co), dtype=np.float32) * 0.05)

    def step():
        with tinytf.GradientTape() as tape:
            tape.watch(x)
            y = tinytf.nn.conv2d(x, f, 1, "SAME")
            loss = tinytf.reduce_sum(y * y)
        dx, df = tape.gradient(loss, [x, f])
        return y, dx, df
    t, (y, dx, df) = timed(step, reps)
    flops = 3 * 2 * n * h * w * ci * co * k * k
    return flops / t / 1e9, digest(y.numpy(), dx.numpy(), df.numpy())


def mlp():
    rng = np.random.default_rng(3)
    x = rng.random((15000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 15000)
    tinytf.utils.set_random_seed(0)
    model = tinytf.models.Sequential([tinytf.layers.Input((784,)), tinytf.layers.Dense(64, activation="relu"),
                                      tinytf.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    t = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - t, digest(*model.get_weights())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2,4,8,16")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    print(f"cores: {os.cpu_count()}, ISA: {_core.isa()}")
    print("env:", {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "GOMP_", "KMP_"))})
    print("threads | GEMM 2048 GFLOP/s | GEMM 512 GFLOP/s | GEMM 64x3136x128 | conv fwd+bwd GFLOP/s | "
          "MLP 15k samples s | add 2 MB us (busy / after 1 ms idle)")
    hashes = {}
    base = None
    for t in counts:
        tinytf.config.threading.set_intra_op_parallelism_threads(t)
        g2, h1 = gemm(2048, args.reps)
        g5, h2 = gemm(512, args.reps)
        g6, h5 = small_gemm(args.reps)
        cv, h3 = conv(args.reps)
        ms, h4 = mlp()
        r0, r1 = region(args.reps, 0), region(args.reps, 1e-3)
        hashes[t] = (h1, h2, h5, h3, h4)
        base = base or (g2, g5, cv, ms, g6)
        print(f"{t:7d} | {g2:8.0f} ({g2 / base[0]:4.1f}x) | {g5:7.0f} ({g5 / base[1]:4.1f}x) | {g6:7.0f} ({g6 / base[4]:4.1f}x) | "
              f"{cv:8.0f} ({cv / base[2]:4.1f}x) | {ms:6.3f} ({base[3] / ms:4.1f}x) | {r0:6.1f} / {r1:6.1f}", flush=True)
    print("hashes (gemm2048, gemm512, gemm64x3136x128, conv, mlp weights):")
    for t, h in hashes.items():
        print(f"  {t:3d} threads: {' '.join(h)}")
    same = len(set(hashes.values())) == 1
    print("bitwise identical across thread counts:", same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
