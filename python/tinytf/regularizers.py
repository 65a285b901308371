"""Weight penalties added to the loss (and shown in the logged loss, as Keras)."""
from . import _registry
from . import ops
from ._tensor import zeros


class Regularizer:
    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        for name, v in (("l1", l1), ("l2", l2)):
            if v < 0:
                raise ValueError(f"{type(self).__name__}: {name} must be >= 0, got {v}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = None
        if self.l1:
            total = ops.reduce_sum(ops.abs(x)) * self.l1
        if self.l2:
            term = ops.reduce_sum(ops.square(x)) * self.l2
            total = term if total is None else total + term
        return total if total is not None else zeros([], x.dtype)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)


_TABLE = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier):
    return _registry.get(identifier, _TABLE, "regularizer")


def serialize(regularizer):
    return _registry.serialize(regularizer, "keras.regularizers")
