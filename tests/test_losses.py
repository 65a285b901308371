"""Losses against numpy references written here from Keras' documented
formulas (and torch.nn.functional where it defines the same thing), every
reduction and sample-weight form, logits and probability paths, extreme
logits, and gradients against central finite differences in float64."""
import numpy as np
import pytest

import tinytf as tf
from tinytf import losses, nn

EPS = 1e-7
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


# --- numpy references ----------------------------------------------------------------------

def log_softmax(x, axis=-1):
    z = x - x.max(axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis, keepdims=True))


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def normalized(p, axis=-1):
    return np.clip(p / p.sum(axis, keepdims=True), EPS, 1 - EPS)


def ref_cce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[axis]
    logp = log_softmax(p, axis) if from_logits else np.log(normalized(p, axis))
    return -(t * logp).sum(axis)


def ref_scce(labels, p, from_logits=False):
    logp = log_softmax(p) if from_logits else np.log(normalized(p))
    return -np.take_along_axis(logp, labels[..., None].astype(np.int64), -1)[..., 0]


def ref_bce_elementwise(t, p, from_logits):
    if from_logits:  # -(t log s(x) + (1 - t) log s(-x)) = softplus(x) - t x
        return np.logaddexp(0.0, p) - t * p
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p + EPS) + (1 - t) * np.log(1 - p + EPS))


def ref_bce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    return ref_bce_elementwise(t, p, from_logits).mean(axis)


def ref_bfce(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
             axis=-1):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    prob = sigmoid(p) if from_logits else p
    p_t = t * prob + (1 - t) * (1 - prob)
    out = (1 - p_t) ** gamma * ref_bce_elementwise(t, p, from_logits)
    if apply_class_balancing:
        out = (t * alpha + (1 - t) * (1 - alpha)) * out
    return out.mean(axis)


def ref_cfce(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[axis]
    logp = log_softmax(p, axis) if from_logits else np.log(normalized(p, axis))
    return -(np.asarray(alpha) * (1 - np.exp(logp)) ** gamma * t * logp).sum(axis)


def ref_hinge_labels(t):
    return 2 * t - 1 if np.isin(t, (0, 1)).all() else t


def ref_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2).mean(-1)


def ref_cosine(t, p, axis=-1):
    unit = lambda v: v / np.maximum(np.sqrt((v * v).sum(axis, keepdims=True)), EPS)  # noqa: E731
    return -(unit(t) * unit(p)).sum(axis)


REFS = {
    "mean_squared_error": lambda t, p: ((t - p) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(t - p).mean(-1),
    "mean_absolute_percentage_error": lambda t, p: 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
    "mean_squared_logarithmic_error": lambda t, p: ((np.log(np.maximum(p, EPS) + 1)
                                                     - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
    "huber": ref_huber,
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "kl_divergence": lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1),
    "poisson": lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
    "hinge": lambda t, p: np.maximum(1 - ref_hinge_labels(t) * p, 0).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - ref_hinge_labels(t) * p, 0) ** 2).mean(-1),
    "categorical_hinge": lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
    "cosine_similarity": ref_cosine,
    "categorical_crossentropy": ref_cce,
    "categorical_focal_crossentropy": ref_cfce,
    "binary_crossentropy": ref_bce,
    "binary_focal_crossentropy": ref_bfce,
    "sparse_categorical_crossentropy": ref_scce,
}


# --- data ------------------------------------------------------------------------------------

def make_data(kind, shape, rng, logits=False):
    """(y_true, y_pred) in float64 for a family of losses; shape is y_pred's."""
    if kind == "categorical":
        y_true = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
        y_pred = rng.normal(0, 2, shape) if logits else rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    elif kind == "sparse":
        y_true = rng.integers(0, shape[-1], shape[:-1])
        y_pred = rng.normal(0, 2, shape) if logits else rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    elif kind == "binary":
        y_true = rng.integers(0, 2, shape).astype(np.float64)
        y_pred = rng.normal(0, 2, shape) if logits else rng.uniform(0.02, 0.98, shape)
    elif kind == "positive":  # counts / probabilities for poisson, msle, kl
        y_true = rng.uniform(0.05, 1.0, shape)
        y_pred = rng.uniform(0.05, 1.0, shape)
    elif kind == "hinge":
        y_true = rng.choice([-1.0, 1.0], shape)
        y_pred = rng.normal(0, 1, shape)
    else:  # regression; y_true kept away from 0 for MAPE
        y_true = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)
        y_pred = rng.normal(0, 1.5, shape)
    return y_true, y_pred


