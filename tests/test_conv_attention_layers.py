"""Convolution-family, reshaping and attention layers: outputs and gradients
(inputs and weights, float64) against PyTorch given the same weights in Keras
layout (or against numpy / an einsum transcription of Keras' formulas),
compute_output_shape, configs and argument errors."""
import math

import numpy as np
import pytest

import tinytf as tf
from tinytf import layers


def close(a, b, tol=1e-9):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def run(layer, inputs, call=None, **kwargs):
    """(outputs, grads wrt inputs, grads wrt trainable weights, cotangents) of
    sum(out_i * r_i) over the outputs, with fixed random r_i."""
    xs = [tf.constant(x) for x in inputs]
    with tf.GradientTape() as tape:
        tape.watch(xs)
        out = (call or layer)(*xs, **kwargs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        rs = [rand(*o.shape, seed=99 + i) for i, o in enumerate(outs)]
        loss = tf.add_n([tf.reduce_sum(o * tf.constant(r)) for o, r in zip(outs, rs)])
    grads = tape.gradient(loss, xs + layer.trainable_weights)
    return [o.numpy() for o in outs], [g.numpy() for g in grads[:len(xs)]], [g.numpy() for g in grads[len(xs):]], rs


def run_torch(fn, inputs, weights, rs):
    """The same for a torch function fn(*inputs, *weights)."""
    torch = pytest.importorskip("torch")
    xs = [torch.tensor(x, requires_grad=True) for x in inputs]
    ws = [torch.tensor(np.asarray(w, np.float64), requires_grad=True) for w in weights]
    out = fn(*xs, *ws)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    sum((o * torch.tensor(r)).sum() for o, r in zip(outs, rs)).backward()
    return ([o.detach().numpy() for o in outs], [x.grad.numpy() for x in xs],
            [w.grad.numpy() for w in ws if w.requires_grad])


def check_against_torch(layer, inputs, weights, fn, call=None, tol=1e-9, **kwargs):
    """Builds `layer`, sets `weights` (Keras layout), compares with torch fn."""
    (call or layer)(*[tf.constant(x) for x in inputs], **kwargs)
    layer.set_weights(weights)
    outs, gxs, gws, rs = run(layer, inputs, call, **kwargs)
    t_outs, t_gxs, t_gws = run_torch(fn, inputs, weights, rs)
    for got, want in zip(outs + gxs + gws, t_outs + t_gxs + t_gws):
        close(got, want, tol)
    return outs


def check_shape(layer, input_shape, out):
    """compute_output_shape with an unknown batch agrees with the eager output."""
    shape = layer.compute_output_shape(input_shape)
    assert tuple(shape) == (None,) + tuple(np.shape(out))[1:]


def tf_same_pad(size, k, s, d=1):
    """(before, after) of TensorFlow's SAME padding."""
    total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


# --- Conv1D --------------------------------------------------------------------------

@pytest.mark.parametrize("padding,strides,dilation,k", [
    ("valid", 1, 1, 3), ("same", 1, 1, 3), ("causal", 1, 1, 3), ("valid", 2, 1, 3), ("same", 3, 1, 4),
    ("causal", 2, 1, 2), ("same", 1, 2, 3), ("causal", 1, 3, 3), ("valid", 1, 2, 2),
])
def test_conv1d_matches_torch(padding, strides, dilation, k):
    F = pytest.importorskip("torch").nn.functional
    x, kernel, bias = rand(2, 11, 3), rand(k, 3, 4, seed=1), rand(4, seed=2)
    layer = layers.Conv1D(4, k, strides=strides, padding=padding, dilation_rate=dilation, activation="tanh",
                          dtype="float64")

    def ref(x, w, b):
        xc = x.permute(0, 2, 1)
        if padding == "same":
            xc = F.pad(xc, tf_same_pad(11, k, strides, dilation))
        elif padding == "causal":
            xc = F.pad(xc, ((k - 1) * dilation, 0))
        return F.conv1d(xc, w.permute(2, 1, 0), b, stride=strides, dilation=dilation).tanh().permute(0, 2, 1)

    (out,) = check_against_torch(layer, [x], [kernel, bias], ref)
    check_shape(layer, (None, 11, 3), out)
    assert [w.shape for w in layer.get_weights()] == [(k, 3, 4), (4,)]


def test_conv1d_causal_output_ignores_the_future():
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2, dtype="float64")
    x = rand(1, 9, 2)
    y = layer(x).numpy()
    x[:, 5:] += 1.0
    np.testing.assert_array_equal(layer(x).numpy()[:, :5], y[:, :5])


