"""Index and data-movement kernels: gather / gather_backward (scatter-add),
one_hot, concat, pad, tile, checked against numpy."""
import numpy as np
import pytest

from tinytf import _core

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_, np.uint8]


def core(a):
    return _core.from_numpy(a if a.flags.c_contiguous else a.copy())


def strided(a):
    """A non-contiguous _core view whose values equal `a` (a transposed copy, transposed back)."""
    if a.ndim < 2:
        return core(a)
    perm = list(range(a.ndim))[::-1]
    t = core(np.ascontiguousarray(np.transpose(a, perm))).permute(perm)
    assert not t.is_contiguous or min(a.shape) <= 1
    return t


def sample(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 10).astype(dtype)


def out(t):
    return np.asarray(t)


@pytest.fixture
def threads():
    yield _core.set_num_threads
    _core.set_num_threads(0)


# --- gather ----------------------------------------------------------------------

def ref_gather(params, indices, axis, batch_dims):
    if batch_dims == 0:
        return np.take(params, indices, axis=axis)
    parts = [ref_gather(params[b], indices[b], axis - 1, batch_dims - 1) for b in range(params.shape[0])]
    return np.stack(parts) if parts else np.zeros((0,) + np.take(params[:1], indices[:1], axis)[0].shape)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_matches_take_for_every_dtype(dtype):
    params = sample((5, 4, 3), dtype)
    for itype in (np.int32, np.int64):
        for axis in (0, 1, 2, -1, -3):
            n = params.shape[axis]
            indices = np.array([[n - 1, 0], [1 % n, n - 1], [0, 0]], itype)
            for make in (core, strided):
                got = out(_core.gather(make(params), core(indices), axis=axis))
                np.testing.assert_array_equal(got, np.take(params, indices, axis=axis))
                assert got.dtype == params.dtype


def test_gather_scalar_and_empty_indices_and_empty_params():
    params = sample((4, 3), np.float32)
    np.testing.assert_array_equal(out(_core.gather(core(params), core(np.array(2)))), params[2])
    np.testing.assert_array_equal(out(_core.gather(core(params), core(np.array(1)), axis=1)), params[:, 1])
    got = out(_core.gather(core(params), core(np.zeros((0, 2), np.int64)), axis=1))
    assert got.shape == (4, 0, 2)
    got = out(_core.gather(core(np.zeros((3, 0), np.float32)), core(np.array([2, 0]))))
    assert got.shape == (2, 0)


def test_gather_batch_dims():
    rng = np.random.default_rng(1)
    params = sample((2, 3, 5, 4), np.float64)
    for batch_dims, axis, ishape in [(1, 1, (2, 6)), (1, 2, (2, 3, 2)), (1, 3, (2,)), (2, 2, (2, 3, 7)),
                                     (-1, 1, (2, 4)), (2, -1, (2, 3, 2))]:
        bd = batch_dims % len(ishape) if batch_dims < 0 else batch_dims
        indices = rng.integers(0, params.shape[axis], ishape)
        expected = ref_gather(params, indices, axis % 4, bd)
        got = out(_core.gather(core(params), core(indices), axis=axis, batch_dims=batch_dims))
        np.testing.assert_array_equal(got, expected)
    # axis defaults to batch_dims, as tf.gather
    indices = rng.integers(0, 3, (2, 4))
    np.testing.assert_array_equal(out(_core.gather(core(params), core(indices), batch_dims=1)),
                                  ref_gather(params, indices, 1, 1))


def test_gather_errors():
    params = core(sample((5, 3), np.float32))
    with pytest.raises(IndexError, match=r"gather: indices\[1, 0\] = 5 is not in \[0, 5\)"):
        _core.gather(params, core(np.array([[0], [5]])))
    with pytest.raises(IndexError, match=r"indices\[0\] = -1 is not in \[0, 3\)"):
        _core.gather(params, core(np.array([-1], np.int32)), axis=1)
    with pytest.raises(TypeError, match="int32 or int64"):
        _core.gather(params, core(np.array([0.0])))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        _core.gather(params, core(np.array([0])), axis=2)
    with pytest.raises(ValueError, match="batch_dims"):
        _core.gather(params, core(np.array([0])), batch_dims=2)
    with pytest.raises(ValueError, match="differ in batch dimension 0"):
        _core.gather(params, core(np.zeros((4, 2), np.int64)), axis=1, batch_dims=1)
    with pytest.raises(ValueError, match=r"must be >= batch_dims"):
        _core.gather(params, core(np.zeros((5, 2), np.int64)), axis=0, batch_dims=1)
    with pytest.raises(ValueError, match="rank >= 1"):
        _core.gather(core(np.array(1.0)), core(np.array([0])))


