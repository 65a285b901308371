"""Stateful metrics with Keras' names: ``update_state`` / ``result`` /
``reset_state``. State is kept in float64 on the host; batch values are
computed with numpy on zero-copy views of the tensors."""
import numpy as np

from . import _registry
from ._tensor import Tensor


def _np(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def _weights(sample_weight, values):
    if sample_weight is None:
        return None
    w = _np(sample_weight).astype(np.float64)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = w[..., 0]
    while w.ndim < values.ndim:
        w = w[..., None]
    return np.broadcast_to(w, values.shape)


class Metric:
    def __init__(self, name=None, dtype=None):
        from ._naming import to_snake_case

        self.name = name or to_snake_case(type(self).__name__)
        self.reset_state()

    def reset_state(self):
        pass

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """Weighted mean of the values seen."""

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None):
        if isinstance(values, (int, float)) and not isinstance(sample_weight, (np.ndarray, Tensor)):
            w = 1.0 if sample_weight is None else float(sample_weight)
            self.total += float(values) * w
            self.count += w
            return
        v = _np(values).astype(np.float64)
        w = _weights(sample_weight, v)
        self.total += float(v.sum() if w is None else (v * w).sum())
        self.count += float(v.size if w is None else w.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(Metric):
    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        v = _np(values).astype(np.float64)
        w = _weights(sample_weight, v)
        self.total += float(v.sum() if w is None else (v * w).sum())

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """The weighted mean of a per-sample function fn(y_true, y_pred, **kwargs)."""

    fn = None

    def __init__(self, name=None, dtype=None, **fn_kwargs):
        self.fn_kwargs = fn_kwargs
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(type(self).fn(_np(y_true), _np(y_pred), **self.fn_kwargs), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}


# --- per-sample functions (numpy) -------------------------------------------------

def _squeeze_labels(y_true, y_pred):
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1 and y_pred.shape[-1] != 1:
        y_true = y_true[..., 0]
    return y_true


def accuracy(y_true, y_pred):
    return (np.asarray(y_true) == np.asarray(y_pred)).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return ((np.asarray(y_pred) > threshold) == (np.asarray(y_true) > 0.5)).mean(-1)


def categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true = _squeeze_labels(y_true, y_pred)
    return (y_true.astype(np.int64) == np.argmax(y_pred, -1)).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(np.argmax(y_true, -1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(_squeeze_labels(y_true, y_pred).astype(np.int64), y_pred, k)


def _in_top_k(labels, y_pred, k):
    # a label is in the top k when fewer than k classes score strictly higher (TF's in_top_k)
    target = np.take_along_axis(y_pred, labels[..., None], -1)
    return ((y_pred > target).sum(-1) < k).astype(np.float64)


def _wrapper(name, fn, defaults=None):
    defaults = defaults or {}

    def __init__(self, name=None, dtype=None, **kwargs):
        MeanMetricWrapper.__init__(self, name=name or _default_name, dtype=dtype, **{**defaults, **kwargs})

    _default_name = fn.__name__
    return type(name, (MeanMetricWrapper,), {"fn": staticmethod(fn), "__init__": __init__})


Accuracy = _wrapper("Accuracy", accuracy)
BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, {"threshold": 0.5})
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy)
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", sparse_categorical_accuracy)
TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy, {"k": 5})
SparseTopKCategoricalAccuracy = _wrapper("SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy, {"k": 5})

_TABLE = {c.__name__: c for c in [Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                                   TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy]}
_TABLE.update(binary_accuracy=BinaryAccuracy, categorical_accuracy=CategoricalAccuracy,
              sparse_categorical_accuracy=SparseCategoricalAccuracy, top_k_categorical_accuracy=TopKCategoricalAccuracy,
              sparse_top_k_categorical_accuracy=SparseTopKCategoricalAccuracy)

# Names whose metric depends on the shapes of targets and predictions (resolved at the first batch).
SHAPE_DEPENDENT = {"accuracy", "acc", "crossentropy", "ce"}


def get(identifier):
    if isinstance(identifier, Metric):
        return identifier
    return _registry.get(identifier, _TABLE, "metric")


def resolve(identifier, y_true, y_pred, loss=None):
    """The metric compile(metrics=[...]) means for this output, as Keras:
    'accuracy' becomes binary, sparse categorical or categorical accuracy
    from the shapes of y_true and y_pred."""
    if isinstance(identifier, str) and identifier in SHAPE_DEPENDENT:
        t_shape, p_shape = tuple(y_true.shape), tuple(y_pred.shape)
        binary = p_shape[-1:] == (1,) or (loss is not None and getattr(loss, "name", "") == "binary_crossentropy")
        sparse = len(t_shape) < len(p_shape) or (t_shape[-1:] == (1,) and p_shape[-1:] != (1,))
        if identifier in ("accuracy", "acc"):
            cls = BinaryAccuracy if binary else SparseCategoricalAccuracy if sparse else CategoricalAccuracy
        else:
            from . import losses

            fn = losses.binary_crossentropy if binary else (
                losses.sparse_categorical_crossentropy if sparse else losses.categorical_crossentropy)
            return _LossMetric(fn, identifier)
        return cls(name=identifier)
    if isinstance(identifier, Metric):
        return identifier
    if callable(identifier) and not isinstance(identifier, type):
        return _FunctionMetric(identifier)
    return get(identifier)


class _LossMetric(Mean):
    """The mean of a loss function (tinytf ops) over the samples seen."""

    def __init__(self, fn, name):
        self.fn = fn
        super().__init__(name=name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self.fn(y_true, y_pred), sample_weight)


class _FunctionMetric(Mean):
    def __init__(self, fn):
        self.fn = fn
        super().__init__(name=getattr(fn, "__name__", "metric"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self.fn(y_true, y_pred), sample_weight)


def serialize(metric):
    return _registry.serialize(metric, "keras.metrics")
