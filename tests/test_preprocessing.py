"""Preprocessing layers, text tools, resampling and validation splits, checked
against numpy references written here (TensorFlow is only an optional cross-check)."""
import time

import numpy as np
import pytest

import tinytf as tf
from tinytf import _core, layers
from tinytf.models import Sequential
from tinytf.preprocessing.sequence import pad_sequences
from tinytf.preprocessing.text import Tokenizer, text_to_word_sequence, tokenizer_from_json
from tinytf.utils import (KFold, StratifiedKFold, cross_validate, oversample_indices, random_oversample,
                          random_undersample, undersample_indices)


def images(shape=(4, 9, 13, 3), dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, shape).astype(dtype)


# --- numpy references ------------------------------------------------------------------------

def ref_map_coord(v, n, mode):
    """TensorFlow's ImageProjectiveTransformV3 coordinate folding, in float32."""
    v = v.astype(np.float32)
    last = np.float32(n - 1)
    if mode == "constant":
        return v
    if n <= 1 and mode in ("reflect", "wrap"):
        return np.zeros_like(v)
    if mode == "reflect":
        sz2 = np.float32(2 * n)
        neg = v + sz2 * np.trunc(-v / sz2)
        neg = np.where(neg < -n, neg + sz2, -neg - 1)
        pos = v - sz2 * np.trunc(v / sz2)
        pos = np.where(pos >= n, sz2 - pos - 1, pos)
        v = np.where(v < 0, neg, np.where(v > last, pos, v))
    elif mode == "wrap":
        neg = v + np.float32(n) * (np.trunc(-v / last) + 1)
        pos = v - np.float32(n) * np.trunc(v / last)
        v = np.where(v < 0, neg, np.where(v > last, pos, v))
    return np.clip(v, 0, last).astype(np.float32)


def ref_round(v):
    """Round half away from zero (std::round)."""
    v = v.astype(np.float64)
    i = np.floor(v)
    frac = v - i
    return (i + np.where(v >= 0, frac >= 0.5, frac > 0.5)).astype(np.int64)


def ref_sample(img, sx, sy, interpolation, mode, fill):
    """Reads img (H, W, C) at the source points (sx, sy) as TensorFlow's projective transform."""
    h, w, _ = img.shape
    img = img.astype(np.float32)
    x, y = ref_map_coord(sx, w, mode), ref_map_coord(sy, h, mode)
    fill = np.float32(fill if mode == "constant" else 0)

    def read(yi, xi):
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        return np.where(inside[..., None], img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)], fill)

    if interpolation == "nearest":
        return read(ref_round(y), ref_round(x))
    x0, y0 = np.floor(x), np.floor(y)
    wx0, wx1 = ((x0 + 1) - x)[..., None], (x - x0)[..., None]
    wy0, wy1 = ((y0 + 1) - y)[..., None], (y - y0)[..., None]
    xi, yi = x0.astype(np.int64), y0.astype(np.int64)
    top = wx0 * read(yi, xi) + wx1 * read(yi, xi + 1)
    bottom = wx0 * read(yi + 1, xi) + wx1 * read(yi + 1, xi + 1)
    return wy0 * top + wy1 * bottom


def ref_affine(x, transforms, interpolation, mode, fill=0.0):
    n, h, w, _ = x.shape
    gy, gx = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    out = []
    for i in range(n):
        a0, a1, a2, b0, b1, b2 = np.asarray(transforms[i if len(transforms) > 1 else 0], np.float32)
        out.append(ref_sample(x[i], a0 * gx + a1 * gy + a2, b0 * gx + b1 * gy + b2, interpolation, mode, fill))
    return np.stack(out)


def ref_resize(x, height, width, interpolation):
    """tf.image.resize with half-pixel centres: per-axis source indices and weights."""
    def axis(n_in, n_out):
        scale = np.float32(n_in) / np.float32(n_out)
        o = np.arange(n_out, dtype=np.float32)
        if interpolation == "nearest":
            i = np.minimum(np.floor((o + np.float32(0.5)) * scale).astype(np.int64), n_in - 1)
            return i, i, np.zeros(n_out, np.float32)
        src = (o + np.float32(0.5)) * scale - np.float32(0.5)
        lo = np.floor(src)
        return (np.maximum(lo, 0).astype(np.int64), np.minimum(np.ceil(src), n_in - 1).astype(np.int64),
                (src - lo).astype(np.float32))

    y0, y1, wy = axis(x.shape[1], height)
    x0, x1, wx = axis(x.shape[2], width)
    x = x.astype(np.float32)
    wx = wx[None, None, :, None]
    top = x[:, y0][:, :, x0] + (x[:, y0][:, :, x1] - x[:, y0][:, :, x0]) * wx
    bottom = x[:, y1][:, :, x0] + (x[:, y1][:, :, x1] - x[:, y1][:, :, x0]) * wx
    return top + (bottom - top) * wy[None, :, None, None]


def ref_aspect_window(h, w, th, tw):
    ch = max(min(h, int(w * th / tw)), 1)
    cw = max(min(w, int(h * tw / th)), 1)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def arr(t):
    return np.asarray(t)


# --- kernels against the references ------------------------------------------------------------