# --- Conv2DTranspose --------------------------------------------------------------------

# (padding, strides, output_padding, kernel, dilation, Keras' output height and width for a 5x6 input)
TRANSPOSE_CASES = [
    ("valid", 1, None, 3, 1, (7, 8)), ("same", 1, None, 3, 1, (5, 6)), ("valid", 2, None, 3, 1, (11, 13)),
    ("same", 2, None, 3, 1, (10, 12)), ("same", 2, None, 4, 1, (10, 12)), ("valid", 3, None, 2, 1, (15, 18)),
    ("same", 2, 1, 3, 1, (10, 12)), ("valid", 2, 1, 3, 1, (12, 14)), ("same", 3, 2, 4, 1, (14, 17)),
    ("same", 1, None, 3, 2, (5, 6)), ("valid", 1, None, 3, 2, (9, 10)),
]


@pytest.mark.parametrize("padding,strides,output_padding,k,dilation,out_hw", TRANSPOSE_CASES)
def test_conv2d_transpose_matches_torch(padding, strides, output_padding, k, dilation, out_hw):
    F = pytest.importorskip("torch").nn.functional
    x, kernel, bias = rand(2, 5, 6, 3), rand(k, k, 2, 3, seed=1), rand(2, seed=2)
    layer = layers.Conv2DTranspose(2, k, strides=strides, padding=padding, output_padding=output_padding,
                                   dilation_rate=dilation, activation="relu", dtype="float64")

    def ref(x, w, b):
        # torch's full transposed convolution, then the window TensorFlow keeps:
        # it starts at the forward conv's padding before, zeros fill any excess.
        full = F.conv_transpose2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), stride=strides, dilation=dilation)
        for axis, (n, length) in enumerate(zip((5, 6), out_hw)):
            before = tf_same_pad(length, k, strides, dilation)[0] if padding == "same" else 0
            full = F.pad(full, (0, 0) * (1 - axis) + (0, max(0, before + length - full.shape[2 + axis])))
            full = full.narrow(2 + axis, before, length)
        return (full + b[:, None, None]).relu().permute(0, 2, 3, 1)

    (out,) = check_against_torch(layer, [x], [kernel, bias], ref)
    assert out.shape == (2, *out_hw, 2)
    check_shape(layer, (None, 5, 6, 3), out)


def test_conv2d_transpose_weights_and_upsampling_shape():
    layer = layers.Conv2DTranspose(8, (3, 2), strides=2, padding="same")
    y = layer(np.zeros((1, 4, 5, 3), np.float32))
    assert y.shape == (1, 8, 10, 8)
    assert [w.shape for w in layer.get_weights()] == [(3, 2, 8, 3), (8,)]  # (kh, kw, filters, in_channels)
    assert layer.compute_output_shape((None, None, 5, 3)) == (None, None, 10, 8)


# --- pooling ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), (3, 2, "valid"), (3, 2, "same"),
                                                  (2, 3, "same"), (1, 1, "valid")])
