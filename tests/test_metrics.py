"""Metrics against numpy references over several update_state calls with
sample weights; Precision / Recall / AUC against confusion counts computed
here by brute force and the formulas Keras documents, and AUC against the
exact (rank-based) area."""
import numpy as np
import pytest

import tinytf as tf
from tinytf import metrics

EPS = 1e-7


def batches(make, n=3, seed=0):
    """n batches of (y_true, y_pred, sample_weight) of different sizes."""
    rng = np.random.default_rng(seed)
    return [make(rng, size) for size in (5, 8, 3)[:n]]


def div(a, b):
    """a / b, 0 where b == 0 (Keras' divide_no_nan)."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)


def weighted_mean(values, weights):
    return np.sum(np.concatenate(values) * np.concatenate(weights)) / np.sum(np.concatenate(weights))


# --- Mean, Sum, MeanMetricWrapper -----------------------------------------------------------

def test_mean_and_sum_follow_keras_per_sample_semantics():
    m, s = metrics.Mean(), metrics.Sum()
    m.update_state([1, 3, 5, 7])
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 4.0 and s.result() == 4.0
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == 2.0
    # rank-2 values with rank-1 weights: each sample is the mean of its row
    m.reset_state()
    rows = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    m.update_state(rows, sample_weight=[1.0, 3.0])
    m.update_state(10.0)  # a scalar counts as one sample
    assert np.isclose(m.result(), (2.0 * 1 + 5.0 * 3 + 10.0) / 5)
    # weights of the values' rank weight values
    m.reset_state()
    w = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 2.0]])
    m.update_state(tf.constant(rows), sample_weight=tf.constant(w))
    assert np.isclose(m.result(), (rows * w).sum() / w.sum())
    s.reset_state()
    s.update_state(rows, sample_weight=w)
    assert np.isclose(s.result(), (rows * w).sum())
    assert metrics.Mean().result() == 0.0  # nothing seen: 0, not NaN


def test_mean_metric_wrapper_and_call():
    def abs_diff(y_true, y_pred, scale=1.0):
        return scale * np.abs(np.asarray(y_true) - np.asarray(y_pred))

    m = metrics.MeanMetricWrapper(abs_diff, scale=2.0)
    assert m.name == "abs_diff" and m.get_config()["scale"] == 2.0
    assert m([1.0, 2.0], [2.0, 2.0]) == 1.0  # __call__ updates, then returns the result
    m.update_state([0.0], [3.0], sample_weight=[2.0])
    assert np.isclose(m.result(), (2 + 0 + 2 * 6) / 4)


# --- accuracies ------------------------------------------------------------------------------

def accuracy_batches(kind, seed=0):
    def make(rng, n):
        scores = rng.normal(size=(n, 4))
        scores[0, 1] = scores[0, 2] = scores[0].max() + 1  # a tie at the top
        labels = rng.integers(0, 4, n)
        if kind == "binary":
            return rng.integers(0, 2, (n, 1)).astype(np.float64), rng.uniform(size=(n, 1)), rng.uniform(0, 2, n)
        if kind == "sparse":
            return labels[:, None], scores, rng.uniform(0, 2, n)
        return np.eye(4)[labels], scores, rng.uniform(0, 2, n)

    return batches(make, seed=seed)


def rank_of_label(scores, labels):
    """How many classes score strictly higher than the label (TF's in_top_k tie rule)."""
    return np.array([(row > row[label]).sum() for row, label in zip(scores, labels)])


ACCURACIES = [
    ("binary", lambda: metrics.BinaryAccuracy(threshold=0.3), lambda t, p: ((p[:, 0] > 0.3) == t[:, 0])),
    ("binary", metrics.BinaryAccuracy, lambda t, p: ((p[:, 0] > 0.5) == t[:, 0])),
    ("categorical", metrics.CategoricalAccuracy, lambda t, p: t.argmax(1) == p.argmax(1)),
    ("sparse", metrics.SparseCategoricalAccuracy, lambda t, p: t[:, 0] == p.argmax(1)),
    ("categorical", lambda: metrics.TopKCategoricalAccuracy(k=2),
     lambda t, p: rank_of_label(p, t.argmax(1)) < 2),
    ("sparse", lambda: metrics.SparseTopKCategoricalAccuracy(k=1), lambda t, p: rank_of_label(p, t[:, 0]) < 1),
    ("sparse", metrics.SparseTopKCategoricalAccuracy, lambda t, p: rank_of_label(p, t[:, 0]) < 5),
]


@pytest.mark.parametrize("kind,make_metric,ref", ACCURACIES)
def test_accuracies_over_weighted_batches(kind, make_metric, ref):
    data = accuracy_batches(kind)
    m = make_metric()
    for y_true, y_pred, w in data:
        m.update_state(tf.constant(y_true), tf.constant(y_pred), sample_weight=w)
    expected = weighted_mean([ref(t, p).astype(float) for t, p, _ in data], [w for *_, w in data])
    assert np.isclose(m.result(), expected)
    m.reset_state()
    assert m.result() == 0.0
    y_true, y_pred, _ = data[0]
    m.update_state(y_true, y_pred)
    assert np.isclose(m.result(), ref(y_true, y_pred).mean())


def test_accuracy_docstring_examples():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]], sample_weight=[1, 1, 0, 0])
    assert m.result() == 0.5
    m = metrics.SparseCategoricalAccuracy()
    m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3])
    assert np.isclose(m.result(), 0.3)
    m = metrics.TopKCategoricalAccuracy(k=1)
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], sample_weight=[0.7, 0.3])
    assert np.isclose(m.result(), 0.3)
    # ties at the k-th place count as in the top k (in_top_k); labels out of range never do
    assert metrics.sparse_top_k_categorical_accuracy([0, 1, 7], [[0.5, 0.5, 0.1]] * 3, k=1).tolist() == [1, 1, 0]


