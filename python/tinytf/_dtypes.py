"""Element types, named and compared as in TensorFlow (``tinytf.float32``)."""
import builtins

import numpy as np

from . import _core


class DType:
    """An element type. Compares equal to its name and to the numpy dtype."""

    __slots__ = ("name", "_core", "dtype")

    def __init__(self, name, core, np_dtype):
        self.name = name
        self._core = core
        self.dtype = np.dtype(np_dtype)  # lets np.dtype(tinytf.float32) work

    @property
    def as_numpy_dtype(self):
        return self.dtype.type

    @property
    def is_floating(self):
        return self.dtype.kind == "f"

    @property
    def is_integer(self):
        return self.dtype.kind in "iu"

    @property
    def is_bool(self):
        return self.dtype.kind == "b"

    @property
    def size(self):
        return self.dtype.itemsize

    def __eq__(self, other):
        if isinstance(other, DType):
            return self is other
        try:
            return as_dtype(other) is self
        except (TypeError, ValueError):
            return False

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"tinytf.{self.name}"

    def __reduce__(self):
        return as_dtype, (self.name,)


float32 = DType("float32", _core.DType.float32, np.float32)
float64 = DType("float64", _core.DType.float64, np.float64)
int32 = DType("int32", _core.DType.int32, np.int32)
int64 = DType("int64", _core.DType.int64, np.int64)
bool = DType("bool", _core.DType.bool, np.bool_)  # noqa: A001  (TF spells it tf.bool)
uint8 = DType("uint8", _core.DType.uint8, np.uint8)

_ALL = (float32, float64, int32, int64, bool, uint8)
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update(float="float32", double="float64", int="int32", long="int64", bool_="bool")
_BY_NUMPY = {d.dtype: d for d in _ALL}
_BY_CORE = {d._core: d for d in _ALL}
# Tensors hand out these same core members (see csrc/bindings/core.cpp), and
# hashing a pybind11 enum costs more than the rest of a small op: look up by id.
_BY_CORE_ID = {id(d._core): d for d in _ALL}


def as_dtype(value):
    """Returns the ``DType`` for a DType, name, numpy dtype or Python type."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        d = _BY_NAME.get(value)
        if isinstance(d, str):
            d = _BY_NAME[d]
        if d is None:
            raise TypeError(f"Unsupported dtype {value!r}; supported: {_SUPPORTED}")
        return d
    if value is float:
        return float32
    if value is int:
        return int32
    if value is builtins.bool:
        return bool
    try:
        d = _BY_NUMPY.get(np.dtype(value))
    except TypeError:
        d = None
    if d is None:
        raise TypeError(f"Unsupported dtype {value!r}; supported: {_SUPPORTED}")
    return d


_SUPPORTED = ", ".join(d.name for d in _ALL)


def from_core(core_dtype):
    d = _BY_CORE_ID.get(id(core_dtype))
    return d if d is not None else _BY_CORE[core_dtype]
