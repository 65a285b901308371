"""``Normalization``: feature-wise ``(x - mean) / sqrt(variance)`` with the
statistics given or learnt by ``adapt()``, as Keras."""
import numpy as np

from ... import ops
from ..._tensor import Tensor
from ..base import Layer

_EPSILON = 1e-7  # keras.backend.epsilon()


def _batch_of(item):
    """adapt() batches may be (x, y) pairs; the features come first."""
    x = item[0] if isinstance(item, tuple) else item
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


class Normalization(Layer):
    """Normalizes along `axis` (the kept axes; -1: per feature/channel).
    mean/variance fix the statistics; otherwise ``adapt(data)`` computes them
    from a numpy array, a tensor, or an iterable of batches. invert=True maps
    normalized values back."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        self.axis = (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: when setting values directly, both mean and variance must be set. "
                             f"Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Normalization: mean and variance must have the same shape. Received: mean shape "
                                 f"{np.shape(mean)} and variance shape {np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f"Normalization: the rank of mean must be at most the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Normalization '{self.name}': all axis values must be in [-{ndim}, {ndim}). "
                             f"Received inputs of rank {ndim} with axis={self.axis}")
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep:
            if input_shape[d] is None:
                raise ValueError(f"Normalization '{self.name}': the kept axes must have a known size. Received "
                                 f"axis={self.axis} and input shape {tuple(input_shape)}")
        self._reduce = tuple(d for d in range(ndim) if d not in self._keep)
        self._broadcast = tuple(input_shape[d] if d in self._keep else 1 for d in range(ndim))
        self._build_input_shape = tuple(input_shape)
        shape = tuple(input_shape[d] for d in self._keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", shape, initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", shape, initializer="ones", trainable=False)
            self.count = self.add_weight("count", (), dtype="int64", initializer="zeros", trainable=False)
        else:
            # Given statistics align with the kept axes from the right, as Keras.
            expanded = [1] * ndim
            for i, size in enumerate(reversed(np.shape(self.input_mean)), 1):
                expanded[self._keep[-i]] = size
            self._fixed = [np.broadcast_to(np.reshape(np.asarray(v, np.float64), expanded), self._broadcast)
                           for v in (self.input_mean, self.input_variance)]
        self.built = True

    @property
    def mean(self):
        m = self._fixed[0] if self.input_mean is not None else np.reshape(self.adapt_mean.numpy(), self._broadcast)
        return m.astype(self.dtype.dtype)

    @property
    def variance(self):
        v = self._fixed[1] if self.input_mean is not None else np.reshape(self.adapt_variance.numpy(),
                                                                          self._broadcast)
        return v.astype(self.dtype.dtype)

    def adapt(self, data, batch_size=None, steps=None):
        """Sets mean and variance to those of `data` over the reduced axes.
        Batches are combined exactly (Chan's formula), in float64."""
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}': cannot adapt a layer whose mean and variance were given")
        if isinstance(data, Tensor):
            data = data.numpy()
        if isinstance(data, (list, tuple)) and not any(hasattr(b, "shape") for b in data):
            data = np.asarray(data)
        if isinstance(data, np.ndarray):
            whole = data
            data = [whole] if batch_size is None else \
                (whole[i:i + batch_size] for i in range(0, len(whole), batch_size))
        elif not hasattr(data, "__iter__"):
            raise TypeError(f"Normalization.adapt: expected a numpy array, a tensor or an iterable of batches. "
                            f"Received: {type(data).__name__}")
        total = 0
        mean = var = None
        for i, item in enumerate(data):
            if steps is not None and i >= steps:
                break
            batch = _batch_of(item).astype(np.float64, copy=False)
            if not self.built:
                self._maybe_build(batch.shape)
            if batch.ndim != len(self._build_input_shape) or any(batch.shape[d] != self._build_input_shape[d]
                                                                 for d in self._keep):
                raise ValueError(f"Normalization '{self.name}': adapt() received a batch of shape {batch.shape}, "
                                 f"incompatible with the input shape {self._build_input_shape}")
            n = int(np.prod([batch.shape[d] for d in self._reduce], dtype=np.int64))
            if n == 0:
                continue
            b_mean, b_var = batch.mean(axis=self._reduce), batch.var(axis=self._reduce)
            if mean is None:
                mean, var, total = b_mean, b_var, n
                continue
            new_total = total + n
            delta = b_mean - mean
            var = (var * total + b_var * n + delta ** 2 * (total * n / new_total)) / new_total
            mean = mean + delta * (n / new_total)
            total = new_total
        if mean is None:
            raise ValueError("Normalization.adapt: the data has no samples")
        self.adapt_mean.assign(mean.astype(np.float32))
        self.adapt_variance.assign(var.astype(np.float32))
        self.count.assign(np.asarray(total, np.int64))

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype)
        std = np.maximum(np.sqrt(self.variance), np.asarray(_EPSILON, self.dtype.dtype))
        if self.invert:
            return x * std + self.mean
        return (x - self.mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return None if v is None else np.asarray(v).tolist()

        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}
