"""GEMM throughput of tinytf against numpy (OpenBLAS), PyTorch and TensorFlow.

    PYTHONPATH=python python3 bench/bench_gemm.py [--threads 1,2] [--rounds 2] [--f64]

Each framework runs in its own subprocess (so thread settings and OpenMP
runtimes never meet) on the same inputs (same seed, same float32 values), at
each thread count. A figure is the median GFLOP/s of the repeats; with
--rounds R the frameworks are run R times, interleaved, and the best median is
kept, which filters out moments when a shared machine was busy. The FMA peak
comes from tinytf's probe (independent FMA chains on the same threads).

tinytf is timed through `_core.matmul` (the kernel entry the ops layer calls),
the others through their usual eager calls; every call returns a new output.
"""
import argparse
import json
import os
import subprocess
import sys
import time

SQUARES = [64, 128, 256, 512, 1024, 2048]
# (M, K, N, trans_a, trans_b, label)
TRAINING = [
    (32, 784, 64, False, False, "Dense 784->64, batch 32"),
    (128, 784, 64, False, False, "Dense 784->64, batch 128"),
    (32, 64, 10, False, False, "Dense 64->10, batch 32"),
    (64, 3136, 128, False, False, "Dense 3136->128, batch 64"),
    (6272, 288, 64, False, False, "conv 3x3 32->64 im2col"),
    (784, 128, 64, True, False, "dW = x^T dy"),
    (128, 64, 784, False, True, "dx = dy W^T"),
]
FRAMEWORKS = ["tinytf", "numpy", "torch", "tensorflow"]


def shapes():
    out = [(n, n, n, False, False, f"square {n}") for n in SQUARES]
    return out + TRAINING


# ---- worker: one framework, one thread count ------------------------------------

def make_mm(framework, threads, dtype):
    import numpy as np

    if framework == "tinytf":
        from tinytf import _core
        _core.set_num_threads(threads)
        return (lambda a: _core.from_numpy(a)), (lambda a, b, ta, tb: _core.matmul(a, b, ta, tb))
    if framework == "numpy":
        def mm(a, b, ta, tb):
            return (a.T if ta else a) @ (b.T if tb else b)
        return (lambda a: a), mm
    if framework == "torch":
        import torch
        torch.set_num_threads(threads)

        def mm(a, b, ta, tb):
            return torch.mm(a.t() if ta else a, b.t() if tb else b)
        return torch.from_numpy, mm
    if framework == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)

        def mm(a, b, ta, tb):
            return tf.linalg.matmul(a, b, transpose_a=ta, transpose_b=tb)
        return tf.constant, mm
    raise ValueError(framework)


def worker(framework, threads, dtype_name, reps):
    import numpy as np

    dtype = np.dtype(dtype_name)
    try:
        convert, mm = make_mm(framework, threads, dtype)
    except ImportError as e:
        print(json.dumps({"error": f"{framework} not importable: {e}"}))
        return
    result = {"version": framework_version(framework), "rates": {}}
    if framework == "tinytf":
        from tinytf import _core
        result["peak"] = _core.fma_peak_gflops(dtype_name)
        result["isa"] = _core.isa()
    rng = np.random.default_rng(0)
    for M, K, N, ta, tb, label in shapes():
        a = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
        b = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
        A, B = convert(a), convert(b)
        flops = 2.0 * M * N * K
        for _ in range(3):
            mm(A, B, ta, tb)
        t0 = time.perf_counter()
        mm(A, B, ta, tb)
        one = max(time.perf_counter() - t0, 1e-7)
        calls = max(1, int(0.02 / one))
        rates = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(calls):
                mm(A, B, ta, tb)
            rates.append(flops * calls / (time.perf_counter() - t0) / 1e9)
        rates.sort()
        result["rates"][label] = rates[len(rates) // 2]
    print(json.dumps(result))


def framework_version(framework):
    if framework == "tinytf":
        import tinytf
        return tinytf.__version__
    if framework == "numpy":
        import numpy as np
        return np.__version__
    return __import__(framework).__version__


# ---- driver -------------------------------------------------------------------

def run_worker(framework, threads, dtype, reps):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if framework == "numpy":  # these slow current numpy's OpenBLAS down
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--threads", str(threads),
           "--dtype", dtype, "--reps", str(reps)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": f"{framework} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"}
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--f64", action="store_true")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument("--worker")
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, int(args.threads), args.dtype, args.reps)
        return
    dtype = "float64" if args.f64 else "float32"
    frameworks = args.frameworks.split(",")
    labels = [s[-1] for s in shapes()]
    for threads in [int(t) for t in args.threads.split(",")]:
        best = {fw: {} for fw in frameworks}
        info = {}
        for _ in range(args.rounds):
            for fw in frameworks:
                r = run_worker(fw, threads, dtype, args.reps)
                if "error" in r:
                    info[fw] = r["error"]
                    continue
                info.setdefault(fw, fw + " " + r["version"])
                if "peak" in r:
                    info["peak"] = max(info.get("peak", 0), r["peak"])
                    info["isa"] = r["isa"]
                for label, rate in r["rates"].items():
                    best[fw][label] = max(best[fw].get(label, 0), rate)
        print_table(threads, dtype, frameworks, labels, best, info, args.rounds)


def print_table(threads, dtype, frameworks, labels, best, info, rounds):
    peak = info.get("peak", 0)
    print(f"\n## {dtype}, {threads} thread(s): GFLOP/s (median of repeats, best of {rounds} rounds); "
          f"FMA peak {peak:.0f} GFLOP/s ({info.get('isa', '?')})")
    for fw in frameworks:
        print(f"   {info.get(fw, fw + ': no result')}")
    head = f"| {'M,K,N':<16} | {'what':<31} |" + "".join(f" {fw:>10} |" for fw in frameworks)
    head += " tinytf % peak | tinytf / best peer |"
    print(head)
    print("|" + "---|" * (len(frameworks) + 4))
    for label, shape in zip(labels, shapes()):
        M, K, N, ta, tb, _ = shape
        op = "A^T B" if ta else "A B^T" if tb else "A B"
        row = f"| {f'{M},{K},{N}':<16} | {label + ', ' + op:<31} |"
        for fw in frameworks:
            v = best[fw].get(label)
            row += f" {v:>10.1f} |" if v else f" {'-':>10} |"
        ours = best.get("tinytf", {}).get(label)
        peers = [best[fw][label] for fw in frameworks if fw != "tinytf" and label in best[fw]]
        row += f" {100 * ours / peak:>12.0f}% |" if ours and peak else f" {'-':>13} |"
        row += f" {ours / max(peers):>18.2f} |" if ours and peers else f" {'-':>18} |"
        print(row)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