def test_pooling1d_matches_torch(kind, pool, strides, padding):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rand(2, 10, 3)
    layer = (layers.MaxPooling1D if kind == "max" else layers.AveragePooling1D)(pool, strides, padding,
                                                                               dtype="float64")
    s = strides or pool

    def ref(x):
        # TensorFlow's padding never counts: -inf for max, excluded from the mean
        pad = tf_same_pad(10, pool, s) if padding == "same" else (0, 0)
        xc = x.permute(0, 2, 1)
        if kind == "max":
            y = F.max_pool1d(F.pad(xc, pad, value=-math.inf), pool, s)
        else:
            count = F.avg_pool1d(F.pad(torch.ones_like(xc), pad), pool, s)
            y = F.avg_pool1d(F.pad(xc, pad), pool, s) / count
        return y.permute(0, 2, 1)

    (out,) = check_against_torch(layer, [x], [], ref)
    check_shape(layer, (None, 10, 3), out)


def test_global_pooling1d():
    x = rand(3, 7, 4)
    for layer, want in [(layers.GlobalAveragePooling1D(dtype="float64"), x.mean(1)),
                        (layers.GlobalMaxPooling1D(dtype="float64"), x.max(1))]:
        close(layer(x).numpy(), want)
        check_shape(layer, (None, 7, 4), want)
        layer.keepdims = True
        assert layer(x).shape == (3, 1, 4) and layer.compute_output_shape((None, 7, 4)) == (None, 1, 4)


def test_global_average_pooling1d_mask_averages_kept_steps():
    x, mask = rand(2, 5, 3), np.array([[1, 1, 0, 0, 1], [1, 0, 0, 0, 0]], bool)
    layer = layers.GlobalAveragePooling1D(dtype="float64")
    want = np.stack([x[i][mask[i]].mean(0) for i in range(2)])
    close(layer(x, mask=mask).numpy(), want)
    xt = tf.constant(x)
    xt._keras_mask = tf.constant(mask)  # as an Embedding(mask_zero=True) output carries it
    close(layer(xt).numpy(), want)
    assert getattr(layer(xt), "_keras_mask", None) is None
    _, (gx,), _, (r,) = run(layer, [x], mask=mask)
    close(gx, r[:, None, :] * mask[..., None] / mask.sum(1)[:, None, None])


# --- reshaping -----------------------------------------------------------------------

@pytest.mark.parametrize("size", [2, (1, 3), (3, 2)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling2d_matches_torch_interpolate(size, interpolation):
    F = pytest.importorskip("torch").nn.functional
    x = rand(2, 4, 5, 3)
    layer = layers.UpSampling2D(size, interpolation=interpolation, dtype="float64")
    sh, sw = (size, size) if isinstance(size, int) else size

    def ref(x):
        kw = {"align_corners": False} if interpolation == "bilinear" else {}
        return F.interpolate(x.permute(0, 3, 1, 2), scale_factor=(sh, sw), mode=interpolation, **kw).permute(0, 2, 3, 1)

    (out,) = check_against_torch(layer, [x], [], ref)
    if interpolation == "nearest":
        np.testing.assert_array_equal(out, x.repeat(sh, 1).repeat(sw, 2))
    check_shape(layer, (None, 4, 5, 3), out)


@pytest.mark.parametrize("arg,pairs", [(1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))),
                                       (((0, 1), (2, 3)), ((0, 1), (2, 3)))])
def test_zero_padding_and_cropping_2d(arg, pairs):
    x = rand(2, 6, 7, 3)
    pad = layers.ZeroPadding2D(arg, dtype="float64")
    padded, (gx,), _, (r,) = run(pad, [x])
    np.testing.assert_array_equal(padded[0], np.pad(x, [(0, 0), *pairs, (0, 0)]))
    (t, b), (left, right) = pairs
    close(gx, r[:, t:t + 6, left:left + 7])
    check_shape(pad, (None, 6, 7, 3), padded[0])

    crop = layers.Cropping2D(arg, dtype="float64")
    cropped, (gx,), _, (r,) = run(crop, [x])
    np.testing.assert_array_equal(cropped[0], x[:, t:6 - b, left:7 - right])
    close(gx, np.pad(r, [(0, 0), *pairs, (0, 0)]))
    check_shape(crop, (None, 6, 7, 3), cropped[0])
    assert crop.compute_output_shape((None, None, 7, 3))[1] is None


