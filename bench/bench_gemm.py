"""GEMM throughput of tinytf against numpy (OpenBLAS), PyTorch and TensorFlow.

    PYTHONPATH=python python3 bench/bench_gemm.py [--threads 1,2] [--rounds 3] [--stat median|best] [--f64]
        [--shapes squares,training,lstm,dense]

Each framework runs in its own worker process (so thread settings and OpenMP
runtimes never meet), on the same inputs (same seed, same values), at each
thread count. The workers stay alive and take turns shape by shape, so every
framework is timed on a shape within a few seconds of the others; one figure
is the median GFLOP/s of that framework's repeats on that shape, and with
--rounds R the best of the R medians is kept (on a shared machine that is the
round with the cores to themselves; --stat best keeps the best repeat instead
of the median, for a machine that is never quiet). The FMA peak comes from
tinytf's probe (independent FMA chains on the same threads): the best of 40
short runs, the "% peak" column's reference; the header also gives the rate
the cores hold under continuous load (median of 5 runs of ~0.1 s), which on
a shared VM is a few to ~10% lower, as every long GEMM here runs at it.

tinytf is timed through `_core.matmul` (the kernel entry the ops layer calls),
the others through their usual eager calls; every call returns a new output.
"""
import argparse
import json
import os
import random
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
# Idle BLAS/OpenMP threads of the previous worker spin for a while after its
# last call; let them go to sleep before the next worker starts timing.
SETTLE_S = 0.3


# The LSTM workload's whole-sequence GEMMs (batch 64 x 80 steps, 128 inputs, 64 units).
LSTM = [
    (5120, 128, 256, False, False, "LSTM x W"),
    (128, 5120, 256, True, False, "LSTM dW = x^T dz"),
    (64, 5120, 256, True, False, "LSTM dU = h^T dz"),
    (5120, 256, 128, False, True, "LSTM dx = dz W^T"),
]
# Wider Dense layers (rows of B 1 to 4 KB apart), one sample and small batches.
DENSE = [
    (1, 784, 256, False, False, "Dense 784->256, one sample"),
    (32, 784, 256, False, False, "Dense 784->256, batch 32"),
    (1, 1024, 1024, False, False, "Dense 1024->1024, one sample"),
    (32, 512, 512, False, False, "Dense 512->512, batch 32"),
    (128, 512, 512, False, False, "Dense 512->512, batch 128"),
]
SETS = {"squares": [(n, n, n, False, False, f"square {n}") for n in SQUARES], "training": TRAINING, "lstm": LSTM,
        "dense": DENSE}
selected = ["squares", "training"]  # --shapes


def shapes():
    return [shape for name in selected for shape in SETS[name]]


# ---- worker: one framework, one thread count, commands on stdin -----------------

def make_mm(framework, threads):
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


def framework_version(framework):
    if framework == "tinytf":
        import tinytf
        return tinytf.__version__
    if framework == "numpy":
        import numpy as np
        return np.__version__
    return __import__(framework).__version__


def time_shape(mm, A, B, ta, tb, flops, reps, stat):
    for _ in range(3):
        mm(A, B, ta, tb)
    t0 = time.perf_counter()
    mm(A, B, ta, tb)
    calls = max(1, int(0.02 / max(time.perf_counter() - t0, 1e-7)))  # ~20 ms a repeat
    rates = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            mm(A, B, ta, tb)
        rates.append(flops * calls / (time.perf_counter() - t0) / 1e9)
    return max(rates) if stat == "best" else sorted(rates)[len(rates) // 2]


def worker(framework, threads, dtype_name, reps, stat):
    """After "hello" on stdin, answers one JSON line per line: a shape index, or "peak"."""
    import numpy as np

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    sys.stdin.readline()  # "hello": the driver is listening
    try:
        convert, mm = make_mm(framework, threads)
    except ImportError as e:
        reply({"error": f"{framework} is not installed ({e})"})
        return
    except ValueError:
        reply({"error": f"unknown framework {framework!r}"})
        return
    # Same values in every worker: one generator, shapes in a fixed order.
    rng = np.random.default_rng(0)
    data = []
    for M, K, N, ta, tb, _ in shapes():
        a = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype_name)
        b = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype_name)
        data.append((convert(a), convert(b)))
    reply({"version": framework_version(framework)})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "peak":
            from tinytf import _core
            reply({"peak": _core.fma_peak_gflops(dtype_name), "isa": _core.isa(),
                   "sustained": _core.fma_peak_gflops(dtype_name, sustained=True)})
        else:
            M, K, N, ta, tb, _ = shapes()[int(cmd)]
            A, B = data[int(cmd)]
            reply({"rate": time_shape(mm, A, B, ta, tb, 2.0 * M * N * K, reps, stat)})


# ---- driver -------------------------------------------------------------------