# --- gather_backward: scatter-add ------------------------------------------------

def ref_gather_backward(dy, indices, params_shape, axis, batch_dims):
    grad = np.zeros(params_shape, dy.dtype)
    k = indices.ndim - batch_dims
    for b in np.ndindex(*params_shape[:batch_dims]):
        target = np.moveaxis(grad[b], axis - batch_dims, 0)  # a view of grad
        rows = np.moveaxis(dy[b], list(range(axis - batch_dims, axis - batch_dims + k)), list(range(k)))
        np.add.at(target, indices[b], rows)
    return grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_backward_matches_add_at_with_duplicates(dtype):
    rng = np.random.default_rng(2)
    shape = (6, 4, 3)
    for axis, batch_dims, ishape in [(0, 0, (9,)), (0, 0, (3, 4)), (1, 0, (7,)), (2, 0, (2, 5)), (-1, 0, (5,)),
                                     (1, 1, (6, 8)), (2, 2, (6, 4, 5)), (2, 1, (6,))]:
        ax = axis % len(shape)
        indices = rng.integers(0, shape[ax], ishape)
        dy_shape = np.take(np.zeros(shape), np.zeros(ishape[batch_dims:], np.int64), axis=ax)
        if batch_dims:
            dy_shape = ref_gather(np.zeros(shape), indices, ax, batch_dims)
        dy = rng.standard_normal(dy_shape.shape).astype(dtype)
        expected = ref_gather_backward(dy, indices, shape, ax, batch_dims)
        for make in (core, strided):
            got = out(_core.gather_backward(make(dy), core(indices), list(shape), axis=axis, batch_dims=batch_dims))
            # np.add.at adds in index order from zero: the same sums, bit for bit
            np.testing.assert_array_equal(got, expected)


def test_gather_backward_round_trip_and_errors():
    dy = core(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"dy has shape \(3, 2\), expected \(2, 2\)"):
        _core.gather_backward(dy, core(np.array([0, 1])), [4, 2])
    with pytest.raises(IndexError, match=r"indices\[2\] = 4 is not in \[0, 4\)"):
        _core.gather_backward(dy, core(np.array([0, 1, 4])), [4, 2])
    with pytest.raises(TypeError, match="float32 or float64"):
        _core.gather_backward(core(np.ones((3, 2), np.int32)), core(np.array([0, 1, 3])), [4, 2])
    got = out(_core.gather_backward(core(np.zeros((0, 2), np.float32)), core(np.zeros(0, np.int64)), [4, 2]))
    np.testing.assert_array_equal(got, np.zeros((4, 2), np.float32))


def test_gather_backward_is_bitwise_identical_for_any_thread_count(threads):
    rng = np.random.default_rng(3)
    for shape, ishape, axis in [((50, 700), (4000,), 0), ((1000, 16), (20000,), 0), ((64, 300, 8), (500,), 1)]:
        indices = rng.integers(0, shape[axis], ishape) // 3  # many duplicates
        dy_shape = np.take(np.zeros(shape, np.int8), indices, axis=axis).shape
        dy = rng.standard_normal(dy_shape).astype(np.float32)
        results = []
        for n in (1, 2):
            threads(n)
            results.append(out(_core.gather_backward(core(dy), core(indices), list(shape), axis=axis)))
        np.testing.assert_array_equal(results[0], results[1])
        np.testing.assert_allclose(results[0], ref_gather_backward(dy.astype(np.float64), indices, shape, axis, 0),
                                   rtol=1e-4, atol=1e-4)


