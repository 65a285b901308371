"""Thread-count setting, ISA selection and the counter-based random generator."""
import numpy as np
import pytest

import tinytf as tf
from tinytf import _core


@pytest.fixture
def restore_threads():
    yield
    tf.config.threading.set_intra_op_parallelism_threads(0)


def test_thread_setter_is_obeyed(restore_threads):
    tf.config.threading.set_intra_op_parallelism_threads(1)
    assert tf.config.threading.get_intra_op_parallelism_threads() == 1
    assert _core.get_num_threads() == 1
    tf.config.threading.set_intra_op_parallelism_threads(0)
    assert tf.config.threading.get_intra_op_parallelism_threads() == 0
    assert _core.get_num_threads() == _core.default_num_threads()


def test_thread_setter_rejects_bad_values(restore_threads):
    with pytest.raises(ValueError):
        tf.config.threading.set_intra_op_parallelism_threads(-1)
    with pytest.raises(TypeError):
        tf.config.threading.set_intra_op_parallelism_threads(1.5)


def test_omp_num_threads_is_respected():
    import subprocess
    import sys

    code = "import tinytf, sys; sys.stdout.write(str(tinytf._core.get_num_threads()))"
    env = dict(__import__("os").environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout == "1"


def test_isa_override_validates():
    best = _core.cpu_best_isa()
    assert _core.isa() in ("scalar", "avx2", "avx512")
    with pytest.raises(ValueError, match="unknown ISA"):
        _core.set_isa("sse9")
    _core.set_isa("scalar")
    assert _core.isa() == "scalar"
    _core.set_isa(best)
    if best != "avx512":
        with pytest.raises(ValueError, match="cannot run"):
            _core.set_isa("avx512")


def test_devices_look_like_tensorflow_on_a_cpu_machine():
    assert tf.config.list_physical_devices("GPU") == []
    assert tf.config.list_physical_devices("CPU")[0].device_type == "CPU"


# --- random ---------------------------------------------------------------------

M32 = 0xFFFFFFFF


def philox_reference(key, idx, sub=0):
    """Philox4x32-10 in plain Python: the independent reference for the C++ generator."""
    c = [idx & M32, (idx >> 32) & M32, sub, 0x9E3779B9]
    k0, k1 = key & M32, (key >> 32) & M32
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c[3] ^ k1) & M32, p0 & M32]
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    return c


def test_uniform_matches_a_reference_philox():
    key, offset = 123456789, 40
    got = np.asarray(_core.random([6], _core.DType.float64, _core.Distribution.uniform, key, offset, 0.0, 1.0))
    want = []
    for i in range(6):
        w = philox_reference(key, offset + i)
        u = (float(((w[0] << 21) ^ w[1])) + 1.0) / 2.0**53
        want.append(u - 2.0**-53)
    np.testing.assert_array_equal(got, want)


def test_normal_matches_box_muller_of_the_reference():
    key = 99
    got = np.asarray(_core.random([4], _core.DType.float64, _core.Distribution.normal, key, 0, 1.0, 2.0))
    want = []
    for i in range(4):
        w = philox_reference(key, i)
        u1 = (float(((w[0] << 21) ^ w[1])) + 1.0) / 2.0**53
        u2 = (float(((w[2] << 21) ^ w[3])) + 1.0) / 2.0**53
        want.append(1.0 + 2.0 * np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2))
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_set_seed_reproduces_sequences():
    tf.random.set_seed(7)
    a = [tf.random.normal([5]).numpy(), tf.random.uniform([3]).numpy()]
    tf.random.set_seed(7)
    b = [tf.random.normal([5]).numpy(), tf.random.uniform([3]).numpy()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0][:3], a[1])  # successive calls differ
    tf.random.set_seed(8)
    assert not np.array_equal(tf.random.normal([5]).numpy(), a[0])


def test_random_bits_do_not_depend_on_thread_count():
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.random.set_seed(3)
        one = tf.random.normal([200_000]).numpy()
        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.random.set_seed(3)
        two = tf.random.normal([200_000]).numpy()
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(0)
    assert one.tobytes() == two.tobytes()


def test_distributions_have_the_requested_moments_and_ranges():
    tf.random.set_seed(0)
    n = 200_000
    x = tf.random.normal([n], mean=2.0, stddev=3.0, dtype="float64").numpy()
    assert abs(x.mean() - 2.0) < 5 * 3.0 / np.sqrt(n) and abs(x.std() - 3.0) < 0.05
    u = tf.random.uniform([n], minval=-1.0, maxval=3.0).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.02
    t = tf.random.truncated_normal([n], stddev=0.5).numpy()
    assert np.abs(t).max() <= 1.0 and abs(t.std() - 0.5 * 0.8796) < 0.01  # std of N(0,1) cut at +-2
    i = tf.random.uniform([n], minval=3, maxval=7, dtype="int64").numpy()
    assert i.dtype == np.int64 and set(np.unique(i)) == {3, 4, 5, 6}


def test_random_argument_errors():
    with pytest.raises(ValueError, match="maxval"):
        tf.random.uniform([2], dtype="int32")
    with pytest.raises(TypeError):
        tf.random.normal([2], dtype="int32")
    with pytest.raises(TypeError):
        tf.random.set_seed("abc")
    with pytest.raises(ValueError):
        tf.random.uniform([2], minval=5, maxval=5, dtype="int32")