# --- regression and probabilistic metrics --------------------------------------------------

def unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), EPS)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def signs(t, p):
    return 2.0 * (t > 1) - 1, p


def distributions(t, p):
    return softmax(t), softmax(p)


# metric, per-sample reference, how the positive test data is mapped into the metric's domain
REGRESSION = [
    (metrics.MeanSquaredError, lambda t, p: ((t - p) ** 2).mean(-1), None),
    (metrics.MeanAbsoluteError, lambda t, p: np.abs(t - p).mean(-1), None),
    (metrics.MeanAbsolutePercentageError, lambda t, p: 100 * (np.abs(t - p) / np.abs(t)).mean(-1), None),
    (metrics.MeanSquaredLogarithmicError, lambda t, p: ((np.log1p(t) - np.log1p(p)) ** 2).mean(-1), None),
    (metrics.LogCoshError, lambda t, p: np.log(np.cosh(p - t)).mean(-1), None),
    (metrics.CosineSimilarity, lambda t, p: (unit(t) * unit(p)).sum(-1), None),
    (metrics.Poisson, lambda t, p: (p - t * np.log(p + EPS)).mean(-1), None),
    (metrics.KLDivergence, lambda t, p: (t * np.log(t / p)).sum(-1), distributions),
    (metrics.Hinge, lambda t, p: np.maximum(1 - t * p, 0).mean(-1), signs),
    (metrics.SquaredHinge, lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1), signs),
    (metrics.CategoricalHinge, lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
     lambda t, p: (np.eye(3)[t.argmax(-1)], p)),
]


@pytest.mark.parametrize("cls,ref,prep", REGRESSION, ids=[c.__name__ for c, _, _ in REGRESSION])
def test_regression_metrics_over_weighted_batches(cls, ref, prep):
    def make(rng, n):  # positive targets and predictions keep every formula in its domain
        t, p = rng.uniform(0.5, 2.0, (n, 3)), rng.uniform(0.5, 2.0, (n, 3))
        return (*(prep or (lambda *a: a))(t, p), rng.uniform(0, 2, n))

    data = batches(make, seed=1)
    m = cls()
    for t, p, w in data:
        m.update_state(t, tf.constant(p), sample_weight=w)
    expected = weighted_mean([ref(t, p) for t, p, _ in data], [w for *_, w in data])
    assert np.isclose(m.result(), expected, rtol=1e-5)


