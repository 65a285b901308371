"""``tinytf.math``: the elementwise and reduction ops, named as in ``tf.math``."""
from .ops.math_ops import *  # noqa: F401,F403
from .ops.math_ops import divide as truediv  # noqa: F401
from .ops.nn_ops import sigmoid, softplus, tanh  # noqa: F401
