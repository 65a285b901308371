"""``tinytf.random``: seeded, counter-based random tensors.

Each call draws a fresh range of a Philox stream: element i of the range
depends only on (seed, position), so results are the same for any thread
count. ``set_seed`` restarts the stream, making a program reproducible."""
import os
import threading

from . import _core
from ._dtypes import as_dtype, float32
from ._tensor import _wrap, normalize_shape

_lock = threading.Lock()
_global_seed = None
_fallback_key = int.from_bytes(os.urandom(8), "little")
_counters = {}  # stream key -> next unused position


def set_seed(seed):
    """Sets the global seed: the random ops that follow repeat exactly."""
    global _global_seed
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        seed &= (1 << 64) - 1
    with _lock:
        _global_seed = seed
        _counters.clear()


def get_global_seed():
    return _global_seed


def _mix(a, b):
    # splitmix64 of the pair: distinct (global, op) seeds give unrelated streams
    x = (a * 0x9E3779B97F4A7C15 + b + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def _draw(n, seed):
    """(stream key, first position) for a call that needs `n` elements."""
    base = _fallback_key if _global_seed is None else _global_seed
    key = _mix(base, 0 if seed is None else int(seed) + 1)
    with _lock:
        pos = _counters.get(key, 0)
        _counters[key] = pos + max(n, 1)
    return key, pos


def _random(shape, dtype, dist, a, b, seed):
    shape = list(normalize_shape(shape))
    dtype = as_dtype(dtype)
    n = 1
    for d in shape:
        n *= d
    key, pos = _draw(n, seed)
    return _wrap(_core.random(shape, dtype._core, dist, key, pos, float(a), float(b)))


def _check_float(dtype, op):
    if not as_dtype(dtype).is_floating:
        raise TypeError(f"{op}: dtype must be float32 or float64, got {as_dtype(dtype).name}")


def normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    _check_float(dtype, "random.normal")
    return _random(shape, dtype, _core.Distribution.normal, mean, stddev, seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Normal values, redrawn when further than two standard deviations from the mean."""
    _check_float(dtype, "random.truncated_normal")
    return _random(shape, dtype, _core.Distribution.truncated_normal, mean, stddev, seed)


def uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None):
    """Values in [minval, maxval). Integer dtypes need an explicit maxval, as in TensorFlow."""
    dtype = as_dtype(dtype)
    if maxval is None:
        if not dtype.is_floating:
            raise ValueError(f"random.uniform: maxval must be given for dtype {dtype.name}")
        maxval = 1.0
    if dtype not in ("float32", "float64", "int32", "int64"):
        raise TypeError(f"random.uniform: unsupported dtype {dtype.name}")
    return _random(shape, dtype, _core.Distribution.uniform, minval, maxval, seed)
