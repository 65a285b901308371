"""Augmentation throughput (images/s): tinytf's preprocessing layers against
Keras 3's (TensorFlow backend), same pipeline, same uint8 batches, same
threads, each framework in its own process.

Pipeline: RandomFlip -> RandomRotation(0.1) -> RandomZoom(0.1) ->
RandomContrast(0.2), training=True, batches of 128 images of 32x32x3 and
28x28x1. Keras runs eagerly (``pipeline(x, training=True)``) and inside a
``tf.function`` (graph mode, as in a tf.data map); both are reported.

  PYTHONPATH=python python3 bench/bench_augment.py    # 2 threads, prints a markdown table
  PYTHONPATH=python python3 bench/bench_augment.py --threads 1 --repeats 7
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SHAPES = {"32x32x3": (32, 32, 3), "28x28x1": (28, 28, 1)}
BATCH = 128


def pipeline(L):
    return [L.RandomFlip("horizontal", seed=1), L.RandomRotation(0.1, seed=2), L.RandomZoom(0.1, seed=3),
            L.RandomContrast(0.2, seed=4)]


def measure(step, x, batches, repeats):
    """Median images/s over `repeats` runs of `batches` calls, after a warm-up."""
    for _ in range(3):
        step(x)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batches):
            step(x)
        rates.append(batches * len(x) / (time.perf_counter() - start))
    return statistics.median(rates), min(rates), max(rates)


def worker(framework, shape, threads, batches, repeats):
    import numpy as np

    x = np.random.default_rng(0).integers(0, 256, (BATCH,) + SHAPES[shape]).astype(np.uint8)
    results = {}
    if framework == "tinytf":
        import tinytf

        tinytf.config.threading.set_intra_op_parallelism_threads(threads)
        layers = pipeline(tinytf.layers)

        def step(batch):
            for layer in layers:
                batch = layer(batch, training=True)
            return np.asarray(batch)

        results["tinytf"] = measure(step, x, batches, repeats)
    else:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        model = keras.Sequential(pipeline(keras.layers))
        results["keras eager"] = measure(lambda b: np.asarray(model(b, training=True)), x, batches, repeats)
        graph = tf.function(lambda b: model(b, training=True))
        results["keras tf.function"] = measure(lambda b: graph(b).numpy(), x, batches, repeats)
    print(json.dumps(results))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, default=40, help="batches per timed run")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported")
    ap.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "SHAPE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(*args.worker, args.threads, args.batches, args.repeats)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONUNBUFFERED="1")
    print(f"Augmentation throughput, batches of {BATCH} uint8 images, {args.threads} thread(s), median of "
          f"{args.repeats} x {args.batches} batches (min-max in brackets)\n")
    print("| images | framework | images/s | tinytf speed-up |")
    print("|---|---|---|---|")
    for shape in SHAPES:
        rows = {}
        for fw in ("tinytf", "keras"):
            proc = subprocess.run([sys.executable, __file__, "--worker", fw, shape, "--threads", str(args.threads),
                                   "--batches", str(args.batches), "--repeats", str(args.repeats)],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                rows[fw] = None
                print(f"| {shape} | {fw} | failed: {(proc.stderr.strip().splitlines() or ['?'])[-1][:80]} | |")
                continue
            rows.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        base = rows.get("tinytf")
        for name, r in rows.items():
            if r is None:
                continue
            ratio = f"{base[0] / r[0]:.1f}x" if base and name != "tinytf" else ""
            print(f"| {shape} | {name} | {r[0]:,.0f} ({r[1]:,.0f}-{r[2]:,.0f}) | {ratio} |")


if __name__ == "__main__":
    main()