class Worker:
    def __init__(self, framework, threads, dtype, reps, stat):
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        if framework == "numpy":  # these slow current numpy's OpenBLAS down
            env.pop("OPENBLAS_CORETYPE", None)
            env.pop("OPENBLAS_L2_SIZE", None)
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--threads", str(threads),
               "--dtype", dtype, "--reps", str(reps), "--stat", stat, "--shapes", ",".join(selected)]
        self.framework = framework
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)

    def ask(self, cmd):
        try:
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
            while True:
                line = self.proc.stdout.readline()
                if not line:
                    return {"error": f"{self.framework} worker exited"}
                if line.startswith("{"):
                    return json.loads(line)
        except (BrokenPipeError, OSError):
            return {"error": f"{self.framework} worker exited"}

    def close(self):
        try:
            self.proc.stdin.close()  # the worker's loop ends at end of input
        except OSError:  # already gone
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still timing (interrupted run)
            self.proc.kill()
            self.proc.wait()


def measure(frameworks, threads, dtype, rounds, reps, stat):
    workers = {fw: Worker(fw, threads, dtype, reps, stat) for fw in frameworks}
    info, best, live = {}, {fw: {} for fw in frameworks}, []
    try:
        for fw, w in workers.items():  # the first reply also waits for the worker's imports
            r = w.ask("hello")
            if "error" in r:  # e.g. TensorFlow not installed: say so and go on without it
                info[fw] = r["error"]
            else:
                info[fw] = f"{fw} {r['version']}"
                live.append(fw)
        order = random.Random(0)
        for _ in range(rounds):
            for i in range(len(shapes())):
                # A new order for each shape and round: whichever library runs
                # first after the pause may meet the cores at a higher clock.
                for fw in order.sample(live, len(live)):
                    time.sleep(SETTLE_S)
                    r = workers[fw].ask(str(i))
                    if "rate" in r:
                        best[fw][i] = max(best[fw].get(i, 0.0), r["rate"])
            # The probe once a round, the best kept, as for the GEMMs: taken once
            # after all rounds, a busy moment (a peer's threads still spinning)
            # read a 2-thread peak of 118 twice.
            if "tinytf" in live:
                time.sleep(SETTLE_S)
                r = workers["tinytf"].ask("peak")
                info["isa"] = r.get("isa", "?")
                for key in ("peak", "sustained"):
                    info[key] = max(info.get(key, 0.0), r.get(key, 0.0))
    finally:
        for w in workers.values():
            w.close()
    return info, best


def print_table(threads, dtype, frameworks, best, info, rounds, stat):
    peak = info.get("peak", 0)
    print(f"\n## {dtype}, {threads} thread(s): GFLOP/s ({stat} of repeats, best of {rounds} rounds); "
          f"FMA peak {peak:.0f} GFLOP/s ({info.get('isa', '?')}; held under continuous load: "
          f"{info.get('sustained', 0):.0f})")
    for fw in frameworks:
        print(f"   {info[fw]}")
    head = f"| {'M,K,N':<16} | {'what':<31} |" + "".join(f" {fw:>10} |" for fw in frameworks)
    print(head + " tinytf % peak | tinytf / best peer |")
    print("|" + "---|" * (len(frameworks) + 4))
    for i, (M, K, N, ta, tb, label) in enumerate(shapes()):
        op = "A^T B" if ta else "A B^T" if tb else "A B"
        row = f"| {f'{M},{K},{N}':<16} | {label + ', ' + op:<31} |"
        for fw in frameworks:
            v = best[fw].get(i)
            row += f" {v:>10.1f} |" if v else f" {'-':>10} |"
        ours = best.get("tinytf", {}).get(i)
        peers = [best[fw][i] for fw in frameworks if fw != "tinytf" and i in best[fw]]
        row += f" {100 * ours / peak:>12.0f}% |" if ours and peak else f" {'-':>13} |"
        row += f" {ours / max(peers):>18.2f} |" if ours and peers else f" {'-':>18} |"
        print(row)
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--stat", choices=["median", "best"], default="median",
                    help="per shape and round: the median repeat, or the best one (robust on a busy machine)")
    ap.add_argument("--f64", action="store_true")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument("--worker")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--shapes", default="squares,training", help=f"comma-separated sets of {sorted(SETS)}")
    args = ap.parse_args()
    selected[:] = args.shapes.split(",")
    if not set(selected) <= set(SETS):
        ap.error(f"--shapes: unknown set in {args.shapes!r}; choose from {sorted(SETS)}")
    if args.worker:
        worker(args.worker, int(args.threads), args.dtype, args.reps, args.stat)
        return
    dtype = "float64" if args.f64 else "float32"
    frameworks = args.frameworks.split(",")
    for threads in [int(t) for t in args.threads.split(",")]:
        info, best = measure(frameworks, threads, dtype, args.rounds, args.reps, args.stat)
        print_table(threads, dtype, frameworks, best, info, args.rounds, args.stat)


if __name__ == "__main__":
    main()