# function name, class, kind of data, constructor arguments
CASES = [
    ("mean_squared_error", losses.MeanSquaredError, "regression", {}),
    ("mean_absolute_error", losses.MeanAbsoluteError, "regression", {}),
    ("mean_absolute_percentage_error", losses.MeanAbsolutePercentageError, "regression", {}),
    ("mean_squared_logarithmic_error", losses.MeanSquaredLogarithmicError, "positive", {}),
    ("huber", losses.Huber, "regression", {"delta": 0.7}),
    ("log_cosh", losses.LogCosh, "regression", {}),
    ("kl_divergence", losses.KLDivergence, "positive", {}),
    ("poisson", losses.Poisson, "positive", {}),
    ("hinge", losses.Hinge, "hinge", {}),
    ("squared_hinge", losses.SquaredHinge, "hinge", {}),
    ("categorical_hinge", losses.CategoricalHinge, "categorical", {}),
    ("cosine_similarity", losses.CosineSimilarity, "regression", {}),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, "categorical", {}),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, "categorical", {"label_smoothing": 0.2}),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, "categorical", {"from_logits": True}),
    ("categorical_crossentropy", losses.CategoricalCrossentropy, "categorical",
     {"from_logits": True, "label_smoothing": 0.1}),
    ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy, "categorical", {}),
    ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy, "categorical",
     {"alpha": [0.2, 0.3, 0.5, 0.1], "gamma": 1.5, "label_smoothing": 0.1}),
    ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy, "categorical",
     {"from_logits": True, "gamma": 3.0}),
    ("binary_crossentropy", losses.BinaryCrossentropy, "binary", {}),
    ("binary_crossentropy", losses.BinaryCrossentropy, "binary", {"label_smoothing": 0.3}),
    ("binary_crossentropy", losses.BinaryCrossentropy, "binary", {"from_logits": True, "label_smoothing": 0.1}),
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy, "binary", {}),
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy, "binary",
     {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0, "label_smoothing": 0.2}),
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy, "binary",
     {"from_logits": True, "apply_class_balancing": True}),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy, "sparse", {}),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy, "sparse", {"from_logits": True}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, _, _, kw in CASES]


def case_data(kind, kwargs, shape, seed=0, dtype=np.float64):
    y_true, y_pred = make_data(kind, shape, np.random.default_rng(seed), kwargs.get("from_logits", False))
    return (y_true if kind == "sparse" else y_true.astype(dtype)), y_pred.astype(dtype)


def ref_losses(name, kwargs, y_true, y_pred):
    return REFS[name](np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64), **kwargs)


# --- per-sample values ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,cls,kind,kwargs", CASES, ids=IDS)
def test_per_sample_values_match_numpy(name, cls, kind, kwargs, dtype):
    y_true, y_pred = case_data(kind, kwargs, (5, 2, 4), dtype=dtype)
    out = cls(reduction=None, **kwargs)(tf.constant(y_true), tf.constant(y_pred))
    assert out.dtype == tf.as_dtype(dtype) and tuple(out.shape) == (5, 2)
    np.testing.assert_allclose(out.numpy(), ref_losses(name, kwargs, y_true, y_pred), **TOL[dtype])
    # the function gives the same per-sample values, from numpy arrays too
    np.testing.assert_allclose(getattr(losses, name)(y_true, y_pred, **kwargs).numpy(), out.numpy(), rtol=1e-6)


def weight_forms(rng, per_sample_shape):
    return {"none": None, "scalar": 0.7, "rank1": rng.uniform(0, 2, per_sample_shape[:1]),
            "rank1_column": rng.uniform(0, 2, per_sample_shape[:1] + (1,)),
            "per_value": rng.uniform(0, 2, per_sample_shape)}


