"""Stateful metrics with Keras 3's names, arguments and results:
``update_state`` / ``result`` / ``reset_state``.

State is kept on the host in float64. Batch values are computed with numpy
on zero-copy views of the tensors; the regression and probabilistic metrics
take their per-sample values from the loss functions of ``tinytf.losses``.
As in Keras, a ``Mean`` first reduces each sample to one value, so rank-1
sample weights weight samples and weights of the values' rank weight values."""
import numpy as np

from . import _registry, losses
from ._dtypes import as_dtype
from ._naming import to_snake_case
from .losses import EPSILON, _aligned_weights, _host, _same_rank, _wrapper_class
# keras.metrics exports the per-sample loss functions too
from .losses import (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,  # noqa: F401
                     categorical_focal_crossentropy, categorical_hinge, hinge, huber, kl_divergence, log_cosh,
                     mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                     mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge)

NEG_INF = -1e10  # the score given to the classes outside the top k (Keras' metrics_utils.NEG_INF)


def _div(a, b):
    """a / b, 0 where b == 0 (divide_no_nan)."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    return np.divide(a, b, out=np.zeros(a.shape), where=b != 0)


class Metric:
    """Base class of metrics: subclasses implement update_state, result and reset_state."""

    # The attributes holding the state, each a float or a float array that adds up over
    # batches: a distributed run (tinytf.distribute) sums them over the replicas.
    _state_attrs = ()

    def __init__(self, name=None, dtype=None):
        self.name = name or to_snake_case(type(self).__name__)
        self.dtype = as_dtype(dtype).name if dtype else "float32"  # Keras' result dtype; the state here is float64

    def reset_state(self):
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state()")

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _read_state(metrics):
    """The state of `metrics` (their _state_attrs, in order) as one float64 vector."""
    parts = [np.ravel(getattr(m, attr)) for m in metrics for attr in m._state_attrs]
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)


def _write_state(metrics, vector):
    """Sets the state of `metrics` from a vector laid out as _read_state's."""
    offset = 0
    for m in metrics:
        for attr in m._state_attrs:
            value = getattr(m, attr)
            if isinstance(value, np.ndarray):
                value[...] = vector[offset:offset + value.size].reshape(value.shape)
                offset += value.size
            else:
                setattr(m, attr, float(vector[offset]))
                offset += 1


# --- Mean, Sum and the wrapper of per-sample functions -------------------------------------

def _samplewise(values, sample_weight, reduce, name):
    """Keras' reduce_to_samplewise_values: the values (times their weights)
    and the weights, each sample's axes beyond the batch reduced by `reduce`."""
    values = _host(values).astype(np.float64)
    weights = None
    if sample_weight is not None:
        weights = _host(sample_weight).astype(np.float64)
        values, weights = _same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = reduce(values, axis=tuple(range(weights.ndim, values.ndim)))
        try:
            weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(f"{name}: sample_weight of shape {weights.shape} does not match values of shape "
                             f"{values.shape}") from None
        values = values * weights
        if weights.ndim > 1:
            weights = reduce(weights, axis=tuple(range(1, weights.ndim)))
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, weights


class Mean(Metric):
    """The weighted mean of the values seen: each sample counts its weight."""

    _state_attrs = ("total", "count")

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None):
        if isinstance(values, (int, float)) and isinstance(sample_weight, (int, float, type(None))):
            w = 1.0 if sample_weight is None else float(sample_weight)  # a Python number: no numpy round trip
            self.total += float(values) * w
            self.count += w
            return
        values, weights = _samplewise(values, sample_weight, np.mean, self.name)
        self.total += float(values.sum())
        self.count += float(weights.sum()) if weights is not None else values.shape[0] if values.ndim else 1.0

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(Metric):
    """The weighted sum of the values seen."""

    _state_attrs = ("total",)

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        self.total += float(_samplewise(values, sample_weight, np.sum, self.name)[0].sum())

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """The weighted mean of a per-sample function fn(y_true, y_pred, **kwargs)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}


def _metric_class(cls_name, fn, **params):
    return _wrapper_class(MeanMetricWrapper, cls_name, fn, **params)


# --- accuracies (numpy) -------------------------------------------------------------------

def _dense_pair(y_true, y_pred, fn_name):
    y_true, y_pred = _same_rank(_host(y_true), _host(y_pred))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{fn_name}: y_true and y_pred must have the same shape, got y_true {y_true.shape} and "
                         f"y_pred {y_pred.shape}")
    return y_true, y_pred


def _sparse_pair(y_true, y_pred, fn_name):
    """Integer labels (a trailing size-1 axis dropped) of y_pred's shape without its last axis."""
    y_true, y_pred = _host(y_true), _host(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"{fn_name}: labels of shape {y_true.shape} do not match y_pred of shape {y_pred.shape} "
                         f"(expected labels of shape {y_pred.shape[:-1]})")
    return y_true, y_pred