@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_kernel_matches_reference(mode, interpolation):
    rng = np.random.default_rng(1)
    x = images((5, 9, 13, 2))
    angle, zoom = rng.uniform(-np.pi, np.pi, 5), rng.uniform(0.4, 2.5, 5)
    shift = rng.uniform(-20, 20, (2, 5))
    c, s = np.cos(angle) * zoom, np.sin(angle) * zoom
    t = np.stack([c, -s, shift[0], s, c, shift[1]], 1).astype(np.float32)
    got = arr(_core.image_affine(tf.constant(x)._t, tf.constant(t)._t, interpolation, mode, 7.5))
    np.testing.assert_allclose(got, ref_affine(x, t, interpolation, mode, 7.5), rtol=1e-5, atol=2e-3)
    # one transform shared by the batch
    got = arr(_core.image_affine(tf.constant(x)._t, tf.constant(t[:1])._t, interpolation, mode, 7.5))
    np.testing.assert_allclose(got, ref_affine(x, t[:1], interpolation, mode, 7.5), rtol=1e-5, atol=2e-3)


def test_affine_kernel_matches_tensorflow():
    tfk = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, (3, 8, 11, 3)).astype(np.float32)
    t = np.concatenate([rng.uniform(-2, 2, (3, 2)), rng.uniform(-9, 9, (3, 1)), rng.uniform(-2, 2, (3, 2)),
                        rng.uniform(-9, 9, (3, 1))], 1).astype(np.float32)
    for mode in ("reflect", "wrap", "constant", "nearest"):
        for interpolation in ("bilinear", "nearest"):
            ref = tfk.raw_ops.ImageProjectiveTransformV3(
                images=x, transforms=np.pad(t, ((0, 0), (0, 2))), output_shape=[8, 11], fill_value=3.0,
                interpolation=interpolation.upper(), fill_mode=mode.upper()).numpy()
            got = arr(_core.image_affine(tf.constant(x)._t, tf.constant(t)._t, interpolation, mode, 3.0))
            np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-4, err_msg=f"{mode} {interpolation}")


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("size", [(5, 7), (18, 26), (9, 13), (1, 1), (30, 4), (3, 40)])
def test_resizing_matches_half_pixel_reference(interpolation, size):
    x = images((3, 9, 13, 3))
    got = arr(layers.Resizing(*size, interpolation=interpolation)(x))
    assert got.shape == (3,) + size + (3,) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref_resize(x, *size, interpolation), rtol=1e-5, atol=1e-3)


def test_resizing_matches_tensorflow():
    tfk = pytest.importorskip("tensorflow")
    x = images((2, 17, 10, 3)).astype(np.float32)
    for interpolation in ("bilinear", "nearest"):
        for size in [(8, 5), (34, 25), (5, 31)]:
            ref = tfk.image.resize(x, size, method=interpolation).numpy()
            np.testing.assert_allclose(arr(layers.Resizing(*size, interpolation=interpolation)(x)), ref,
                                       rtol=1e-5, atol=1e-3)


def test_resizing_crop_and_pad_to_aspect_ratio():
    x = images((2, 9, 16, 1))
    top, left, h, w = ref_aspect_window(9, 16, 4, 4)
    assert (top, left, h, w) == (0, 3, 9, 9)
    got = arr(layers.Resizing(4, 4, crop_to_aspect_ratio=True)(x))
    np.testing.assert_allclose(got, ref_resize(x[:, :, 3:12], 4, 4, "bilinear"), rtol=1e-5, atol=1e-3)
    # padding: 16 wide at aspect 1 -> 3 rows of fill above and below (Keras pads both sides equally)
    got = arr(layers.Resizing(8, 8, pad_to_aspect_ratio=True, fill_value=5.0)(x))
    padded = np.pad(x.astype(np.float32), ((0, 0), (3, 3), (0, 0), (0, 0)), constant_values=5.0)
    np.testing.assert_allclose(got, ref_resize(padded, 8, 8, "bilinear"), rtol=1e-5, atol=1e-3)
    # same size: an exact copy
    np.testing.assert_array_equal(arr(layers.Resizing(9, 16)(x)), x.astype(np.float32))


def test_center_crop_is_exact_and_resizes_small_images():
    x = images((3, 9, 13, 2))
    np.testing.assert_array_equal(arr(layers.CenterCrop(4, 6)(x)), x[:, 2:6, 3:9].astype(np.float32))
    np.testing.assert_array_equal(arr(layers.CenterCrop(9, 13)(x)), x.astype(np.float32))
    top, left, h, w = ref_aspect_window(9, 13, 12, 6)  # taller than the input: crop to aspect, then resize
    np.testing.assert_allclose(arr(layers.CenterCrop(12, 6)(x)),
                               ref_resize(x[:, top:top + h, left:left + w], 12, 6, "bilinear"), rtol=1e-5, atol=1e-3)


def test_random_flip_is_an_exact_per_image_flip():
    x = images((16, 5, 7, 3))
    for mode, allowed in [("horizontal", {0, 1}), ("vertical", {0, 2}), ("horizontal_and_vertical", {0, 1, 2, 3})]:
        layer = layers.RandomFlip(mode, seed=3)
        t = layer.get_random_transformation(x)
        flips = t["flips"]
        assert set(flips.tolist()) <= allowed and len(set(flips.tolist())) > 1
        got = arr(layer.transform_images(x, t))
        for img, f, out in zip(x, flips, got):
            ref = img[:, ::-1] if f & 1 else img
            ref = ref[::-1] if f & 2 else ref
            np.testing.assert_array_equal(out, ref.astype(np.float32))