def ref_reduce(values, w, reduction):
    w = np.ones_like(values) if w is None else np.asarray(w, np.float64)
    while w.ndim > values.ndim:
        w = w[..., 0]
    w_aligned = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
    weighted = values * w_aligned
    if reduction in ("none", None):
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight":
        return weighted.sum() / w_aligned.sum()
    return weighted.sum() / values.size


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None])
@pytest.mark.parametrize("name,cls,kind,kwargs", [CASES[0], CASES[12], CASES[22], CASES[25]],
                         ids=[IDS[0], IDS[12], IDS[22], IDS[25]])
def test_reductions_and_sample_weights(name, cls, kind, kwargs, reduction):
    y_true, y_pred = case_data(kind, kwargs, (6, 3, 4), seed=1)
    values = ref_losses(name, kwargs, y_true, y_pred)
    loss = cls(reduction=reduction, **kwargs)
    # (with a scalar weight, "mean_with_sample_weight" divides by that weight alone, as Keras)
    for form, w in weight_forms(np.random.default_rng(2), values.shape).items():
        out = loss(y_true, y_pred, sample_weight=w)
        np.testing.assert_allclose(out.numpy(), ref_reduce(values, w, reduction), rtol=1e-10, err_msg=form)


def test_default_reduction_is_sum_over_batch_size_and_empty_batches_give_zero():
    loss = losses.MeanSquaredError()
    assert loss.reduction == "sum_over_batch_size"
    y = np.zeros((0, 3))
    assert float(loss(y, y)) == 0.0
    assert float(losses.MeanSquaredError(reduction="mean_with_sample_weight")(y, y, sample_weight=np.zeros(0))) == 0.0


def test_keras_docstring_examples():
    # values printed in the Keras 3 docstrings (keras/src/losses/losses.py)
    y_true, y_pred = np.array([[0, 1, 0], [0, 0, 1]]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    assert np.isclose(float(losses.CategoricalCrossentropy()(y_true, y_pred)), 1.177, atol=1e-3)
    assert np.isclose(float(losses.CategoricalCrossentropy()(y_true, y_pred, sample_weight=np.array([0.3, 0.7]))),
                      0.814, atol=1e-3)
    assert np.isclose(float(losses.SparseCategoricalCrossentropy(reduction="sum")([1, 2], y_pred)), 2.354, atol=1e-3)
    assert np.isclose(float(losses.CategoricalFocalCrossentropy()(y_true.astype(float), y_pred)), 0.23315276,
                      atol=1e-6)
    y_true, logits = np.array([[0, 1], [0, 0]]), np.array([[-18.6, 0.51], [2.94, -12.8]])
    bce = losses.BinaryCrossentropy(from_logits=True)
    assert np.isclose(float(bce(y_true, logits)), 0.8654, atol=1e-4)
    assert np.isclose(float(bce(y_true, logits, sample_weight=[0.8, 0.2])), 0.243, atol=1e-3)
    np.testing.assert_allclose(losses.BinaryCrossentropy(from_logits=True, reduction=None)(y_true, logits).numpy(),
                               [0.235, 1.496], atol=1e-3)
    bfce = losses.BinaryFocalCrossentropy(gamma=3, from_logits=True)
    assert np.isclose(float(bfce(y_true, logits)), 0.647, atol=1e-3)
    assert np.isclose(float(losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3, from_logits=True)(
        y_true, logits, sample_weight=[0.8, 0.2])), 0.097, atol=1e-3)
    np.testing.assert_allclose(losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=5, from_logits=True,
                                                              reduction=None)(y_true, logits).numpy(),
                               [0.0004, 0.8670], atol=1e-4)
    assert np.isclose(float(losses.huber([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy().mean()), 0.155,
                      atol=1e-3)
    np.testing.assert_allclose(losses.cosine_similarity([[0., 1.], [1., 1.], [1., 1.]],
                                                        [[1., 0.], [1., 1.], [-1., -1.]]).numpy(), [0, -1, 1],
                               atol=1e-6)


# --- logits, remembered logits and extreme values -----------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_sigmoid_outputs_use_their_logits(dtype):
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 3, (6, 5)).astype(dtype)
    onehot = np.eye(5, dtype=dtype)[rng.integers(0, 5, 6)]
    probs = nn.softmax(tf.constant(logits))
    for loss, ref in [(losses.CategoricalCrossentropy(reduction=None), ref_cce(onehot, logits, True)),
                      (losses.CategoricalFocalCrossentropy(reduction=None), ref_cfce(onehot, logits, from_logits=True)),
                      (losses.SparseCategoricalCrossentropy(reduction=None),
                       ref_scce(onehot.argmax(-1), logits, True))]:
        y = onehot.argmax(-1) if isinstance(loss, losses.SparseCategoricalCrossentropy) else onehot
        np.testing.assert_allclose(loss(y, probs).numpy(), ref, **TOL[dtype])
    targets = rng.integers(0, 2, (6, 5)).astype(dtype)
    np.testing.assert_allclose(losses.binary_crossentropy(targets, nn.sigmoid(tf.constant(logits))).numpy(),
                               ref_bce(targets, logits, True), **TOL[dtype])


EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 1e4, -1e4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_finite_and_exact(dtype):
    logits = EXTREME.astype(dtype)
    onehot = np.eye(3)[[0, 0, 2]].astype(dtype)  # right, wrong by 2e4, wrong by 1e4
    tol = dict(rtol=1e-6, atol=1e-6)
    cases = [
        (losses.CategoricalCrossentropy(from_logits=True, reduction=None), ref_cce(onehot, EXTREME, True)),
        (losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None), ref_scce(np.array([0, 0, 2]), EXTREME,
                                                                                           True)),
        (losses.CategoricalFocalCrossentropy(from_logits=True, reduction=None), ref_cfce(onehot, EXTREME,
                                                                                         from_logits=True)),
        (losses.BinaryCrossentropy(from_logits=True, reduction=None), ref_bce(onehot, EXTREME, True)),
        (losses.BinaryFocalCrossentropy(from_logits=True, reduction=None), ref_bfce(onehot, EXTREME,
                                                                                    from_logits=True)),
    ]
    for loss, ref in cases:
        y = np.array([0, 0, 2]) if isinstance(loss, losses.SparseCategoricalCrossentropy) else onehot
        x = tf.constant(logits)
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = loss(y, x)
            total = tf.reduce_sum(out)
        grad = tape.gradient(total, x).numpy()
        assert np.isfinite(out.numpy()).all() and np.isfinite(grad).all(), loss.name
        np.testing.assert_allclose(out.numpy(), ref, err_msg=loss.name, **tol)
    assert np.isclose(ref_cce(onehot, EXTREME, True)[1], 2e4)  # the reference itself is the exact value


