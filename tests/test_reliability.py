"""Reliability promises: interrupts, threads, memory, OpenMP coexistence,
forced portable kernels, numerically extreme inputs."""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tinytf as tf
from tinytf import layers
from tinytf.models import Sequential


def small_model(seed=0):
    tf.utils.set_random_seed(seed)
    m = Sequential([layers.Dense(16, input_dim=8, activation="relu"), layers.Dense(3, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    return m


def test_ctrl_c_stops_fit_at_a_step_boundary_and_fit_can_continue():
    m = small_model()
    x = np.random.default_rng(0).normal(size=(4000, 8)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, 4000)
    steps = []

    class SendInterrupt(tf.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(self.model.optimizer.iterations)
            if batch == 5:
                os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # CI may start us with SIGINT ignored
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[SendInterrupt()])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    # the interrupt landed during step 5's callbacks: step 6 ran to completion, no half update
    assert m.optimizer.iterations == steps[-1] + 1 == 7
    h = m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0]) and m.optimizer.iterations == 7 + 500


def test_concurrent_predict_and_ops_from_python_threads_are_correct():
    m = small_model()
    x = np.random.default_rng(2).normal(size=(256, 8)).astype(np.float32)
    want = m.predict(x, verbose=0)
    a = np.random.default_rng(3).normal(size=(64, 64)).astype(np.float32)
    errors = []

    def worker(i):
        try:
            for _ in range(20):
                np.testing.assert_allclose(m.predict(x, batch_size=64, verbose=0), want, rtol=1e-6)
                np.testing.assert_allclose(tf.matmul(a, a).numpy(), a @ a, rtol=1e-4, atol=1e-4)
                tf.config.threading.set_intra_op_parallelism_threads(1 + i % 2)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tf.config.threading.set_intra_op_parallelism_threads(0)
    assert not errors, errors[0]


def test_kernels_release_the_gil():
    """A long matmul in one thread lets another Python thread run meanwhile."""
    a = tf.constant(np.ones((1500, 1500), np.float32))
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.01)
    before = len(ticks)
    for _ in range(3):
        tf.matmul(a, a)
    done.set()
    t.join()
    assert len(ticks) - before > 5


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc to read RSS")
def test_memory_stays_flat_over_many_calls_predicts_and_steps():
    m = small_model()
    x = np.random.default_rng(4).normal(size=(32, 8)).astype(np.float32)
    y = np.random.default_rng(5).integers(0, 3, 32)
    for _ in range(200):  # warm the caching allocator and Python caches
        m(x)
        m.predict(x, verbose=0)
        m.train_on_batch(x, y)
    start = rss_mb()
    for _ in range(10_000):
        m(x)
    for _ in range(1_000):
        m.predict(x, verbose=0)
    for _ in range(2_000):
        m.train_on_batch(x, y)
    grown = rss_mb() - start
    assert grown < 5.0, f"RSS grew by {grown:.1f} MB"
    stats = tf._core.allocator_stats()
    fresh = stats["fresh_allocations"]
    m.train_on_batch(x, y)
    assert tf._core.allocator_stats()["fresh_allocations"] == fresh  # steady state allocates nothing new


def run_python(code, env=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


CHECK = """
import numpy as np
import tinytf as tf
a = np.random.default_rng(0).normal(size=(97, 61)).astype(np.float32)
np.testing.assert_allclose(tf.matmul(a, a.T).numpy(), a @ a.T, rtol=1e-4, atol=1e-4)
x = np.random.default_rng(1).normal(size=(2, 9, 9, 3)).astype(np.float32)
w = np.random.default_rng(2).normal(size=(3, 3, 3, 4)).astype(np.float32)
y = tf.nn.conv2d(x, w, 1, "SAME").numpy()
assert y.shape == (2, 9, 9, 4) and np.isfinite(y).all()
np.testing.assert_allclose(tf.reduce_sum(tf.constant(a)).numpy(), a.sum(dtype=np.float64), rtol=1e-5)
print("OK", tf._core.isa())
"""


def test_a_smaller_team_than_asked_for_still_gives_the_product():
    """OMP_THREAD_LIMIT can give a parallel region fewer threads than asked
    for; a large product, whose threads otherwise share packed blocks of B
    and wait for each other, must then neither hang nor change."""
    out = run_python("""
import numpy as np, tinytf as tf
from tinytf import _core
tf.config.threading.set_intra_op_parallelism_threads(2)
rng = np.random.default_rng(0)
a, b = rng.standard_normal((600, 400), dtype=np.float32), rng.standard_normal((400, 700), dtype=np.float32)
got = np.asarray(_core.matmul(_core.from_numpy(a), _core.from_numpy(b), False, False))
np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
print("OK")
""", {"OMP_THREAD_LIMIT": "1"})
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-2000:]


