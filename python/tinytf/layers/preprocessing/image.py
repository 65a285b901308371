"""Image preprocessing and augmentation layers (Keras names, arguments and
defaults) over NHWC batches or single HWC images of any numeric dtype; they
return floats, as Keras' do. Every pixel loop is a C++ kernel (``_core.image_*``).

The random layers follow Keras 3: they augment when called with
``training=True`` or without a ``training`` argument (``layer(x)``,
``model(x)``), and pass images through (cast to float) with
``training=False`` (``predict``, ``evaluate``). Each image gets its own
random parameters, drawn from a Philox stream, so results repeat under
``tinytf.random.set_seed`` (or a layer ``seed``) for any thread count.
``get_random_transformation`` and ``transform_images`` expose the two steps,
as in Keras. The kernels do not propagate gradients to their input
(augmentation sits at a model's input); Rescaling is differentiable."""
import numpy as np

from ... import _core, ops
from ... import random as _random
from ..._dtypes import float32
from ..._tensor import Tensor, _wrap, constant
from ..base import Layer

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")
_LAYER_STREAM = 0x7C3A_91E5_D2B4_0F61  # separates layer-seed streams from tinytf.random's


def _positive_int(value, what, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: {what} must be a positive integer. Received: {what}={value!r}")
    return int(value)


def _choice(value, allowed, what, layer):
    if value not in allowed:
        raise ValueError(f"{layer}: unknown {what} {value!r}. Expected one of {allowed}")
    return value


def _factor_range(factor, bounds, what, layer, open_low=False):
    """(lower, upper) from a number f (-> (-|f|, |f|) clipped to bounds) or a pair, as Keras."""
    lo_b, hi_b = bounds

    def ok(v):
        return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and \
            (lo_b < v if open_low else lo_b <= v) and v <= hi_b

    error = ValueError(f"{layer}: {what} must be a number or a pair of numbers in "
                       f"{'(' if open_low else '['}{lo_b}, {hi_b}]. Received: {what}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(ok(v) for v in factor):
            raise error
        lower, upper = sorted(float(v) for v in factor)
        return lower, upper
    if not ok(factor):
        raise error
    f = abs(float(factor))
    return max(-f, lo_b), f


def _aspect_window(h, w, target_h, target_w):
    """(top, left, height, width) of the largest centred window with the target aspect ratio."""
    crop_h = max(min(h, int(w * target_h / target_w)), 1)
    crop_w = max(min(w, int(h * target_w / target_h)), 1)
    return (h - crop_h) // 2, (w - crop_w) // 2, crop_h, crop_w


def _core_of(images):
    return (images if isinstance(images, Tensor) else constant(np.asarray(images)))._t


class ImagePreprocessingLayer(Layer):
    """Base of the image layers: checks the rank, batches single images and
    picks the float output dtype."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__}: tinytf images are channels_last (NHWC). "
                             f"Received: data_format={data_format!r}")
        self.data_format = "channels_last"

    @property
    def _out(self):
        return (self.dtype if self.dtype.is_floating else float32)._core

    def _batched(self, images):
        """(rank-4 tensor, was it a single image)."""
        shape = tuple(images.shape)
        if len(shape) == 4:
            return images, False
        if len(shape) == 3:
            return ops.reshape(images, (1,) + shape), True
        raise ValueError(f"{type(self).__name__} '{self.name}': expected images of rank 3 (height, width, channels) "
                         f"or 4 (batch, height, width, channels). Received: shape={shape}")

    def _float(self, images):
        return ops.cast(images, self.dtype if self.dtype.is_floating else "float32")

    def call(self, inputs, training=True):
        images, single = self._batched(inputs)
        training = training is None or bool(training)
        out = self.transform_images(images, self.get_random_transformation(images, training), training)
        return ops.reshape(out, tuple(out.shape[1:])) if single else out

    def get_random_transformation(self, images, training=True, seed=None):
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class _RandomLayer(ImagePreprocessingLayer):
    """A layer with a seed: its own Philox stream when seeded (as Keras'
    SeedGenerator, whatever the global seed), else tinytf.random's."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"{type(self).__name__}: seed must be an int or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self._drawn = 0

    def _uniform(self, shape, low=0.0, high=1.0):
        n = int(np.prod(shape))
        if self.seed is None:
            key, pos = _random._draw(n, None)
        else:
            key, pos = _random._mix(self.seed & (2**64 - 1), _LAYER_STREAM), self._drawn
            self._drawn += max(n, 1)
        return np.asarray(_core.random(list(shape), _core.DType.float64, _core.Distribution.uniform, key, pos,
                                       float(low), float(high)))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class _AffineLayer(_RandomLayer):
    """Rotation, zoom and translation: one affine map per image, sampled by
    the shared ``_core.image_affine`` kernel."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.fill_mode = _choice(fill_mode, _FILL_MODES, "fill_mode", type(self).__name__)
        self.interpolation = _choice(interpolation, _INTERPOLATIONS, "interpolation", type(self).__name__)
        self.fill_value = float(fill_value)

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return self._float(images)
        t = np.ascontiguousarray(transformation["transforms"], dtype=np.float32)
        return _wrap(_core.image_affine(_core_of(images), _core.from_numpy(t), self.interpolation, self.fill_mode,
                                               self.fill_value, self._out))

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


# --- deterministic layers ---------------------------------------------------------------

class Rescaling(Layer):
    """``inputs * scale + offset`` in float (scale/offset: numbers or per-channel lists)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        x = ops.cast(inputs, self.dtype if self.dtype.is_floating else "float32")
        dt = x.dtype.dtype
        return x * np.asarray(self.scale, dt) + np.asarray(self.offset, dt)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist()

        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}


class Resizing(ImagePreprocessingLayer):
    """Resizes images to (height, width) as tf.image.resize (half-pixel
    centres). crop_to_aspect_ratio first takes the largest centred window with
    the target aspect ratio; pad_to_aspect_ratio pads with fill_value instead."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int(height, "height", "Resizing")
        self.width = _positive_int(width, "width", "Resizing")
        self.interpolation = _choice(interpolation, _INTERPOLATIONS, "interpolation", "Resizing")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True")
        if fill_mode != "constant":
            raise ValueError(f"Resizing: only fill_mode='constant' is supported. Received: fill_mode={fill_mode!r}")
        if antialias:
            raise ValueError("Resizing: antialias=True is not supported by tinytf")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value, self.antialias = fill_mode, float(fill_value), False

    def transform_images(self, images, transformation=None, training=True):
        _, h, w, _ = images.shape
        window = None
        if self.crop_to_aspect_ratio:
            window = _aspect_window(h, w, self.height, self.width)
        elif self.pad_to_aspect_ratio:
            # Keras pads the same amount on both sides of the short axis.
            ph = (max(h, int(w * self.height / self.width)) - h) // 2
            pw = (max(w, int(h * self.width / self.height)) - w) // 2
            if ph or pw:
                a = np.asarray(self._float(images))
                images = constant(np.pad(a, ((0, 0), (ph, ph), (pw, pw), (0, 0)),
                                         constant_values=np.asarray(self.fill_value, a.dtype)))
        return _wrap(_core.image_resize(_core_of(images), self.height, self.width, self.interpolation, window,
                                        self._out))

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        s[-3], s[-2] = self.height, self.width
        return tuple(s)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


def _smart_resize(images, height, width, out):
    """Keras' smart_resize: the largest centred window with the target aspect
    ratio, resized (bilinear) to height x width."""
    _, h, w, _ = images.shape
    window = _aspect_window(h, w, height, width)
    return _wrap(_core.image_resize(_core_of(images), height, width, "bilinear", window, out))


def _crop(images, offsets, height, width, out):
    offsets = _core.from_numpy(np.ascontiguousarray(offsets, np.int64))
    return _wrap(_core.image_crop(_core_of(images), offsets, height, width, out))


class CenterCrop(ImagePreprocessingLayer):
    """The central height x width window; images smaller than that are
    resized after cropping to the target aspect ratio (as Keras)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int(height, "height", "CenterCrop")
        self.width = _positive_int(width, "width", "CenterCrop")

    def transform_images(self, images, transformation=None, training=True):
        n, h, w, _ = images.shape
        if h < self.height or w < self.width:
            return _smart_resize(images, self.height, self.width, self._out)
        offsets = np.tile([(h - self.height) // 2, (w - self.width) // 2], (n, 1))
        return _crop(images, offsets, self.height, self.width, self._out)

    compute_output_shape = Resizing.compute_output_shape

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


# --- random layers ---------------------------------------------------------------------------

class RandomCrop(_RandomLayer):
    """In training, a random height x width window of each image. At inference
    (and for images smaller than the target) the largest centred window with
    the target aspect ratio, resized to height x width, as Keras documents."""

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height = _positive_int(height, "height", "RandomCrop")
        self.width = _positive_int(width, "width", "RandomCrop")

    def get_random_transformation(self, images, training=True, seed=None):
        n, h, w, _ = images.shape
        if not training or h < self.height or w < self.width:
            return None
        u = self._uniform((n, 2))
        offsets = np.floor(u * [h - self.height + 1, w - self.width + 1]).astype(np.int64)
        return {"offsets": np.minimum(offsets, [h - self.height, w - self.width])}

    def transform_images(self, images, transformation, training=True):
        if transformation is None:
            _, h, w, _ = images.shape
            if (h, w) == (self.height, self.width):
                return self._float(images)
            return _smart_resize(images, self.height, self.width, self._out)
        return _crop(images, transformation["offsets"], self.height, self.width, self._out)

    compute_output_shape = Resizing.compute_output_shape

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomFlip(_RandomLayer):
    """Flips each image left-right and/or top-bottom with probability 1/2.
    'horizontal_and_vertical' draws the two flips independently."""

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _choice(mode, self._MODES, "mode", "RandomFlip")

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        u = self._uniform((images.shape[0], 2)) < 0.5
        h, v = self.mode != "vertical", self.mode != "horizontal"
        return {"flips": (u[:, 0] & h) * 1 + (u[:, 1] & v) * 2}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return self._float(images)
        flags = np.ascontiguousarray(transformation["flips"], np.uint8)
        return _wrap(_core.image_flip(_core_of(images), _core.from_numpy(flags), self._out))

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_AffineLayer):
    """Rotates each image about its centre by a random angle in
    [lower, upper] * 360 degrees (factor as Keras; positive is counter-clockwise)."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format=data_format, **kwargs)
        self.factor = _factor_range(factor, (-1, 1), "factor", "RandomRotation")

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        n, h, w, _ = images.shape
        angles = self._uniform((n,), self.factor[0] * 360.0, self.factor[1] * 360.0)
        a = np.deg2rad(angles)
        cos, sin = np.cos(a), np.sin(a)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        t = np.stack([cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos], axis=1)
        return {"angles": angles, "transforms": t}

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_AffineLayer):
    """Zooms each image about its centre: a height zoom drawn from
    1 + [lower, upper] (positive factors zoom out, negative zoom in, as Keras);
    width_factor None keeps the aspect ratio."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format=data_format, **kwargs)
        self.height_factor = _factor_range(height_factor, (-1, 1), "height_factor", "RandomZoom", open_low=True)
        self.width_factor = None if width_factor is None else \
            _factor_range(width_factor, (-1, 1), "width_factor", "RandomZoom", open_low=True)

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        n, h, w, _ = images.shape
        zy = self._uniform((n,), 1 + self.height_factor[0], 1 + self.height_factor[1])
        zx = zy if self.width_factor is None else self._uniform((n,), 1 + self.width_factor[0],
                                                                1 + self.width_factor[1])
        zero = np.zeros(n)
        t = np.stack([zx, zero, (w - 1) / 2 * (1 - zx), zero, zy, (h - 1) / 2 * (1 - zy)], axis=1)
        return {"zooms": np.stack([zx, zy], axis=1), "transforms": t}

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor)}


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its height and width
    (factors as Keras: a number f means [-f, f])."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format=data_format, **kwargs)
        self.height_factor = _factor_range(height_factor, (-1, 1), "height_factor", "RandomTranslation")
        self.width_factor = _factor_range(width_factor, (-1, 1), "width_factor", "RandomTranslation")

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        n, h, w, _ = images.shape
        dy = self._uniform((n,), *self.height_factor) * h
        dx = self._uniform((n,), *self.width_factor) * w
        one, zero = np.ones(n), np.zeros(n)
        return {"translations": np.stack([dx, dy], axis=1),
                "transforms": np.stack([one, zero, -dx, zero, one, -dy], axis=1)}

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor)}


