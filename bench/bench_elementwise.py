"""Elementwise ops and reductions on large arrays, as memory bandwidth (GB/s).

    PYTHONPATH=python python3 bench/bench_elementwise.py [--threads 2] [--mb 64] [--repeats 9]

The probe: a STREAM-style triad (a = b + s * c) as two numpy passes over
preallocated arrays (numpy's loops are single-threaded), its bandwidth the
bytes those passes read and write over the time. tinytf's ops (and
PyTorch's, when importable, in the same process at the same thread count)
are counted the same way (each input read once, the output written once),
so each figure reads as a fraction of the probe. Outputs are
new tensors every call, as in eager code: tinytf's caching allocator hands
back the same block, so no page faults are timed.
"""
import argparse
import statistics
import time

import numpy as np


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def triad_probe(n, repeats):
    b, c = np.ones(n, np.float32), np.full(n, 2.0, np.float32)
    a, tmp = np.empty_like(b), np.empty_like(b)

    def triad():  # a = b + 3 c
        np.multiply(c, np.float32(3), out=tmp)
        np.add(b, tmp, out=a)

    return 5 * n * 4 / median_time(triad, repeats) / 1e9  # c, tmp (write), tmp, b (read), a (write)


def cases(mod, n):
    """(name, fn, bytes moved) for a framework module exposing add/multiply/relu/exp/sigmoid/tanh/reduce_sum."""
    x, y = mod["const"](np.random.default_rng(0).random(n, dtype=np.float32)), mod["const"](np.ones(n, np.float32))
    return [("add (x + y)", lambda: mod["add"](x, y), 3 * n * 4),
            ("multiply by scalar", lambda: mod["scale"](x), 2 * n * 4),
            ("relu", lambda: mod["relu"](x), 2 * n * 4),
            ("exp", lambda: mod["exp"](x), 2 * n * 4),
            ("sigmoid", lambda: mod["sigmoid"](x), 2 * n * 4),
            ("tanh", lambda: mod["tanh"](x), 2 * n * 4),
            ("reduce_sum (all)", lambda: mod["sum"](x), n * 4)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mb", type=int, default=64, help="size of one float32 array in MB (well past the caches)")
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    n = args.mb * 2 ** 20 // 4

    import tinytf as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    frameworks = {"tinytf": {"const": tf.constant, "add": tf.add, "scale": lambda x: x * 3.0, "relu": tf.nn.relu,
                             "exp": tf.exp, "sigmoid": tf.nn.sigmoid, "tanh": tf.nn.tanh, "sum": tf.reduce_sum}}
    frameworks["numpy"] = {"const": np.asarray, "add": np.add, "scale": lambda x: x * np.float32(3),
                           "relu": lambda x: np.maximum(x, 0), "exp": np.exp,
                           "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh, "sum": np.sum}
    try:
        import torch
        torch.set_num_threads(args.threads)
        frameworks["torch"] = {"const": torch.from_numpy, "add": torch.add, "scale": lambda x: x * 3.0,
                               "relu": torch.relu, "exp": torch.exp, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                               "sum": torch.sum}
    except ImportError:
        print("PyTorch is not installed: not compared")

    probe = triad_probe(n, args.repeats)
    print(f"float32 arrays of {args.mb} MB, tinytf and torch at {args.threads} thread(s), numpy at 1; "
          f"GB/s (median of {args.repeats}); STREAM-style triad probe (numpy): {probe:.1f} GB/s\n")
    results = {fw: [(name, nbytes / median_time(fn, args.repeats) / 1e9) for name, fn, nbytes in cases(mod, n)]
               for fw, mod in frameworks.items()}
    names = [name for name, _ in results["tinytf"]]
    print("| op | " + " | ".join(results) + " | tinytf / probe |")
    print("|---" * (len(results) + 2) + "|")
    for i, name in enumerate(names):
        row = [results[fw][i][1] for fw in results]
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in row) + f" | {100 * row[0] / probe:.0f}% |")


if __name__ == "__main__":
    main()