# --- one_hot -------------------------------------------------------------------

def ref_one_hot(indices, depth, on, off, axis, dtype):
    valid = (indices >= 0) & (indices < depth)
    eye = np.eye(depth, dtype=bool)[np.where(valid, indices, 0)] & valid[..., None]
    res = np.where(eye, on, off).astype(dtype)
    return np.moveaxis(res, -1, axis if axis >= 0 else -1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_hot_matches_eye(dtype):
    dt = getattr(_core.DType, np.dtype(dtype).name if dtype != np.bool_ else "bool")
    indices = np.array([[0, 3, 5], [-1, 2, 7]], np.int64)  # 5, 7, -1 are out of range: all-off rows
    for axis in (-1, 0, 1, 2):
        for on, off in ((1, 0), (5, -2) if dtype != np.uint8 else (5, 2)):
            got = out(_core.one_hot(core(indices), 4, on_value=on, off_value=off, axis=axis, dtype=dt))
            np.testing.assert_array_equal(got, ref_one_hot(indices, 4, on, off, axis, dtype))


def test_one_hot_index_dtypes_shapes_and_errors():
    for itype in (np.int32, np.uint8):
        idx = np.array([1, 0, 2], itype)
        np.testing.assert_array_equal(out(_core.one_hot(core(idx), 3)), np.eye(3, dtype=np.float32)[idx])
    np.testing.assert_array_equal(out(_core.one_hot(core(np.array(2)), 3)), [0, 0, 1])
    assert out(_core.one_hot(core(np.zeros((2, 0), np.int32)), 3)).shape == (2, 0, 3)
    assert out(_core.one_hot(core(np.array([1, 2])), 0)).shape == (2, 0)
    np.testing.assert_array_equal(out(_core.one_hot(strided(np.array([[0, 1], [2, 0]])), 3)),
                                  np.eye(3, dtype=np.float32)[[[0, 1], [2, 0]]])
    with pytest.raises(ValueError, match="depth must be non-negative"):
        _core.one_hot(core(np.array([0])), -1)
    with pytest.raises(ValueError, match="axis must be -1"):
        _core.one_hot(core(np.array([0])), 2, axis=-2)
    with pytest.raises(ValueError, match="axis must be -1"):
        _core.one_hot(core(np.array([0])), 2, axis=2)
    with pytest.raises(TypeError, match="int32, int64 or uint8"):
        _core.one_hot(core(np.array([0.0])), 2)


# --- concat --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_concat_matches_numpy(dtype):
    a, b, c = sample((2, 3, 4), dtype, 1), sample((2, 5, 4), dtype, 2), sample((2, 0, 4), dtype, 3)
    got = out(_core.concat([core(a), strided(b), core(c), core(a)], 1))
    np.testing.assert_array_equal(got, np.concatenate([a, b, c, a], 1))
    for axis in (0, 2, -1, -3):
        parts = [sample((2, 3, 4), dtype, s) for s in range(3)]
        got = out(_core.concat([strided(p) for p in parts], axis))
        np.testing.assert_array_equal(got, np.concatenate(parts, axis))
    np.testing.assert_array_equal(out(_core.concat([core(a)], 0)), a)


def test_concat_errors_name_the_tensor():
    a = core(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"tensor 2 has shape \(3, 3\), which does not match tensor 0 of shape \(2, 3\)"):
        _core.concat([a, a, core(np.zeros((3, 3), np.float32))], 1)
    with pytest.raises(ValueError, match=r"tensor 1 has shape \(2, 3, 1\)"):
        _core.concat([a, core(np.zeros((2, 3, 1), np.float32))], 0)
    with pytest.raises(TypeError, match="tensor 1 has dtype float64"):
        _core.concat([a, core(np.zeros((2, 3)))], 0)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        _core.concat([a, a], 2)
    with pytest.raises(ValueError, match="scalars"):
        _core.concat([core(np.array(1.0))], 0)
    with pytest.raises(ValueError, match="at least one"):
        _core.concat([], 0)


# --- pad -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_pad_matches_numpy_in_every_mode(dtype):
    x = sample((3, 4, 2), dtype)
    paddings = [[1, 2], [3, 0], [0, 1]]
    for mode, np_mode in (("CONSTANT", "constant"), ("REFLECT", "reflect"), ("SYMMETRIC", "symmetric")):
        for make in (core, strided):
            got = out(_core.pad(make(x), paddings, mode))
            np.testing.assert_array_equal(got, np.pad(x, paddings, np_mode))
    got = out(_core.pad(core(x), paddings, "constant", constant_value=7))
    np.testing.assert_array_equal(got, np.pad(x, paddings, constant_values=np.array(7).astype(dtype)))


def test_pad_limits_edges_and_errors():
    x = sample((3, 4), np.float64)
    np.testing.assert_array_equal(out(_core.pad(core(x), [[2, 2], [3, 3]], "REFLECT")),
                                  np.pad(x, [[2, 2], [3, 3]], "reflect"))
    np.testing.assert_array_equal(out(_core.pad(core(x), [[3, 3], [4, 4]], "symmetric")),
                                  np.pad(x, [[3, 3], [4, 4]], "symmetric"))
    np.testing.assert_array_equal(out(_core.pad(core(x), [[0, 0], [0, 0]], "REFLECT")), x)
    np.testing.assert_array_equal(out(_core.pad(core(np.zeros((0, 2))), [[1, 1], [0, 1]], constant_value=3)),
                                  np.full((2, 3), 3.0))
    np.testing.assert_array_equal(out(_core.pad(core(np.array(4.0)), [])), 4.0)
    assert out(_core.pad(core(np.zeros((2, 0))), [[1, 1], [0, 0]])).shape == (4, 0)
    with pytest.raises(ValueError, match=r"REFLECT paddings \[3, 0\] must be less than the dimension size 3"):
        _core.pad(core(x), [[3, 0], [0, 0]], "REFLECT")
    with pytest.raises(ValueError, match=r"SYMMETRIC paddings \[0, 5\] must be no greater than the dimension size 4"):
        _core.pad(core(x), [[0, 0], [0, 5]], "SYMMETRIC")
    with pytest.raises(ValueError, match="non-negative"):
        _core.pad(core(x), [[0, -1], [0, 0]])
    with pytest.raises(ValueError, match="one \\[before, after\\] pair per axis"):
        _core.pad(core(x), [[1, 1]])
    with pytest.raises(ValueError, match="mode must be"):
        _core.pad(core(x), [[1, 1], [1, 1]], "edge")


# --- tile ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_tile_matches_numpy(dtype):
    x = sample((2, 3, 1), dtype)
    for multiples in ([1, 1, 1], [2, 3, 4], [3, 1, 2], [1, 0, 2]):
        for make in (core, strided):
            np.testing.assert_array_equal(out(_core.tile(make(x), multiples)), np.tile(x, multiples))


def test_tile_edges_and_errors():
    np.testing.assert_array_equal(out(_core.tile(core(np.array(3.0)), [])), 3.0)
    assert out(_core.tile(core(np.zeros((0, 2))), [4, 2])).shape == (0, 4)
    x = core(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one entry per axis"):
        _core.tile(x, [2])
    with pytest.raises(ValueError, match="non-negative"):
        _core.tile(x, [2, -1])


# --- determinism -----------------------------------------------------------------

def test_data_movement_is_bitwise_identical_for_any_thread_count(threads):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 33, 35)).astype(np.float32)
    idx = rng.integers(0, 64, 300)
    labels = rng.integers(-1, 10, 50000)
    calls = [
        lambda: _core.gather(strided(x), core(idx)),
        lambda: _core.one_hot(core(labels), 10),
        lambda: _core.concat([core(x), strided(x)], 2),
        lambda: _core.pad(strided(x), [[1, 1], [2, 2], [3, 3]], "SYMMETRIC"),
        lambda: _core.tile(core(x), [2, 1, 3]),
    ]
    for call in calls:
        results = []
        for n in (1, 2):
            threads(n)
            results.append(out(call()).copy())
        np.testing.assert_array_equal(results[0], results[1])