def test_root_mean_squared_error():
    data = batches(lambda rng, n: (rng.normal(size=(n, 2)), rng.normal(size=(n, 2)), rng.uniform(0, 1, n)))
    m = metrics.RootMeanSquaredError()
    for t, p, w in data:
        m.update_state(t, p, sample_weight=w)
    expected = np.sqrt(weighted_mean([((t - p) ** 2).mean(-1) for t, p, _ in data], [w for *_, w in data]))
    assert np.isclose(m.result(), expected)
    m.reset_state()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0])
    assert np.isclose(m.result(), 0.70710677)  # Keras' docstring


def test_crossentropy_metrics():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 6, 4))
    labels = rng.integers(0, 4, (2, 6))
    w = rng.uniform(0, 1, (2, 6))
    logp = np.log(softmax(logits))
    per_sample = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    for m, y in [(metrics.CategoricalCrossentropy(from_logits=True), np.eye(4)[labels]),
                 (metrics.SparseCategoricalCrossentropy(from_logits=True), labels)]:
        for b in range(2):
            m.update_state(y[b], logits[b], sample_weight=w[b])
        assert np.isclose(m.result(), (per_sample * w).sum() / w.sum()), m.name
    targets = rng.integers(0, 2, (6, 3)).astype(float)
    probs = rng.uniform(0.05, 0.95, (6, 3))
    smooth = targets * 0.8 + 0.1
    bce = -(smooth * np.log(probs + EPS) + (1 - smooth) * np.log(1 - probs + EPS)).mean(-1)
    m = metrics.BinaryCrossentropy(label_smoothing=0.2)
    m.update_state(targets, probs, sample_weight=w[0])
    assert np.isclose(m.result(), (bce * w[0]).sum() / w[0].sum(), rtol=1e-6)


# --- Precision, Recall, AUC ------------------------------------------------------------------

def brute_counts(y_true, y_pred, w, thresholds):
    """Weighted tp, fp, tn, fn at each threshold: positive when strictly above it."""
    y, p, w = (np.ravel(a) for a in np.broadcast_arrays(y_true != 0, y_pred, w))
    above = p[None, :] > np.asarray(thresholds)[:, None]
    return ((above & y) * w).sum(1), ((above & ~y) * w).sum(1), ((~above & ~y) * w).sum(1), ((~above & y) * w).sum(1)


def binary_batches(seed=0, shape=()):
    def make(rng, n):
        y = rng.integers(0, 2, (n,) + shape)
        p = np.clip(0.3 * y + rng.uniform(0, 0.7, (n,) + shape), 0, 1)
        return y, p, rng.uniform(0, 2, n).reshape((n,) + (1,) * len(shape))

    return batches(make, seed=seed)


def stacked(data):
    return [np.concatenate(part) for part in zip(*data)]


@pytest.mark.parametrize("thresholds", [None, 0.7, [0.2, 0.5, 0.9]])
def test_precision_and_recall_with_thresholds(thresholds):
    data = binary_batches(seed=3, shape=(2,))
    p_metric, r_metric = metrics.Precision(thresholds=thresholds), metrics.Recall(thresholds=thresholds)
    for y, p, w in data:
        p_metric.update_state(y, tf.constant(p), sample_weight=w)
        r_metric.update_state(tf.constant(y), p, sample_weight=w)
    tp, fp, _, fn = brute_counts(*stacked(data), [0.5] if thresholds is None else np.ravel(thresholds))
    expected_p, expected_r = div(tp, tp + fp), div(tp, tp + fn)  # nothing above 0.9: precision 0
    if np.ndim(thresholds) == 0:
        assert isinstance(p_metric.result(), float)
        expected_p, expected_r = expected_p[0], expected_r[0]
    np.testing.assert_allclose(p_metric.result(), expected_p)
    np.testing.assert_allclose(r_metric.result(), expected_r)
    p_metric.reset_state()
    assert np.all(np.asarray(p_metric.result()) == 0.0)