def test_probability_path_clips_as_keras():
    # probabilities of exactly 0 and 1 are clipped to [1e-7, 1 - 1e-7], never log(0)
    y_true, y_pred = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    np.testing.assert_allclose(losses.categorical_crossentropy(y_true, y_pred).numpy(), [-np.log(EPS)], rtol=1e-6)
    np.testing.assert_allclose(losses.binary_crossentropy(y_true, y_pred).numpy(), [-np.log(2 * EPS)], rtol=1e-5)


def test_categorical_axis_and_sparse_axis():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(3, 4, 5))
    onehot = np.eye(4)[rng.integers(0, 4, (3, 5))].transpose(0, 2, 1)  # classes on axis 1
    np.testing.assert_allclose(losses.categorical_crossentropy(onehot, logits, from_logits=True, axis=1).numpy(),
                               ref_cce(onehot, logits, True, axis=1), rtol=1e-10)
    labels = onehot.argmax(1)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels, logits, from_logits=True, axis=1).numpy(),
        ref_cce(onehot, logits, True, axis=1), rtol=1e-10)


def test_sparse_ignore_class_averages_over_the_other_labels():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(8, 4))
    labels = np.array([0, -1, 3, 2, -1, 1, 1, 0])
    keep = labels != -1
    per_sample = np.where(keep, ref_scce(np.where(keep, labels, 0), logits, True), 0.0)
    fn_out = losses.sparse_categorical_crossentropy(labels, logits, from_logits=True, ignore_class=-1)
    np.testing.assert_allclose(fn_out.numpy(), per_sample, rtol=1e-10)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    assert np.isclose(float(loss(labels, logits)), per_sample.sum() / keep.sum())
    w = rng.uniform(0, 1, 8)
    assert np.isclose(float(loss(labels, logits, sample_weight=w)), (per_sample * w).sum() / keep.sum())
    summed = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction="sum")
    assert np.isclose(float(summed(labels[:, None], logits)), per_sample.sum())
    # the probability path masks the same way
    probs = np.exp(log_softmax(logits))
    assert np.isclose(float(losses.SparseCategoricalCrossentropy(ignore_class=-1)(labels, probs)),
                      per_sample.sum() / keep.sum(), rtol=1e-6)


