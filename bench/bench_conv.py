"""conv2d speed of tinytf against PyTorch (NCHW and channels_last) and TensorFlow.

    PYTHONPATH=python python3 bench/bench_conv.py [--threads 1,2] [--rounds 2] [--seconds 0.5]

Shapes (N, H, W, Cin, Cout, k) from the kernels issue, 'SAME' padding,
stride 1, with bias. Two measurements per shape:
  fwd      y = conv2d(x, w) + b
  fwd+bwd  the forward, then dx, dw and db from an output gradient dy
Each framework runs in its own subprocess (thread settings and OpenMP
runtimes never meet) on the same float32 values (same seed), at each thread
count. A figure is the fastest of the repeats (--stat median for the
median); with --rounds R the frameworks run R times, interleaved, and the
best figure is kept. Both filter out moments when a shared machine was busy
(other processes delay a 2-thread run until both threads get a core).

tinytf is timed through `_core.conv2d` / `_core.conv2d_backward` (the kernel
entries the ops layer calls) on tensors it allocated itself (64-byte aligned,
as activations and gradients are in training); PyTorch through
torch.nn.functional.conv2d with autograd; TensorFlow through tf.nn.conv2d +
bias_add and a GradientTape inside tf.function.
"""
import argparse
import json
import os
import subprocess
import sys
import time

SHAPES = [(32, 28, 28, 1, 32, 3), (32, 14, 14, 32, 64, 3), (64, 32, 32, 3, 32, 3), (64, 16, 16, 64, 128, 3)]
FRAMEWORKS = ["tinytf", "torch", "torch_cl", "tensorflow"]
LABELS = {"tinytf": "tinytf", "torch": "torch NCHW", "torch_cl": "torch NHWC", "tensorflow": "TF NHWC"}


def data(shape):
    import numpy as np

    N, H, W, C, O, k = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, H, W, C), dtype=np.float32)
    w = (rng.standard_normal((k, k, C, O)) / np.sqrt(k * k * C)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32)
    dy = rng.standard_normal((N, H, W, O), dtype=np.float32)
    return x, w, b, dy


# ---- worker: one framework, one thread count --------------------------------

def programs(framework, threads, shape):
    """(fwd, fwd_bwd) closures on the shape's data, already converted."""
    import numpy as np

    x, w, b, dy = data(shape)
    if framework == "tinytf":
        from tinytf import _core
        _core.set_num_threads(threads)

        def own(a):  # a tensor in tinytf's own (aligned) storage
            t = _core.empty(list(a.shape), _core.DType.float32)
            np.asarray(t)[...] = a
            return t
        x, w, b, dy = map(own, (x, w, b, dy))

        def fwd():
            return _core.conv2d(x, w, 1, 1, "SAME", b)

        def fwd_bwd():
            y = _core.conv2d(x, w, 1, 1, "SAME", b)
            return _core.conv2d_backward(x, w, y, dy, 1, 1, "SAME")
        return fwd, fwd_bwd
    if framework in ("torch", "torch_cl"):
        import torch
        import torch.nn.functional as F
        torch.set_num_threads(threads)
        fmt = torch.channels_last if framework == "torch_cl" else torch.contiguous_format
        tx = torch.tensor(x.transpose(0, 3, 1, 2)).contiguous(memory_format=fmt).requires_grad_()
        tw = torch.tensor(w.transpose(3, 2, 0, 1)).contiguous(memory_format=fmt).requires_grad_()
        tb = torch.tensor(b).requires_grad_()
        tdy = torch.tensor(dy.transpose(0, 3, 1, 2)).contiguous(memory_format=fmt)
        pad = shape[5] // 2

        def fwd():
            with torch.no_grad():
                return F.conv2d(tx, tw, tb, padding=pad)

        def fwd_bwd():
            tx.grad = tw.grad = tb.grad = None
            F.conv2d(tx, tw, tb, padding=pad).backward(tdy)
            return tx.grad, tw.grad, tb.grad
        return fwd, fwd_bwd
    if framework == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tx, tw, tb, tdy = map(tf.constant, (x, w, b, dy))

        @tf.function
        def fwd():
            return tf.nn.bias_add(tf.nn.conv2d(tx, tw, 1, "SAME"), tb)

        @tf.function
        def fwd_bwd():
            with tf.GradientTape() as tape:
                tape.watch([tx, tw, tb])
                y = tf.nn.bias_add(tf.nn.conv2d(tx, tw, 1, "SAME"), tb)
            return tape.gradient(y, [tx, tw, tb], output_gradients=tdy)
        return fwd, fwd_bwd
    raise ValueError(framework)


