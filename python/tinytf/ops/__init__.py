"""The TensorFlow-level op namespace. Every public op is in ``OPS`` (the op
table the tests iterate) and re-exported by ``tinytf``."""
from .._tensor import convert_to_tensor, ones_like, zeros_like  # noqa: F401
from ._base import NN_OPS, OPS
from .array_ops import *  # noqa: F401,F403
from .array_ops import getitem
from .math_ops import *  # noqa: F401,F403
from .math_ops import activation_grad, unbroadcast  # noqa: F401
from .nn_ops import *  # noqa: F401,F403
from .nn_ops import DenseChain, dense, swish  # noqa: F401
from .rnn_ops import rnn  # noqa: F401
from . import _operators  # noqa: F401  (installs +, -, *, ... on Tensor)

__all__ = sorted(set(OPS) - NN_OPS)  # the nn ones are exported by tinytf.nn
globals().update(OPS)
