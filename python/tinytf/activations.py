"""Activation functions by Keras name (``tinytf.activations.get("relu")``).

Dense and Conv2D fuse relu, relu6, sigmoid, tanh and linear into their
kernel; softmax outputs remember their logits so the cross-entropy losses
can use the fused, stable softmax + cross-entropy kernel (as Keras does)."""
from . import _registry, nn, ops


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return nn.relu(x)
    if threshold == 0.0 and max_value == 6.0 and negative_slope == 0.0:
        return nn.relu6(x)
    x = ops.convert_to_tensor(x)
    y = ops.where(x >= threshold, x, (x - threshold) * negative_slope if negative_slope else ops.zeros_like(x))
    return ops.minimum(y, float(max_value)) if max_value is not None else y


def relu6(x):
    return nn.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    return nn.leaky_relu(x, alpha=negative_slope)


def elu(x, alpha=1.0):
    return nn.elu(x, alpha=alpha)


def selu(x):
    return nn.selu(x)


def gelu(x, approximate=False):
    return nn.gelu(x, approximate=approximate)


def sigmoid(x):
    return nn.sigmoid(x)


def hard_sigmoid(x):
    return ops.clip_by_value(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)


def tanh(x):
    return nn.tanh(x)


def softplus(x):
    return nn.softplus(x)


def softsign(x):
    return nn.softsign(x)


def silu(x):
    return nn.silu(x)


swish = silu


def exponential(x):
    return ops.exp(x)


def linear(x):
    return x


def softmax(x, axis=-1):
    return nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return nn.log_softmax(x, axis=axis)


_TABLE = {f.__name__: f for f in [relu, relu6, leaky_relu, elu, selu, gelu, sigmoid, hard_sigmoid, tanh, softplus,
                                   softsign, silu, exponential, linear, softmax, log_softmax]}
_TABLE["swish"] = silu


def get(identifier):
    """A function from None (linear), a Keras name, or a callable."""
    if identifier is None:
        return linear
    return _registry.get(identifier, _TABLE, "activation")


def serialize(activation):
    name = getattr(activation, "__name__", None)
    return name if _TABLE.get(name) is activation else _registry.serialize(activation, "keras.activations")
