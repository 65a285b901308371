"""Neural-network ops (``tinytf.nn``): activations, bias_add, the fused
Dense and Conv2D ops the layers use, normalisation, losses, pooling."""
import numpy as np

from ._base import (Tensor, _core, _wrap, active, as_tensor, binary_args, float_only, normalize_axis, record, recording,
                    register_nn)
from .array_ops import expand_dims
from .math_ops import _activation, exp, reduce_mean, reduce_sum, rsqrt, square

U = _core.Unary

relu = register_nn(_activation("relu", U.relu))
relu6 = register_nn(_activation("relu6", U.relu6))
leaky_relu = register_nn(_activation("leaky_relu", U.leaky_relu, alpha_arg="alpha", alpha_default=0.2))
elu = register_nn(_activation("elu", U.elu, alpha_arg="alpha", alpha_default=1.0))
selu = register_nn(_activation("selu", U.selu))
_sigmoid = _activation("sigmoid", U.sigmoid)
tanh = register_nn(_activation("tanh", U.tanh))
softplus = register_nn(_activation("softplus", U.softplus))
softsign = register_nn(_activation("softsign", U.softsign))
_gelu_exact = _activation("gelu", U.gelu)
_gelu_tanh = _activation("gelu", U.gelu_tanh)
_silu = _activation("silu", U.silu)


@register_nn
def gelu(features, approximate=False, name=None):
    return (_gelu_tanh if approximate else _gelu_exact)(features)


@register_nn
def silu(features, beta=1.0, name=None):
    if beta == 1.0:
        return _silu(features)
    x = as_tensor(features)
    return x * sigmoid(x * beta)


swish = silu


@register_nn
def bias_add(value, bias, data_format=None, name=None):
    """value + bias along the last axis (channels last)."""
    x, b = binary_args(value, bias, "bias_add")
    if b.ndim != 1 or x.ndim < 1 or x.shape[-1] != b.shape[0]:
        raise ValueError(f"bias_add: bias of shape {tuple(b.shape)} does not match the last dimension of value "
                         f"{tuple(x.shape)}")
    return x + b


@register_nn
def l2_loss(t, name=None):
    """sum(t ** 2) / 2, as tf.nn.l2_loss."""
    return reduce_sum(square(t)) * 0.5