def test_precision_and_recall_top_k_and_class_id():
    rng = np.random.default_rng(4)
    scores = rng.uniform(size=(10, 5))
    labels = rng.integers(0, 2, (10, 5))
    w = rng.uniform(0, 1, 10)
    top2 = np.zeros_like(labels, bool)
    np.put_along_axis(top2, np.argsort(-scores, 1)[:, :2], True, 1)
    ww = np.broadcast_to(w[:, None], labels.shape)
    tp, fp, fn = (ww * (top2 & (labels == 1))).sum(), (ww * (top2 & (labels == 0))).sum(), \
        (ww * (~top2 & (labels == 1))).sum()
    p, r = metrics.Precision(top_k=2), metrics.Recall(top_k=2)
    p.update_state(labels, scores, sample_weight=w)
    r.update_state(labels, scores, sample_weight=w)
    assert np.isclose(p.result(), tp / (tp + fp)) and np.isclose(r.result(), tp / (tp + fn))
    # class_id: the binary problem of one column (here with its threshold and top_k)
    p = metrics.Precision(class_id=3, thresholds=0.4)
    p.update_state(labels, scores, sample_weight=w)
    tp, fp, _, _ = brute_counts(labels[:, 3], scores[:, 3], w, [0.4])
    assert np.isclose(p.result(), tp[0] / (tp[0] + fp[0]))
    r = metrics.Recall(class_id=1, top_k=2)
    r.update_state(labels, scores)
    hit, pos = (top2[:, 1] & (labels[:, 1] == 1)).sum(), (labels[:, 1] == 1).sum()
    assert np.isclose(r.result(), hit / pos)
    # Keras' docstring: top_k over the last axis of a single row
    p = metrics.Precision(top_k=2)
    p.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert p.result() == 0.0


def test_confusion_counts():
    y, p = [0, 1, 1, 1, 0], [0.9, 0.2, 0.7, 0.6, 0.1]
    w = [1.0, 2.0, 0.5, 1.0, 3.0]
    tp, fp, tn, fn = brute_counts(np.array(y), np.array(p), np.array(w), [0.5])
    for cls, expected in [(metrics.TruePositives, tp), (metrics.FalsePositives, fp), (metrics.TrueNegatives, tn),
                          (metrics.FalseNegatives, fn)]:
        m = cls()
        m.update_state(y, p, sample_weight=w)
        assert np.isclose(m.result(), expected[0]), cls.__name__
    m = metrics.TruePositives(thresholds=[0.15, 0.65])
    m.update_state(y, p)
    assert m.result().tolist() == [3.0, 1.0]


def ref_auc(tp, fp, tn, fn, curve, method):
    """Keras' AUC from confusion counts, restated: trapezoids over (fpr, recall)
    for ROC; Davis & Goadrich's interpolation for PR."""
    if curve == "PR" and method == "interpolation":
        total = 0.0
        for i in range(len(tp) - 1):
            dtp, p_a, p_b = tp[i] - tp[i + 1], tp[i] + fp[i], tp[i + 1] + fp[i + 1]
            slope = dtp / (p_a - p_b) if p_a - p_b > 0 else 0.0
            intercept = tp[i + 1] - slope * p_b
            log_ratio = np.log(p_a / p_b) if p_a > 0 and p_b > 0 else 0.0
            denom = tp[i + 1] + fn[i + 1]
            total += slope * (dtp + intercept * log_ratio) / denom if denom > 0 else 0.0
        return total
    recall = div(tp, tp + fn)
    x, y = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
    pick = {"interpolation": lambda a, b: (a + b) / 2, "minoring": np.minimum, "majoring": np.maximum}[method]
    return float(np.sum((x[:-1] - x[1:]) * pick(y[:-1], y[1:])))


def exact_roc_auc(y, p, w):
    """The probability that a positive outranks a negative (ties count half), weighted."""
    pos, neg = y == 1, y == 0
    wins = (p[pos][:, None] > p[neg][None, :]) + 0.5 * (p[pos][:, None] == p[neg][None, :])
    pair_w = w[pos][:, None] * w[neg][None, :]
    return (wins * pair_w).sum() / pair_w.sum()


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("method", ["interpolation", "minoring", "majoring"])
@pytest.mark.parametrize("num_thresholds", [3, 50, 200])
def test_auc_matches_the_counts_formula(curve, method, num_thresholds):
    data = binary_batches(seed=5)
    data[0][1][0] = 1.2  # predictions outside [0, 1] are clipped, as Keras does for evenly spaced thresholds
    m = metrics.AUC(num_thresholds=num_thresholds, curve=curve, summation_method=method)
    for y, p, w in data:
        m.update_state(y, p, sample_weight=w)
    thresholds = [-EPS] + [i / (num_thresholds - 1) for i in range(1, num_thresholds - 1)] + [1 + EPS]
    assert np.allclose(m.thresholds, thresholds)
    y, p, w = stacked(data)
    expected = ref_auc(*brute_counts(y, np.clip(p, 0, 1), w, thresholds), curve, method)
    assert np.isclose(m.result(), expected, rtol=1e-9, atol=1e-12)


