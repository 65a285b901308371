"""Python operators on tensors, mapped to ops (as TensorFlow does)."""
from .._tensor import Tensor
from . import array_ops as A
from . import math_ops as M


def _binary(fn):
    return (lambda a, b: fn(a, b)), (lambda a, b: fn(b, a))


for _name, _fn in [("add", M.add), ("sub", M.subtract), ("mul", M.multiply), ("truediv", M.divide),
                   ("floordiv", M.floordiv), ("mod", M.floormod), ("pow", M.pow), ("matmul", M.matmul),
                   ("and", M.logical_and), ("or", M.logical_or), ("xor", M.logical_xor)]:
    _fwd, _rev = _binary(_fn)
    setattr(Tensor, f"__{_name}__", _fwd)
    setattr(Tensor, f"__r{_name}__", _rev)

Tensor.__neg__ = lambda a: M.negative(a)
Tensor.__abs__ = lambda a: M.abs(a)
Tensor.__invert__ = lambda a: M.logical_not(a)
Tensor.__lt__ = lambda a, b: M.less(a, b)
Tensor.__le__ = lambda a, b: M.less_equal(a, b)
Tensor.__gt__ = lambda a, b: M.greater(a, b)
Tensor.__ge__ = lambda a, b: M.greater_equal(a, b)


def _compare(fn):
    def op(a, b):
        try:
            return fn(a, b)
        except (TypeError, ValueError):
            return NotImplemented  # e.g. t == None: Python falls back to identity

    return op


Tensor.__eq__ = _compare(M.equal)  # elementwise, as in TensorFlow 2
Tensor.__ne__ = _compare(M.not_equal)
Tensor.__hash__ = object.__hash__  # identity: tensors stay usable as dict keys
Tensor.__getitem__ = lambda a, key: A.getitem(a, key)
