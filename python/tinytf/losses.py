"""Losses with Keras 3's names, arguments, defaults and formulas.

A loss function maps ``(y_true, y_pred)`` to per-sample losses (the feature
axis reduced). A ``Loss`` object weights those by ``sample_weight`` and
reduces them; the default ``reduction="sum_over_batch_size"`` divides the
weighted sum by the number of per-sample values, as Keras does. Everything
is written with tinytf ops, so losses are differentiable under
``GradientTape`` in float32 and float64.

Cross-entropies run on logits, in one fused and stable kernel, when
``from_logits=True`` or when ``y_pred`` is a softmax/sigmoid output (such an
output remembers its logits). Otherwise they clip probabilities to
``[EPSILON, 1 - EPSILON]`` as Keras does."""
import inspect
import math
import warnings

import numpy as np

from . import _registry, nn, ops
from ._dtypes import as_dtype
from ._naming import to_snake_case
from ._tensor import Tensor

EPSILON = 1e-7  # keras.config.epsilon()


# --- argument handling shared by the loss functions ----------------------------------------

def _tensor(x, fn_name, what):
    if isinstance(x, Tensor):
        return x
    try:
        return ops.convert_to_tensor(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{fn_name}: {what} must be numeric ({e})") from None


def _same_rank(x1, x2, expand_rank_1=True):
    """Keras' squeeze_or_expand_to_same_rank, for tensors and numpy arrays:
    when the ranks differ by one and the longer operand ends in a size-1 axis,
    that axis is squeezed (or, with expand_rank_1, a rank-1 partner expanded)."""
    if x2.ndim == x1.ndim + 1:
        x2, x1 = _same_rank(x2, x1, expand_rank_1)
    elif x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    return x1, x2


def _float_pair(y_true, y_pred, fn_name):
    """y_pred as a float tensor (ints and bools become float32), y_true in its
    dtype, ranks aligned as Keras does; then both must have the same shape."""
    y_pred = _tensor(y_pred, fn_name, "y_pred")
    if not y_pred.dtype.is_floating:
        y_pred = ops.cast(y_pred, "float32")
    y_true = _tensor(y_true, fn_name, "y_true")
    if y_true.dtype != y_pred.dtype:
        y_true = ops.cast(y_true, y_pred.dtype)
    y_true, y_pred = _same_rank(y_true, y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{fn_name}: y_true and y_pred must have the same shape, got y_true {tuple(y_true.shape)} "
                         f"and y_pred {tuple(y_pred.shape)}")
    return y_true, y_pred


def _host(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def _smooth(y_true, label_smoothing, toward):
    return y_true * (1.0 - label_smoothing) + label_smoothing * toward if label_smoothing else y_true


def _check_axis(axis, fn_name):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{fn_name}: axis must be an int, got {axis!r}")


def _logits(y_pred, from_logits, activation, axis=-1):
    """The logits behind y_pred: y_pred itself with from_logits, else those a
    softmax (along the last axis) or sigmoid output remembers, else None."""
    if from_logits:
        return y_pred
    remembered = getattr(y_pred, "_logits", None)
    if remembered is not None and remembered[0] == activation and axis in (-1, y_pred.ndim - 1):
        return remembered[1]
    return None


def _probabilities(y_pred, axis):
    """Keras' guard on probability inputs: rescaled to sum to one, then clipped."""
    return ops.clip_by_value(y_pred / ops.reduce_sum(y_pred, axis, keepdims=True), EPSILON, 1.0 - EPSILON)


def _focal_factor(wrong, gamma):
    # gamma == 0 is plain cross-entropy; skipping pow keeps the gradient finite where wrong == 0
    return ops.pow(wrong, float(gamma)) if gamma else 1.0


# --- cross-entropies ------------------------------------------------------------------------

def _categorical_pair(y_true, y_pred, fn_name, label_smoothing, axis):
    _check_axis(axis, fn_name)
    y_true, y_pred = _float_pair(y_true, y_pred, fn_name)
    if y_pred.shape[axis] == 1:
        warnings.warn(f"{fn_name}: y_pred has a single class along axis {axis} (shape {tuple(y_pred.shape)}), so the "
                      "loss is always 0; use binary_crossentropy for two classes", SyntaxWarning, stacklevel=3)
    return _smooth(y_true, label_smoothing, 1.0 / y_pred.shape[axis]), y_pred


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(p)) along `axis`, with one-hot (or soft) targets."""
    y_true, y_pred = _categorical_pair(y_true, y_pred, "categorical_crossentropy", label_smoothing, axis)
    logits = _logits(y_pred, from_logits, "softmax", axis)
    if logits is not None:
        return nn.softmax_cross_entropy_with_logits(y_true, logits, axis=axis)
    return -ops.reduce_sum(y_true * ops.log(_probabilities(y_pred, axis)), axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """-sum(alpha * (1 - p)**gamma * y_true * log(p)) along `axis`; alpha is a
    number or one weight per class."""
    y_true, y_pred = _categorical_pair(y_true, y_pred, "categorical_focal_crossentropy", label_smoothing, axis)
    logits = _logits(y_pred, from_logits, "softmax", axis)
    if logits is not None:  # log-probabilities straight from the logits stay finite for any logit
        log_p = nn.log_softmax(logits, axis)
        p = ops.exp(log_p)
    else:
        p = _probabilities(y_pred, axis)
        log_p = ops.log(p)
    if np.ndim(alpha):  # one alpha per class, laid along `axis`
        shape = [1] * y_pred.ndim
        shape[axis] = -1
        alpha = ops.convert_to_tensor(np.asarray(alpha, dtype=y_pred.dtype.dtype).reshape(shape))
    return -ops.reduce_sum(_focal_factor(1.0 - p, gamma) * alpha * y_true * log_p, axis)


def _sparse_labels(y_true, y_pred, ignore_class, fn_name):
    """Integer class ids of y_pred's shape without its last axis (a trailing
    size-1 axis is dropped), checked against its number of classes, and the
    mask of those not equal to ignore_class (None without ignore_class)."""
    labels = _host(y_true)
    if labels.dtype.kind not in "biuf":
        raise TypeError(f"{fn_name}: labels must be integer class ids, got {labels.dtype} values")
    pred_shape = tuple(y_pred.shape)
    if labels.ndim == len(pred_shape) and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != pred_shape[:-1]:
        raise ValueError(f"{fn_name}: labels of shape {labels.shape} do not match y_pred of shape {pred_shape} "
                         f"(expected labels of shape {pred_shape[:-1]} or {pred_shape[:-1] + (1,)})")
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.floor(labels)):
        raise ValueError(f"{fn_name}: labels must be integer class ids, got non-integer values")
    valid = None if ignore_class is None else labels != ignore_class
    checked = labels if valid is None else labels[valid]
    n = pred_shape[-1]
    if checked.size and (checked.min() < 0 or checked.max() >= n):
        bad = checked[(checked < 0) | (checked >= n)].flat[0]
        raise IndexError(f"{fn_name}: label {bad} is outside the valid range [0, {n}) of y_pred with shape "
                         f"{pred_shape}")
    if valid is not None:
        labels = np.where(valid, labels, 0)
    elif isinstance(y_true, Tensor) and y_true.dtype.is_integer and labels.shape == tuple(y_true.shape):
        return y_true, None  # the labels as given, no copy
    return ops.convert_to_tensor(labels if labels.dtype in (np.int32, np.int64) else labels.astype(np.int64)), valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """-log(p[label]) with integer labels; labels equal to ignore_class give 0."""
    fn_name = "sparse_categorical_crossentropy"
    _check_axis(axis, fn_name)
    y_pred = _tensor(y_pred, fn_name, "y_pred")
    if not y_pred.dtype.is_floating:
        y_pred = ops.cast(y_pred, "float32")
    axis %= max(y_pred.ndim, 1)
    if axis != y_pred.ndim - 1:  # the kernels take the classes on the last axis
        y_pred = ops.transpose(y_pred, [d for d in range(y_pred.ndim) if d != axis] + [axis])
    labels, valid = _sparse_labels(y_true, y_pred, ignore_class, fn_name)
    logits = _logits(y_pred, from_logits, "softmax")
    if logits is not None:
        losses = nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    else:
        onehot = ops.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
        losses = -ops.reduce_sum(onehot * ops.log(_probabilities(y_pred, -1)), -1)
    return losses if valid is None else ops.where(ops.convert_to_tensor(valid), losses, 0.0)


def _binary_pair(y_true, y_pred, fn_name, label_smoothing):
    y_true, y_pred = _float_pair(y_true, y_pred, fn_name)
    return _smooth(y_true, label_smoothing, 0.5), y_pred


def _binary_xent(y_true, y_pred, logits):
    """Elementwise binary cross-entropy: fused on logits, else Keras' clipped
    form (its TensorFlow backend's, epsilon inside the logs)."""
    if logits is not None:
        return nn.sigmoid_cross_entropy_with_logits(y_true, logits)
    p = ops.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * ops.log(p + EPSILON) + (1.0 - y_true) * ops.log(1.0 - p + EPSILON))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean(-(y log p + (1 - y) log(1 - p))) along `axis`."""
    y_true, y_pred = _binary_pair(y_true, y_pred, "binary_crossentropy", label_smoothing)
    return ops.reduce_mean(_binary_xent(y_true, y_pred, _logits(y_pred, from_logits, "sigmoid")), axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    """mean((1 - p_t)**gamma * bce) along `axis`, times alpha for class 1 and
    1 - alpha for class 0 with apply_class_balancing."""
    y_true, y_pred = _binary_pair(y_true, y_pred, "binary_focal_crossentropy", label_smoothing)
    logits = _logits(y_pred, from_logits, "sigmoid")
    # 1 - p_t = y (1 - p) + (1 - y) p: the probability given to the wrong class;
    # on logits 1 - p is sigmoid(-x), exact where p rounds to 1
    p, q = (nn.sigmoid(logits), nn.sigmoid(-logits)) if logits is not None else (y_pred, 1.0 - y_pred)
    focal = _focal_factor(y_true * q + (1.0 - y_true) * p, gamma) * _binary_xent(y_true, y_pred, logits)
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.reduce_mean(focal, axis)


# --- regression, hinge and probabilistic losses ---------------------------------------------

def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _float_pair(y_true, y_pred, "mean_squared_error")
    return ops.reduce_mean(ops.squared_difference(y_pred, y_true), -1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _float_pair(y_true, y_pred, "mean_absolute_error")
    return ops.reduce_mean(ops.abs(y_pred - y_true), -1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, epsilon))."""
    y_true, y_pred = _float_pair(y_true, y_pred, "mean_absolute_percentage_error")
    return 100.0 * ops.reduce_mean(ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), EPSILON)), -1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps)))**2)."""
    y_true, y_pred = _float_pair(y_true, y_pred, "mean_squared_logarithmic_error")
    diff = ops.log1p(ops.maximum(y_pred, EPSILON)) - ops.log1p(ops.maximum(y_true, EPSILON))
    return ops.reduce_mean(ops.square(diff), -1)


def huber(y_true, y_pred, delta=1.0):
    """mean of 0.5 e**2 where |e| <= delta, else delta (|e| - 0.5 delta), e = y_pred - y_true."""
    y_true, y_pred = _float_pair(y_true, y_pred, "huber")
    error = y_pred - y_true
    abs_error = ops.abs(error)
    return ops.reduce_mean(ops.where(abs_error <= delta, 0.5 * ops.square(error),
                                     delta * abs_error - 0.5 * delta * delta), -1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)))."""
    y_true, y_pred = _float_pair(y_true, y_pred, "log_cosh")
    x = y_pred - y_true
    # log(cosh(x)) = x + log(1 + exp(-2x)) - log(2), finite for any x
    return ops.reduce_mean(x + nn.softplus(-2.0 * x) - math.log(2.0), -1)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)), both clipped to [epsilon, 1]."""
    y_true, y_pred = _float_pair(y_true, y_pred, "kl_divergence")
    y_true = ops.clip_by_value(y_true, EPSILON, 1.0)
    y_pred = ops.clip_by_value(y_pred, EPSILON, 1.0)
    return ops.reduce_sum(y_true * ops.log(y_true / y_pred), -1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon))."""
    y_true, y_pred = _float_pair(y_true, y_pred, "poisson")
    return ops.reduce_mean(y_pred - y_true * ops.log(y_pred + EPSILON), -1)