def test_random_crop_windows_are_exact_and_inference_resizes():
    x = images((12, 10, 14, 2))
    layer = layers.RandomCrop(6, 8, seed=1)
    t = layer.get_random_transformation(x)
    off = t["offsets"]
    assert off.shape == (12, 2) and off[:, 0].max() <= 4 and off[:, 1].max() <= 6 and off.min() >= 0
    assert len({tuple(o) for o in off}) > 1  # per-image windows
    got = arr(layer.transform_images(x, t))
    for img, (i, j), out in zip(x, off, got):
        np.testing.assert_array_equal(out, img[i:i + 6, j:j + 8].astype(np.float32))
    # inference: largest centred window with the target aspect, resized (as Keras documents)
    top, left, h, w = ref_aspect_window(10, 14, 6, 8)
    np.testing.assert_allclose(arr(layer(x, training=False)),
                               ref_resize(x[:, top:top + h, left:left + w], 6, 8, "bilinear"), rtol=1e-5, atol=1e-3)
    assert arr(layer(x[:, :5], training=True)).shape == (12, 6, 8, 2)  # smaller than the target: resized


def _expected_rotation(angles, h, w):
    a = np.deg2rad(angles)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    c, s = np.cos(a), np.sin(a)
    return np.stack([c, -s, cx - cx * c + cy * s, s, c, cy - cx * s - cy * c], 1)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_random_rotation_zoom_translation_match_the_affine_reference(interpolation, fill_mode):
    x = images((6, 11, 8, 3))
    n, h, w, _ = x.shape
    kw = dict(fill_mode=fill_mode, interpolation=interpolation, fill_value=9.0, seed=4)
    rot = layers.RandomRotation((-0.2, 0.3), **kw)
    t = rot.get_random_transformation(x)
    assert np.all((t["angles"] >= -72) & (t["angles"] <= 108))
    np.testing.assert_allclose(t["transforms"], _expected_rotation(t["angles"], h, w), atol=1e-12)
    zoom = layers.RandomZoom((-0.3, 0.2), (0.1, 0.5), **kw)
    tz = zoom.get_random_transformation(x)
    zx, zy = tz["zooms"].T
    assert np.all((zy >= 0.7) & (zy <= 1.2) & (zx >= 1.1) & (zx <= 1.5))
    np.testing.assert_allclose(tz["transforms"], np.stack(
        [zx, 0 * zx, (w - 1) / 2 * (1 - zx), 0 * zx, zy, (h - 1) / 2 * (1 - zy)], 1))
    shift = layers.RandomTranslation(0.2, (-0.5, 0.1), **kw)
    ts = shift.get_random_transformation(x)
    dx, dy = ts["translations"].T
    assert np.all((np.abs(dy) <= 0.2 * h) & (dx >= -0.5 * w) & (dx <= 0.1 * w))
    np.testing.assert_allclose(ts["transforms"], np.stack([1 + 0 * dx, 0 * dx, -dx, 0 * dx, 1 + 0 * dx, -dy], 1))
    for layer, tr in [(rot, t), (zoom, tz), (shift, ts)]:
        got = arr(layer.transform_images(x, tr))
        np.testing.assert_allclose(got, ref_affine(x, tr["transforms"].astype(np.float32), interpolation, fill_mode,
                                                   9.0), rtol=1e-5, atol=2e-3, err_msg=type(layer).__name__)


def test_quarter_turn_is_counter_clockwise_and_zoom_and_shift_move_pixels():
    x = images((2, 6, 6, 1))
    rot = layers.RandomRotation((0.25, 0.25), interpolation="nearest")
    np.testing.assert_array_equal(arr(rot(x)), np.rot90(x, 1, axes=(1, 2)).astype(np.float32))
    shift = layers.RandomTranslation((0.5, 0.5), (0, 0), fill_mode="constant", interpolation="nearest")
    out = arr(shift(x))  # down by 3 rows
    np.testing.assert_array_equal(out[:, 3:], x[:, :3].astype(np.float32))
    assert not out[:, :3].any()
    zoom = layers.RandomZoom((-0.5, -0.5), interpolation="bilinear")  # 2x zoom in about the centre
    out = arr(zoom(x.astype(np.float32)))
    np.testing.assert_allclose(out[:, 2:4, 2:4], ref_affine(x, [[0.5, 0, 1.25, 0, 0.5, 1.25]], "bilinear",
                                                            "reflect")[:, 2:4, 2:4], atol=1e-4)


def test_contrast_and_brightness_match_reference():
    x = images((7, 5, 6, 3))
    con = layers.RandomContrast((0.3, 0.6), seed=2)
    t = con.get_random_transformation(x)
    f = t["contrast_factors"]
    assert np.all((f >= 0.7) & (f <= 1.6))
    xf = x.astype(np.float64)
    mean = xf.mean(axis=(1, 2), keepdims=True)
    ref = np.clip((xf - mean) * f[:, None, None, None] + mean, 0, 255)
    np.testing.assert_allclose(arr(con.transform_images(x, t)), ref, rtol=1e-5, atol=1e-3)
    assert layers.RandomContrast(0.5).factor == (0.5, 0.5)  # [1 - 0.5, 1 + 0.5], as Keras documents

    bri = layers.RandomBrightness(0.2, value_range=(0, 1), seed=2)
    xs = x / 255.0
    t = bri.get_random_transformation(xs)
    d = t["deltas"]
    assert np.all(np.abs(d) <= 0.2) and np.ptp(d) > 0
    np.testing.assert_allclose(arr(bri.transform_images(xs, t)), np.clip(xs + d[:, None, None, None], 0, 1),
                               rtol=1e-6, atol=1e-6)


