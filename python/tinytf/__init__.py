"""tinytf: a small, fast deep-learning library for CPUs with a Keras/TensorFlow API."""
__version__ = "0.1.0"

from . import _core
from ._dtypes import DType, as_dtype, bool, float32, float64, int32, int64, uint8  # noqa: A004
from ._tensor import (Tensor, TensorShape, Variable, constant, convert_to_tensor, fill, ones, ones_like, zeros,
                      zeros_like)
from ._tape import GradientTape, UnconnectedGradients
from .ops import *  # noqa: F401,F403  (the TF-level op namespace: tinytf.add, tinytf.matmul, ...)
from . import config, math, nn, random

newaxis = None