def timed(fn, seconds, stat):
    fn()
    fn()  # warm up: first-call compilation, allocator caches
    times = []
    start = time.perf_counter()
    while len(times) < 7 or (time.perf_counter() - start < seconds and len(times) < 2000):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0] if stat == "min" else times[len(times) // 2]


def worker(framework, threads, seconds, stat):
    out = {}
    for shape in SHAPES:
        try:
            fwd, fwd_bwd = programs(framework, threads, shape)
        except ImportError as e:
            print(json.dumps({"error": f"{framework} not importable: {e}"}))
            return
        out[str(shape)] = {"fwd": timed(fwd, seconds, stat), "fwd+bwd": timed(fwd_bwd, seconds, stat)}
    print(json.dumps(out))


# ---- driver ------------------------------------------------------------------------

def run_worker(framework, threads, seconds, stat):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, __file__, "--worker", framework, "--threads", str(threads), "--seconds", str(seconds),
           "--stat", stat]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [line for line in res.stdout.splitlines() if line.startswith("{")]
    if res.returncode != 0 or not lines:
        return {"error": f"{framework} failed: {res.stderr.strip().splitlines()[-1:] }"}
    return json.loads(lines[-1])


def flops(shape, mode):
    N, H, W, C, O, k = shape
    one = 2.0 * N * H * W * k * k * C * O
    return one if mode == "fwd" else 3 * one  # backward: dx and dw, each as much as the forward


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=0.5, help="time per measurement (at least 7 repeats)")
    ap.add_argument("--stat", choices=["min", "median"], default="min", help="figure kept from the repeats")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument("--worker")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, int(args.threads), args.seconds, args.stat)
        return
    threads = [int(t) for t in args.threads.split(",")]
    frameworks = args.frameworks.split(",")
    best = {}  # (framework, threads) -> {shape: {mode: seconds}}
    errors = set()
    for _ in range(args.rounds):
        for t in threads:
            for fw in frameworks:
                res = run_worker(fw, t, args.seconds, args.stat)
                if "error" in res:
                    errors.add(res["error"])
                    continue
                cur = best.setdefault((fw, t), {})
                for shape, modes in res.items():
                    for mode, sec in modes.items():
                        old = cur.setdefault(shape, {}).get(mode)
                        cur[shape][mode] = sec if old is None else min(old, sec)
    for e in sorted(errors):
        print("note:", e)
    try:
        from tinytf import _core
        peak = getattr(_core, "fma_peak_gflops", None)
    except ImportError:
        peak = None
    print(f"conv2d float32, SAME, stride 1, with bias; ms, best of {args.rounds} rounds of the {args.stat} of "
          "repeats; x = best peer time / tinytf time (> 1: tinytf faster); GF/s counts the direct "
          "convolution's 2*N*H*W*k*k*Cin*Cout per pass (Winograd multiplies less, so it can pass the FMA peak)")
    peers = [fw for fw in frameworks if fw != "tinytf"]
    head = f"{'(N,H,W,Cin,Cout,k)':<24}{'thr':>4} {'mode':<8}" + "".join(f"{LABELS[f]:>12}" for f in frameworks)
    print(head + f"{'tinytf GF/s':>13}{'x':>7}")
    for shape in SHAPES:
        for t in threads:
            for mode in ("fwd", "fwd+bwd"):
                row = f"{str(shape):<24}{t:>4} {mode:<8}"
                times = {fw: best.get((fw, t), {}).get(str(shape), {}).get(mode) for fw in frameworks}
                row += "".join(f"{times[fw] * 1e3:>12.3f}" if times[fw] else f"{'-':>12}" for fw in frameworks)
                mine = times.get("tinytf")
                peer = min((times[p] for p in peers if times[p]), default=None)
                row += f"{flops(shape, mode) / mine * 1e-9:>13.1f}" if mine else f"{'-':>13}"
                row += f"{peer / mine:>7.2f}" if mine and peer else f"{'-':>7}"
                print(row)
    if peak:
        print(f"fp32 FMA peak (tinytf probe): " + ", ".join(f"{t} thr {peak_at(t):.0f} GFLOP/s" for t in threads))


def peak_at(threads):
    from tinytf import _core
    _core.set_num_threads(threads)
    try:
        return _core.fma_peak_gflops()
    finally:
        _core.set_num_threads(0)


if __name__ == "__main__":
    main()