def test_auc_approaches_the_exact_area_and_orders_its_bounds():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.25 * y + rng.uniform(0, 0.75, 400), 0, 1)
    w = rng.uniform(0.5, 1.5, 400)
    results = {}
    for method in ("minoring", "interpolation", "majoring"):
        m = metrics.AUC(num_thresholds=2000, summation_method=method)
        m.update_state(y, p, sample_weight=w)
        results[method] = m.result()
    assert results["minoring"] <= results["interpolation"] <= results["majoring"]
    assert abs(results["interpolation"] - exact_roc_auc(y, p, w)) < 2e-3


def test_auc_docstring_options_and_multi_label():
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert np.isclose(m.result(), 0.75)
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert np.isclose(m.result(), 1.0)
    # from_logits applies a sigmoid first
    logits = np.array([-2.0, 0.3, -0.1, 3.0])
    a, b = metrics.AUC(from_logits=True), metrics.AUC()
    a.update_state([0, 0, 1, 1], logits)
    b.update_state([0, 0, 1, 1], 1 / (1 + np.exp(-logits)))
    assert a.result() == b.result()
    # given thresholds (unsorted) add the two end points
    m = metrics.AUC(thresholds=[0.6, 0.2, 0.4])
    assert np.allclose(m.thresholds, [-EPS, 0.2, 0.4, 0.6, 1 + EPS]) and m.num_thresholds == 5
    # multi_label: one AUC per column, averaged (or weighted by label_weights)
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, (30, 3))
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, (30, 3)), 0, 1)
    per_label = []
    for j in range(3):
        single = metrics.AUC(num_thresholds=20)
        single.update_state(y[:, j], p[:, j])
        per_label.append(single.result())
    multi = metrics.AUC(num_thresholds=20, multi_label=True)
    multi.update_state(y[:15], p[:15])
    multi.update_state(y[15:], p[15:])
    assert np.isclose(multi.result(), np.mean(per_label))
    weighted = metrics.AUC(num_thresholds=20, multi_label=True, num_labels=3, label_weights=[1.0, 0.0, 3.0])
    weighted.update_state(y, p)
    assert np.isclose(weighted.result(), (per_label[0] + 3 * per_label[2]) / 4)
    # without multi_label, label_weights weight the flattened values
    flat = metrics.AUC(num_thresholds=20, label_weights=[1.0, 0.0, 3.0])
    flat.update_state(y, p)
    thresholds = flat.thresholds
    expected = ref_auc(*brute_counts(y, p, np.broadcast_to([1.0, 0.0, 3.0], y.shape), thresholds), "ROC",
                       "interpolation")
    assert np.isclose(flat.result(), expected)


# --- names, lookup, resolve, configs and errors ----------------------------------------------

