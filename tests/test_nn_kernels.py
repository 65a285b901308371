"""The nn kernel family of _core: softmax / log-softmax, fused cross-entropies,
batch and layer normalisation, dropout. References are numpy in float64 (and
PyTorch where importable); gradients are checked against central finite
differences in float64."""
import numpy as np
import pytest

import tinytf as tf
from tinytf import _core

FLOATS = [np.float32, np.float64]
INF = np.inf


def ct(a):
    """A _core.Tensor over a copy of `a`."""
    return _core.from_numpy(np.array(a, copy=True, order="C"))


def npy(t):
    return np.array(np.asarray(t))


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def numeric_grad(f, x, eps=1e-6):
    """Central finite differences of the scalar f at x (float64)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        g[i] = (f(hi) - f(lo)) / (2 * eps)
    return g


def check_grad(analytic, f, x):
    np.testing.assert_allclose(analytic, numeric_grad(f, x), rtol=1e-6, atol=1e-7)


@pytest.fixture
def threads():
    yield _core.set_num_threads
    _core.set_num_threads(0)


# --- numpy references -------------------------------------------------------------


def ref_log_softmax(x, axis=-1):
    x = x.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = x.max(axis=axis, keepdims=True, initial=-np.inf)
        s = x - m
        return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def ref_softmax(x, axis=-1):
    with np.errstate(invalid="ignore"):
        return np.exp(ref_log_softmax(x, axis))


def ref_softmax_xent(x, z, axis=-1):
    lp = ref_log_softmax(x, axis)
    with np.errstate(invalid="ignore"):
        loss = -np.where(z == 0, 0.0, z * lp).sum(axis=axis)
    return loss, ref_softmax(x, axis) * z.sum(axis=axis, keepdims=True) - z


def ref_sigmoid_xent(x, z):
    x, z = x.astype(np.float64), z.astype(np.float64)
    return np.logaddexp(0.0, x) - x * z, 1.0 / (1.0 + np.exp(-x)) - z


def ref_batch_norm(x, gamma, beta, eps):
    x = x.astype(np.float64)
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = (x - mean) / np.sqrt(var + eps)
    return y * (1 if gamma is None else gamma) + (0 if beta is None else beta), mean, var


def ref_layer_norm(x, gamma, beta, eps, k):
    x = x.astype(np.float64)
    axes = tuple(range(x.ndim - k, x.ndim))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    lead = x.shape[: x.ndim - k]
    y = y * (1 if gamma is None else gamma) + (0 if beta is None else beta)
    return y, mean.reshape(lead), (1 / np.sqrt(var + eps)).reshape(lead)


# --- softmax / log_softmax --------------------------------------------------------

SHAPES_AXES = [((1, 1), -1), ((1, 7), -1), ((13, 1), -1), ((0, 5), -1), ((5, 0), -1), ((7,), 0),
               ((3, 4, 5), -1), ((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -2), ((2, 1, 3), 1)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,axis", SHAPES_AXES)
def test_softmax_and_log_softmax_match_numpy(dtype, shape, axis):
    x = (np.random.default_rng(0).standard_normal(shape) * 3).astype(dtype)
    y, ly = _core.softmax(ct(x), axis), _core.log_softmax(ct(x), axis)
    assert y.dtype == ly.dtype == (_core.DType.float32 if dtype == np.float32 else _core.DType.float64)
    assert y.shape == ly.shape == shape
    np.testing.assert_allclose(npy(y), ref_softmax(x, axis), **tol(dtype))
    np.testing.assert_allclose(npy(ly), ref_log_softmax(x, axis), **tol(dtype))


def test_softmax_accepts_strided_input():
    base = np.random.default_rng(1).standard_normal((6, 8))
    t = _core.from_numpy(base.copy()).permute([1, 0])  # (8, 6), not contiguous
    assert not t.is_contiguous
    np.testing.assert_allclose(npy(_core.softmax(t, -1)), ref_softmax(base.T, -1), rtol=1e-12)
    np.testing.assert_allclose(npy(_core.log_softmax(t, 0)), ref_log_softmax(base.T, 0), rtol=1e-12)


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_extreme_and_masked_logits(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [0.0, -INF, 1.0], [-INF, 5.0, -INF]], dtype)
    y, ly = npy(_core.softmax(ct(x))), npy(_core.log_softmax(ct(x)))
    np.testing.assert_allclose(y, ref_softmax(x), **tol(dtype))
    np.testing.assert_allclose(ly, ref_log_softmax(x), **tol(dtype))
    assert y[2, 1] == 0 and y[3, 0] == 0 and y[3, 2] == 0 and y[3, 1] == 1  # masked entries are exact zeros
    assert ly[2, 1] == -INF and ly[3, 1] == 0
    assert np.isfinite(y).all()
    # Gradients through masked rows stay finite, and are 0 at the masked entries.
    dy = np.ones_like(x)
    dx = npy(_core.softmax_backward(ct(y), ct(dy)))
    ldx = npy(_core.log_softmax_backward(ct(ly), ct(dy)))
    assert np.isfinite(dx).all() and np.isfinite(ldx).all()
    assert ldx[2, 1] == 1 and dx[2, 1] == 0  # dx = dy - exp(-inf) * sum(dy) = dy


def test_float32_softmax_is_accurate_to_a_few_ulp_over_the_whole_exp_range():
    x = np.concatenate([np.linspace(-87.0, 0.0, 5001), [-87.3, -88.0, -100.0, -1e4]]).astype(np.float32)
    y = npy(_core.softmax(ct(x[None])))[0]
    want = ref_softmax(x)
    big = want > 1e-37  # float32 normal range
    np.testing.assert_allclose(y[big], want[big], rtol=6e-7)
    assert (y[x < -87.34] == 0).all()  # where float32 exp underflows, probabilities are 0


def test_softmax_of_an_all_minus_inf_row_is_nan_like_tensorflow():
    x = np.array([[-INF, -INF, -INF], [0.0, 1.0, 2.0]])
    y, ly = npy(_core.softmax(ct(x))), npy(_core.log_softmax(ct(x)))
    assert np.isnan(y[0]).all() and np.isnan(ly[0]).all()
    np.testing.assert_allclose(y[1], ref_softmax(x[1:])[0])


@pytest.mark.parametrize("shape,axis", [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((1, 1), -1)])
def test_softmax_backward_matches_finite_differences(shape, axis):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal(shape), rng.standard_normal(shape)
    y, ly = _core.softmax(ct(x), axis), _core.log_softmax(ct(x), axis)
    dx = npy(_core.softmax_backward(y, ct(w), axis))
    ldx = npy(_core.log_softmax_backward(ly, ct(w), axis))
    check_grad(dx, lambda v: (w * npy(_core.softmax(ct(v), axis))).sum(), x)
    check_grad(ldx, lambda v: (w * npy(_core.log_softmax(ct(v), axis))).sum(), x)


def test_softmax_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((4, 5, 6)).astype(np.float32)
    for axis in (0, 1, 2):
        want = torch.softmax(torch.from_numpy(x), axis).numpy()
        np.testing.assert_allclose(npy(_core.softmax(ct(x), axis)), want, rtol=1e-5, atol=1e-7)
        want = torch.log_softmax(torch.from_numpy(x), axis).numpy()
        np.testing.assert_allclose(npy(_core.log_softmax(ct(x), axis)), want, rtol=1e-5, atol=1e-6)


def test_softmax_argument_errors():
    x = ct(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"softmax: axis 2 is out of range .*\(2, 3\)"):
        _core.softmax(x, 2)
    with pytest.raises(ValueError, match="axis -3"):
        _core.log_softmax(x, -3)
    with pytest.raises(ValueError, match="out of range"):
        _core.softmax(ct(np.float64(1.0)))  # rank 0 has no axis
    with pytest.raises(TypeError, match="softmax: expected a float32 or float64"):
        _core.softmax(ct(np.zeros((2, 3), np.int32)))
    with pytest.raises(ValueError, match=r"dy must have the shape of y \(2, 3\), got \(3, 2\)"):
        _core.softmax_backward(x, ct(np.zeros((3, 2))))
    with pytest.raises(TypeError, match="dtype"):
        _core.log_softmax_backward(x, ct(np.zeros((2, 3), np.float32)))


# --- softmax cross-entropy --------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,axis", [((4, 5), -1), ((1, 1), -1), ((0, 3), -1), ((3, 0), -1), ((7, 11), -1),
                                        ((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), -1)])
def test_softmax_cross_entropy_matches_numpy(dtype, shape, axis):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    z = rng.random(shape).astype(dtype)  # soft labels, not normalised: exercises sum(z) != 1
    loss, d = _core.softmax_cross_entropy(ct(x), ct(z), axis)
    want_loss, want_d = ref_softmax_xent(x, z, axis)
    assert tuple(loss.shape) == want_loss.shape and tuple(d.shape) == shape
    np.testing.assert_allclose(npy(loss), want_loss, **tol(dtype))
    np.testing.assert_allclose(npy(d), want_d, **tol(dtype))


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_cross_entropy_gradient_matches_finite_differences(axis):
    rng = np.random.default_rng(5)
    x, z = rng.standard_normal((3, 4)), rng.random((3, 4))
    w = rng.standard_normal(np.delete(np.array([3, 4]), axis))
    _, d = _core.softmax_cross_entropy(ct(x), ct(z), axis)
    f = lambda v: (w * npy(_core.softmax_cross_entropy(ct(v), ct(z), axis)[0])).sum()  # noqa: E731
    check_grad(npy(d) * np.expand_dims(w, axis), f, x)


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_cross_entropy_extreme_and_masked_logits(dtype):
    x = np.array([[1e4, -1e4, 0.0], [0.0, -INF, 1.0], [-1e4, 1e4, -INF]], dtype)
    z = np.array([[0, 1, 0], [0.5, 0, 0.5], [0.25, 0.75, 0]], dtype)
    loss, d = (npy(t) for t in _core.softmax_cross_entropy(ct(x), ct(z)))
    assert np.isfinite(loss).all() and np.isfinite(d).all()
    want_loss, want_d = ref_softmax_xent(x, z)
    assert loss[0] == 2e4 and loss[2] == pytest.approx(0.25 * 2e4)
    np.testing.assert_allclose(loss, want_loss, **tol(dtype))
    np.testing.assert_allclose(d, want_d, **tol(dtype))
    assert d[1, 1] == 0 and d[2, 2] == 0
    # Probability mass on a -inf logit costs an infinite loss (not NaN).
    loss, d = _core.softmax_cross_entropy(ct(np.array([[0.0, -INF]], dtype)), ct(np.array([[0.0, 1.0]], dtype)))
    assert npy(loss)[0] == INF and np.isfinite(npy(d)).all()
    # No distribution at all (every logit -inf) gives NaN, as in TensorFlow.
    loss, _ = _core.softmax_cross_entropy(ct(np.full((1, 2), -INF, dtype)), ct(np.array([[1.0, 0.0]], dtype)))
    assert np.isnan(npy(loss)).all()


def test_softmax_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 10)).astype(np.float32)
    z = rng.dirichlet(np.ones(10), 8).astype(np.float32)
    tx = torch.from_numpy(x).requires_grad_()
    tl = torch.nn.functional.cross_entropy(tx, torch.from_numpy(z), reduction="none")
    tl.sum().backward()
    loss, d = _core.softmax_cross_entropy(ct(x), ct(z))
    np.testing.assert_allclose(npy(loss), tl.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(d), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_softmax_cross_entropy_argument_errors():
    x = ct(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"labels must have the shape of logits \(2, 3\), got \(2, 2\)"):
        _core.softmax_cross_entropy(x, ct(np.zeros((2, 2))))
    with pytest.raises(TypeError, match="labels must have the dtype of logits"):
        _core.softmax_cross_entropy(x, ct(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match="axis"):
        _core.softmax_cross_entropy(x, ct(np.zeros((2, 3))), 5)


# --- sparse softmax cross-entropy -------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("shape", [(5, 7), (1, 1), (2, 3, 4), (0, 3), (13,)])
def test_sparse_softmax_cross_entropy_matches_numpy(dtype, label_dtype, shape):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    labels = rng.integers(0, shape[-1], shape[:-1]).astype(label_dtype)
    loss, d = _core.sparse_softmax_cross_entropy(ct(x), ct(labels))
    onehot = np.eye(shape[-1])[labels]
    want_loss, want_d = ref_softmax_xent(x, onehot)
    assert tuple(loss.shape) == shape[:-1]
    np.testing.assert_allclose(npy(loss), want_loss, **tol(dtype))
    np.testing.assert_allclose(npy(d), want_d, **tol(dtype))


def test_sparse_softmax_cross_entropy_gradient_and_extremes():
    rng = np.random.default_rng(8)
    x, labels, w = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2]), rng.standard_normal(4)
    _, d = _core.sparse_softmax_cross_entropy(ct(x), ct(labels))
    f = lambda v: (w * npy(_core.sparse_softmax_cross_entropy(ct(v), ct(labels))[0])).sum()  # noqa: E731
    check_grad(npy(d) * w[:, None], f, x)

    x = np.array([[1e4, -1e4, -INF], [-INF, 0.0, -INF]], np.float32)
    loss, d = (npy(t) for t in _core.sparse_softmax_cross_entropy(ct(x), ct(np.array([1, 1]))))
    np.testing.assert_array_equal(loss, [2e4, 0.0])
    np.testing.assert_array_equal(d, [[1, -1, 0], [0, 0, 0]])


def test_sparse_softmax_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((16, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 16)
    tx = torch.from_numpy(x).requires_grad_()
    tl = torch.nn.functional.cross_entropy(tx, torch.from_numpy(labels), reduction="none")
    tl.sum().backward()
    loss, d = _core.sparse_softmax_cross_entropy(ct(x), ct(labels))
    np.testing.assert_allclose(npy(loss), tl.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(npy(d), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_sparse_softmax_cross_entropy_argument_errors():
    x = ct(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(IndexError, match=r"label 4 at position \(1, 2\) is outside the valid range \[0, 4\)"):
        _core.sparse_softmax_cross_entropy(x, ct(np.array([[0, 1, 2], [3, 0, 4]])))
    with pytest.raises(IndexError, match=r"label -1 at position \(0, 0\)"):
        _core.sparse_softmax_cross_entropy(x, ct(np.full((2, 3), -1, np.int32)))
    with pytest.raises(TypeError, match="labels must be int32 or int64, got float32"):
        _core.sparse_softmax_cross_entropy(x, ct(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match=r"labels must have shape \(2, 3\) .* got \(2,\)"):
        _core.sparse_softmax_cross_entropy(x, ct(np.zeros(2, np.int64)))
    with pytest.raises(IndexError, match=r"label 0 .* \[0, 0\)"):  # no classes at all
        _core.sparse_softmax_cross_entropy(ct(np.zeros((1, 0))), ct(np.zeros(1, np.int64)))
    with pytest.raises(ValueError, match="out of range"):
        _core.sparse_softmax_cross_entropy(ct(np.float32(0.0)), ct(np.int64(0)))


# --- sigmoid cross-entropy --------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(4, 5), (0,), (1,), (3, 1, 7)])
def test_sigmoid_cross_entropy_matches_numpy(dtype, shape):
    rng = np.random.default_rng(10)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    z = rng.random(shape).astype(dtype)
    loss, d = _core.sigmoid_cross_entropy(ct(x), ct(z))
    want_loss, want_d = ref_sigmoid_xent(x, z)
    np.testing.assert_allclose(npy(loss), want_loss, **tol(dtype))
    np.testing.assert_allclose(npy(d), want_d, **tol(dtype))


def test_sigmoid_cross_entropy_gradient_and_extremes():
    rng = np.random.default_rng(11)
    x, z, w = rng.standard_normal((3, 4)), rng.random((3, 4)), rng.standard_normal((3, 4))
    _, d = _core.sigmoid_cross_entropy(ct(x), ct(z))
    check_grad(npy(d) * w, lambda v: (w * npy(_core.sigmoid_cross_entropy(ct(v), ct(z))[0])).sum(), x)

    x = np.array([1e4, -1e4, 1e4, -1e4, INF, -INF, INF, -INF], np.float32)
    z = np.array([1, 0, 0, 1, 1, 0, 0, 1], np.float32)
    loss, d = (npy(t) for t in _core.sigmoid_cross_entropy(ct(x), ct(z)))
    np.testing.assert_array_equal(loss, [0, 0, 1e4, 1e4, 0, 0, INF, INF])
    np.testing.assert_array_equal(d, [0, 0, 1, -1, 0, 0, 1, -1])


def test_sigmoid_cross_entropy_argument_errors():
    with pytest.raises(ValueError, match="sigmoid_cross_entropy: labels must have the shape"):
        _core.sigmoid_cross_entropy(ct(np.zeros((2, 3))), ct(np.zeros(3)))
    with pytest.raises(TypeError, match="sigmoid_cross_entropy: expected a float32 or float64"):
        _core.sigmoid_cross_entropy(ct(np.zeros(3, np.int64)), ct(np.zeros(3, np.int64)))


# --- batch normalisation ----------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(8, 3), (1, 5), (2, 5, 3, 7), (3,), (6, 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_train_matches_numpy(dtype, shape, affine):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    C = shape[-1]
    gamma = rng.standard_normal(C).astype(dtype) if affine else None
    beta = rng.standard_normal(C).astype(dtype) if affine else None
    y, mean, var = _core.batch_norm_train(ct(x), gamma if gamma is None else ct(gamma),
                                          beta if beta is None else ct(beta), 1e-3)
    want_y, want_mean, want_var = ref_batch_norm(x, gamma, beta, 1e-3)
    t = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else tol(dtype)
    np.testing.assert_allclose(npy(y), want_y, **t)
    np.testing.assert_allclose(npy(mean), want_mean, **tol(dtype))
    np.testing.assert_allclose(npy(var), want_var, **tol(dtype))

    yi = _core.batch_norm_inference(ct(x), mean, var, gamma if gamma is None else ct(gamma),
                                    beta if beta is None else ct(beta), 1e-3)
    np.testing.assert_allclose(npy(yi), npy(y), **t)


def test_batch_norm_variance_is_stable_for_a_large_mean():
    x = (1e4 + np.random.default_rng(13).standard_normal((1000, 4))).astype(np.float32)
    _, mean, var = _core.batch_norm_train(ct(x), None, None, 1e-3)
    np.testing.assert_allclose(npy(var), x.astype(np.float64).var(axis=0), rtol=1e-6)
    np.testing.assert_allclose(npy(mean), x.astype(np.float64).mean(axis=0), rtol=1e-7)


def test_batch_norm_inference_matches_formula():
    rng = np.random.default_rng(14)
    x = rng.standard_normal((4, 3, 5))
    mean, var, gamma, beta = rng.standard_normal(5), rng.random(5), rng.standard_normal(5), rng.standard_normal(5)
    y = _core.batch_norm_inference(ct(x), ct(mean), ct(var), ct(gamma), ct(beta), 1e-2)
    np.testing.assert_allclose(npy(y), (x - mean) / np.sqrt(var + 1e-2) * gamma + beta, rtol=1e-12, atol=1e-13)
    y = _core.batch_norm_inference(ct(x), ct(mean), ct(var), None, None, 1e-2)
    np.testing.assert_allclose(npy(y), (x - mean) / np.sqrt(var + 1e-2), rtol=1e-12, atol=1e-13)


def test_batch_norm_of_an_empty_batch_gives_nan_statistics():
    y, mean, var = _core.batch_norm_train(ct(np.zeros((0, 3), np.float32)), None, None, 1e-3)
    assert y.shape == (0, 3) and np.isnan(npy(mean)).all() and np.isnan(npy(var)).all()
    dx, dgamma, dbeta = _core.batch_norm_backward(ct(np.zeros((0, 3))), ct(np.zeros((0, 3))), None,
                                                  ct(np.zeros(3)), ct(np.ones(3)), 1e-3)
    assert dx.shape == (0, 3)
    np.testing.assert_array_equal(npy(dgamma), 0)
    np.testing.assert_array_equal(npy(dbeta), 0)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 2, 4), (1, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_backward_matches_finite_differences(shape, affine):
    rng = np.random.default_rng(15)
    x, w = rng.standard_normal(shape), rng.standard_normal(shape)
    C, eps = shape[-1], 1e-3
    gamma = rng.standard_normal(C) if affine else None
    beta = rng.standard_normal(C) if affine else None

    def f(xv=x, g=gamma, b=beta):
        y = _core.batch_norm_train(ct(xv), None if g is None else ct(g), None if b is None else ct(b), eps)[0]
        return (w * npy(y)).sum()

    _, mean, var = _core.batch_norm_train(ct(x), None if gamma is None else ct(gamma),
                                          None if beta is None else ct(beta), eps)
    dx, dgamma, dbeta = _core.batch_norm_backward(ct(x), ct(w), None if gamma is None else ct(gamma), mean, var, eps)
    check_grad(npy(dx), lambda v: f(xv=v), x)
    if affine:
        check_grad(npy(dgamma), lambda v: f(g=v), gamma)
        check_grad(npy(dbeta), lambda v: f(b=v), beta)
    else:  # gradients of the implicit gamma = 1, beta = 0
        xhat = ref_batch_norm(x, None, None, eps)[0]
        np.testing.assert_allclose(npy(dgamma), (w * xhat).reshape(-1, C).sum(0), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(npy(dbeta), w.reshape(-1, C).sum(0), rtol=1e-12, atol=1e-12)


def test_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(16)
    x = rng.standard_normal((4, 5, 6, 3)).astype(np.float32)  # NHWC
    dy = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    tx, tg, tb = (torch.from_numpy(a).requires_grad_() for a in (x, gamma, beta))
    ty = F.batch_norm(tx.permute(0, 3, 1, 2), None, None, tg, tb, training=True, eps=1e-3).permute(0, 2, 3, 1)
    ty.backward(torch.from_numpy(dy))
    y, mean, var = _core.batch_norm_train(ct(x), ct(gamma), ct(beta), 1e-3)
    dx, dgamma, dbeta = _core.batch_norm_backward(ct(x), ct(dy), ct(gamma), mean, var, 1e-3)
    t = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(npy(y), ty.detach().numpy(), **t)
    np.testing.assert_allclose(npy(dx), tx.grad.numpy(), **t)
    np.testing.assert_allclose(npy(dgamma), tg.grad.numpy(), **t)
    np.testing.assert_allclose(npy(dbeta), tb.grad.numpy(), **t)


def test_batch_norm_argument_errors():
    x = ct(np.zeros((4, 3), np.float32))
    c3 = ct(np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"batch_norm_train: gamma must have shape \(3,\) for input of shape "
                                         r"\(4, 3\), got \(4,\)"):
        _core.batch_norm_train(x, ct(np.ones(4, np.float32)), None, 1e-3)
    with pytest.raises(TypeError, match="beta must have the dtype of x"):
        _core.batch_norm_train(x, None, ct(np.ones(3)), 1e-3)
    for eps in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="epsilon"):
            _core.batch_norm_train(x, None, None, eps)
    with pytest.raises(ValueError, match="rank >= 1"):
        _core.batch_norm_train(ct(np.float32(1)), None, None, 1e-3)
    with pytest.raises(TypeError, match="x must be float32 or float64"):
        _core.batch_norm_train(ct(np.zeros((4, 3), np.int32)), None, None, 1e-3)
    with pytest.raises(ValueError, match="dy must have the shape of x"):
        _core.batch_norm_backward(x, ct(np.zeros((3, 3), np.float32)), None, c3, c3, 1e-3)
    with pytest.raises(ValueError, match="var must have shape"):
        _core.batch_norm_backward(x, x, None, c3, ct(np.ones(2, np.float32)), 1e-3)
    with pytest.raises(ValueError, match="mean must have shape"):
        _core.batch_norm_inference(x, ct(np.ones((1, 3), np.float32)), c3, None, None, 1e-3)
    with pytest.raises(ValueError, match="epsilon"):
        _core.batch_norm_inference(x, c3, c3, None, None, 0.0)


# --- layer normalisation ----------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape,k", [((4, 7), 1), ((2, 3, 5), 1), ((2, 3, 5), 2), ((3, 4), 2), ((1, 1), 1),
                                     ((0, 4), 1), ((5,), 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_numpy(dtype, shape, k, affine):
    rng = np.random.default_rng(17)
    x = (rng.standard_normal(shape) * 3 - 2).astype(dtype)
    norm_shape = shape[len(shape) - k:]
    gamma = rng.standard_normal(norm_shape).astype(dtype) if affine else None
    beta = rng.standard_normal(norm_shape).astype(dtype) if affine else None
    y, mean, rstd = _core.layer_norm(ct(x), None if gamma is None else ct(gamma), None if beta is None else ct(beta),
                                     1e-3, k)
    want_y, want_mean, want_rstd = ref_layer_norm(x, gamma, beta, 1e-3, k)
    t = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else tol(dtype)
    assert tuple(mean.shape) == tuple(rstd.shape) == shape[: len(shape) - k]
    np.testing.assert_allclose(npy(y), want_y, **t)
    np.testing.assert_allclose(npy(mean), want_mean, **t)
    np.testing.assert_allclose(npy(rstd), want_rstd, **t)


@pytest.mark.parametrize("shape,k", [((3, 4), 1), ((2, 2, 3), 2), ((2, 1), 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_backward_matches_finite_differences(shape, k, affine):
    rng = np.random.default_rng(18)
    x, w = rng.standard_normal(shape), rng.standard_normal(shape)
    norm_shape = shape[len(shape) - k:]
    gamma = rng.standard_normal(norm_shape) if affine else None
    beta = rng.standard_normal(norm_shape) if affine else None

    def f(xv=x, g=gamma, b=beta):
        y = _core.layer_norm(ct(xv), None if g is None else ct(g), None if b is None else ct(b), 1e-3, k)[0]
        return (w * npy(y)).sum()

    _, mean, rstd = _core.layer_norm(ct(x), None if gamma is None else ct(gamma), None if beta is None else ct(beta),
                                     1e-3, k)
    dx, dgamma, dbeta = _core.layer_norm_backward(ct(x), ct(w), None if gamma is None else ct(gamma), mean, rstd, k)
    assert dgamma.shape == dbeta.shape == norm_shape
    check_grad(npy(dx), lambda v: f(xv=v), x)
    if affine:
        check_grad(npy(dgamma), lambda v: f(g=v), gamma)
        check_grad(npy(dbeta), lambda v: f(b=v), beta)


def test_layer_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(19)
    x = rng.standard_normal((4, 6, 8)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    for k in (1, 2):
        ns = x.shape[3 - k:]
        gamma, beta = rng.standard_normal(ns).astype(np.float32), rng.standard_normal(ns).astype(np.float32)
        tx, tg, tb = (torch.from_numpy(a).requires_grad_() for a in (x, gamma, beta))
        ty = torch.nn.functional.layer_norm(tx, ns, tg, tb, eps=1e-3)
        ty.backward(torch.from_numpy(dy))
        y, mean, rstd = _core.layer_norm(ct(x), ct(gamma), ct(beta), 1e-3, k)
        dx, dgamma, dbeta = _core.layer_norm_backward(ct(x), ct(dy), ct(gamma), mean, rstd, k)
        t = dict(rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(npy(y), ty.detach().numpy(), **t)
        np.testing.assert_allclose(npy(dx), tx.grad.numpy(), **t)
        np.testing.assert_allclose(npy(dgamma), tg.grad.numpy(), **t)
        np.testing.assert_allclose(npy(dbeta), tb.grad.numpy(), **t)


def test_layer_norm_argument_errors():
    x = ct(np.zeros((2, 3, 4)))
    for k in (0, 4, -1):
        with pytest.raises(ValueError, match=r"layer_norm: axis_count must be in \[1, 3\]"):
            _core.layer_norm(x, None, None, 1e-3, k)
    with pytest.raises(ValueError, match=r"gamma must have shape \(3, 4\)"):
        _core.layer_norm(x, ct(np.ones(4)), None, 1e-3, 2)
    with pytest.raises(TypeError, match="gamma must have the dtype of x"):
        _core.layer_norm(x, ct(np.ones(4, np.float32)), None, 1e-3, 1)
    with pytest.raises(ValueError, match="epsilon"):
        _core.layer_norm(x, None, None, -1e-3, 1)
    m = ct(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"rstd must have shape \(2, 3\)"):
        _core.layer_norm_backward(x, x, None, m, ct(np.zeros(2)), 1)
    with pytest.raises(ValueError, match="dy must have the shape of x"):
        _core.layer_norm_backward(x, ct(np.zeros((2, 3, 5))), None, m, m, 1)


# --- dropout ----------------------------------------------------------------------


M32 = 0xFFFFFFFF
DROPOUT_STREAM = 0x64726F70


def philox(seed, counters, sub):
    """Philox4x32-10 in numpy, an independent reference for the C++ generator: (n, 4) words."""
    c = [counters & M32, counters >> 32, np.full_like(counters, sub), np.full_like(counters, 0x9E3779B9)]
    k0, k1 = seed & M32, (seed >> 32) & M32
    for _ in range(10):
        p0, p1 = c[0] * 0xD2511F53, c[2] * 0xCD9E8D57  # 32 x 32 bits: exact in uint64
        c = [(p1 >> 32) ^ c[1] ^ k0, p1 & M32, (p0 >> 32) ^ c[3] ^ k1, p0 & M32]
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    return np.stack(c, axis=-1)


def test_numpy_philox_reference_matches_core_random():
    seed, offset = (7 << 40) + 12345, 77
    w = philox(seed, np.arange(offset, offset + 5, dtype=np.uint64), 0)
    got = npy(_core.random([5], _core.DType.float64, _core.Distribution.uniform, seed, offset, 0.0, 1.0))
    np.testing.assert_array_equal(got, ((w[:, 0] << 21) ^ w[:, 1]).astype(np.float64) / 2.0**53)


def dropout_keep(n, rate, seed, offset):
    idx = np.arange(offset, offset + n, dtype=np.uint64)
    words = philox(seed, idx // 4, DROPOUT_STREAM)[np.arange(n), (idx % 4).astype(np.int64)]
    return words >= np.ceil(rate * 2.0**32)


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_philox_blocks_on_every_isa_match_the_reference(isa):
    """The counter blocks behind dropout and random are compiled per ISA."""
    order = ["scalar", "avx2", "avx512"]
    if order.index(isa) > order.index(_core.cpu_best_isa()):
        pytest.skip(f"this CPU cannot run {isa}")
    rate, seed, offset = 0.5, (3 << 33) + 17, 5
    x = np.ones((3, 333), np.float32)  # 999 elements: several 64-counter blocks, a ragged start and end
    _core.set_isa(isa)
    try:
        y = npy(_core.dropout(ct(x), rate, seed, offset))
        u = npy(_core.random([300], _core.DType.float64, _core.Distribution.uniform, seed, offset, 0.0, 1.0))
    finally:
        _core.set_isa(_core.cpu_best_isa())
    np.testing.assert_array_equal(y.ravel() != 0, dropout_keep(x.size, rate, seed, offset))
    w = philox(seed, np.arange(offset, offset + 300, dtype=np.uint64), 0)
    np.testing.assert_array_equal(u, ((w[:, 0] << 21) ^ w[:, 1]).astype(np.float64) / 2.0**53)


@pytest.mark.parametrize("dtype", FLOATS)
def test_dropout_mask_matches_the_reference_generator(dtype):
    rate, seed, offset = 0.3, 1234, 99
    x = np.random.default_rng(20).standard_normal((37, 11)).astype(dtype) + 5  # no zeros
    y = npy(_core.dropout(ct(x), rate, seed, offset))
    keep = dropout_keep(x.size, rate, seed, offset).reshape(x.shape)
    scale = dtype(1 / (1 - rate))
    np.testing.assert_array_equal(y[keep], x[keep] * scale)  # exact scale
    np.testing.assert_array_equal(y[~keep], 0)
    # Same seed and offset: the same mask; the factors are what each element was multiplied by.
    np.testing.assert_array_equal(npy(_core.dropout(ct(x), rate, seed, offset)), y)
    y2, factors = _core.dropout_with_factors(ct(x), rate, seed, offset)
    np.testing.assert_array_equal(npy(y2), y)
    np.testing.assert_array_equal(npy(factors), np.where(keep, scale, dtype(0)))
    # tf.nn.dropout's gradient is dy times those factors
    tf.random.set_seed(5)
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        out = tf.nn.dropout(xv, rate)
    dy = np.random.default_rng(22).standard_normal(x.shape).astype(dtype)
    kept = out.numpy() != 0
    np.testing.assert_array_equal(tape.gradient(out, xv, output_gradients=tf.constant(dy)).numpy(),
                                  np.where(kept, dy * scale, dtype(0)))


def test_dropout_element_depends_only_on_seed_and_offset_plus_index():
    x = np.ones(1000)
    full = npy(_core.dropout(ct(x), 0.5, 7, 0))
    for start in (300, 301, 302, 303):  # any alignment to the generator's groups of four
        np.testing.assert_array_equal(npy(_core.dropout(ct(x[start:]), 0.5, 7, start)), full[start:])
    np.testing.assert_array_equal(npy(_core.dropout(ct(x[:5]), 0.5, 7, 0)), full[:5])
    assert not np.array_equal(npy(_core.dropout(ct(x), 0.5, 7, 1000)), full)
    assert not np.array_equal(npy(_core.dropout(ct(x), 0.5, 8, 0)), full)


def test_dropout_rate_zero_is_identity_and_kept_fraction_matches():
    x = np.random.default_rng(21).standard_normal((64, 33)).astype(np.float32)
    np.testing.assert_array_equal(npy(_core.dropout(ct(x), 0.0, 5, 0)), x)
    n = 200_000
    for rate in (0.1, 0.5, 0.9, 0.999):
        kept = (npy(_core.dropout(ct(np.ones(n, np.float32)), rate, 11, 0)) != 0).mean()
        assert abs(kept - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / n)
    assert _core.dropout(ct(np.zeros((0, 3))), 0.5, 1, 0).shape == (0, 3)


def test_dropout_argument_errors():
    x = ct(np.ones(4))
    for rate in (-0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\)"):
            _core.dropout(x, rate, 0, 0)
    with pytest.raises(TypeError):
        _core.dropout(ct(np.ones(4, np.int32)), 0.5, 0, 0)
    with pytest.raises(TypeError):
        _core.dropout(x, 0.5, -1, 0)  # seeds are unsigned 64-bit


# --- strided inputs ---------------------------------------------------------------


def test_every_kernel_accepts_strided_inputs():
    rng = np.random.default_rng(23)
    base = rng.standard_normal((7, 5))
    t, a = _core.from_numpy(base.copy()).permute([1, 0]), base.T  # (5, 7) views, not contiguous
    z = rng.random((5, 7))
    loss, d = _core.softmax_cross_entropy(t, ct(z))
    want_loss, want_d = ref_softmax_xent(a, z)
    np.testing.assert_allclose(npy(loss), want_loss, rtol=1e-12)
    np.testing.assert_allclose(npy(d), want_d, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(npy(_core.sigmoid_cross_entropy(t, ct(z))[0]), ref_sigmoid_xent(a, z)[0], rtol=1e-12)
    np.testing.assert_allclose(npy(_core.batch_norm_train(t, None, None, 1e-3)[0]),
                               ref_batch_norm(a, None, None, 1e-3)[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(npy(_core.layer_norm(t, None, None, 1e-3, 1)[0]),
                               ref_layer_norm(a, None, None, 1e-3, 1)[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(npy(_core.dropout(t, 0.5, 3, 0)), npy(_core.dropout(ct(a), 0.5, 3, 0)))
    labels = _core.from_numpy(np.array([0, 9, 1, 9, 6, 9, 2, 9, 3, 9])).slice(0, 10, 2)  # strided: 0 1 6 2 3
    np.testing.assert_allclose(npy(_core.sparse_softmax_cross_entropy(t, labels)[0]),
                               ref_softmax_xent(a, np.eye(7)[[0, 1, 6, 2, 3]])[0], rtol=1e-12)


# --- determinism across thread counts ---------------------------------------------


def run_all_kernels():
    """Every kernel on inputs big enough to be split across threads."""
    rng = np.random.default_rng(22)
    x = rng.standard_normal((1024, 67)).astype(np.float32)
    z = rng.random(x.shape).astype(np.float32)
    labels = rng.integers(0, 67, 1024)
    img = (rng.standard_normal((64, 12, 12, 16)) * 3 + 1).astype(np.float32)
    dimg = rng.standard_normal(img.shape).astype(np.float32)
    g16 = rng.standard_normal(16).astype(np.float32)
    g67 = rng.standard_normal(67).astype(np.float32)
    y = _core.softmax(ct(x), -1)
    out = [y, _core.softmax(ct(x), 0), _core.log_softmax(ct(x), 0), _core.softmax_backward(y, ct(z), -1),
           _core.log_softmax_backward(_core.log_softmax(ct(x), 0), ct(z), 0),
           *_core.softmax_cross_entropy(ct(x), ct(z), -1), *_core.softmax_cross_entropy(ct(x), ct(z), 0),
           *_core.sparse_softmax_cross_entropy(ct(x), ct(labels)), *_core.sigmoid_cross_entropy(ct(x), ct(z))]
    bn = _core.batch_norm_train(ct(img), ct(g16), ct(g16), 1e-3)
    out += [*bn, *_core.batch_norm_backward(ct(img), ct(dimg), ct(g16), bn[1], bn[2], 1e-3),
            _core.batch_norm_inference(ct(img), bn[1], bn[2], ct(g16), None, 1e-3)]
    ln = _core.layer_norm(ct(x), ct(g67), ct(g67), 1e-3, 1)
    out += [*ln, *_core.layer_norm_backward(ct(x), ct(z), ct(g67), ln[1], ln[2], 1)]
    out.append(_core.dropout(ct(img), 0.5, 3, 17))
    return [npy(t).tobytes() for t in out]


@pytest.mark.skipif(not _core.openmp, reason="built without OpenMP")
def test_results_are_bitwise_identical_for_one_and_two_threads(threads):
    threads(1)
    one = run_all_kernels()
    threads(2)
    two = run_all_kernels()
    assert len(one) == len(two)
    for i, (a, b) in enumerate(zip(one, two)):
        assert a == b, f"output {i} differs between 1 and 2 threads"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_gradient_matches_numpy_on_special_values_and_strided_input(dtype):
    # dy * (x > 0): the gradient passes where x > 0, and elsewhere is dy * 0
    # (so -0 for negative dy, NaN for infinite or NaN dy), as numpy computes it.
    special = np.array([-2, -0.0, 0.0, 1e-30, 3, np.nan, np.inf, -np.inf], dtype)
    x = np.concatenate([special, np.random.default_rng(1).standard_normal(61).astype(dtype)])
    dy = np.resize(np.array([1.5, -1.5, np.inf, -np.inf, np.nan, -0.0, 2.0], dtype), x.size)
    x, dy = np.tile(x, 3).reshape(3, -1), np.tile(dy, 3).reshape(3, -1)
    with np.errstate(invalid="ignore"):
        for xs, dys, strided in [(x, dy, False), (x.T, dy.T, True)]:  # transposed views: strided loops
            xt, dyt = (ct(x).permute([1, 0]), ct(dy).permute([1, 0])) if strided else (ct(xs), ct(dys))
            got = npy(_core.unary_grad(_core.Unary.relu, xt, dyt, 0.0, 1))
            want = dys * (xs > 0)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
