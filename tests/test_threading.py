"""Results are bitwise identical for any thread count: kernels split work
into parts that depend only on the work, and every OpenMP region asks for
the same team (threads past the last part skip it). Thread counts beyond
this machine's cores and teams larger than a kernel's parts are included."""
import numpy as np
import pytest

import tinytf as tf
from tinytf import _core

THREADS = (1, 2, 3, 5, 8)


def run_kernels():
    rng = np.random.default_rng(0)
    a = _core.from_numpy(rng.standard_normal((301, 517), dtype=np.float32))
    b = _core.from_numpy(rng.standard_normal((517, 203), dtype=np.float32))
    big_a = _core.from_numpy(rng.standard_normal((530, 517), dtype=np.float32))  # threads share packed B
    big_b = _core.from_numpy(rng.standard_normal((517, 540), dtype=np.float32))
    x = _core.from_numpy(rng.standard_normal((6, 19, 21, 16), dtype=np.float32))
    w = _core.from_numpy(rng.standard_normal((3, 3, 16, 24), dtype=np.float32))
    y = _core.conv2d(x, w, 1, 1, "SAME")
    dy = _core.from_numpy(rng.standard_normal(np.asarray(y).shape, dtype=np.float32))
    conv_grads = _core.conv2d_backward(x, w, y, dy, 1, 1, "SAME", _core.Act.relu, True, True)
    pooled, argmax = _core.max_pool2d_with_argmax(y, 2, 2, "VALID")
    pool_grad = _core.max_pool2d_backward(_core.from_numpy(np.ones(np.asarray(pooled).shape, np.float32)), argmax,
                                          y.shape, 2, 2, "VALID")
    long = _core.from_numpy(rng.standard_normal(5 * 32768 + 3, dtype=np.float32))
    outs = [_core.matmul(a, b, False, False), _core.matmul(big_a, big_b, False, False), y, *conv_grads, pooled, pool_grad,
            tf.exp(tf.constant(np.asarray(long))), tf.reduce_sum(tf.constant(np.asarray(long))),
            tf.reduce_sum(tf.constant(np.asarray(a)), axis=0), _core.dropout(long, 0.3, 7, 11)]
    return [np.asarray(o).tobytes() for o in outs]


def test_kernels_give_the_same_bits_for_any_thread_count(restore_threads):
    results = {}
    for t in THREADS:
        tf.config.threading.set_intra_op_parallelism_threads(t)
        results[t] = run_kernels()
    for t in THREADS[1:]:
        for i, (got, want) in enumerate(zip(results[t], results[1])):
            assert got == want, f"output {i} differs between 1 and {t} threads"


@pytest.mark.parametrize("threads", THREADS[1:])
def test_training_gives_the_same_weights_for_any_thread_count(threads, restore_threads):
    rng = np.random.default_rng(1)
    x = rng.random((256, 12, 12, 1), dtype=np.float32)
    y = rng.integers(0, 10, 256)
    weights = []
    for t in (1, threads):
        tf.config.threading.set_intra_op_parallelism_threads(t)
        tf.utils.set_random_seed(3)
        m = tf.models.Sequential([tf.Input((12, 12, 1)), tf.layers.Conv2D(16, 3, activation="relu"),
                                  tf.layers.MaxPooling2D(2), tf.layers.Flatten(), tf.layers.Dropout(0.3),
                                  tf.layers.Dense(64, activation="relu"), tf.layers.Dense(10)])
        m.compile("adam", tf.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(x, y, batch_size=64, epochs=2, verbose=0)
        weights.append([v.tobytes() for v in m.get_weights()])
    assert weights[0] == weights[1]
