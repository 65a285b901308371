"""Weight initializers with Keras' names, arguments and defaults."""
import math

import numpy as np

from . import _registry, random
from ._dtypes import as_dtype
from ._tensor import constant, fill


def compute_fans(shape):
    """(fan_in, fan_out) as Keras: conv kernels multiply by the receptive field."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return fill(shape, 0, as_dtype(dtype or "float32"))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return fill(shape, 1, as_dtype(dtype or "float32"))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return constant(np.broadcast_to(np.asarray(self.value), tuple(shape)), dtype=dtype or "float32")

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return random.normal(shape, self.mean, self.stddev, dtype or "float32", seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None):
        return random.truncated_normal(shape, self.mean, self.stddev, dtype or "float32", seed=self.seed)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return random.uniform(shape, self.minval, self.maxval, dtype or "float32", seed=self.seed)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(Initializer):
    """Values with variance scale / fan, as keras.initializers.VarianceScaling."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: invalid mode {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: invalid distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        dtype = dtype or "float32"
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return random.uniform(shape, -limit, limit, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random.normal(shape, 0.0, math.sqrt(variance), dtype, seed=self.seed)
        # stddev of a unit normal truncated at 2 sigma, so the result has the asked variance
        return random.truncated_normal(shape, 0.0, math.sqrt(variance) / 0.87962566103423978, dtype, seed=self.seed)

    def get_config(self):
        return {"seed": self.seed, "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": None, "output_axes": None}

    @classmethod
    def from_config(cls, config):
        from .saving._compat import pop_defaults

        # Keras 3.15 adds input_axes/output_axes (fans of einsum kernels); tinytf uses the default fans
        return cls(**pop_defaults(config, cls.__name__, input_axes=None, output_axes=None))


def _preset(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed, "input_axes": None, "output_axes": None}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    """A (scaled) orthogonal matrix from the QR decomposition of a normal one."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of rank >= 2, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = random.normal((max(rows, cols), min(rows, cols)), dtype="float64", seed=self.seed).numpy()
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return constant((self.gain * q[:rows, :cols]).reshape(shape), dtype=dtype or "float32")

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {tuple(shape)}")
        return constant(self.gain * np.eye(*shape), dtype=dtype or "float32")

    def get_config(self):
        return {"gain": self.gain}


_TABLE = {c.__name__: c for c in [Zeros, Ones, Constant, RandomNormal, TruncatedNormal, RandomUniform,
                                   VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
                                   LecunUniform, Orthogonal, Identity]}
_TABLE.update(zeros=Zeros, ones=Ones, constant=Constant, random_normal=RandomNormal, truncated_normal=TruncatedNormal,
              random_uniform=RandomUniform, variance_scaling=VarianceScaling, glorot_uniform=GlorotUniform,
              glorot_normal=GlorotNormal, he_normal=HeNormal, he_uniform=HeUniform, lecun_normal=LecunNormal,
              lecun_uniform=LecunUniform, orthogonal=Orthogonal, identity=Identity)


def get(identifier):
    return _registry.get(identifier, _TABLE, "initializer")


def serialize(initializer):
    return _registry.serialize(initializer, "keras.initializers")