def test_rescaling_and_float64_layers():
    x = images((2, 3, 4, 3))
    np.testing.assert_allclose(arr(layers.Rescaling(1 / 127.5, offset=-1)(x)), x / 127.5 - 1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(arr(layers.Rescaling([1, 2, 3])(x)), x * [1, 2, 3])
    y = layers.RandomRotation(0.1, dtype="float64", seed=1)(x.astype(np.float64))
    assert y.dtype == tf.float64


# --- randomness, inference, threads, dtypes ------------------------------------------------------

RANDOM_LAYERS = [
    lambda seed=None: layers.RandomFlip(seed=seed),
    lambda seed=None: layers.RandomCrop(6, 7, seed=seed),
    lambda seed=None: layers.RandomRotation(0.2, seed=seed),
    lambda seed=None: layers.RandomZoom(0.3, seed=seed),
    lambda seed=None: layers.RandomTranslation(0.2, 0.2, seed=seed),
    lambda seed=None: layers.RandomContrast(0.5, seed=seed),
    lambda seed=None: layers.RandomBrightness(0.3, seed=seed),
]


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_random_layers_repeat_under_a_seed_and_vary_otherwise(make):
    x = images((8, 10, 12, 3))
    tf.random.set_seed(11)
    layer = make()
    a, b = arr(layer(x)), arr(layer(x))
    assert not np.array_equal(a, b)  # a new draw per call
    tf.random.set_seed(11)
    np.testing.assert_array_equal(arr(layer(x)), a)
    np.testing.assert_array_equal(arr(layer(x)), b)
    # a layer seed: its own stream, whatever the global seed
    tf.random.set_seed(1)
    s1 = arr(make(seed=5)(x))
    tf.random.set_seed(2)
    np.testing.assert_array_equal(arr(make(seed=5)(x)), s1)
    assert not np.array_equal(arr(make(seed=6)(x)), s1)


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_random_layers_pass_through_at_inference_and_augment_by_default(make):
    x = images((8, 10, 12, 3))
    layer = make(seed=1)
    out = layer(x, training=False)
    expected = x.astype(np.float32)
    if isinstance(layer, layers.RandomCrop):  # Keras' documented inference path
        top, left, h, w = ref_aspect_window(10, 12, 6, 7)
        expected = ref_resize(x[:, top:top + h, left:left + w], 6, 7, "bilinear")
    np.testing.assert_allclose(arr(out), expected, rtol=1e-5, atol=1e-3)
    assert out.dtype == tf.float32
    assert not np.allclose(arr(layer(x)), expected)  # layer(x) augments, as Keras 3 (training defaults to True)
    model = Sequential([tf.Input(shape=(10, 12, 3)), make(seed=1)])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("make", RANDOM_LAYERS + [lambda seed=None: layers.Resizing(17, 23),
                                                  lambda seed=None: layers.CenterCrop(5, 5)])
def test_results_are_bitwise_identical_for_1_and_2_threads(make, restore_threads):
    x = images((64, 24, 20, 3))
    outs = []
    for threads in (1, 2):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.random.set_seed(7)
        outs.append(arr(make()(x)).copy())
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("make", RANDOM_LAYERS + [lambda seed=None: layers.Resizing(7, 9)])
def test_uint8_int_and_float_inputs_agree(make):
    x = images((4, 10, 12, 3))
    outs = []
    for dtype in (np.uint8, np.int32, np.float32, np.float64):
        outs.append(arr(make(seed=3)(x.astype(dtype))))
        assert outs[-1].dtype == np.float32
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-6, atol=1e-4)
    # one image (rank 3) is a batch of one
    np.testing.assert_allclose(arr(make(seed=3)(x[0])), arr(make(seed=3)(x[:1]))[0])