def _value_range(value_range, layer):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{layer}: value_range must be a pair (low, high). Received: value_range={value_range!r}")
    lo, hi = sorted(float(v) for v in value_range)
    return lo, hi


class RandomContrast(_RandomLayer):
    """Per image and channel, ``(x - mean) * c + mean`` with c drawn from
    [1 - lower, 1 + upper] (factor f means lower = upper = f, in [0, 1], as
    Keras documents), clipped to value_range."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, (tuple, list)):
            lower, upper = _factor_range(factor, (0, 1), "factor", "RandomContrast")
        else:
            _, upper = _factor_range(factor, (0, 1), "factor", "RandomContrast")
            lower = upper
        self.factor = (lower, upper)
        self.value_range = _value_range(value_range, "RandomContrast")

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        return {"contrast_factors": self._uniform((images.shape[0],), 1 - self.factor[0], 1 + self.factor[1])}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return self._float(images)
        f = np.ascontiguousarray(transformation["contrast_factors"], np.float64)
        return _wrap(_core.image_contrast(_core_of(images), _core.from_numpy(f), *self.value_range, self._out))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomBrightness(_RandomLayer):
    """Adds ``delta * (high - low)`` to each image, delta drawn from the factor
    range in [-1, 1], and clips to value_range."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_range(factor, (-1, 1), "factor", "RandomBrightness")
        self.value_range = _value_range(value_range, "RandomBrightness")

    def get_random_transformation(self, images, training=True, seed=None):
        if not training:
            return None
        lo, hi = self.value_range
        return {"deltas": self._uniform((images.shape[0],), *self.factor) * (hi - lo)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return self._float(images)
        d = np.ascontiguousarray(transformation["deltas"], np.float64)
        return _wrap(_core.image_brightness(_core_of(images), _core.from_numpy(d), *self.value_range, self._out))

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """keras.preprocessing.image.smart_resize: crops the largest centred window
    with the aspect ratio of `size` and resizes it. Returns numpy for numpy input."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"smart_resize: tinytf images are channels_last. Received: data_format={data_format!r}")
    if len(size) != 2:
        raise ValueError(f"smart_resize: size must be (height, width). Received: size={size!r}")
    layer = Resizing(size[0], size[1], interpolation=interpolation, crop_to_aspect_ratio=True)
    out = layer(x)
    return np.asarray(out) if isinstance(x, np.ndarray) else out