# --- Attention ----------------------------------------------------------------------

def keras_attention(torch, q, v, k, scale=None, concat_weight=None, q_mask=None, v_mask=None, causal=False):
    """Keras' Attention._calculate_scores / _apply_scores, transcribed."""
    if concat_weight is None:
        scores = q @ k.transpose(-1, -2)
        scores = scores * scale if scale is not None else scores
    else:
        pairs = q[..., :, None, :] + k[..., None, :, :]
        scores = concat_weight * torch.tanh(pairs * scale if scale is not None else pairs).sum(-1)
    keep = torch.ones(scores.shape, dtype=torch.bool)
    if v_mask is not None:
        keep = keep & torch.tensor(v_mask)[:, None, :]
    if causal:
        keep = keep & torch.ones(scores.shape[-2:]).tril().bool()
    scores = torch.where(keep, scores, scores - 1e9)
    weights = torch.softmax(scores, -1)
    out = weights @ v
    if q_mask is not None:
        out = torch.where(torch.tensor(q_mask)[..., None], out, 0.0)
    return out, weights


@pytest.mark.parametrize("score_mode", ["dot", "concat"])
@pytest.mark.parametrize("use_scale", [False, True])
@pytest.mark.parametrize("with_key,masked,causal", [(False, False, False), (True, False, False),
                                                    (False, True, False), (True, True, True)])
def test_attention_matches_keras_formula(score_mode, use_scale, with_key, masked, causal):
    torch = pytest.importorskip("torch")
    dim_v = 5 if with_key else 3  # without a key, the value is the key
    q, v, k = rand(2, 4, 3), rand(2, 6, dim_v, seed=1), rand(2, 6, 3, seed=2)
    inputs = [q, v, k] if with_key else [q, v]
    q_mask = np.array([[1, 1, 0, 1], [1, 1, 1, 0]], bool) if masked else None
    v_mask = np.array([[1, 0, 1, 1, 0, 1], [1, 1, 1, 1, 1, 0]], bool) if masked else None
    layer = layers.Attention(use_scale=use_scale, score_mode=score_mode, dtype="float64")
    weights = [np.float64(1.3)] * (use_scale + (score_mode == "concat"))
    kwargs = dict(mask=[q_mask, v_mask] if masked else None, use_causal_mask=causal, return_attention_scores=True)

    def ref(q, v, *rest):
        k = rest[0] if with_key else v
        ws = list(rest[1:] if with_key else rest)
        scale = ws.pop(0) if use_scale else None
        return keras_attention(torch, q, v, k, scale, ws[0] if score_mode == "concat" else None, q_mask, v_mask,
                               causal)

    out, scores = check_against_torch(layer, inputs, weights, ref, call=lambda *xs, **kw: layer(list(xs), **kw),
                                      **kwargs)
    assert scores.shape == (2, 4, 6)
    assert layer.compute_output_shape([x.shape for x in inputs], return_attention_scores=True) == [(2, 4, dim_v),
                                                                                                   (2, 4, 6)]


def test_attention_masks_and_dropout():
    q, v = rand(2, 4, 3), rand(2, 6, 3, seed=1)
    layer = layers.Attention(dropout=0.5, seed=3, dtype="float64")
    _, scores = layer([q, v], use_causal_mask=True, return_attention_scores=True)
    assert np.all(np.triu(scores.numpy()[0], 1) < 1e-12)  # query i never sees keys after i
    qt = tf.constant(q)
    qt._keras_mask = tf.constant(np.array([[1, 0, 1, 1], [1, 1, 1, 1]], bool))
    assert layer([qt, tf.constant(v)])._keras_mask is qt._keras_mask
    close(layer([q, v]).numpy(), layer([q, v], training=False).numpy())
    assert not np.allclose(layer([q, v], training=True).numpy(), layer([q, v]).numpy())


