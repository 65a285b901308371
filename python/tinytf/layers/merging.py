"""Layers that merge a list of inputs: Add, Subtract, Multiply, Average,
Maximum, Minimum (elementwise with broadcasting) and Concatenate."""
from .. import ops
from .base import Layer


class _Merge(Layer):
    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a list of at least 2 inputs, got "
                             f"{type(inputs).__name__}")

    def build(self, input_shape):
        self._check(input_shape)

    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return self._finish(out, len(inputs))

    def _finish(self, out, n):
        return out

    def compute_output_shape(self, input_shape):
        """Broadcast of the inputs' shapes after the batch dim; None is unknown."""
        rank = max(len(s) for s in input_shape)
        dims = []
        for i in range(1, rank):
            column = [s[i - rank + len(s)] for s in input_shape if i - rank + len(s) >= 1]
            known = {d for d in column if d not in (None, 1)}
            if len(known) > 1:
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs with shapes "
                                 f"{[tuple(s) for s in input_shape]} cannot be merged")
            dims.append(known.pop() if known else (None if None in column else 1))
        return (None,) + tuple(dims)


class Add(_Merge):
    _merge = staticmethod(ops.add)


class Subtract(_Merge):
    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Subtract '{self.name}': expected exactly 2 inputs")

    _merge = staticmethod(ops.subtract)


class Multiply(_Merge):
    _merge = staticmethod(ops.multiply)


class Maximum(_Merge):
    _merge = staticmethod(ops.maximum)


class Minimum(_Merge):
    _merge = staticmethod(ops.minimum)


class Average(_Merge):
    _merge = staticmethod(ops.add)

    def _finish(self, out, n):
        return out * (1.0 / n)


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 1:
            raise ValueError(f"Concatenate '{self.name}': expected a list of inputs")
        try:
            return ops.concat(list(inputs), self.axis)
        except ValueError as e:
            raise ValueError(f"Concatenate '{self.name}': {e}") from None

    def compute_output_shape(self, input_shape):
        rank = len(input_shape[0])
        ax = self.axis % rank
        out = list(input_shape[0])
        for s in input_shape[1:]:
            if len(s) != rank or any(a != b and a is not None and b is not None for i, (a, b) in enumerate(zip(s, out))
                                     if i != ax):
                raise ValueError(f"Concatenate '{self.name}': inputs with shapes {[tuple(x) for x in input_shape]} "
                                 f"do not match except along axis {self.axis}")
        out[ax] = None if any(s[ax] is None for s in input_shape) else sum(s[ax] for s in input_shape)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)
