"""Losses with Keras' names, arguments and reduction.

A ``Loss`` object reduces per-sample losses with
``reduction="sum_over_batch_size"``: the weighted sum divided by the number
of elements, exactly as Keras. Cross-entropies on softmax/sigmoid outputs
use the fused, stable kernel on the logits those outputs remember."""
from . import _registry, nn, ops
from ._tensor import Tensor

EPSILON = 1e-7  # keras.config.epsilon()


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x if like is None or x.dtype == like.dtype or not like.dtype.is_floating or not x.dtype.is_floating \
            else ops.cast(x, like.dtype)
    return ops.convert_to_tensor(x, dtype=like.dtype if like is not None and like.dtype.is_floating else None)


def _float_targets(y_true, y_pred):
    y_pred = _t(y_pred)
    y_true = _t(y_true)
    if y_true.dtype != y_pred.dtype:
        y_true = ops.cast(y_true, y_pred.dtype)
    return y_true, y_pred


def _check_same_shape(y_true, y_pred, name):
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{name}: y_true and y_pred must have the same shape, got {tuple(y_true.shape)} and "
                         f"{tuple(y_pred.shape)}")


def _logits_of(y_pred, activation):
    logits = getattr(y_pred, "_logits", None)
    return logits[1] if logits is not None and logits[0] == activation else None


# --- loss functions: per-sample values ------------------------------------------------

def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _float_targets(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    logits = y_pred if from_logits else _logits_of(y_pred, "softmax")
    if logits is not None:
        return nn.softmax_cross_entropy_with_logits(y_true, logits, axis=axis)
    probs = y_pred / ops.reduce_sum(y_pred, axis, keepdims=True)
    probs = ops.clip_by_value(probs, EPSILON, 1.0 - EPSILON)
    return ops.negative(ops.reduce_sum(y_true * ops.log(probs), axis))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    y_pred = _t(y_pred)
    y_true = _t(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, -1)
    if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):
        raise ValueError(f"sparse_categorical_crossentropy: labels of shape {tuple(y_true.shape)} do not match "
                         f"predictions of shape {tuple(y_pred.shape)} (expected labels of shape "
                         f"{tuple(y_pred.shape[:-1])})")
    if not y_true.dtype.is_integer:
        y_true = ops.cast(y_true, "int64")
    logits = y_pred if from_logits else _logits_of(y_pred, "softmax")
    if logits is not None:
        return nn.sparse_softmax_cross_entropy_with_logits(y_true, logits)
    probs = ops.clip_by_value(y_pred / ops.reduce_sum(y_pred, -1, keepdims=True), EPSILON, 1.0 - EPSILON)
    onehot = ops.one_hot(y_true, y_pred.shape[-1], dtype=y_pred.dtype)
    return ops.negative(ops.reduce_sum(onehot * ops.log(probs), -1))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _float_targets(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logits = y_pred if from_logits else _logits_of(y_pred, "sigmoid")
    if logits is not None:
        per_element = nn.sigmoid_cross_entropy_with_logits(y_true, logits)
    else:
        p = ops.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
        per_element = ops.negative(y_true * ops.log(p + EPSILON) + (1.0 - y_true) * ops.log(1.0 - p + EPSILON))
    return ops.reduce_mean(per_element, axis)


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _float_targets(y_true, y_pred)
    return ops.reduce_mean(ops.squared_difference(y_pred, y_true), -1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _float_targets(y_true, y_pred)
    return ops.reduce_mean(ops.abs(y_pred - y_true), -1)


# --- Loss objects ------------------------------------------------------------------

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "none", None)


def reduce_weighted(values, sample_weight, reduction):
    """Applies sample weights (broadcast over trailing dims) and the reduction."""
    if sample_weight is not None:
        w = _t(sample_weight, values)
        while w.ndim > values.ndim and w.shape[-1] == 1:
            w = ops.squeeze(w, -1)
        while w.ndim < values.ndim:
            w = ops.expand_dims(w, -1)
        values = values * w
    if reduction in ("none", None):
        return values
    total = ops.reduce_sum(values)
    if reduction == "sum":
        return total
    n = values._t.size
    return total / float(max(n, 1))


class Loss:
    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"Invalid reduction {reduction!r}; expected one of {REDUCTIONS}")
        self.name = name or _registry_name(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        return reduce_weighted(self.call(y_true, y_pred), sample_weight, self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _registry_name(cls_name):
    from ._naming import to_snake_case

    return to_snake_case(cls_name)


class LossFunctionWrapper(Loss):
    """A Loss made of a per-sample function and its keyword arguments."""

    fn = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None, **fn_kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn_kwargs = fn_kwargs

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}


def _loss_class(name, fn, defaults, doc=""):
    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(unknown)}")
        LossFunctionWrapper.__init__(self, name=name or fn.__name__, reduction=reduction, dtype=dtype,
                                     **{**defaults, **kwargs})

    return type(name, (LossFunctionWrapper,), {"fn": staticmethod(fn), "__init__": __init__, "__doc__": doc})


CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", categorical_crossentropy,
                                      {"from_logits": False, "label_smoothing": 0.0, "axis": -1})
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                            {"from_logits": False, "ignore_class": None, "axis": -1})
BinaryCrossentropy = _loss_class("BinaryCrossentropy", binary_crossentropy,
                                 {"from_logits": False, "label_smoothing": 0.0, "axis": -1})
MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, {})
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, {})

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_TABLE = {c.__name__: c for c in [CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
                                   MeanSquaredError, MeanAbsoluteError]}
_FUNCTIONS = {"categorical_crossentropy": CategoricalCrossentropy,
              "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
              "binary_crossentropy": BinaryCrossentropy, "mean_squared_error": MeanSquaredError,
              "mse": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError}


def get(identifier):
    """A callable (y_true, y_pred, sample_weight=None) -> scalar loss."""
    if isinstance(identifier, str) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    if callable(identifier) and not isinstance(identifier, (type, Loss)):
        for name, cls in _FUNCTIONS.items():
            if globals().get(name) is identifier:
                return cls()
        return _FunctionLoss(identifier)
    return _registry.get(identifier, _TABLE, "loss")


class _FunctionLoss(Loss):
    """A user function (y_true, y_pred) -> per-sample losses, reduced as Keras."""

    def __init__(self, fn):
        super().__init__(name=getattr(fn, "__name__", "loss"))
        self.fn = fn

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred)


def serialize(loss):
    return _registry.serialize(loss, "keras.losses")
