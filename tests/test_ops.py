"""Every op of the table: forward against numpy, backward against central
finite differences in float64, over hypothesis-generated shapes (including
broadcasting, size-1 and empty dimensions, and non-contiguous inputs)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinytf as tf
from op_table import CASES

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def to_tensor(a, noncontiguous):
    """A tensor with a's values; a non-contiguous view of other memory when asked."""
    if noncontiguous and a.ndim >= 2:
        return tf.transpose(tf.constant(np.ascontiguousarray(a.T)))
    if noncontiguous and a.ndim == 1:
        doubled = np.zeros(2 * a.shape[0], a.dtype)
        doubled[::2] = a
        return tf.constant(doubled)[::2]
    return tf.constant(a)


def as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def check_close(got, want, case):
    got, want = as_list(got), as_list(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert isinstance(g, tf.Tensor)
        assert tuple(g.shape) == w.shape, f"{case.name}: shape {tuple(g.shape)} != numpy {w.shape}"
        if w.dtype == bool or w.dtype.kind in "iu":
            assert g.dtype == w.dtype or w.dtype.kind == g.dtype.dtype.kind
            np.testing.assert_array_equal(g.numpy(), w)
        else:
            np.testing.assert_allclose(g.numpy(), w, rtol=case.rtol, atol=case.atol)


def test_every_public_op_is_in_the_table():
    table = {c.name for c in CASES}
    assert set(tf.ops.OPS) == table, f"missing from table: {set(tf.ops.OPS) - table}; not ops: {table - set(tf.ops.OPS)}"
    for name in tf.ops.__all__:
        assert getattr(tf, name) is tf.ops.OPS[name]
    public_nn = {n for n in dir(tf.nn) if not n.startswith("_") and callable(getattr(tf.nn, n))}
    assert public_nn - {"swish"} <= table


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_forward_matches_numpy(case, data):
    arrays, kwargs = data.draw(case.inputs)
    kwargs = {**case.kwargs, **kwargs}
    tensors = [to_tensor(a, data.draw(st.booleans())) for a in arrays]
    got = case.tt()(*tensors, **kwargs)
    check_close(got, case.ref(*arrays, **kwargs), case)


def loss_of(case, tensors, kwargs, weights):
    outs = as_list(case.tt()(*tensors, **kwargs))
    total = tf.constant(0.0, dtype="float64")
    for o, w in zip(outs, weights):
        total = total + tf.reduce_sum(o * tf.constant(w))
    return total


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=lambda c: c.name)
@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_gradient_matches_finite_differences(case, data):
    arrays, kwargs = data.draw(case.inputs)
    kwargs = {**case.kwargs, **kwargs}
    float_idx = [i for i, a in enumerate(arrays) if a.dtype == np.float64]
    if not float_idx:
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    outs = as_list(case.ref(*arrays, **kwargs))
    weights = [rng.uniform(-1, 1, np.shape(o)) for o in outs]

    tensors = [to_tensor(a, data.draw(st.booleans())) for a in arrays]
    with tf.GradientTape() as tape:
        for i in float_idx:
            tape.watch(tensors[i])
        loss = loss_of(case, tensors, kwargs, weights)
    grads = tape.gradient(loss, [tensors[i] for i in float_idx])

    h = 1e-6
    for i, g in zip(float_idx, grads):
        numeric = np.zeros_like(arrays[i])
        for j in np.ndindex(arrays[i].shape):
            plus, minus = [a.copy() for a in arrays], [a.copy() for a in arrays]
            plus[i][j] += h
            minus[i][j] -= h
            fp = float(loss_of(case, [tf.constant(a) for a in plus], kwargs, weights))
            fm = float(loss_of(case, [tf.constant(a) for a in minus], kwargs, weights))
            numeric[j] = (fp - fm) / (2 * h)
        got = np.zeros_like(arrays[i]) if g is None else g.numpy()
        assert got.shape == arrays[i].shape
        np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-6, err_msg=f"{case.name}: input {i}")