def test_augmentation_in_a_model_trains_and_builds_symbolically():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 8, 8, 1)).astype(np.uint8)
    y = (x.reshape(64, -1).mean(1) > 127).astype(np.int64)
    tf.random.set_seed(0)
    model = Sequential([tf.Input(shape=(8, 8, 1)), layers.RandomFlip("horizontal"), layers.RandomRotation(0.05),
                        layers.Rescaling(1 / 255), layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert len(hist.history["loss"]) == 2
    inp = tf.Input(shape=(12, 10, 3))
    out = layers.RandomCrop(6, 5)(layers.Resizing(8, 8)(inp))
    assert out.shape == (None, 6, 5, 3)


# --- errors ------------------------------------------------------------------------------------

def test_image_layer_errors():
    x = images((2, 6, 6, 3))
    for bad in [lambda: layers.RandomRotation(1.5), lambda: layers.RandomRotation("a"),
                lambda: layers.RandomRotation((0.1, 0.2, 0.3)), lambda: layers.RandomZoom(-1.0),
                lambda: layers.RandomTranslation(0.1, 2), lambda: layers.RandomContrast(1.5),
                lambda: layers.RandomContrast(-0.1), lambda: layers.RandomBrightness(1.2),
                lambda: layers.RandomBrightness(0.1, value_range=(0,)), lambda: layers.RandomFlip("diagonal"),
                lambda: layers.RandomRotation(0.1, fill_mode="mirror"),
                lambda: layers.RandomZoom(0.1, interpolation="bicubic"), lambda: layers.Resizing(0, 4),
                lambda: layers.Resizing(4, 4, interpolation="lanczos3"),
                lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
                lambda: layers.CenterCrop(4, -1), lambda: layers.RandomFlip(data_format="channels_first")]:
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(TypeError):
        layers.RandomFlip(seed="abc")
    for layer in [layers.RandomFlip(), layers.Resizing(3, 3), layers.RandomRotation(0.1), layers.CenterCrop(2, 2)]:
        with pytest.raises(ValueError, match="rank"):
            layer(np.zeros((6, 6), np.float32))
        with pytest.raises(ValueError, match="rank"):
            layer(np.zeros((1, 2, 6, 6, 3), np.float32))
    with pytest.raises(TypeError, match="bool"):
        layers.RandomFlip()(np.zeros((1, 4, 4, 1), bool))
    t = tf.constant(x)._t
    with pytest.raises(ValueError, match="transforms"):
        _core.image_affine(t, tf.constant(np.zeros((3, 6), np.float32))._t)
    with pytest.raises(ValueError, match="finite"):
        _core.image_affine(t, tf.constant(np.full((1, 6), np.nan, np.float32))._t)
    with pytest.raises(ValueError, match="fill_mode"):
        _core.image_affine(t, tf.constant(np.zeros((1, 6), np.float32))._t, "bilinear", "mirror")
    with pytest.raises(ValueError, match="outside"):
        _core.image_crop(t, tf.constant(np.array([[0, 0], [1, 3]]))._t, 4, 4)
    with pytest.raises(ValueError, match="window"):
        _core.image_resize(t, 3, 3, "bilinear", [2, 0, 5, 6])
    with pytest.raises(ValueError, match="rank 4"):
        _core.image_flip(tf.constant(np.zeros((4, 4, 1), np.float32))._t, tf.constant(np.zeros(4, np.uint8))._t)


# --- Normalization -----------------------------------------------------------------------------

def test_normalization_adapt_numpy_batches_and_tensors():
    rng = np.random.default_rng(0)
    data = rng.normal([1.0, -2.0, 5.0], [0.5, 2.0, 3.0], (500, 3)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    np.testing.assert_allclose(norm.mean.ravel(), data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.variance.ravel(), data.var(0), rtol=1e-5)
    assert int(norm.count.numpy()) == 500
    out = arr(norm(data))
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-4)
    batched = layers.Normalization()
    batched.adapt([data[:123], data[123:400], data[400:]])
    np.testing.assert_allclose(batched.mean, norm.mean, rtol=1e-5)
    np.testing.assert_allclose(batched.variance, norm.variance, rtol=1e-5)
    gen = layers.Normalization()
    gen.adapt(((data[i:i + 100], None) for i in range(0, 500, 100)))
    np.testing.assert_allclose(gen.variance, norm.variance, rtol=1e-5)
    from_tensor = layers.Normalization()
    from_tensor.adapt(tf.constant(data), batch_size=64)
    np.testing.assert_allclose(from_tensor.mean, norm.mean, rtol=1e-5)
    assert [w.name for w in norm.weights] == ["mean", "variance", "count"] and not norm.trainable_weights


def test_normalization_axes_given_stats_invert_and_errors():
    rng = np.random.default_rng(1)
    imgs = rng.uniform(0, 255, (10, 4, 5, 3)).astype(np.float32)
    per_channel = layers.Normalization(axis=-1)
    per_channel.adapt(imgs)
    np.testing.assert_allclose(per_channel.mean.ravel(), imgs.mean((0, 1, 2)), rtol=1e-5)
    scalar = layers.Normalization(axis=None)
    scalar.adapt(imgs)
    np.testing.assert_allclose(arr(scalar(imgs)), (imgs - imgs.mean()) / imgs.std(), rtol=1e-4, atol=1e-4)
    fixed = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 9.0, 0.0])
    x = np.array([[3.0, 8.0, 3.0]], np.float32)
    np.testing.assert_allclose(arr(fixed(x)), [[1.0, 2.0, 0.0]])
    inverse = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 9.0, 1.0], invert=True)
    np.testing.assert_allclose(arr(inverse(np.array([[1.0, 2.0, 0.0]], np.float32))), [[3.0, 8.0, 3.0]])
    with pytest.raises(ValueError, match="both"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError):
        fixed.adapt(x)
    with pytest.raises(ValueError, match="incompatible"):
        per_channel.adapt(np.zeros((2, 4, 5, 2), np.float32))
    with pytest.raises(TypeError):
        layers.Normalization().adapt(5)


# --- text ----------------------------------------------------------------------------------------

CORPUS = ["The cat sat.", "the dog, the CAT!", "zz yy"]


def test_text_vectorization_int_mode_vocabulary_order_and_padding():
    tv = layers.TextVectorization(max_tokens=6)
    tv.adapt(CORPUS)
    # counts: the 3, cat 2, then count-1 tokens by reverse string order: zz, yy (sat, dog cut by max_tokens)
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "cat", "zz", "yy"]
    assert tv.get_vocabulary(include_special_tokens=False) == ["the", "cat", "zz", "yy"]
    assert tv.vocabulary_size() == 6
    out = tv(["the cat ate", "dog"])
    assert out.dtype == tf.int64
    np.testing.assert_array_equal(arr(out), [[2, 3, 1], [1, 0, 0]])  # longest row sets the width, 0 pads
    fixed = layers.TextVectorization(output_sequence_length=4, vocabulary=["the", "cat"])
    np.testing.assert_array_equal(arr(fixed(np.array(["The the CAT cat the", "cat"]))), [[2, 2, 3, 3], [3, 0, 0, 0]])
    chars = layers.TextVectorization(split="character", standardize="lower", vocabulary=["a", "b"])
    np.testing.assert_array_equal(arr(chars(["Ab!", "b"])), [[2, 3, 1], [3, 0, 0]])
    assert arr(fixed("the")).tolist() == [2, 0, 0, 0]  # one string: one row