# --- MultiHeadAttention ----------------------------------------------------------------

def keras_mha(torch, q, v, k, weights, heads, key_dim, keep=None):
    """MultiHeadAttention.call with Keras' einsum equations (rank-3 inputs)."""
    wq, bq, wk, bk, wv, bv, wo, bo = weights
    query = torch.einsum("abc,cde->abde", q, wq) + bq
    key = torch.einsum("abc,cde->abde", k, wk) + bk
    value = torch.einsum("abc,cde->abde", v, wv) + bv
    scores = torch.einsum("aecd,abcd->acbe", key, query * (1.0 / math.sqrt(key_dim)))
    if keep is not None:
        keep = torch.tensor(keep)[:, None]
        scores = torch.where(keep, scores, -1e9)
    scores = torch.softmax(scores, -1)
    if keep is not None:
        scores = torch.where(keep, scores, 0.0)
    out = torch.einsum("acbe,aecd->abcd", scores, value)
    return torch.einsum("abcd,cde->abe", out, wo) + bo, scores


def mha_weights(d_q, d_v, d_k, heads, key_dim, value_dim, d_out, seed=5):
    shapes = [(d_q, heads, key_dim), (heads, key_dim), (d_k, heads, key_dim), (heads, key_dim),
              (d_v, heads, value_dim), (heads, value_dim), (heads, value_dim, d_out), (d_out,)]
    return [rand(*s, seed=seed + i) * 0.5 for i, s in enumerate(shapes)]


@pytest.mark.parametrize("with_key,mask_kind,value_dim,out_dim", [
    (False, None, None, None), (True, None, 5, None), (False, "attention_mask", None, 7),
    (True, "causal", 5, None), (False, "both", None, None), (True, "input_masks", 5, 7),
])
def test_multi_head_attention_matches_keras_einsum(with_key, mask_kind, value_dim, out_dim):
    torch = pytest.importorskip("torch")
    heads, key_dim = 3, 4
    q, v, k = rand(2, 5, 6), rand(2, 7, 8, seed=1), rand(2, 7, 3, seed=2)
    weights = mha_weights(6, 8, 3 if with_key else 8, heads, key_dim, value_dim or key_dim, out_dim or 6)
    rng = np.random.default_rng(7)
    attention_mask = rng.random((2, 5, 7)) > 0.4
    attention_mask[..., 0] = True
    q_mask, v_mask = rng.random((2, 5)) > 0.3, rng.random((2, 7)) > 0.3
    v_mask[:, 0] = True
    keep, kwargs = None, {}
    causal = np.tri(5, 7, dtype=bool)[None]
    if mask_kind in ("attention_mask", "both"):
        kwargs["attention_mask"], keep = attention_mask, attention_mask
    if mask_kind in ("causal", "both"):
        kwargs["use_causal_mask"], keep = True, causal if keep is None else keep & causal
    if mask_kind == "input_masks":  # the masks an Embedding(mask_zero=True) would attach
        keep = q_mask[:, :, None] & v_mask[:, None, :]
    layer = layers.MultiHeadAttention(heads, key_dim, value_dim=value_dim, output_shape=out_dim, dtype="float64")

    def call(q, v, *key):
        if mask_kind == "input_masks":
            q._keras_mask, v._keras_mask = tf.constant(q_mask), tf.constant(v_mask)
        return layer(q, v, *key, return_attention_scores=True, **kwargs)

    def ref(q, v, *rest):
        k = rest[0] if with_key else v
        return keras_mha(torch, q, v, k, rest[1:] if with_key else rest, heads, key_dim, keep)

    inputs = [q, v, k] if with_key else [q, v]
    out, scores = check_against_torch(layer, inputs, weights, ref, call=call)
    assert out.shape == (2, 5, out_dim or 6) and scores.shape == (2, heads, 5, 7)
    shapes = [x.shape for x in inputs]
    assert layer.compute_output_shape(shapes) == (2, 5, out_dim or 6)
    assert layer.compute_output_shape(shapes, return_attention_scores=True)[1] == (2, heads, 5, 7)


