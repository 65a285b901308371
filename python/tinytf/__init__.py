"""tinytf: a small, fast deep-learning library for CPUs with a Keras/TensorFlow API."""
__version__ = "0.1.0"

from . import _core
from ._dtypes import DType, as_dtype, bool, float32, float64, int32, int64, uint8  # noqa: A004
from ._tensor import Tensor, TensorShape, constant, convert_to_tensor, fill, ones, ones_like, zeros, zeros_like
from . import config, random