@pytest.mark.parametrize("order", ["torch_first", "tinytf_first"])
def test_openmp_coexistence_with_torch_numpy_and_sklearn(order):
    pytest.importorskip("torch")
    others = "import torch; torch.ones(8) @ torch.ones(8)\nimport numpy; numpy.ones((300, 300)) @ numpy.ones((300, 300))\n"
    others += "try:\n    import sklearn.linear_model\nexcept ImportError:\n    pass\n"
    code = (others + CHECK) if order == "torch_first" else (CHECK + others + "print('after')")
    out = run_python(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "OMP: Error" not in out.stderr and "OK" in out.stdout


def test_extension_keeps_a_static_cpp_runtime_to_itself():
    """Some toolchains link libstdc++ statically. The extension must not export that
    copy: the process's libstdc++.so (numpy's, torch's) would interpose half of it,
    and formatting the first error message crashed (seen on a 16-core machine)."""
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("needs nm (binutils) to list the extension's exported symbols")
    out = subprocess.run([nm, "-D", "--defined-only", tf._core.__file__], capture_output=True, text=True, check=True)
    exported = [line.split()[-1] for line in out.stdout.splitlines()]
    assert "PyInit__core" in exported
    runtime = [s for s in exported if s.startswith(("_ZNSt6locale", "_ZNSt8ios_base", "_ZNSo", "_ZNSi"))]
    assert not runtime, runtime[:5]


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_kernels_are_correct_with_each_isa_forced(isa):
    out = run_python(CHECK, {"TINYTF_ISA": isa})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] in ("scalar", "avx2", "avx512")
    if isa == "scalar":
        assert out.stdout.split()[-1] == "scalar"


def test_extreme_logits_give_finite_correct_values_and_gradients():
    logits = tf.constant(np.array([[1e4, -1e4, 0.0], [-np.inf, 0.0, 1.0], [-1e4, -1e4, -1e4]], np.float64))
    with tf.GradientTape(persistent=True) as t:
        t.watch(logits)
        p = tf.nn.softmax(logits)
        lp = tf.nn.log_softmax(logits)
        finite_lp = tf.where(lp > -1e300, lp, tf.zeros_like(lp))
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant([1, 2, 0]), logits)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(tf.constant(np.ones((3, 3))), tf.where(logits > -1e300, logits,
                                                                                           tf.zeros_like(logits)))
        totals = [tf.reduce_sum(v) for v in (p, finite_lp, ce, bce)]
    np.testing.assert_allclose(p.numpy()[0], [1, 0, 0])
    assert p.numpy()[1, 0] == 0.0 and np.allclose(p.numpy()[2], 1 / 3)
    np.testing.assert_allclose(ce.numpy(), [2e4, np.log(1 + np.e) - 1, np.log(3)], rtol=1e-12)
    np.testing.assert_allclose(bce.numpy()[0], [0.0, 1e4, np.log(2)], rtol=1e-12)
    for total in totals:
        g = t.gradient(total, logits).numpy()
        assert np.isfinite(g).all(), g
    np.testing.assert_allclose(tf.nn.sigmoid(tf.constant([-1e4, 1e4, 0.0], "float64")).numpy(), [0.0, 1.0, 0.5])