def test_multi_head_attention_core_is_scaled_dot_product_attention():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    heads, key_dim = 2, 4
    x = rand(3, 6, 5)
    weights = mha_weights(5, 5, 5, heads, key_dim, key_dim, 5)
    layer = layers.MultiHeadAttention(heads, key_dim, dtype="float64")
    layer(x, x)
    layer.set_weights(weights)
    wq, bq, wk, bk, wv, bv, wo, bo = [torch.tensor(w) for w in weights]
    xt = torch.tensor(x)
    q, k, v = [torch.einsum("btd,dhk->bhtk", xt, w) + b[:, None, :] for w, b in ((wq, bq), (wk, bk), (wv, bv))]
    for causal in (False, True):
        core = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        want = torch.einsum("bhtk,hkd->btd", core, wo) + bo
        close(layer(x, x, use_causal_mask=causal).numpy(), want.numpy())


def test_multi_head_attention_layout_and_axes():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, output_shape=5)
    layer(np.zeros((1, 4, 6), np.float32), np.zeros((1, 7, 8), np.float32))
    assert [w.shape for w in layer.get_weights()] == [(6, 2, 3), (2, 3), (8, 2, 3), (2, 3), (8, 2, 4), (2, 4),
                                                      (2, 4, 5), (5,)]
    assert [l.name for l in (layer.query_dense, layer.key_dense, layer.value_dense, layer.output_dense)] == [
        "query", "key", "value", "attention_output"]
    assert layer.count_params() == 6 * 6 + 6 + 8 * 6 + 6 + 8 * 8 + 8 + 40 + 5
    # attention over axis 2 of (batch, 3, T, dim): axis 1 acts as a batch axis
    layer = layers.MultiHeadAttention(2, 3, attention_axes=2, dtype="float64")
    x, y = rand(2, 3, 4, 6), rand(2, 3, 5, 6, seed=1)
    out, scores = layer(x, y, return_attention_scores=True)
    assert out.shape == (2, 3, 4, 6) and scores.shape == (2, 3, 2, 4, 5)
    assert layer.compute_output_shape([x.shape, y.shape], return_attention_scores=True) == [(2, 3, 4, 6),
                                                                                            (2, 3, 2, 4, 5)]
    close(out.numpy()[:, 1], layer(x[:, 1:2], y[:, 1:2]).numpy()[:, 0])