def accuracy(y_true, y_pred):
    y_true, y_pred = _dense_pair(y_true, y_pred, "accuracy")
    return np.mean(y_true == y_pred, axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """How often y_true equals (y_pred > threshold), averaged over the last axis."""
    y_true, y_pred = _dense_pair(y_true, y_pred, "binary_accuracy")
    return np.mean(y_true == (y_pred > threshold), axis=-1)


def categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _dense_pair(y_true, y_pred, "categorical_accuracy")
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _sparse_pair(y_true, y_pred, "sparse_categorical_accuracy")
    return (y_true == np.argmax(y_pred, -1)).astype(np.float64)


def _in_top_k(labels, y_pred, k):
    """TF's in_top_k: a label is in the top k when fewer than k classes score
    strictly higher (ties at the boundary count as in); never for a label out of range."""
    n = y_pred.shape[-1]
    labels = np.asarray(labels).astype(np.int64)
    in_range = (labels >= 0) & (labels < n)
    target = np.take_along_axis(y_pred, np.where(in_range, labels, 0)[..., None], -1)
    return (in_range & ((y_pred > target).sum(-1) < k)).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true, y_pred = _dense_pair(y_true, y_pred, "top_k_categorical_accuracy")
    return _in_top_k(np.argmax(y_true, -1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    y_true, y_pred = _sparse_pair(y_true, y_pred, "sparse_top_k_categorical_accuracy")
    return _in_top_k(y_true, y_pred, k)


def _cosine_similarity(y_true, y_pred, axis=-1):
    return -losses.cosine_similarity(y_true, y_pred, axis)  # the metric is the similarity, not the loss


Accuracy = _metric_class("Accuracy", accuracy, name="accuracy", dtype=None)
BinaryAccuracy = _metric_class("BinaryAccuracy", binary_accuracy, name="binary_accuracy", dtype=None, threshold=0.5)
CategoricalAccuracy = _metric_class("CategoricalAccuracy", categorical_accuracy, name="categorical_accuracy",
                                    dtype=None)
SparseCategoricalAccuracy = _metric_class("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                          name="sparse_categorical_accuracy", dtype=None)
TopKCategoricalAccuracy = _metric_class("TopKCategoricalAccuracy", top_k_categorical_accuracy, k=5,
                                        name="top_k_categorical_accuracy", dtype=None)
SparseTopKCategoricalAccuracy = _metric_class("SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy, k=5,
                                              name="sparse_top_k_categorical_accuracy", dtype=None)

# --- regression, hinge and probabilistic metrics: the mean of a loss function ----------------

MeanSquaredError = _metric_class("MeanSquaredError", mean_squared_error, name="mean_squared_error", dtype=None)
MeanAbsoluteError = _metric_class("MeanAbsoluteError", mean_absolute_error, name="mean_absolute_error", dtype=None)
MeanAbsolutePercentageError = _metric_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                            name="mean_absolute_percentage_error", dtype=None)
MeanSquaredLogarithmicError = _metric_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                            name="mean_squared_logarithmic_error", dtype=None)
CosineSimilarity = _metric_class("CosineSimilarity", _cosine_similarity, name="cosine_similarity", dtype=None,
                                 axis=-1)
LogCoshError = _metric_class("LogCoshError", log_cosh, name="logcosh", dtype=None)
Hinge = _metric_class("Hinge", hinge, name="hinge", dtype=None)
SquaredHinge = _metric_class("SquaredHinge", squared_hinge, name="squared_hinge", dtype=None)
CategoricalHinge = _metric_class("CategoricalHinge", categorical_hinge, name="categorical_hinge", dtype=None)
KLDivergence = _metric_class("KLDivergence", kl_divergence, name="kl_divergence", dtype=None)
Poisson = _metric_class("Poisson", poisson, name="poisson", dtype=None)
BinaryCrossentropy = _metric_class("BinaryCrossentropy", binary_crossentropy, name="binary_crossentropy", dtype=None,
                                   from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _metric_class("CategoricalCrossentropy", categorical_crossentropy,
                                        name="categorical_crossentropy", dtype=None, from_logits=False,
                                        label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = _metric_class("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                              name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                                              axis=-1)


class RootMeanSquaredError(Mean):
    """sqrt of the weighted mean of (y_pred - y_true)**2."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _dense_pair(y_true, y_pred, self.name)
        super().update_state(np.square(y_pred.astype(np.float64) - y_true), sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


# --- confusion-matrix metrics: Precision, Recall, AUC, TruePositives, ... ------------------

def _evenly_spaced(thresholds):
    # Keras takes a faster path for thresholds i / (n - 1), and that path clips predictions to [0, 1]
    n = len(thresholds)
    return n >= 3 and np.allclose(thresholds, np.arange(n) / (n - 1), atol=EPSILON)


def _keep_top_k(y_pred, k):
    """Scores outside each row's top k (ties to the lower index, as top_k) set to NEG_INF."""
    top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(y_pred.shape, bool)
    np.put_along_axis(keep, top, True, axis=-1)
    return np.where(keep, y_pred, NEG_INF)


def _confusion_counts(y_true, y_pred, thresholds, sample_weight=None, top_k=None, class_id=None, multi_label=False,
                      label_weights=None, clip=False, name="metric"):
    """Weighted true/false positives/negatives at each threshold, as Keras'
    update_confusion_matrix_variables: labels are positive when non-zero and
    predictions when strictly above the threshold. Each count has shape
    (thresholds,), or (thresholds, labels) with multi_label."""
    y_pred = _host(y_pred).astype(np.float64)
    y_true = _host(y_true) != 0
    y_pred, y_true = _same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{name}: y_true and y_pred must have the same shape, got y_true {y_true.shape} and "
                         f"y_pred {y_pred.shape}")
    weights = np.ones(y_pred.shape) if sample_weight is None else \
        np.broadcast_to(_aligned_weights(sample_weight, y_pred, name, "y_pred").astype(np.float64), y_pred.shape)
    if top_k is not None:
        y_pred = _keep_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2 or not -y_pred.shape[-1] <= class_id < y_pred.shape[-1]:
            raise ValueError(f"{name}: class_id {class_id} needs y_pred of shape (num_samples, num_classes) with "
                             f"more than {class_id} classes, got {y_pred.shape}")
        y_true, y_pred, weights = (a[..., class_id, None] for a in (y_true, y_pred, weights))
    if clip:
        y_pred = np.clip(y_pred, 0.0, 1.0)
    if label_weights is not None:
        weights = weights * label_weights
    if multi_label:
        if y_pred.ndim != 2:
            raise ValueError(f"{name}: multi_label needs y_pred of rank 2, got shape {y_pred.shape}")
    else:
        y_true, y_pred, weights = (a.reshape(-1, 1) for a in (y_true, y_pred, weights))
    # Sorting the thresholds, a prediction is above exactly the first k of them:
    # bin the weights by k, then the weight above threshold i is the sum of the bins past i.
    thresholds = np.asarray(thresholds, np.float64)
    n, labels = len(thresholds), y_pred.shape[1]
    order = np.argsort(thresholds, kind="stable")
    k = np.where(np.isnan(y_pred), 0, np.searchsorted(thresholds[order], y_pred, side="left"))
    bins = (k + (n + 1) * np.arange(labels)).ravel()

    def above(w):
        hist = np.bincount(bins, weights=w.ravel(), minlength=(n + 1) * labels).reshape(labels, n + 1).T
        out = np.empty((n, labels))
        out[order] = np.cumsum(hist[::-1], axis=0)[::-1][1:]
        return out

    positives, negatives = weights * y_true, weights * ~y_true
    tp, fp = above(positives), above(negatives)
    counts = tp, fp, negatives.sum(0) - fp, positives.sum(0) - tp
    return counts if multi_label else tuple(c[:, 0] for c in counts)


def _thresholds_list(thresholds, default, name):
    """The thresholds as a list of floats in [0, 1]; [default] when None."""
    if thresholds is None:
        return [default]
    values = list(np.ravel(np.asarray(thresholds, dtype=object)))
    bad = [t for t in values if t is None or not 0.0 <= t <= 1.0]
    if bad:
        raise ValueError(f"{name}: threshold values must be in [0, 1], got {bad}")
    return [float(t) for t in values]


class _ConfusionMetric(Metric):
    """Keeps weighted true_positives, false_positives, true_negatives and
    false_negatives at each of its thresholds."""

    _state_attrs = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = _thresholds_list(thresholds, 0.5 if top_k is None else NEG_INF, self.name)
        self._clip = _evenly_spaced(self.thresholds)
        self.reset_state()

    def _counts_shape(self):
        return len(self.thresholds)

    def reset_state(self):
        shape = self._counts_shape()
        self.true_positives, self.false_positives = np.zeros(shape), np.zeros(shape)
        self.true_negatives, self.false_negatives = np.zeros(shape), np.zeros(shape)

    def _accumulate(self, counts):
        tp, fp, tn, fn = counts
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(_confusion_counts(y_true, y_pred, self.thresholds, sample_weight, self.top_k, self.class_id,
                                           clip=self._clip, name=self.name))

    def _per_threshold(self, values):
        return float(values[0]) if len(self.thresholds) == 1 else values

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_ConfusionMetric):
    """true_positives / (true_positives + false_positives), per threshold."""

    def result(self):
        return self._per_threshold(_div(self.true_positives, self.true_positives + self.false_positives))


class Recall(_ConfusionMetric):
    """true_positives / (true_positives + false_negatives), per threshold."""

    def result(self):
        return self._per_threshold(_div(self.true_positives, self.true_positives + self.false_negatives))


def _count_metric(cls_name, attribute):
    def __init__(self, thresholds=None, name=None, dtype=None):
        _ConfusionMetric.__init__(self, thresholds, name=name, dtype=dtype)

    def get_config(self):
        return {**Metric.get_config(self), "thresholds": self.init_thresholds}

    return type(cls_name, (_ConfusionMetric,), {
        "__init__": __init__, "get_config": get_config, "__module__": __name__, "__qualname__": cls_name,
        "result": lambda self: self._per_threshold(getattr(self, attribute).copy()),
        "__doc__": f"The weighted number of {attribute.replace('_', ' ')}, per threshold."})


TruePositives = _count_metric("TruePositives", "true_positives")
FalsePositives = _count_metric("FalsePositives", "false_positives")
TrueNegatives = _count_metric("TrueNegatives", "true_negatives")
FalseNegatives = _count_metric("FalseNegatives", "false_negatives")


class AUC(_ConfusionMetric):
    """Area under the ROC or precision-recall curve, from the confusion counts
    at `num_thresholds` thresholds spread evenly over [0, 1] (or at the given
    `thresholds`), plus one just below 0 and one just above 1, summed as Keras:
    "interpolation" (trapezoids for ROC; Davis & Goadrich's interpolation of
    the counts for PR), "minoring" or "majoring". Its thresholds are its own
    (no top_k or class_id)."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        Metric.__init__(self, name=name, dtype=dtype)
        self.curve = {"roc": "ROC", "pr": "PR"}.get(str(curve).lower())
        if self.curve is None:
            raise ValueError(f'{self.name}: invalid curve {curve!r}; expected "ROC" or "PR"')
        self.summation_method = str(summation_method).lower()
        if self.summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"{self.name}: invalid summation_method {summation_method!r}; expected 'interpolation', "
                             "'minoring' or 'majoring'")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_thresholds_list(thresholds, None, self.name))
            self._clip = _evenly_spaced([0.0] + inner + [1.0])
        else:
            if int(num_thresholds) <= 1:
                raise ValueError(f"{self.name}: num_thresholds must be an integer > 1, got {num_thresholds}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._clip = True
        self.num_thresholds = len(inner) + 2
        # the end thresholds sit just outside [0, 1] so predictions of exactly 0 or 1 fall inside
        self.thresholds = [-EPSILON] + inner + [1.0 + EPSILON]
        if num_labels and not multi_label:
            raise ValueError(f"{self.name}: num_labels is needed only when multi_label is True")
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        self._from_logits = from_logits
        self.reset_state()

    def _counts_shape(self):
        return (self.num_thresholds, self.num_labels) if self.multi_label and self.num_labels else self.num_thresholds

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _host(y_pred).astype(np.float64)
        if self._from_logits:
            y_pred = np.exp(-np.logaddexp(0.0, -y_pred))  # sigmoid
        if self.multi_label and not self.num_labels:  # the number of labels is known from the first batch
            if y_pred.ndim != 2:
                raise ValueError(f"{self.name}: multi_label needs y_pred of rank 2, got shape {y_pred.shape}")
            self.num_labels = y_pred.shape[1]
            self.reset_state()
        self._accumulate(_confusion_counts(
            y_true, y_pred, self.thresholds, sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights, clip=self._clip, name=self.name))

    def _interpolated_pr_auc(self):
        # Davis & Goadrich: between two thresholds tp and p = tp + fp vary linearly, so
        # precision = tp / p integrates in closed form (slope * (dtp + intercept * log(p_a / p_b)))
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return _div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)).sum(0)

    def result(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            areas = self._interpolated_pr_auc()
        else:
            recall = _div(tp, tp + fn)
            x, y = (_div(fp, fp + tn), recall) if self.curve == "ROC" else (recall, _div(tp, tp + fp))
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2
            elif self.summation_method == "minoring":
                heights = np.minimum(y[:-1], y[1:])
            else:
                heights = np.maximum(y[:-1], y[1:])
            areas = ((x[:-1] - x[1:]) * heights).sum(0)
        if not self.multi_label:
            return float(areas)
        if self.label_weights is None:
            return float(np.mean(areas))
        return float(_div(np.sum(areas * self.label_weights), np.sum(self.label_weights)))

    def get_config(self):
        config = {**Metric.get_config(self), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "from_logits": self._from_logits,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist()}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


# --- lookup -------------------------------------------------------------------------------

_CLASSES = [Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
            TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity,
            LogCoshError, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, Precision, Recall, AUC, TruePositives,
            FalsePositives, TrueNegatives, FalseNegatives]
# Keras' names: the class names, their snake_case and the short aliases
_TABLE = {cls.__name__: cls for cls in _CLASSES}
_TABLE.update({to_snake_case(cls.__name__): cls for cls in _CLASSES})
_TABLE.update(mse=MeanSquaredError, mae=MeanAbsoluteError, mape=MeanAbsolutePercentageError,
              msle=MeanSquaredLogarithmicError, bce=BinaryCrossentropy)

# Names whose metric depends on the shapes of targets and predictions (resolved at the first batch).
SHAPE_DEPENDENT = {"accuracy", "acc", "crossentropy", "ce"}


def get(identifier):
    """A Metric for a name, config dict, Metric class or instance, or a
    per-sample function (wrapped in MeanMetricWrapper); None stays None."""
    if callable(identifier) and not isinstance(identifier, (type, Metric)):
        return MeanMetricWrapper(identifier)
    return _registry.get(identifier, _TABLE, "metric")


def resolve(identifier, y_true, y_pred, loss=None):
    """The metric compile(metrics=[...]) means for this output, as Keras: a
    name becomes the metric's name; 'accuracy' / 'crossentropy' become their
    binary, sparse categorical or categorical form, from the shapes of y_true
    and y_pred (binary also when the loss is binary_crossentropy)."""
    if isinstance(identifier, str) and identifier.lower() in SHAPE_DEPENDENT:
        t_shape, p_shape = tuple(y_true.shape), tuple(y_pred.shape)
        binary = p_shape[-1:] == (1,) or getattr(loss, "name", None) == "binary_crossentropy"
        sparse = len(t_shape) < len(p_shape) or (t_shape[-1:] == (1,) and p_shape[-1:] != (1,))
        if identifier.lower() in ("accuracy", "acc"):
            family = BinaryAccuracy, SparseCategoricalAccuracy, CategoricalAccuracy
        else:
            family = BinaryCrossentropy, SparseCategoricalCrossentropy, CategoricalCrossentropy
        return family[0 if binary else 1 if sparse else 2](name=identifier)
    metric = get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


def serialize(metric):
    return _registry.serialize(metric, "keras.metrics")


def deserialize(config):
    return get(config)
