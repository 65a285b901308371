"""What every op module shares: the op table, input conversion, recording."""
import numpy as np

from .. import _core
from .._dtypes import as_dtype
from .._tape import active, record, recording  # noqa: F401  (re-exported for the op modules)
from .._tensor import Tensor, _wrap, constant

# The op table: public name -> function, for every op in the tinytf / tinytf.nn
# namespaces. Tests iterate it (tests/op_table.py holds the sample inputs and
# numpy references) and fail when an op is missing from either side.
OPS = {}
NN_OPS = set()  # the names that live in tinytf.nn rather than at the top level


def register(fn):
    OPS[fn.__name__] = fn
    return fn


def register_nn(fn):
    NN_OPS.add(fn.__name__)
    return register(fn)


def as_tensor(x, dtype=None):
    if isinstance(x, Tensor):
        return x
    return constant(x, dtype=dtype)


def binary_args(a, b, op):
    """Converts the operands of a binary op: a Python value or numpy array
    takes the dtype of the tensor operand, as in TensorFlow."""
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            b = _like(b, a.dtype, op)
    elif isinstance(b, Tensor):
        a = _like(a, b.dtype, op)
    else:
        a = constant(a)
        b = _like(b, a.dtype, op)
    if a._t.dtype is not b._t.dtype:  # core dtypes are unique objects: no Python dtype objects on the hot path
        raise TypeError(
            f"{op}: both operands must have the same dtype, got {a.dtype.name} {tuple(a.shape)} and "
            f"{b.dtype.name} {tuple(b.shape)} (use tinytf.cast)"
        )
    return a, b


def _like(value, dtype, op):
    if type(value) is float and dtype.is_floating:  # x * 0.5: no numpy round trip
        return _wrap(_core.full([], value, dtype._core))
    try:
        arr = np.asarray(value)
    except ValueError as e:
        raise ValueError(f"{op}: cannot convert {type(value).__name__} to a tensor: {e}") from None
    if arr.dtype.kind == "f" and dtype.is_integer and not np.array_equal(arr, np.round(arr)):
        raise TypeError(f"{op}: cannot convert the float value {value!r} to {dtype.name}")
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{op}: cannot convert {type(value).__name__} to a {dtype.name} tensor")
    return constant(arr.astype(dtype.dtype, copy=False), dtype=dtype)


def normalize_axis(axis, ndim, op):
    """A sorted list of non-negative axes from None (all), an int or a sequence."""
    if axis is None:
        return list(range(ndim))
    if isinstance(axis, Tensor):
        axis = axis.numpy().tolist()
    try:
        axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int or a list of ints, got {axis!r}") from None
    out = []
    for a in axes:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int or a list of ints, got {axis!r}")
        b = int(a) + ndim if a < 0 else int(a)
        if not 0 <= b < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of rank {ndim}")
        out.append(b)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return sorted(out)


_CORE_FLOATS = (_core.DType.float32, _core.DType.float64)


def float_only(x, op):
    if x._t.dtype not in _CORE_FLOATS:
        raise TypeError(f"{op}: expected a float32 or float64 tensor, got {x.dtype.name} {tuple(x.shape)}")


__all__ = ["OPS", "NN_OPS", "register", "register_nn", "as_tensor", "binary_args", "normalize_axis", "float_only", "record", "recording", "active",
           "Tensor", "_wrap", "_core", "as_dtype", "constant"]