def test_rank_alignment_as_keras():
    # y_true (N,) against y_pred (N, 1) compares sample by sample, never (N, N)
    y_true, y_pred = np.arange(4.0), np.arange(4.0)[:, None] + 1.0
    assert float(losses.MeanSquaredError()(y_true, y_pred)) == 1.0
    assert tuple(losses.mean_squared_error(y_true, y_pred).shape) == (4,)
    labels = np.array([[1], [0]])
    assert tuple(losses.sparse_categorical_crossentropy(labels, np.full((2, 3), 1 / 3)).shape) == (2,)
    # labels as a list, as floats, as small ints or as an int32 tensor
    for y in ([1, 0], [1.0, 0.0], np.array([1, 0], np.uint8), tf.constant(np.array([1, 0], np.int32))):
        np.testing.assert_allclose(losses.sparse_categorical_crossentropy(y, np.full((2, 3), 1 / 3)).numpy(),
                                   [np.log(3)] * 2, rtol=1e-6)


# --- gradients -----------------------------------------------------------------------------

def finite_difference(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = h
        g[i] = (f(x + d) - f(x - d)) / (2 * h)
    return g


@pytest.mark.parametrize("name,cls,kind,kwargs", CASES, ids=IDS)
def test_gradient_matches_finite_differences(name, cls, kind, kwargs):
    y_true, y_pred = case_data(kind, kwargs, (3, 4), seed=6)
    w = np.array([0.5, 1.0, 2.0])
    loss = cls(**kwargs)
    x = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = loss(y_true, x, sample_weight=w)
    grad = tape.gradient(value, x).numpy()
    numeric = finite_difference(lambda p: float(loss(y_true, tf.constant(p), sample_weight=w)), y_pred)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_gradient_through_softmax_output_uses_the_fused_path():
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(4, 3))
    onehot = np.eye(3)[[0, 2, 1, 1]]
    loss = losses.CategoricalCrossentropy()
    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = loss(onehot, nn.softmax(x))
    grad = tape.gradient(value, x).numpy()
    np.testing.assert_allclose(grad, (np.exp(log_softmax(logits)) - onehot) / 4, rtol=1e-10)


# --- torch as a second reference ---------------------------------------------------------

def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(8)
    logits = rng.normal(0, 2, (7, 5))
    labels = rng.integers(0, 5, 7)
    onehot = np.eye(5)[labels]
    T = torch.from_numpy
    checks = [
        (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.15)(onehot, logits),
         F.cross_entropy(T(logits), T(labels), label_smoothing=0.15)),
        (losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits), F.cross_entropy(T(logits), T(labels))),
        (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)(labels, logits),
         F.cross_entropy(T(logits), T(labels), ignore_index=2)),
        (losses.BinaryCrossentropy(from_logits=True)(onehot, logits),
         F.binary_cross_entropy_with_logits(T(logits), T(onehot))),
        (losses.MeanSquaredError()(onehot, logits), F.mse_loss(T(logits), T(onehot))),
        (losses.MeanAbsoluteError()(onehot, logits), F.l1_loss(T(logits), T(onehot))),
        (losses.Huber(delta=1.3)(onehot, logits), F.huber_loss(T(logits), T(onehot), delta=1.3)),
        (losses.KLDivergence()(np.exp(log_softmax(logits[::-1].copy())), np.exp(log_softmax(logits))),
         F.kl_div(T(log_softmax(logits)), T(np.exp(log_softmax(logits[::-1].copy()))), reduction="batchmean")),
        (losses.CosineSimilarity()(onehot + 0.1, logits), -F.cosine_similarity(T(onehot + 0.1), T(logits)).mean()),
    ]
    for ours, theirs in checks:
        np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6)
    rates = rng.uniform(0.1, 3.0, (7, 5))
    counts = rng.poisson(1.5, (7, 5)).astype(np.float64)
    np.testing.assert_allclose(float(losses.Poisson()(counts, rates)),
                               float(F.poisson_nll_loss(T(rates), T(counts), log_input=False, eps=EPS)), rtol=1e-6)


