"""``tinytf.nn``: the neural-network ops, named as in ``tf.nn``."""
from .ops._base import NN_OPS as _NN_OPS, OPS as _OPS
from .ops.nn_ops import swish  # noqa: F401

globals().update({name: _OPS[name] for name in _NN_OPS})
__all__ = sorted(_NN_OPS) + ["swish"]