@register_nn
def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) over `axes`; the variance is the biased one, as TF."""
    x = as_tensor(x)
    float_only(x, "moments")
    axes = normalize_axis(axes, x.ndim, "moments")
    mean = reduce_mean(x, axes, keepdims=True)
    variance = reduce_mean(square(x - mean), axes, keepdims=True)
    if not keepdims:
        from .array_ops import squeeze

        mean, variance = squeeze(mean, axes), squeeze(variance, axes)
    return mean, variance


@register_nn
def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) / sqrt(variance + eps) * scale + offset, as tf.nn.batch_normalization."""
    inv = rsqrt(variance + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    y = (x - mean) * inv
    return y + offset if offset is not None else y


# --- the fused Dense op (layers call it; not part of tf.nn) -------------------------

_ACTS = {None: _core.Act.none, "linear": _core.Act.none, "relu": _core.Act.relu, "relu6": _core.Act.relu6,
         "sigmoid": _core.Act.sigmoid, "tanh": _core.Act.tanh}


def dense(x, kernel, bias=None, activation=None):
    """activation(x @ kernel + bias) in one C++ pass; `activation` is one of
    the names the GEMM epilogue fuses (None, relu, relu6, sigmoid, tanh) or
    softmax over the last axis (one call without a tape, two ops under one)."""
    if activation == "softmax":
        if active():
            return softmax(dense(x, kernel, bias))
        z, y = _core.dense_softmax(x._t, kernel._t, None if bias is None else bias._t)
        return _remember_logits(_wrap(y), "softmax", _wrap(z))
    act = _ACTS[activation]
    y = _wrap(_core.dense(x._t, kernel._t, None if bias is None else bias._t, act))
    if active():
        inputs = (x, kernel) if bias is None else (x, kernel, bias)

        def backward(dy, needs):
            dx, dw, db = _core.dense_backward(x._t, kernel._t, y._t, dy._t, act, needs[0], bias is not None and needs[2])
            grads = (None if dx is None else _wrap(dx), _wrap(dw))
            return grads if bias is None else grads + (None if db is None else _wrap(db),)

        record(inputs, y, backward)
    return y


class DenseChain:
    """Inference through Dense layers in one C++ call, set up once: `layers`
    holds (kernel, bias or None, activation) per layer, activations as in
    `dense`, softmax only last. It holds the variables' memory, which their
    updates (assign, optimizers) change in place. Records nothing: not for use
    under a gradient tape."""

    def __init__(self, layers):
        self.softmax = layers[-1][2] == "softmax"
        self._run = _core.DenseChain([k._t for k, _, _ in layers], [None if b is None else b._t for _, b, _ in layers],
                                     [_ACTS[None if a == "softmax" else a] for _, _, a in layers], self.softmax)

    def __call__(self, x):
        return self._outputs(self._run(x._t))

    def call_array(self, x):
        """The same for a numpy array read in place, without making a tensor of it
        first (one-sample inference: 30% less time); None unless it is
        C-contiguous with the weights' dtype."""
        out = self._run.call_array(x)
        return None if out is None else self._outputs(out)

    def _outputs(self, out):
        return _remember_logits(_wrap(out[1]), "softmax", _wrap(out[0])) if self.softmax else _wrap(out)

    def gradients(self, x, labels, weights=None):
        """A training step's forward, softmax cross-entropy (on the last
        layer's logits; labels: class ids [M] or targets [M, C]; weights [M] or
        None; Keras' sum_over_batch_size) and backward in one C++ call:
        (loss as a float, probabilities, gradients of each kernel and bias)."""
        loss, probs, grads = self._run.gradients(x._t, labels._t, None if weights is None else weights._t)
        return loss, _wrap(probs), [_wrap(g) for g in grads]


# --- softmax and cross-entropies ---------------------------------------------------------

def _remember_logits(y, kind, logits):
    y._logits = (kind, logits)
    return y


@register_nn
def softmax(logits, axis=-1, name=None):
    x = as_tensor(logits)
    float_only(x, "softmax")
    y = _wrap(_core.softmax(x._t, int(axis)))
    if active():
        def backward(dy, needs):
            if recording():  # dx = y * (dy - sum(dy * y))
                return (y * (dy - reduce_sum(dy * y, axis, keepdims=True)),)
            return (_wrap(_core.softmax_backward(y._t, dy._t, int(axis))),)

        record((x,), y, backward)
    return _remember_logits(y, "softmax", x) if axis in (-1, x.ndim - 1) else y


@register_nn
def log_softmax(logits, axis=-1, name=None):
    x = as_tensor(logits)
    float_only(x, "log_softmax")
    y = _wrap(_core.log_softmax(x._t, int(axis)))
    if active():
        def backward(dy, needs):
            if recording():  # dx = dy - exp(y) * sum(dy)
                return (dy - exp(y) * reduce_sum(dy, axis, keepdims=True),)
            return (_wrap(_core.log_softmax_backward(y._t, dy._t, int(axis))),)

        record((x,), y, backward)
    return y


def _xent_backward(logits, labels, dlogits, axis, label_grad):
    """Backward of a fused cross-entropy: dlogits (per unit loss) scaled by the
    incoming per-sample gradient."""
    def backward(dl, needs):
        if recording():
            g = expand_dims(dl, axis) if dl.ndim < logits.ndim else dl
            g_logits = label_grad[0]() * g
        else:  # straight on the core (every training step): as expand_dims and multiply, ~8 us less
            shape = list(dl.shape)
            if dl.ndim < logits.ndim:
                shape.insert(axis % logits.ndim, 1)
            g = _wrap(dl._t.reshape(shape))
            g_logits = _wrap(_core.binary(_core.Binary.multiply, dlogits, g._t))
        g_labels = label_grad[1]() * g if needs[0] and label_grad[1] is not None else None
        return g_labels, g_logits

    return backward


@register_nn
def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """-sum(labels * log_softmax(logits)) along `axis`, in one stable pass."""
    x = as_tensor(logits)
    float_only(x, "softmax_cross_entropy_with_logits")
    z = as_tensor(labels, dtype=x.dtype)
    if tuple(z.shape) != tuple(x.shape):
        raise ValueError(f"softmax_cross_entropy_with_logits: labels shape {tuple(z.shape)} differs from logits "
                         f"shape {tuple(x.shape)}")
    loss, dlogits = _core.softmax_cross_entropy(x._t, z._t, int(axis))
    out = _wrap(loss)
    if active():
        composite = (lambda: softmax(x, axis) * reduce_sum(z, axis, keepdims=True) - z,
                     lambda: -log_softmax(x, axis))
        record((z, x), out, _xent_backward(x, z, dlogits, axis, composite))
    return out


@register_nn
def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """-log_softmax(logits)[label] with integer labels of logits' shape minus the last axis."""
    x = as_tensor(logits)
    float_only(x, "sparse_softmax_cross_entropy_with_logits")
    z = as_tensor(labels)
    if not z.dtype.is_integer:
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels must be int32 or int64, got {z.dtype.name}")
    if z.dtype == "uint8":
        z = _wrap(z._t.to(_core.DType.int32))
    if tuple(z.shape) != tuple(x.shape[:-1]):
        raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels shape {tuple(z.shape)} must equal "
                         f"logits shape without the last axis {tuple(x.shape[:-1])}")
    loss, dlogits = _core.sparse_softmax_cross_entropy(x._t, z._t)
    out = _wrap(loss)
    if active():
        from .array_ops import one_hot

        composite = (lambda: softmax(x) - one_hot(z, x.shape[-1], dtype=x.dtype), None)
        record((z, x), out, _xent_backward(x, z, dlogits, -1, composite))
    return out