# --- configs, names and errors -------------------------------------------------------------

def test_config_round_trip_and_names():
    for name, cls, kind, kwargs in CASES:
        loss = cls(reduction="sum", name="custom", **kwargs)
        config = loss.get_config()
        assert config["reduction"] == "sum" and config["name"] == "custom"
        assert all(config[k] == v for k, v in kwargs.items())
        again = cls.from_config(config)
        assert type(again) is cls and again.get_config() == config
        assert type(losses.get({"class_name": cls.__name__, "config": config})) is cls
        assert losses.serialize(loss)["class_name"] == cls.__name__
    assert losses.Huber().name == "huber_loss" and losses.LogCosh().name == "log_cosh"
    assert losses.CategoricalCrossentropy(True, 0.1).get_config()["label_smoothing"] == 0.1  # Keras' argument order


def test_get_by_name():
    for key, cls in [("categorical_crossentropy", losses.CategoricalCrossentropy), ("mse", losses.MeanSquaredError),
                     ("MSE", losses.MeanSquaredError), ("mae", losses.MeanAbsoluteError),
                     ("mape", losses.MeanAbsolutePercentageError), ("msle", losses.MeanSquaredLogarithmicError),
                     ("kld", losses.KLDivergence), ("bce", losses.BinaryCrossentropy), ("huber", losses.Huber),
                     ("Huber", losses.Huber), ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy),
                     ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy)]:
        assert type(losses.get(key)) is cls, key
    assert losses.get(None) is None
    assert type(losses.get(losses.Huber)) is losses.Huber
    instance = losses.Poisson()
    assert losses.get(instance) is instance

    def my_loss(y_true, y_pred):
        return tf.reduce_mean(tf.abs(y_true - y_pred), -1)

    wrapped = losses.get(my_loss)
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "my_loss"
    assert np.isclose(float(wrapped(np.zeros((2, 3)), np.ones((2, 3)), sample_weight=[1.0, 0.0])), 0.5)


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="Unknown loss: 'categorical_crossentropyy'"):
        losses.get("categorical_crossentropyy")
    with pytest.raises(TypeError, match="loss"):
        losses.get(42)
    with pytest.raises(ValueError, match=r"categorical_crossentropy.*\(4, 3\).*\(4, 5\)"):
        losses.CategoricalCrossentropy()(np.zeros((4, 3)), np.full((4, 5), 0.2))
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(4, 2\).*\(4, 3\)"):
        losses.mean_squared_error(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*\(3,\).*\(4, 5\)"):
        losses.SparseCategoricalCrossentropy()(np.zeros(3, int), np.full((4, 5), 0.2))
    for from_logits in (False, True):
        with pytest.raises(IndexError, match=r"label 5 .*\[0, 5\)"):
            losses.SparseCategoricalCrossentropy(from_logits=from_logits)(np.array([1, 5]), np.full((2, 5), 0.2))
        with pytest.raises(IndexError, match="label -1"):
            losses.sparse_categorical_crossentropy(np.array([-1, 0]), np.full((2, 5), 0.2), from_logits=from_logits)
    with pytest.raises(ValueError, match="integer class ids"):
        losses.sparse_categorical_crossentropy(np.array([0.5, 1.0]), np.full((2, 5), 0.2))
    with pytest.raises(TypeError, match="y_pred must be numeric"):
        losses.MeanSquaredError()(np.zeros(2), np.array(["a", "b"]))
    with pytest.raises(TypeError, match="labels must be integer"):
        losses.sparse_categorical_crossentropy(np.array(["a", "b"]), np.full((2, 5), 0.2))
    with pytest.raises(ValueError, match=r"mean_squared_error: sample_weight of shape \(3,\).*\(4,\)"):
        losses.MeanSquaredError()(np.zeros((4, 2)), np.zeros((4, 2)), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="invalid reduction 'avg'"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(TypeError, match="Huber: got an unexpected keyword argument 'delt'"):
        losses.Huber(delt=2.0)
    with pytest.raises(ValueError, match="axis must be an int"):
        losses.categorical_crossentropy(np.eye(2), np.eye(2), axis=True)
