"""GradientTape semantics, Variables, slicing, and error messages of ops."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytf as tf


def fd(f, x, h=1e-6):
    """Central finite differences of a scalar function of a float64 array."""
    g = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        p, m = x.copy(), x.copy()
        p[j] += h
        m[j] -= h
        g[j] = (f(p) - f(m)) / (2 * h)
    return g


# --- tape semantics -------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda x: x * x * x, tf.sin, tf.exp, tf.nn.tanh, tf.nn.sigmoid, tf.nn.softplus, tf.nn.gelu, tf.nn.elu,
    tf.nn.selu, tf.nn.silu, tf.nn.softsign, lambda x: tf.nn.gelu(x, approximate=True), lambda x: tf.log(x + 3.0),
    tf.sqrt, lambda x: 1.0 / x, tf.erf, lambda x: tf.pow(x, 3.0), tf.square,
], ids=["cube", "sin", "exp", "tanh", "sigmoid", "softplus", "gelu", "elu", "selu", "silu", "softsign",
        "gelu_tanh", "log", "sqrt", "reciprocal", "erf", "pow", "square"])
def test_second_order_gradients_of_elementwise_ops(fn):
    x0 = np.array([0.3, 0.7, 1.3, 2.1])

    def first(xv):
        x = tf.constant(xv)
        with tf.GradientTape() as t:
            t.watch(x)
            y = tf.reduce_sum(fn(x))
        return t.gradient(y, x)

    x = tf.constant(x0)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.reduce_sum(fn(x))
        g = inner.gradient(y, x)
        s = tf.reduce_sum(g * tf.constant([1.0, -2.0, 0.5, 3.0], "float64"))
    second = outer.gradient(s, x).numpy()
    want = fd(lambda v: float(tf.reduce_sum(first(v) * tf.constant([1.0, -2.0, 0.5, 3.0], "float64"))), x0)
    np.testing.assert_allclose(second, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_loss_chain_gradients_match_numpy_taped_or_not(axis):
    """reduce_mean of a fused cross-entropy along `axis`, and sums with and
    without keepdims: their backward goes straight to the core when no tape
    records it, through ops when an outer tape does (second order)."""
    rng = np.random.default_rng(axis + 7)
    x0, z = rng.standard_normal((3, 4, 5)), rng.random((3, 4, 5))
    x = tf.Variable(x0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(z, x, axis=axis))
    e = np.exp(x0 - x0.max(axis, keepdims=True))
    want = (e / e.sum(axis, keepdims=True) * z.sum(axis, keepdims=True) - z) / (x0.size / x0.shape[axis])
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), want, rtol=1e-10, atol=1e-12)

    with tf.GradientTape() as outer:
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.reduce_sum(x * x * x, axis=axis, keepdims=True)) + tf.reduce_mean(x, axis=(0, 2))[1]
        g = tape.gradient(y, x)
        second = tf.reduce_sum(g * g)
    g_want = 3 * x0 ** 2
    g_want[:, 1, :] += 1.0 / 15
    np.testing.assert_allclose(g.numpy(), g_want, rtol=1e-12)
    np.testing.assert_allclose(outer.gradient(second, x).numpy(), 2 * g_want * 6 * x0, rtol=1e-12)


def test_variables_are_watched_and_accumulate_when_used_twice():
    v = tf.Variable([1.0, 2.0, 3.0], dtype="float64")
    with tf.GradientTape() as t:
        y = tf.reduce_sum(v * v + v)
    np.testing.assert_allclose(t.gradient(y, v).numpy(), 2 * np.array([1.0, 2.0, 3.0]) + 1)


def test_unwatched_constants_and_unconnected_sources_give_none():
    c = tf.constant([1.0, 2.0])
    v = tf.Variable([3.0, 4.0])
    other = tf.Variable([5.0])
    with tf.GradientTape() as t:
        y = tf.reduce_sum(c * v)
    gc, gv, go = t.gradient(y, [c, v, other])
    assert gc is None and go is None
    np.testing.assert_allclose(gv.numpy(), [1.0, 2.0])
    with tf.GradientTape() as t:
        y = tf.reduce_sum(c * v)
    zero = t.gradient(y, other, unconnected_gradients="zero")
    np.testing.assert_array_equal(zero.numpy(), [0.0])


def test_non_trainable_variables_and_watch_accessed_variables_false():
    frozen = tf.Variable([2.0], trainable=False)
    v = tf.Variable([3.0])
    with tf.GradientTape() as t:
        y = frozen * v
    assert t.gradient(y, frozen) is None
    with tf.GradientTape(watch_accessed_variables=False) as t:
        t.watch(frozen)
        y = frozen * v
    gf, gv = t.gradient(y, [frozen, v])
    assert gv is None and gf.numpy()[0] == 3.0
    assert t.watched_variables() == (frozen,)


def test_persistent_tape_allows_several_gradients_and_plain_tape_does_not():
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
        z = y * x
    assert float(t.gradient(y, x)) == 6.0 and float(t.gradient(z, x)) == 27.0
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * x
    t.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        t.gradient(y, x)


def test_stop_recording_and_stop_gradient():
    x = tf.Variable(2.0)
    with tf.GradientTape() as t:
        y = x * x
        with t.stop_recording():
            z = x * 10.0
        w = tf.stop_gradient(x) * x
        total = y + z + w
    # d/dx of x^2 + (constant 20) + (constant 2)*x = 2x + 2
    assert float(t.gradient(total, x)) == 6.0


def test_nested_structures_output_gradients_and_multiple_targets():
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as t:
        y1 = a * b
        y2 = a + b
    g = t.gradient([y1, y2], {"first": a, "second": [b]})
    assert float(g["first"]) == 3.0 and float(g["second"][0]) == 2.0
    g = t.gradient(y1, [a, b], output_gradients=tf.constant(10.0))
    assert [float(v) for v in g] == [20.0, 10.0]


def test_gradient_rejects_non_tensors():
    x = tf.constant(1.0)
    with tf.GradientTape() as t:
        t.watch(x)
        y = x * 2.0
    with pytest.raises(TypeError):
        t.gradient(y, "x")
    with pytest.raises(TypeError):
        tf.GradientTape().watch(3)


def test_tape_does_not_record_after_exit():
    x = tf.Variable(1.0)
    with tf.GradientTape() as t:
        pass
    y = x * x
    assert t.gradient(y, x) is None


# --- variables --------------------------------------------------------------------

def test_variable_assign_in_place_and_errors():
    v = tf.Variable(np.zeros((2, 2), np.float32), name="w")
    ptr = v._t.data_ptr
    v.assign(np.ones((2, 2)))
    v.assign_add(tf.ones([2, 2]))
    v.assign_sub([[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_array_equal(v.numpy(), np.full((2, 2), 1.5))
    assert v._t.data_ptr == ptr and v.name == "w" and v.trainable
    snap, array, view = v.value(), v.numpy(), np.asarray(v)
    v.assign(np.zeros((2, 2)))
    assert snap.numpy()[0, 0] == 1.5 and array[0, 0] == 1.5  # numpy() is a copy, as TensorFlow's
    assert view[0, 0] == 0.0  # np.asarray is the zero-copy view
    with pytest.raises(ValueError, match="shape"):
        v.assign(np.zeros(3))
    with pytest.raises(TypeError):
        v.assign(tf.zeros([2, 2], "int32"))


def test_variable_copies_its_initial_value():
    a = np.arange(3.0)
    v = tf.Variable(a)
    a[0] = 99.0
    assert v.numpy()[0] == 0.0 and v.dtype == tf.float64


def test_operators_map_to_ops():
    a = tf.constant([1.0, 2.0, 4.0])
    np.testing.assert_allclose((2 - a * 3 + a / 2 - -a).numpy(), 2 - 3 * np.array([1, 2, 4.0]) + np.array([0.5, 1, 2]) + [1, 2, 4])
    np.testing.assert_allclose((a ** 2).numpy(), [1, 4, 16])
    np.testing.assert_allclose((2 ** a).numpy(), [2, 4, 16])
    np.testing.assert_array_equal((a > 1.5).numpy(), [False, True, True])
    np.testing.assert_array_equal((a == 2.0).numpy(), [False, True, False])
    assert (a == None) is False  # noqa: E711
    m = tf.constant(np.eye(3))
    np.testing.assert_allclose((m @ m).numpy(), np.eye(3))
    np.testing.assert_allclose((np.ones(3, np.float32) + a).numpy(), [2, 3, 5])
    np.testing.assert_array_equal((tf.constant(7) // 2).numpy(), 3)
    np.testing.assert_array_equal((tf.constant(-7) % 3).numpy(), 2)
    assert tf.divide(tf.constant(7), 2).dtype == tf.float64
    assert {a: 1}[a] == 1  # hashable by identity


# --- slicing --------------------------------------------------------------------

KEYS = st.one_of(
    st.integers(-4, 3),
    st.slices(4),
    st.just(Ellipsis),
    st.just(None),
)


@settings(max_examples=80, deadline=None)
@given(key=st.lists(KEYS, min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_getitem_matches_numpy_forward_and_backward(key, seed):
    x0 = np.random.default_rng(seed).normal(size=(4, 4, 4))
    key = tuple(key)
    try:
        want = x0[key]
    except IndexError:
        with pytest.raises(IndexError):
            tf.constant(x0)[key]
        return
    x = tf.constant(x0)
    w = np.random.default_rng(seed + 1).normal(size=want.shape)
    with tf.GradientTape() as t:
        t.watch(x)
        y = x[key]
        loss = tf.reduce_sum(y * tf.constant(w))
    np.testing.assert_array_equal(y.numpy(), want)
    g_want = np.zeros_like(x0)
    np.add.at(g_want, key, w) if want.size else None
    np.testing.assert_allclose(t.gradient(loss, x).numpy(), g_want)


def test_slices_are_views():
    x = tf.constant(np.arange(10.0))
    assert np.shares_memory(x[2:8:2].numpy(), x.numpy())


def test_bad_indices():
    x = tf.zeros([3, 4])
    with pytest.raises(IndexError, match="out of bounds"):
        x[3]
    with pytest.raises(IndexError, match="too many"):
        x[0, 0, 0]
    with pytest.raises(TypeError):
        x[[0, 1]]
    with pytest.raises(TypeError):
        x[1.5]


# --- errors name the op and the shapes ---------------------------------------------------

def test_shape_and_dtype_errors_name_op_and_shapes():
    a, b = tf.zeros([2, 3]), tf.zeros([4, 5])
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4, 5\)"):
        a + b
    with pytest.raises(TypeError, match="add: .*float32.*int32"):
        tf.add(a, tf.zeros([2, 3], "int32"))
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ.*\(2, 3\).*\(4, 5\)"):
        tf.matmul(a, b)
    with pytest.raises(ValueError, match="reduce_sum: axis 5 is out of range"):
        tf.reduce_sum(a, axis=5)
    with pytest.raises(TypeError, match="reduce_sum: axis must be"):
        tf.reduce_sum(a, axis=1.5)
    with pytest.raises(ValueError, match="reshape"):
        tf.reshape(a, [4, 2])
    with pytest.raises(TypeError, match="log: expected a float32 or float64 tensor, got int32"):
        tf.log(tf.constant([1, 2]))
    with pytest.raises(ValueError, match="concat: tensor 1 has shape"):
        tf.concat([a, tf.zeros([2, 3, 1])], 0)
    with pytest.raises(ValueError, match="integer division by zero"):
        tf.constant([1, 2]) // tf.constant([1, 0])
    with pytest.raises(TypeError, match="cannot convert the float value"):
        tf.constant([1, 2]) + 1.5
    with pytest.raises(ValueError, match="squeeze: cannot squeeze axis"):
        tf.squeeze(a, 0)
    with pytest.raises(ValueError, match="split"):
        tf.split(a, 2, axis=1)


def test_reductions_are_bitwise_identical_across_thread_counts():
    x = tf.constant(np.random.default_rng(0).normal(size=(300, 257)).astype(np.float32))
    big = tf.constant(np.random.default_rng(1).normal(size=1_000_003).astype(np.float32))
    results = []
    try:
        for n in (1, 2):
            tf.config.threading.set_intra_op_parallelism_threads(n)
            results.append([tf.reduce_sum(x, 0).numpy().tobytes(), tf.reduce_sum(x, 1).numpy().tobytes(),
                            tf.reduce_sum(big).numpy().tobytes(), tf.reduce_mean(x).numpy().tobytes()])
    finally:
        tf.config.threading.set_intra_op_parallelism_threads(0)
    assert results[0] == results[1]
    np.testing.assert_allclose(float(tf.reduce_sum(big)), big.numpy().astype(np.float64).sum(), rtol=1e-6)
