"""The layer kernels of the convnet and MLP workloads, and whole training steps,
timed for two builds side by side.

    python3 bench/bench_nn.py [--builds python,/path/to/other/build] [--rounds 3] [--threads 2]

Each build is a folder holding a `tinytf` package (a working tree's python/,
or a copy of an older build). Every round runs each build in its own
process, in turn, so a slow spell of a shared machine lands on both; a
figure is the fastest repeat (milliseconds or microseconds, per call) and
each build's line is printed per round. Shapes are the workloads' (batch 128
convnet, batch 32/128 MLP).
"""
import argparse
import subprocess
import sys

WORKER = r'''
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
import tinytf as tf
from tinytf import _core, layers as L
threads = int(sys.argv[2])
tf.config.threading.set_intra_op_parallelism_threads(threads)
rng = np.random.default_rng(0)
core = lambda *s: _core.from_numpy((rng.standard_normal(s) * 0.1).astype(np.float32))

def best(fn, n):
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return min(times)

out = []
x1 = core(128, 26, 26, 32)
y1, a1 = _core.max_pool2d_with_argmax(x1, (2, 2), (2, 2), "VALID")
out.append(("max pool (128,26,26,32) forward ms", 1e3 * best(lambda: _core.max_pool2d_with_argmax(x1, (2, 2), (2, 2), "VALID"), 30)))
out.append(("max pool backward ms", 1e3 * best(lambda: _core.max_pool2d_backward(y1, a1, (128, 26, 26, 32), (2, 2), (2, 2), "VALID"), 30)))
xc, wc, bc = core(128, 28, 28, 1), core(3, 3, 1, 32), core(32)
yc = _core.conv2d(xc, wc, bias=bc, act=_core.Act.relu)
dyc = core(*yc.shape)
for act in ("relu", "none"):
    a = getattr(_core.Act, act)
    out.append((f"conv (128,28,28,1->32) backward act={act} ms",
                1e3 * best(lambda: _core.conv2d_backward(xc, wc, yc, dyc, act=a, need_dx=False), 30)))
x2, w2, b2 = core(128, 13, 13, 32), core(3, 3, 32, 64), core(64)
y2 = _core.conv2d(x2, w2, bias=b2, act=_core.Act.relu)
dy2 = core(*y2.shape)
out.append(("conv (128,13,13,32->64) forward ms", 1e3 * best(lambda: _core.conv2d(x2, w2, bias=b2, act=_core.Act.relu), 20)))
out.append(("conv (128,13,13,32->64) backward ms",
            1e3 * best(lambda: _core.conv2d_backward(x2, w2, y2, dy2, act=_core.Act.relu), 20)))
for rows in (128, 512):
    z, lab = core(rows, 10), _core.from_numpy(np.abs(rng.standard_normal((rows, 10))).astype(np.float32))
    out.append((f"softmax ({rows},10) us", 1e6 * best(lambda: _core.softmax(z, -1), 2000)))
    out.append((f"softmax cross-entropy ({rows},10) us", 1e6 * best(lambda: _core.softmax_cross_entropy(z, lab, -1), 2000)))
d = core(128, 1600)
out.append(("dropout (128,1600) us", 1e6 * best(lambda: _core.dropout_with_factors(d, 0.5, 1, 0), 300)))
for batch in (32, 128):
    tf.utils.set_random_seed(0)
    m = tf.models.Sequential([L.Input((784,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    m.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    xb = rng.random((batch, 784), dtype=np.float32)
    yb = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    out.append((f"MLP train_on_batch, batch {batch} us", 1e6 * best(lambda: m.train_on_batch(xb, yb), 2000)))
tf.utils.set_random_seed(0)
cn = tf.models.Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                           L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                           L.Dense(10, activation="softmax")])
cn.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
xb = rng.random((128, 28, 28, 1), dtype=np.float32)
yb = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
out.append(("convnet train_on_batch, batch 128 ms", 1e3 * best(lambda: cn.train_on_batch(xb, yb), 30)))
xn = rng.random((1, 784), dtype=np.float32)
out.append(("MLP model(x), one sample us", 1e6 * best(lambda: m(xn), 20000)))
for name, v in out:
    print(f"{name}\t{v:.3f}")
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builds", default="python", help="comma-separated folders holding a tinytf package")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    builds = args.builds.split(",")
    results = {b: [] for b in builds}
    for r in range(args.rounds):
        for b in builds:
            run = subprocess.run([sys.executable, "-c", WORKER, b, str(args.threads)], capture_output=True, text=True)
            if run.returncode:
                sys.exit(f"{b}: {run.stderr[-2000:]}")
            results[b].append(dict(line.split("\t") for line in run.stdout.splitlines()))
    names = list(results[builds[0]][0])
    print(f"threads: {args.threads}; fastest repeat per round; rounds in order")
    for name in names:
        print(name)
        for b in builds:
            print(f"  {b:40s} " + "  ".join(f"{float(res[name]):9.3f}" for res in results[b]))


if __name__ == "__main__":
    main()