@pytest.mark.parametrize("threads", [1, 2])
def test_long_rows_are_split_across_threads_with_the_same_results(threads, restore_threads):
    """Contiguous tensors are one long row; rows longer than the elementwise
    grain are cut into fixed chunks (the chunk bounds must not shift values)."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    rng = np.random.default_rng(0)
    n = 3 * 32768 + 17  # not a multiple of the chunk
    a = rng.standard_normal((3, n)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    cond = rng.random((3, n)) < 0.5
    np.testing.assert_array_equal(tf.add(a, b).numpy(), a + b)
    np.testing.assert_array_equal(tf.maximum(a.ravel(), 0.0).numpy(), np.maximum(a.ravel(), 0.0))
    np.testing.assert_allclose(tf.exp(a).numpy(), np.exp(a), rtol=2e-6)
    np.testing.assert_array_equal(tf.where(cond, a, b).numpy(), np.where(cond, a, b))
    np.testing.assert_array_equal(tf.cast(a, tf.float64).numpy(), a.astype(np.float64))
    strided = tf.constant(a)[:, ::1][::2]  # rows 0 and 2 of a
    np.testing.assert_array_equal(tf.identity(strided).numpy(), a[::2])


_TRANSCENDENTALS = {  # op: (tinytf, float64 reference, largest error in float32 ulp)
    "exp": (tf.exp, np.exp, 1.5),
    "sigmoid": (tf.nn.sigmoid, lambda v: 1 / (1 + np.exp(-v)), 3),
    "tanh": (tf.nn.tanh, np.tanh, 1.5),
}


@pytest.mark.parametrize("op", list(_TRANSCENDENTALS))
def test_transcendentals_float32_on_every_isa_match_numpy_including_specials(isa, op):
    """float32 exp, sigmoid and tanh run vectorised polynomials per ISA (exp
    and sigmoid with libm for inputs outside their range, tanh clamped where
    it rounds to +-1); compared with numpy in float64."""
    fn, ref, ulps = _TRANSCENDENTALS[op]
    x = np.concatenate([np.linspace(-120, 100, 40001, dtype=np.float32),
                        np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.625, -0.625, 43.6, -43.7, 88.7, -87.4, -88.4,
                                  1e-30, -1e-30, 1e30, -1e30], np.float32)])
    got = fn(x).numpy()  # on the ISA the conftest fixture `isa` set
    with np.errstate(over="ignore"):
        want = ref(x.astype(np.float64))
    tiny = np.finfo(np.float32).tiny
    normal = np.isfinite(want) & (np.abs(want) >= tiny) & (np.abs(want) <= np.finfo(np.float32).max)
    err = np.abs(got[normal] - want[normal]) / np.spacing(np.abs(want[normal]).astype(np.float32))
    assert err.max() <= ulps, (op, x[normal][np.argmax(err)], err.max())
    # Overflow, NaN, signed zeros and results below the normal range (flushed
    # to zero, as every kernel flushes denormals) keep their meaning.
    with np.errstate(over="ignore", invalid="ignore"):
        want32 = want[~normal].astype(np.float32)
        np.testing.assert_array_equal(got[~normal], np.where(np.abs(want32) < tiny, want32 * 0, want32))
    assert np.array_equal(np.signbit(got[x == 0]), np.signbit(want[x == 0]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_scalars_take_the_tensor_dtype_as_numpy_would(dtype):
    x = np.array([1.5, -2.0, 3.0, 0.0], dtype)
    t = tf.constant(x)
    for s in (0.1, -0.0, 1e300, float("nan"), float("-inf"), 7, 2.0 ** 60 + 1):
        with np.errstate(all="ignore"):
            want_mul, want_sub = x * dtype(s), dtype(s) - x
        np.testing.assert_array_equal((t * s).numpy(), want_mul, err_msg=f"x * {s!r}")
        np.testing.assert_array_equal((s - t).numpy(), want_sub, err_msg=f"{s!r} - x")
        assert np.array_equal(np.signbit((t * s).numpy()), np.signbit(want_mul))
    i = tf.constant(np.array([1, 2], np.int32))
    with pytest.raises(TypeError, match="cannot convert the float value 0.5 to int32"):
        i * 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_])
def test_where_picks_the_exact_elements_for_every_dtype(dtype):
    rng = np.random.default_rng(7)
    shape = (3, 70001)  # long rows: split across threads
    cond = rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.floating):
        x = rng.standard_normal(shape).astype(dtype)
        x[0, :4] = [np.nan, -0.0, np.inf, -np.inf]
        y = -rng.standard_normal(shape).astype(dtype)
    else:
        x, y = rng.integers(0, 2 if dtype is np.bool_ else 100, (2,) + shape).astype(dtype)
    got = tf.where(tf.constant(cond), tf.constant(x), tf.constant(y)).numpy()
    assert got.dtype == dtype and got.tobytes() == np.where(cond, x, y).tobytes()
    got = tf.where(tf.constant(cond[:, :5]), tf.constant(x[:, :5]), tf.constant(y[0, 0])).numpy()  # broadcast
    assert got.tobytes() == np.where(cond[:, :5], x[:, :5], y[0, 0]).tobytes()