def test_get_and_resolve():
    for key, cls in [("precision", metrics.Precision), ("recall", metrics.Recall), ("auc", metrics.AUC),
                     ("AUC", metrics.AUC), ("mse", metrics.MeanSquaredError), ("MAE", metrics.MeanAbsoluteError),
                     ("mape", metrics.MeanAbsolutePercentageError), ("msle", metrics.MeanSquaredLogarithmicError),
                     ("binary_accuracy", metrics.BinaryAccuracy), ("top_k_categorical_accuracy",
                                                                   metrics.TopKCategoricalAccuracy),
                     ("root_mean_squared_error", metrics.RootMeanSquaredError),
                     ("categorical_crossentropy", metrics.CategoricalCrossentropy),
                     ("kl_divergence", metrics.KLDivergence), ("true_positives", metrics.TruePositives)]:
        assert type(metrics.get(key)) is cls, key
    assert metrics.get("auc").name == "auc" and metrics.get("mse").name == "mean_squared_error"
    assert metrics.get(None) is None
    labels, onehot, column = np.zeros(4), np.zeros((4, 3)), np.zeros((4, 1))
    for y_true, y_pred, cls in [(labels, onehot, metrics.SparseCategoricalAccuracy),
                                (column, onehot, metrics.SparseCategoricalAccuracy),
                                (onehot, onehot, metrics.CategoricalAccuracy),
                                (column, column, metrics.BinaryAccuracy)]:
        m = metrics.resolve("accuracy", y_true, y_pred)
        assert type(m) is cls and m.name == "accuracy"
    assert type(metrics.resolve("acc", onehot, onehot, loss=tf.losses.BinaryCrossentropy())) is metrics.BinaryAccuracy
    assert type(metrics.resolve("crossentropy", labels, onehot)) is metrics.SparseCategoricalCrossentropy
    m = metrics.resolve("mse", column, column)
    assert type(m) is metrics.MeanSquaredError and m.name == "mse"  # compile names a metric by its string
    instance = metrics.AUC(name="roc")
    assert metrics.resolve(instance, column, column) is instance and instance.name == "roc"
    wrapped = metrics.resolve(tf.losses.mean_absolute_error, column, column)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "mean_absolute_error"


def test_config_round_trip():
    objects = [metrics.Mean(name="m"), metrics.BinaryAccuracy(threshold=0.3), metrics.TopKCategoricalAccuracy(3),
               metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
               metrics.Precision(thresholds=[0.2, 0.8], class_id=1), metrics.Recall(top_k=3),
               metrics.TruePositives(thresholds=0.3), metrics.CosineSimilarity(axis=1),
               metrics.AUC(curve="PR", summation_method="majoring", thresholds=[0.3, 0.6]),
               metrics.AUC(multi_label=True, num_labels=2, label_weights=[1.0, 2.0], from_logits=True)]
    for m in objects:
        config = m.get_config()
        again = type(m).from_config(config)
        assert type(again) is type(m) and again.get_config() == config, type(m).__name__
        assert type(metrics.get({"class_name": type(m).__name__, "config": config})) is type(m)
    assert metrics.TopKCategoricalAccuracy(3).get_config()["k"] == 3  # Keras' argument order
    assert metrics.LogCoshError().name == "logcosh"
    assert metrics.Mean(dtype=tf.float64).get_config()["dtype"] == "float64"


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="Unknown metric: 'acuracy'"):
        metrics.get("acuracy")
    with pytest.raises(TypeError, match="metric"):
        metrics.get(3.5)
    with pytest.raises(ValueError, match=r"binary_accuracy.*\(4, 2\).*\(4, 3\)"):
        metrics.BinaryAccuracy().update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"sparse_categorical_accuracy.*\(3,\).*\(4, 5\)"):
        metrics.SparseCategoricalAccuracy().update_state(np.zeros(3), np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"precision.*\(4,\).*\(5,\)"):
        metrics.Precision().update_state(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\)"):
        metrics.Recall().update_state(np.zeros(4), np.zeros(4), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"mean: sample_weight of shape \(3,\)"):
        metrics.Mean().update_state(np.zeros(4), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="class_id 7"):
        metrics.Precision(class_id=7).update_state(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="invalid curve 'ROCK'"):
        metrics.AUC(curve="ROCK")
    with pytest.raises(ValueError, match="invalid summation_method"):
        metrics.AUC(summation_method="trapezoid")
    with pytest.raises(ValueError, match="num_thresholds must be an integer > 1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="num_labels is needed only when multi_label"):
        metrics.AUC(num_labels=3)
    with pytest.raises(ValueError, match="multi_label needs y_pred of rank 2"):
        metrics.AUC(multi_label=True).update_state(np.zeros(4), np.zeros(4))
    with pytest.raises(TypeError, match="TopKCategoricalAccuracy: got an unexpected keyword argument 'top_k'"):
        metrics.TopKCategoricalAccuracy(top_k=3)
    with pytest.raises(IndexError, match="label 4"):
        metrics.SparseCategoricalCrossentropy().update_state([4], [[0.5, 0.5, 0.0, 0.0]])
