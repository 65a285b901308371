"""Neural-network ops (``tinytf.nn``): activations, bias_add, the fused
Dense op the layers use, normalisation helpers, losses."""
from ._base import _core, _wrap, active, as_tensor, binary_args, float_only, normalize_axis, record, register_nn
from .math_ops import _activation, reduce_mean, reduce_sum, rsqrt, square

U = _core.Unary

relu = register_nn(_activation("relu", U.relu))
relu6 = register_nn(_activation("relu6", U.relu6))
leaky_relu = register_nn(_activation("leaky_relu", U.leaky_relu, alpha_arg="alpha", alpha_default=0.2))
elu = register_nn(_activation("elu", U.elu, alpha_arg="alpha", alpha_default=1.0))
selu = register_nn(_activation("selu", U.selu))
sigmoid = register_nn(_activation("sigmoid", U.sigmoid))
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
    the names the GEMM epilogue fuses (None, relu, relu6, sigmoid, tanh)."""
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
