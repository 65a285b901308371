"""tinytf: a small, fast deep-learning library for CPUs with a Keras/TensorFlow API."""
__version__ = "0.1.0"

import importlib as _importlib

from . import _core
from ._dtypes import DType, as_dtype, bool, float32, float64, int32, int64, uint8  # noqa: A004
from ._tensor import (Tensor, TensorShape, Variable, constant, convert_to_tensor, fill, ones, ones_like, zeros,
                      zeros_like)
from ._tape import GradientTape, UnconnectedGradients
from .ops import *  # noqa: F401,F403  (the TF-level op namespace: tinytf.add, tinytf.matmul, ...)
from . import config, math, nn, random

newaxis = None

# The Keras-level modules load on first use, so `import tinytf` stays fast.
_LAZY_MODULES = {"activations", "callbacks", "constraints", "initializers", "layers", "losses", "metrics", "models",
                 "optimizers", "regularizers", "utils", "datasets", "preprocessing", "saving", "distribute"}
_LAZY_NAMES = {"Model": "models", "Sequential": "models", "Input": "layers"}


def __getattr__(name):
    if name in _LAZY_MODULES:
        return _importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(_importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'tinytf' has no attribute {name!r}")