def test_text_vectorization_bag_modes_ngrams_and_tf_idf():
    tv = layers.TextVectorization(output_mode="tf_idf", ngrams=2)
    tv.adapt(CORPUS)
    assert tv.get_vocabulary() == ["[UNK]", "the", "the cat", "cat", "zz yy", "zz", "yy", "the dog", "sat",
                                   "dog the", "dog", "cat sat"]
    out = arr(tv(["the cat ate the", ""]))
    idf = np.log(1 + 3 / (1 + np.array([2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1])))  # document frequencies
    oov_idf = idf.mean()
    expected = np.zeros(12)
    expected[0] = 3 * oov_idf  # ate, "cat ate", "ate the"
    expected[1], expected[2], expected[3] = 2 * idf[0], idf[1], idf[2]
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)
    assert not out[1].any() and out.dtype == np.float32
    multi = layers.TextVectorization(output_mode="multi_hot", max_tokens=8, pad_to_max_tokens=True)
    multi.adapt(["b a", "a c"])
    assert multi.get_vocabulary() == ["[UNK]", "a", "c", "b"]
    np.testing.assert_array_equal(arr(multi(["a q a", "c"])), [[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0]])
    count = layers.TextVectorization(output_mode="count", vocabulary=["a", "c"])
    np.testing.assert_array_equal(arr(count(["a q a z", "c"])), [[2, 2, 0], [0, 0, 1]])
    no_split = layers.TextVectorization(split=None, standardize=None, output_sequence_length=2)
    no_split.adapt(np.array([["a"], ["b"], ["a"]]))
    np.testing.assert_array_equal(arr(no_split(np.array([["a"], ["zz"], [""]]))), [[2, 0], [1, 0], [0, 0]])
    custom = layers.TextVectorization(standardize=lambda s: s.replace("-", " "), split=lambda s: s.split(" "),
                                      vocabulary=["x", "y"])
    np.testing.assert_array_equal(arr(custom(["x-y z"])), [[2, 3, 1]])


def test_text_vectorization_vocabulary_files_and_errors(tmp_path):
    tv = layers.TextVectorization(max_tokens=10)
    tv.adapt(np.array(CORPUS))
    tv.save_assets(str(tmp_path))
    lines = (tmp_path / "vocabulary.txt").read_text().split("\n")
    assert lines == tv.get_vocabulary()
    other = layers.TextVectorization(max_tokens=10)
    other.load_assets(str(tmp_path))
    assert other.get_vocabulary() == tv.get_vocabulary()
    np.testing.assert_array_equal(arr(other(CORPUS)), arr(tv(CORPUS)))
    from_file = layers.TextVectorization(vocabulary=str(tmp_path / "vocabulary.txt"))
    assert from_file.get_vocabulary() == tv.get_vocabulary()
    idf = layers.TextVectorization(output_mode="tf_idf")
    idf.adapt(CORPUS)
    idf.save_assets(str(tmp_path))
    store = {}
    idf.save_own_variables(store)
    restored = layers.TextVectorization(output_mode="tf_idf")
    restored.load_own_variables(store)
    restored.load_assets(str(tmp_path))
    np.testing.assert_allclose(arr(restored(CORPUS)), arr(idf(CORPUS)))
    config = tv.get_config()
    assert config["max_tokens"] == 10 and config["output_mode"] == "int"
    for bad in [lambda: layers.TextVectorization(output_mode="one_hot_bag"),
                lambda: layers.TextVectorization(output_mode="count", output_sequence_length=3),
                lambda: layers.TextVectorization(standardize="upper"),
                lambda: layers.TextVectorization(split="comma"), lambda: layers.TextVectorization(max_tokens=1),
                lambda: layers.TextVectorization(vocabulary=["a", "b", "a"]),
                lambda: layers.TextVectorization(vocabulary=["a", ""]),
                lambda: layers.TextVectorization(max_tokens=3, vocabulary=["a", "b"]),
                lambda: layers.TextVectorization(output_mode="tf_idf", vocabulary=["a"]),
                lambda: layers.TextVectorization(vocabulary=["a"]).adapt(["b"]),
                lambda: layers.TextVectorization(output_mode="count")(["a"]),
                lambda: layers.TextVectorization()(np.array([["a", "b"]]))]:
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(TypeError):
        layers.TextVectorization(vocabulary=["a"])([1, 2])


def test_pad_sequences_follows_keras_defaults():
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    np.testing.assert_array_equal(pad_sequences(seqs), [[0, 0, 1, 2, 3], [0, 0, 0, 0, 4], [0] * 5, [5, 6, 7, 8, 9]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3), [[1, 2, 3], [0, 0, 4], [0, 0, 0], [7, 8, 9]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3, padding="post", truncating="post", value=-1),
                                  [[1, 2, 3], [4, -1, -1], [-1, -1, -1], [5, 6, 7]])
    out = pad_sequences([[0.5, 1.5]], maxlen=3, dtype="float32")
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 0.5, 1.5]]
    assert pad_sequences([[1, 2]]).dtype == np.int32
    assert pad_sequences([[[1, 2]], [[3, 4], [5, 6]]]).shape == (2, 2, 2)
    assert pad_sequences(seqs, maxlen=0).shape == (4, 0)
    assert pad_sequences([]).shape == (0, 0)
    assert tf.utils.pad_sequences is pad_sequences and tf.preprocessing.sequence.pad_sequences is pad_sequences
    for bad in [lambda: pad_sequences(seqs, padding="middle"), lambda: pad_sequences(seqs, truncating="x"),
                lambda: pad_sequences([1, 2]), lambda: pad_sequences(seqs, maxlen=-1),
                lambda: pad_sequences(seqs, value="x"), lambda: pad_sequences([[[1]], [[1, 2]]])]:
        with pytest.raises(ValueError):
            bad()