def test_multi_head_attention_in_a_functional_model_trains():
    tf.random.set_seed(0)
    inputs = tf.Input(shape=(6, 4))
    x, scores = layers.MultiHeadAttention(2, 4, dropout=0.1)(inputs, inputs, return_attention_scores=True)
    x = layers.GlobalAveragePooling1D()(layers.LayerNormalization()(layers.add([inputs, x])))
    model = tf.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    assert scores.shape == (None, 2, 6, 6)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(64, 6, 4)).astype(np.float32)
    ys = (xs[:, :, 0].mean(1) > 0).astype(np.float32)
    model.compile("adam", "binary_crossentropy")
    history = model.fit(xs, ys, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(xs, verbose=0).shape == (64, 1)


# --- configs and errors -------------------------------------------------------------

@pytest.mark.parametrize("layer", [
    layers.Conv1D(4, 3, padding="causal", dilation_rate=2), layers.Conv2DTranspose(4, 3, 2, "same", output_padding=1),
    layers.MaxPooling1D(3), layers.AveragePooling1D(2, 1, "same"), layers.GlobalAveragePooling1D(keepdims=True),
    layers.GlobalMaxPooling1D(), layers.UpSampling2D((2, 3), interpolation="bilinear"),
    layers.ZeroPadding2D(((1, 2), (0, 3))), layers.Cropping2D(2), layers.Attention(True, "concat", 0.1),
    layers.MultiHeadAttention(2, 8, value_dim=4, dropout=0.1, output_shape=6, attention_axes=(1,)),
], ids=lambda l: type(l).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("make", [
    lambda: layers.Conv1D(4, 3, padding="full"),
    lambda: layers.Conv1D(4, 3, strides=2, dilation_rate=2),
    lambda: layers.Conv1D(0, 3),
    lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
    lambda: layers.Conv2DTranspose(4, 3, output_padding=-1),
    lambda: layers.MaxPooling1D(0),
    lambda: layers.UpSampling2D(interpolation="bicubic"),
    lambda: layers.UpSampling2D(size=(2, 0)),
    lambda: layers.ZeroPadding2D(-1),
    lambda: layers.Cropping2D(((1, 2, 3), (0, 0))),
    lambda: layers.Attention(score_mode="additive"),
    lambda: layers.Attention(dropout=1.5),
    lambda: layers.MultiHeadAttention(0, 4),
    lambda: layers.MultiHeadAttention(2, 4, value_dim=-1),
    lambda: layers.MultiHeadAttention(2, 4, use_gate=True),
])
def test_bad_arguments_raise(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("call", [
    lambda: layers.Conv1D(4, 3)(np.zeros((2, 5, 5, 3), np.float32)),
    lambda: layers.Conv1D(4, 5)(np.zeros((2, 3, 2), np.float32)),
    lambda: layers.Conv2DTranspose(4, 2, padding="same", output_padding=0)(np.zeros((1, 5, 5, 3), np.float32)),
    lambda: layers.MaxPooling1D()(np.zeros((2, 4), np.float32)),
    lambda: layers.GlobalAveragePooling1D()(np.zeros((2, 4, 4, 1), np.float32)),
    lambda: layers.UpSampling2D()(np.zeros((2, 4, 3), np.float32)),
    lambda: layers.Cropping2D(2)(np.zeros((1, 4, 6, 1), np.float32)),
    lambda: layers.Attention()(np.zeros((2, 4, 3), np.float32)),
    lambda: layers.Attention()([np.zeros((2, 4, 3), np.float32), np.zeros((2, 5, 2), np.float32),
                                np.zeros((2, 5, 4), np.float32)]),
    lambda: layers.Attention()([np.zeros((2, 4, 3), np.float32)] * 2, mask=np.ones((2, 4), bool)),
    lambda: layers.MultiHeadAttention(2, 4)(np.zeros((2, 4, 3), np.float32)),
    lambda: layers.MultiHeadAttention(2, 4)(np.zeros((2, 4, 3), np.float32), np.zeros((2, 5), np.float32)),
    lambda: layers.MultiHeadAttention(2, 4, attention_axes=3)(np.zeros((2, 4, 3), np.float32),
                                                              np.zeros((2, 4, 3), np.float32)),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ValueError):
        call()


def test_conv_layers_check_later_inputs():
    layer = layers.Conv1D(2, 3)
    layer(np.zeros((1, 6, 3), np.float32))
    with pytest.raises(ValueError, match=r"Conv1D 'conv1d\w*': expected input of shape \(None, None, 3\)"):
        layer(np.zeros((1, 6, 4), np.float32))
    mha = layers.MultiHeadAttention(2, 4)
    mha(np.zeros((1, 3, 5), np.float32), np.zeros((1, 3, 5), np.float32))
    with pytest.raises(ValueError, match="query"):
        mha(np.zeros((1, 3, 6), np.float32), np.zeros((1, 3, 5), np.float32))