def _hinge_margin(y_true, y_pred, fn_name):
    """max(1 - y_true * y_pred, 0); labels all in {0, 1} are mapped to {-1, 1}."""
    y_true, y_pred = _float_pair(y_true, y_pred, fn_name)
    if np.isin(_host(y_true), (0.0, 1.0)).all():
        y_true = 2.0 * y_true - 1.0
    return ops.maximum(1.0 - y_true * y_pred, 0.0)


def hinge(y_true, y_pred):
    return ops.reduce_mean(_hinge_margin(y_true, y_pred, "hinge"), -1)


def squared_hinge(y_true, y_pred):
    return ops.reduce_mean(ops.square(_hinge_margin(y_true, y_pred, "squared_hinge")), -1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)."""
    y_true, y_pred = _float_pair(y_true, y_pred, "categorical_hinge")
    pos = ops.reduce_sum(y_true * y_pred, -1)
    neg = ops.reduce_max((1.0 - y_true) * y_pred, -1)
    return ops.maximum(neg - pos + 1.0, 0.0)


def _l2_normalize(x, axis):
    # x / max(|x|, epsilon), as keras.ops.normalize; the bound sits under the
    # square root so a zero vector gets a zero (not NaN) gradient
    return x * ops.rsqrt(ops.maximum(ops.reduce_sum(ops.square(x), axis, keepdims=True), EPSILON * EPSILON))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis`: -1 for
    parallel vectors, 0 for orthogonal ones or a zero vector."""
    y_true, y_pred = _float_pair(y_true, y_pred, "cosine_similarity")
    return -ops.reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence


# --- Loss objects -------------------------------------------------------------------------

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _aligned_weights(sample_weight, values, name, what="the per-sample losses"):
    """Sample weights as a host array that broadcasts against `values` from
    the leading axis: rank-1 weights weight every value of a sample."""
    w = _host(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{name}: sample_weight must be numeric, got {w.dtype} values")
    shape = tuple(values.shape)
    aligned = w
    while aligned.ndim > len(shape) and aligned.shape[-1] == 1:
        aligned = aligned[..., 0]
    aligned = aligned.reshape(aligned.shape + (1,) * (len(shape) - aligned.ndim))
    if aligned.ndim != len(shape) or any(a not in (1, b) for a, b in zip(aligned.shape, shape)):
        raise ValueError(f"{name}: sample_weight of shape {w.shape} does not match {what} of shape {shape}")
    return aligned


def reduce_weighted(values, sample_weight=None, reduction="sum_over_batch_size", mask=None, name="loss"):
    """Weights per-sample losses and reduces them as Keras: "sum";
    "sum_over_batch_size" and "mean" divide the weighted sum by the number of
    values; "mean_with_sample_weight" by the sum of the weights; "none"/None
    return the weighted values. `mask` (a host bool array of the values'
    shape) drops values: the mean reductions then average the others only."""
    w = None if sample_weight is None else _aligned_weights(sample_weight, values, name)
    if mask is not None:
        m = mask.astype(np.float64)
        valid = m.sum()
        if reduction in ("sum_over_batch_size", "mean") and valid:
            m *= m.size / valid
        w = m if w is None else w * m
    if w is not None:
        values = values * ops.convert_to_tensor(w.astype(values.dtype.dtype, copy=False))
    if reduction in ("none", None):
        return values
    if reduction in ("sum_over_batch_size", "mean") and values._t.size:
        return ops.reduce_mean(values)
    total = ops.reduce_sum(values)
    if reduction == "sum":
        return total
    divisor = w.sum() if reduction == "mean_with_sample_weight" and w is not None else values._t.size
    return total / float(divisor) if divisor else total * 0.0


class Loss:
    """Base class of losses: subclasses implement call(y_true, y_pred) ->
    per-sample losses; calling the loss weights and reduces them."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: invalid reduction {reduction!r}; expected one of {REDUCTIONS}")
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = None if dtype is None else as_dtype(dtype).name  # None: compute in y_pred's dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def _mask(self, y_true, y_pred):
        """The per-sample losses that count (a host bool array), or None for all."""
        return None

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.dtype is not None:
            y_pred = ops.cast(_tensor(y_pred, self.name, "y_pred"), self.dtype)
        return reduce_weighted(self.call(y_true, y_pred), sample_weight, self.reduction,
                               self._mask(y_true, y_pred), self.name)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """The Loss of a per-sample function fn(y_true, y_pred, **kwargs)."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = _same_rank(_tensor(y_true, self.name, "y_true"), _tensor(y_pred, self.name, "y_pred"))
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self.fn_kwargs}