def test_tokenizer_indices_sequences_and_matrices():
    texts = ["The cat sat on the mat.", "The dog ate the cat!"]
    assert text_to_word_sequence("Hello, World!\tok") == ["hello", "world", "ok"]
    tok = Tokenizer(num_words=4, oov_token="<oov>")
    tok.fit_on_texts(texts)
    # the: 4, cat: 2, then first-seen order: sat on mat dog ate
    assert tok.word_index == {"<oov>": 1, "the": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6, "dog": 7, "ate": 8}
    assert tok.word_counts["the"] == 4 and tok.word_docs["cat"] == 2 and tok.document_count == 2
    assert tok.texts_to_sequences(["the cat and the dog"]) == [[2, 3, 1, 2, 1]]  # beyond num_words -> oov
    assert tok.sequences_to_texts([[2, 3, 9]]) == ["the cat <oov>"]
    np.testing.assert_array_equal(tok.texts_to_matrix(["the cat the"], mode="count"), [[0, 0, 2, 1]])
    np.testing.assert_array_equal(tok.texts_to_matrix(["the cat the"], mode="binary"), [[0, 0, 1, 1]])
    np.testing.assert_allclose(tok.texts_to_matrix(["the cat the zz"], mode="freq"), [[0, 0.25, 0.5, 0.25]])
    idf = lambda docs: np.log(1 + 2 / (1 + docs))  # noqa: E731
    np.testing.assert_allclose(tok.texts_to_matrix(["the cat the"], mode="tfidf"),
                               [[0, 0, (1 + np.log(2)) * idf(2), idf(2)]])
    plain = Tokenizer()
    plain.fit_on_texts(texts)
    assert plain.texts_to_sequences(["the unknown cat"]) == [[1, 2]]
    assert plain.texts_to_matrix(texts).shape == (2, 8)
    chars = Tokenizer(char_level=True)
    chars.fit_on_texts(["abba"])
    assert chars.word_index == {"a": 1, "b": 2} and chars.texts_to_sequences(["ab"]) == [[1, 2]]
    again = tokenizer_from_json(tok.to_json())
    assert again.word_index == tok.word_index and again.texts_to_sequences(texts) == tok.texts_to_sequences(texts)
    with pytest.raises(ValueError):
        tok.texts_to_matrix(texts, mode="tf")
    with pytest.raises(ValueError):
        Tokenizer().texts_to_matrix(texts)
    with pytest.raises(TypeError):
        Tokenizer().fit_on_texts("one string")


# --- imbalance and validation ---------------------------------------------------------------------

def test_resampling_reaches_the_target_ratios():
    y = np.array([0] * 90 + [1] * 10 + [2] * 30)
    idx = oversample_indices(y, seed=0)
    np.testing.assert_array_equal(np.bincount(y[idx]), [90, 90, 90])
    assert set(range(130)) <= set(idx.tolist())  # every original sample kept
    np.testing.assert_array_equal(np.bincount(y[oversample_indices(y, ratio=0.5, seed=0)]), [90, 45, 45])
    idx = undersample_indices(y, seed=0)
    np.testing.assert_array_equal(np.bincount(y[idx]), [10, 10, 10])
    assert len(set(idx.tolist())) == 30  # without replacement
    np.testing.assert_array_equal(np.bincount(y[undersample_indices(y, ratio=0.5, seed=0)]), [20, 10, 20])
    np.testing.assert_array_equal(np.bincount(y[undersample_indices(y, ratio={0: 40}, seed=0)]), [40, 10, 30])
    np.testing.assert_array_equal(oversample_indices(y, seed=3), oversample_indices(y, seed=3))
    assert not np.array_equal(oversample_indices(y, seed=3), oversample_indices(y, seed=4))
    np.testing.assert_array_equal(undersample_indices(y, seed=1, shuffle=False),
                                  np.sort(undersample_indices(y, seed=1, shuffle=False)))
    x = np.arange(130.0)[:, None]
    x2, y2, idx = random_oversample(x, tf.utils.to_categorical(y), seed=2, return_indices=True)
    np.testing.assert_array_equal(x2[:, 0], idx)
    np.testing.assert_array_equal(y2.sum(0), [90, 90, 90])
    (xa, xb), y3 = random_undersample([x, -x], y, seed=2)
    np.testing.assert_array_equal(xa, -xb)
    np.testing.assert_array_equal(np.bincount(y3), [10, 10, 10])
    tf.random.set_seed(5)
    a = oversample_indices(y)
    tf.random.set_seed(5)
    np.testing.assert_array_equal(oversample_indices(y), a)
    for bad in [lambda: oversample_indices(y, ratio=0), lambda: oversample_indices(y, ratio=1.5),
                lambda: oversample_indices(y, ratio={0: 10}), lambda: undersample_indices(y, ratio={1: 20}),
                lambda: undersample_indices(y, ratio={7: 1}), lambda: oversample_indices(np.zeros((3, 2, 2)))]:
        with pytest.raises(ValueError):
            bad()


