"""Eager per-op overhead: tinytf vs PyTorch vs TensorFlow, each in its own
process, same thread count, in one run.

  python bench/eager_overhead.py [--threads 2] [--repeat 7]

Times (median over repeats of a tight loop, microseconds per call):
  add1         adding two 1-element tensors, no tape
  add1_tape    the same inside a gradient tape (recording)
  dense_fb     Dense 784->64 relu forward + backward at batch 32 (gradients of
               the kernel and bias)"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKER = r'''
import json, os, statistics, sys, time
import numpy as np
fw, threads, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def timeit(fn, n):
    fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(runs)

x = np.random.default_rng(0).random((32, 784), dtype=np.float32)
w = np.random.default_rng(1).random((784, 64), dtype=np.float32) * 0.01
b = np.zeros(64, np.float32)
out = {}
if fw == "tinytf":
    import tinytf as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    a, c = tf.constant([1.0]), tf.constant([2.0])
    out["add1"] = timeit(lambda: a + c, 20000)
    v = tf.Variable([1.0])
    def add_tape():
        with tf.GradientTape() as t:
            y = v + c
    out["add1_tape"] = timeit(add_tape, 20000)
    W, B, X = tf.Variable(w), tf.Variable(b), tf.constant(x)
    def dense():
        with tf.GradientTape() as t:
            y = tf.reduce_sum(tf.nn.relu(tf.matmul(X, W) + B))
        t.gradient(y, [W, B])
    out["dense_fb"] = timeit(dense, 2000)
    def dense_fused():
        with tf.GradientTape() as t:
            y = tf.reduce_sum(tf.ops.dense(X, W, B, "relu"))
        t.gradient(y, [W, B])
    out["dense_fb_fused"] = timeit(dense_fused, 2000)
elif fw == "torch":
    import torch
    torch.set_num_threads(threads)
    a, c = torch.tensor([1.0]), torch.tensor([2.0])
    out["add1"] = timeit(lambda: a + c, 20000)
    v = torch.tensor([1.0], requires_grad=True)
    out["add1_tape"] = timeit(lambda: v + c, 20000)
    W, B, X = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True), torch.tensor(x)
    def dense():
        y = torch.relu(X @ W + B).sum()
        torch.autograd.grad(y, [W, B])
    out["dense_fb"] = timeit(dense, 2000)
elif fw == "tensorflow":
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    a, c = tf.constant([1.0]), tf.constant([2.0])
    out["add1"] = timeit(lambda: a + c, 5000)
    v = tf.Variable([1.0])
    def add_tape():
        with tf.GradientTape() as t:
            y = v + c
    out["add1_tape"] = timeit(add_tape, 5000)
    W, B, X = tf.Variable(w), tf.Variable(b), tf.constant(x)
    def dense():
        with tf.GradientTape() as t:
            y = tf.reduce_sum(tf.nn.relu(tf.matmul(X, W) + B))
        t.gradient(y, [W, B])
    out["dense_fb"] = timeit(dense, 500)
print(json.dumps(out))
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    results = {}
    for fw in ("tinytf", "torch", "tensorflow"):
        proc = subprocess.run([sys.executable, "-c", WORKER, fw, str(args.threads), str(args.repeat)],
                              capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS=str(args.threads)))
        if proc.returncode != 0:
            print(f"{fw}: not measured ({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'failed'})")
            continue
        results[fw] = json.loads(proc.stdout.strip().splitlines()[-1])
    keys = ["add1", "add1_tape", "dense_fb", "dense_fb_fused"]
    print(f"threads={args.threads}; microseconds per call, median of {args.repeat} repeats")
    print(f"{'case':16}" + "".join(f"{fw:>12}" for fw in results) + "   peer/tinytf")
    for k in keys:
        row = [results[fw].get(k) for fw in results]
        base = results.get("tinytf", {}).get(k if k != "dense_fb_fused" else "dense_fb_fused")
        ratios = " ".join(f"{fw}={results[fw][k.replace('_fused', '')] / base:.2f}x" for fw in results
                          if fw != "tinytf" and base and k.replace("_fused", "") in results[fw])
        print(f"{k:16}" + "".join(f"{v:12.1f}" if v is not None else f"{'-':>12}" for v in row) + "   " + ratios)


if __name__ == "__main__":
    main()