@register_nn
def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """max(x, 0) - x * z + log(1 + exp(-|x|)) elementwise (stable for any logits)."""
    x = as_tensor(logits)
    float_only(x, "sigmoid_cross_entropy_with_logits")
    z = as_tensor(labels, dtype=x.dtype)
    if tuple(z.shape) != tuple(x.shape):
        raise ValueError(f"sigmoid_cross_entropy_with_logits: labels shape {tuple(z.shape)} differs from logits "
                         f"shape {tuple(x.shape)}")
    loss, dlogits = _core.sigmoid_cross_entropy(x._t, z._t)
    out = _wrap(loss)
    if active():
        composite = (lambda: sigmoid(x) - z, lambda: -x)
        record((z, x), out, _xent_backward(x, z, dlogits, -1, composite))
    return out


@register_nn
def sigmoid(x, name=None):
    """1 / (1 + exp(-x)); the output remembers x for binary cross-entropy."""
    x = as_tensor(x)
    return _remember_logits(_sigmoid(x), "sigmoid", x)


# --- dropout --------------------------------------------------------------------------------

@register_nn
def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zeroes each element with probability `rate`, scales the rest by 1/(1-rate)."""
    from .. import random as _random
    from .._tensor import ones

    x = as_tensor(x)
    float_only(x, "dropout")
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if noise_shape is not None:
        mask = dropout(ones(noise_shape, x.dtype), rate, seed=seed)
        return x * mask
    key, pos = _random._draw(x._t.size, seed)
    if not active():
        return _wrap(_core.dropout(x._t, rate, key, pos))
    # y = x * factors: the gradient is dy * factors (drawing the mask again costs more)
    y, factors = map(_wrap, _core.dropout_with_factors(x._t, rate, key, pos))
    record((x,), y, lambda dy, needs: (dy * factors,))
    return y


# --- fused normalisation ops the layers use ------------------------------------------------

def batch_norm_train(x, gamma, beta, epsilon):
    """(y, batch mean, batch variance) over all axes but the last, as one kernel."""
    y_t, mean_t, var_t = _core.batch_norm_train(x._t, None if gamma is None else gamma._t,
                                                None if beta is None else beta._t, float(epsilon))
    y, mean, var = _wrap(y_t), _wrap(mean_t), _wrap(var_t)
    if active():
        inputs = tuple(t for t in (x, gamma, beta) if t is not None)

        def backward(dy, needs):
            dx, dgamma, dbeta = _core.batch_norm_backward(x._t, dy._t, None if gamma is None else gamma._t,
                                                          mean_t, var_t, float(epsilon))
            out = [_wrap(dx)]
            if gamma is not None:
                out.append(_wrap(dgamma))
            if beta is not None:
                out.append(_wrap(dbeta))
            return tuple(out)

        record(inputs, y, backward)
    return y, mean, var


def layer_norm(x, gamma, beta, epsilon, axis_count=1):
    """Normalises over the last `axis_count` axes, as one kernel."""
    y_t, mean_t, rstd_t = _core.layer_norm(x._t, None if gamma is None else gamma._t,
                                           None if beta is None else beta._t, float(epsilon), int(axis_count))
    y = _wrap(y_t)
    if active():
        inputs = tuple(t for t in (x, gamma, beta) if t is not None)

        def backward(dy, needs):
            dx, dgamma, dbeta = _core.layer_norm_backward(x._t, dy._t, None if gamma is None else gamma._t, mean_t,
                                                          rstd_t, int(axis_count))
            out = [_wrap(dx)]
            if gamma is not None:
                out.append(_wrap(dgamma))
            if beta is not None:
                out.append(_wrap(dbeta))
            return tuple(out)

        record(inputs, y, backward)
    return y


# --- convolution and pooling (NHWC, HWIO filters) ------------------------------------------

def _pair(v, what, op, four=True):
    """(h, w) from an int or a list of 1, 2 or (NHWC) 4 ints, as TensorFlow accepts."""
    if v is None:
        return (1, 1)
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = [int(a) for a in v]
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) == 2:
        return tuple(v)
    if len(v) == 4 and four:
        if v[0] != 1 or v[3] != 1:
            raise ValueError(f"{op}: {what} for the batch and channel dimensions must be 1, got {v}")
        return (v[1], v[2])
    raise ValueError(f"{op}: {what} must be an int or a list of 1, 2 or 4 ints, got {v}")


def _padding(padding, op):
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"{op}: padding must be 'SAME', 'VALID' or explicit pairs, got {padding!r}")
        return p
    pads = [[int(a), int(b)] for a, b in padding]
    if len(pads) == 4:
        if pads[0] != [0, 0] or pads[3] != [0, 0]:
            raise ValueError(f"{op}: explicit padding of the batch and channel dimensions must be 0, got {pads}")
        pads = pads[1:3]
    return pads


def _check_nhwc(data_format, op):
    if data_format not in (None, "NHWC", "channels_last"):
        raise ValueError(f"{op}: only NHWC (channels_last) data is supported, got data_format={data_format!r}")


def conv2d_fused(x, filters, strides, dilations, padding, bias=None, activation=None):
    """activation(conv2d(x, filters) + bias) in one kernel; the layers call this."""
    act = _ACTS[activation]
    y = _wrap(_core.conv2d(x._t, filters._t, strides, dilations, padding, None if bias is None else bias._t, act))
    if active():
        inputs = (x, filters) if bias is None else (x, filters, bias)
        if act is _core.Act.relu:
            y._relu_output = True  # a max pool over y may hand back its gradient with relu' applied

        def backward(dy, needs):
            if type(dy) is _PoolInputGradient:
                return _conv_backward_pooled(x, filters, bias, dy._parts, strides, dilations, padding, needs)
            grads = _core.conv2d_backward(x._t, filters._t, y._t, dy._t, strides, dilations, padding, act, needs[0],
                                          bias is not None and needs[2])
            return _conv_grads(bias, *grads)

        record(inputs, y, backward)
    return y


def conv2d_max_pool(x, filters, strides, dilations, padding, bias, activation, ksize, pool_strides, pool_padding):
    """max_pool2d(conv2d_fused(x, filters, ..., bias, activation), ksize,
    pool_strides, pool_padding) as one op, for activation None or "relu" (the
    pool's gradient then takes act' from the pooled values). A first layer's
    convolution is pooled image by image from cache, so its output, the
    convnet's largest tensor, is never written (Sequential runs a Conv2D and
    the MaxPooling2D after it this way)."""
    act = _ACTS[activation]
    if act not in (_core.Act.none, _core.Act.relu):
        raise ValueError(f"conv2d_max_pool: activation must be None or 'relu', got {activation!r}")
    y, argmax, conv_shape = _core.conv2d_max_pool(x._t, filters._t, strides, dilations, padding,
                                                  None if bias is None else bias._t, act, ksize, pool_strides,
                                                  pool_padding)
    y = _wrap(y)
    if active():
        def backward(dy, needs):
            g = dy._t if act is _core.Act.none else _relu_grad_at(y, dy)
            parts = (g, argmax, conv_shape, ksize, pool_strides, pool_padding)
            return _conv_backward_pooled(x, filters, bias, parts, strides, dilations, padding, needs)

        record((x, filters) if bias is None else (x, filters, bias), y, backward)
    return y


def _conv_backward_pooled(x, filters, bias, parts, strides, dilations, padding, needs):
    """A convolution's gradients from the input gradient of the max pool over
    its output, in parts: max_pool2d_backward's arguments, act' applied."""
    grads = _core.conv2d_backward_pooled(x._t, filters._t, *parts, strides, dilations, padding, needs[0],
                                         bias is not None and needs[2])
    return _conv_grads(bias, *grads)


def _relu_grad_at(y, dy):
    """dy * relu'(y) for a max pool's output y over relu outputs: relu' at
    each window's maximum is relu' of the pooled value."""
    return _core.unary_grad(_core.Unary.relu, y._t, dy._t, 0.0, 1)


def _conv_grads(bias, dx, dw, db):
    grads = (None if dx is None else _wrap(dx), _wrap(dw))
    return grads if bias is None else grads + (None if db is None else _wrap(db),)


def conv2d_transpose(x, filters, output_shape, strides, dilations, padding):
    """The transpose of conv2d (its gradient with respect to the input): x has
    conv2d's output shape, the result `output_shape`; filters are conv2d's
    HWIO ones, i.e. (kh, kw, output channels, x channels)."""
    output_shape = [int(d) for d in output_shape]
    y = _wrap(_core.conv2d_backward_input(x._t, filters._t, output_shape, strides, dilations, padding))
    if active():
        def backward(dy, needs):
            dx = _core.conv2d(dy._t, filters._t, strides, dilations, padding) if needs[0] else None
            dw = (_core.conv2d_backward_filter(dy._t, x._t, list(filters.shape), strides, dilations, padding)
                  if needs[1] else None)
            return tuple(None if g is None else _wrap(g) for g in (dx, dw))

        record((x, filters), y, backward)
    return y


@register_nn
def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None, name=None):
    """2-D convolution of NHWC input with HWIO filters, as tf.nn.conv2d."""
    _check_nhwc(data_format, "conv2d")
    x, w = binary_args(input, filters, "conv2d")
    float_only(x, "conv2d")
    return conv2d_fused(x, w, _pair(strides, "strides", "conv2d"), _pair(dilations, "dilations", "conv2d"),
                        _padding(padding, "conv2d"))


class _PoolInputGradient(Tensor):
    """A max pool's input gradient with relu' applied (see _pool), kept as
    max_pool2d_backward's arguments: the backward of the convolution that made
    the pool's input unpools it image by image into cache
    (conv2d_backward_pooled); anything else that reads it forms it whole."""

    __slots__ = ("_parts", "_whole")

    def __init__(self, parts):
        self._parts, self._whole = parts, None

    @property
    def _t(self):
        if self._whole is None:
            self._whole = _core.max_pool2d_backward(*self._parts)
        return self._whole


def _pool(name, forward, forward_saving, backward_kernel, passes_relu=False):
    """A pooling op: forward(x, k, s, p) -> y; under a tape forward_saving(...) ->
    (y, what backward_kernel(dy, saved, input_shape, k, s, p) needs).

    passes_relu (max pooling): when x is the output of a convolution with a
    fused relu, relu'(x) at each window's maximum is relu'(y) there, so the
    backward applies it to the small pooled gradient and hands back the input
    gradient unformed (_PoolInputGradient): the convolution's backward then
    neither applies relu' nor reads a gradient the size of x from memory
    (same values; an outer tape recording the backward gets the plain path)."""
    def op(input, ksize, strides, padding, data_format="NHWC", name=None):
        _check_nhwc(data_format, op.__name__)
        x = as_tensor(input)
        float_only(x, op.__name__)
        k, s, p = _pair(ksize, "ksize", op.__name__), _pair(strides, "strides", op.__name__), _padding(padding, op.__name__)
        if not active():
            return _wrap(forward(x._t, k, s, p))
        y, saved = forward_saving(x._t, k, s, p)
        y = _wrap(y)
        relu_input = passes_relu and getattr(x, "_relu_output", False)

        def backward(dy, needs):
            if relu_input and not recording():
                g = _relu_grad_at(y, dy)
                return (_PoolInputGradient((g, saved, list(x.shape), k, s, p)),)
            return (_wrap(backward_kernel(dy._t, saved, list(x.shape), k, s, p)),)

        record((x,), y, backward)
        return y

    op.__name__ = op.__qualname__ = name
    return register_nn(op)


# max pooling keeps where each maximum was (reading x again in backward costs more)
max_pool2d = _pool("max_pool2d", _core.max_pool2d, _core.max_pool2d_with_argmax, _core.max_pool2d_backward,
                   passes_relu=True)
avg_pool2d = _pool("avg_pool2d", _core.avg_pool2d, lambda x, k, s, p: (_core.avg_pool2d(x, k, s, p), None),
                   lambda dy, _, shape, k, s, p: _core.avg_pool2d_backward(dy, shape, k, s, p))