def test_stratified_validation_split_keeps_class_proportions():
    from tinytf.models.data import ArrayData

    y = np.array([0] * 800 + [1] * 150 + [2] * 50)  # sorted by class: the tail split sees only class 2
    x = np.arange(1000.0)[:, None]
    data = ArrayData(x, y)
    _, tail = data.split(0.2)
    assert set(tail.ys[0].tolist()) == {2, 1}
    train, val = data.split(0.2, "stratified")
    assert val.n == tail.n == 200 and train.n == 800
    np.testing.assert_array_equal(np.bincount(val.ys[0]), [160, 30, 10])
    assert np.all(np.diff(val.xs[0][:, 0]) > 0)  # order kept
    assert set(train.xs[0][:, 0]) | set(val.xs[0][:, 0]) == set(x[:, 0])
    _, onehot_val = ArrayData(x, tf.utils.to_categorical(y)).split(0.1, "stratified")
    np.testing.assert_array_equal(onehot_val.ys[0].sum(0), [80, 15, 5])
    with pytest.raises(ValueError, match="validation_split_mode"):
        data.split(0.2, "random")

    rng = np.random.default_rng(0)
    xs = rng.normal(size=(300, 4)).astype(np.float32)
    ys = (xs[:, 0] > 1.0).astype(np.int64)  # about 16% positives
    model = Sequential([tf.Input(shape=(4,)), layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(xs, ys, epochs=1, validation_split=0.25, validation_split_mode="stratified", verbose=0)
    assert "val_accuracy" in hist.history


def test_kfold_splitters_partition_the_samples():
    y = np.array([0] * 20 + [1] * 7 + [2] * 3)
    for splitter in (KFold(4), KFold(4, shuffle=True, seed=1), StratifiedKFold(3, shuffle=True, seed=1),
                     StratifiedKFold(3)):
        folds = list(splitter.split(np.zeros((30, 2)), y))
        assert len(folds) == splitter.get_n_splits()
        vals = np.concatenate([v for _, v in folds])
        np.testing.assert_array_equal(np.sort(vals), np.arange(30))
        for train, val in folds:
            assert not set(train) & set(val) and len(train) + len(val) == 30
        if isinstance(splitter, StratifiedKFold):
            counts = np.array([np.bincount(y[v], minlength=3) for _, v in folds])
            assert (counts.max(0) - counts.min(0)).max() <= 1
    assert [len(v) for _, v in KFold(4).split(np.zeros(10))] == [3, 3, 2, 2]
    with pytest.raises(ValueError):
        list(KFold(1).split(np.zeros(10)))
    with pytest.raises(ValueError):
        list(KFold(11).split(np.zeros(10)))
    with pytest.raises(ValueError):
        list(StratifiedKFold(2).split(np.zeros(10)))


def test_cross_validate_trains_a_fresh_model_per_fold():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    built = []

    def build():
        model = Sequential([tf.Input(shape=(3,)), layers.Dense(2, activation="softmax")])
        model.compile(tf.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
        built.append(model)
        return model

    result = cross_validate(build, x, y, k=3, fit_kwargs={"epochs": 5, "batch_size": 16}, seed=1)
    assert len(built) == 3 and len({id(m) for m in built}) == 3
    assert len(result["folds"]) == 3 and set(result["folds"][0]) == {"loss", "accuracy"}
    accs = [f["accuracy"] for f in result["folds"]]
    assert min(accs) > 0.85
    assert result["mean"]["accuracy"] == pytest.approx(np.mean(accs))
    assert result["std"]["accuracy"] == pytest.approx(np.std(accs))
    assert len(result["histories"]) == 3 and len(result["histories"][0]["loss"]) == 5
    again = cross_validate(build, x, y, k=3, fit_kwargs={"epochs": 5, "batch_size": 16}, seed=1)
    assert again["folds"] == result["folds"]  # seeded: folds and initialisation repeat
    with pytest.raises(ValueError, match="compiled"):
        cross_validate(lambda: Sequential([tf.Input(shape=(3,)), layers.Dense(2)]), x, y, k=2)
    with pytest.raises(ValueError, match="validation_split"):
        cross_validate(build, x, y, k=2, fit_kwargs={"validation_split": 0.1})


# --- the real data ---------------------------------------------------------------------------------

def _load(name):
    try:
        return getattr(tf.datasets, name).load_data()
    except RuntimeError as e:
        pytest.skip(f"{name} not available: {e}")


def test_fashion_mnist_convnet_with_augmentation_reaches_90_percent():
    """Random horizontal flips inside the model (uint8 images straight in), a
    small convnet, 6 epochs: 90.6% test accuracy (87.8% after 3 epochs without
    the hidden Dense(128); random shifts slow convergence too much for a test)."""
    (x_train, y_train), (x_test, y_test) = _load("fashion_mnist")
    tf.utils.set_random_seed(1)
    model = Sequential([tf.Input(shape=(28, 28, 1)), layers.RandomFlip("horizontal"), layers.Rescaling(1 / 255),
                        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
                        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
                        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.3),
                        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.time()
    model.fit(x_train[..., None], y_train, batch_size=64, epochs=6, verbose=0)
    _, acc = model.evaluate(x_test[..., None], y_test, verbose=0)
    print(f"fashion-mnist augmented convnet: test accuracy {acc:.4f} in {time.time() - start:.0f} s")
    assert acc >= 0.90, acc


def test_mnist_cross_validate_small_mlp():
    (x_train, y_train), _ = _load("mnist")
    x = x_train[:15000].reshape(-1, 784).astype("float32") / 255
    y = y_train[:15000]

    def build():
        model = Sequential([tf.Input(shape=(784,)), layers.Dense(64, activation="relu"),
                            layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    start = time.time()
    result = cross_validate(build, x, y, k=3, fit_kwargs={"epochs": 3, "batch_size": 32}, seed=0)
    accs = [f["accuracy"] for f in result["folds"]]
    print(f"mnist 3-fold MLP: fold accuracies {np.round(accs, 4).tolist()}, mean {result['mean']['accuracy']:.4f}"
          f" +- {result['std']['accuracy']:.4f} in {time.time() - start:.0f} s")
    # Keras 3 trains the same MLP on the same 10,000 samples to 91.8% (measured); tinytf's folds give 92.1-92.8%
    assert min(accs) > 0.90, accs