def _wrapper_class(base, cls_name, fn, **params):
    """A subclass of `base` (LossFunctionWrapper or metrics.MeanMetricWrapper)
    computing `fn`. Its constructor takes `params` in Keras' order with Keras'
    defaults; those that `base` does not take are passed on to `fn`."""
    P = inspect.Parameter
    signature = inspect.Signature([P(k, P.POSITIONAL_OR_KEYWORD, default=v) for k, v in params.items()])
    base_keys = [k for k in inspect.signature(base.__init__).parameters if k in params]

    def __init__(self, *args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{cls_name}: {e}") from None
        bound.apply_defaults()
        fn_kwargs = dict(bound.arguments)
        base.__init__(self, fn, **{k: fn_kwargs.pop(k) for k in base_keys}, **fn_kwargs)

    __init__.__signature__ = signature.replace(parameters=[P("self", P.POSITIONAL_OR_KEYWORD),
                                                           *signature.parameters.values()])
    return type(cls_name, (base,), {"__init__": __init__, "__module__": base.__module__, "__qualname__": cls_name,
                                    "__doc__": f"`{fn.__name__}` wrapped in {base.__name__}. {fn.__doc__ or ''}"})


def _loss_class(cls_name, fn, name, **fn_params):
    return _wrapper_class(LossFunctionWrapper, cls_name, fn, **fn_params, reduction="sum_over_batch_size",
                          name=name, dtype=None)


MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                          "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                          "mean_squared_logarithmic_error")
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)
Huber = _loss_class("Huber", huber, "huber_loss", delta=1.0)
LogCosh = _loss_class("LogCosh", log_cosh, "log_cosh")
Hinge = _loss_class("Hinge", hinge, "hinge")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
KLDivergence = _loss_class("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _loss_class("Poisson", poisson, "poisson")
BinaryCrossentropy = _loss_class("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                                 from_logits=False, label_smoothing=0.0, axis=-1)
BinaryFocalCrossentropy = _loss_class("BinaryFocalCrossentropy", binary_focal_crossentropy,
                                      "binary_focal_crossentropy", apply_class_balancing=False, alpha=0.25,
                                      gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
                                      from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalFocalCrossentropy = _loss_class("CategoricalFocalCrossentropy", categorical_focal_crossentropy,
                                           "categorical_focal_crossentropy", alpha=0.25, gamma=2.0,
                                           from_logits=False, label_smoothing=0.0, axis=-1)


class SparseCategoricalCrossentropy(_loss_class("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                                "sparse_categorical_crossentropy", from_logits=False,
                                                ignore_class=None)):
    """sparse_categorical_crossentropy as a Loss; with ignore_class, the mean
    reductions average over the labels that are not ignored (Keras' loss mask)."""

    def _mask(self, y_true, y_pred):
        ignore_class = self.fn_kwargs["ignore_class"]
        if ignore_class is None:
            return None
        return _sparse_labels(y_true, _tensor(y_pred, self.name, "y_pred"), ignore_class, self.name)[1]


_CLASSES = [MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
            CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
            BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
            SparseCategoricalCrossentropy]
# Keras' names: the class names, the function names (each meaning its class) and the short aliases
_TABLE = {cls.__name__: cls for cls in _CLASSES}
_TABLE.update({cls().fn.__name__: cls for cls in _CLASSES})
_TABLE.update(mse=MeanSquaredError, mae=MeanAbsoluteError, mape=MeanAbsolutePercentageError,
              msle=MeanSquaredLogarithmicError, kld=KLDivergence, bce=BinaryCrossentropy)


def get(identifier):
    """A Loss for a name, config dict, Loss class or instance, or a function
    (wrapped as Keras' compile does); None stays None."""
    if callable(identifier) and not isinstance(identifier, (type, Loss)):
        return LossFunctionWrapper(identifier)
    return _registry.get(identifier, _TABLE, "loss")


def serialize(loss):
    return _registry.serialize(loss, "keras.losses")


def deserialize(config):
    return get(config)


def fused_softmax_labels(loss, softmax_output):
    """"sparse" or "one_hot" when `loss` is a plain softmax cross-entropy of a
    model's output (its probabilities when `softmax_output`, else its logits)
    that a fused Dense-stack step computes exactly, else None."""
    kind = {categorical_crossentropy: "one_hot", sparse_categorical_crossentropy: "sparse"}.get(getattr(loss, "fn", None))
    if kind is None or type(loss) not in (LossFunctionWrapper, CategoricalCrossentropy, SparseCategoricalCrossentropy):
        return None
    kw = dict(loss.fn_kwargs)
    plain = (loss.reduction == "sum_over_batch_size" and loss.dtype is None and
             bool(kw.pop("from_logits", False)) != softmax_output and not kw.pop("label_smoothing", 0.0) and
             kw.pop("axis", -1) == -1 and kw.pop("ignore_class", None) is None and not kw)
    return kind if plain else None
