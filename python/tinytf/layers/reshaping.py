"""Spatial reshaping layers (channels_last): UpSampling2D, ZeroPadding2D, Cropping2D."""
import numpy as np

from .. import ops
from .._tensor import constant
from .base import Layer
from .conv import check_channels_last, normalize_tuple


def normalize_pairs(value, what, layer):
    """((top, bottom), (left, right)) from an int, (symmetric_h, symmetric_w) or two pairs, as Keras."""
    if isinstance(value, int):
        value = ((value, value), (value, value))
    try:
        pairs = tuple((v, v) if isinstance(v, int) else tuple(v) for v in value)
        pairs = tuple(tuple(int(a) for a in p) for p in pairs)
    except (TypeError, ValueError):
        pairs = ()
    if len(pairs) != 2 or any(len(p) != 2 or min(p) < 0 for p in pairs):
        raise ValueError(f"{layer}: {what} must be a non-negative int, a tuple of 2 non-negative ints or a tuple of "
                         f"2 tuples of 2 non-negative ints. Received: {what}={value!r}")
    return pairs


def _check_4d(layer, inputs):
    if inputs.ndim != 4:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': expected a 4-D input (batch, height, width, "
                         f"channels), got shape {tuple(inputs.shape)}")


def _bilinear_weights(n, scale):
    """The (n * scale, n) matrix of bilinear upsampling with half-pixel centres
    (tf.image.resize; torch's align_corners=False): row i mixes the two input
    pixels nearest to (i + 0.5) / scale - 0.5, clamped to the image."""
    src = np.clip((np.arange(n * scale) + 0.5) / scale - 0.5, 0, n - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    weights = np.zeros((n * scale, n))
    rows = np.arange(n * scale)
    np.add.at(weights, (rows, lo), 1 - (src - lo))
    np.add.at(weights, (rows, hi), src - lo)
    return weights


class UpSampling2D(Layer):
    """Repeats rows and columns `size` times ('nearest') or interpolates them ('bilinear')."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, "size", "UpSampling2D")
        self.data_format = check_channels_last(data_format, "UpSampling2D")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D: interpolation must be 'nearest' or 'bilinear'. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs):
        _check_4d(self, inputs)
        n, h, w, c = inputs.shape
        sh, sw = self.size
        if self.interpolation == "nearest":  # each pixel broadcast over an (sh, sw) block
            x = ops.broadcast_to(ops.reshape(inputs, (n, h, 1, w, 1, c)), (n, h, sh, w, sw, c))
            return ops.reshape(x, (n, h * sh, w * sw, c))
        # Bilinear is separable: one matrix product along the height, one along the width.
        rows = constant(_bilinear_weights(h, sh), dtype=inputs.dtype)
        cols = constant(_bilinear_weights(w, sw), dtype=inputs.dtype)
        x = ops.matmul(rows, ops.reshape(inputs, (n, h, w * c)))
        x = ops.matmul(cols, ops.reshape(x, (n * h * sh, w, c)))
        return ops.reshape(x, (n, h * sh, w * sw, c))

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.size[0], None if w is None else w * self.size[1], c)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros: padding = int, (h, w) or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = normalize_pairs(padding, "padding", "ZeroPadding2D")
        self.data_format = check_channels_last(data_format, "ZeroPadding2D")

    def call(self, inputs):
        _check_4d(self, inputs)
        return ops.pad(inputs, [(0, 0), *self.padding, (0, 0)])

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (top, bottom), (left, right) = self.padding
        return (n, None if h is None else h + top + bottom, None if w is None else w + left + right, c)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": self.data_format}


class Cropping2D(Layer):
    """Removes rows and columns at the borders: cropping = int, (h, w) or ((top, bottom), (left, right))."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = normalize_pairs(cropping, "cropping", "Cropping2D")
        self.data_format = check_channels_last(data_format, "Cropping2D")

    def call(self, inputs):
        _check_4d(self, inputs)
        _, h, w, _ = self.compute_output_shape(tuple(inputs.shape))
        (top, _), (left, _) = self.cropping
        return inputs[:, top:top + h, left:left + w, :]

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        out = [d if d is None else d - a - b for d, (a, b) in zip((h, w), self.cropping)]
        if any(d is not None and d <= 0 for d in out):
            raise ValueError(f"Cropping2D '{self.name}': cropping={self.cropping} leaves nothing of an input of "
                             f"shape {tuple(input_shape)}")
        return (n, *out, c)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping],
                "data_format": self.data_format}
