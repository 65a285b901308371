"""Layers against PyTorch as the reference: the same weights in Keras layout
in, the same outputs and gradients (w.r.t. inputs and weights) out."""
import numpy as np
import pytest

import tinytf as tf
from tinytf import layers

torch = pytest.importorskip("torch")
F = torch.nn.functional


def run_tinytf(layer, x, weights=None, training=False):
    """(output, grad wrt x, grads wrt weights) of sum(out * r) with a fixed r."""
    xt = tf.constant(x)
    layer(xt)  # build
    if weights is not None:
        layer.set_weights(weights)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, training=training)
        r = np.random.default_rng(99).normal(size=tuple(out.shape))
        loss = tf.reduce_sum(out * tf.constant(r))
    grads = tape.gradient(loss, [xt] + layer.trainable_weights)
    return out.numpy(), grads[0].numpy(), [g.numpy() for g in grads[1:]], r


def torch_grads(fn, x, params, r):
    xt = torch.tensor(x, requires_grad=True)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    out = fn(xt, *ps)
    (out * torch.tensor(r)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), [p.grad.numpy() for p in ps]


def close(a, b, tol=1e-9):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def tf_same_pad(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("activation,torch_act", [
    (None, lambda z: z), ("relu", F.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
    ("softmax", lambda z: F.softmax(z, -1)), ("gelu", F.gelu), ("elu", F.elu), ("selu", F.selu),
    ("softplus", F.softplus), ("swish", F.silu), ("relu6", F.relu6), ("leaky_relu", lambda z: F.leaky_relu(z, 0.2)),
])
def test_dense_matches_torch(activation, torch_act):
    rng = np.random.default_rng(0)
    x, k, b = rng.normal(size=(5, 7)), rng.normal(size=(7, 4)), rng.normal(size=4)
    out, gx, (gk, gb), r = run_tinytf(layers.Dense(4, activation=activation, dtype="float64"), x, [k, b])
    t_out, t_gx, (t_gk, t_gb) = torch_grads(lambda x, k, b: torch_act(x @ k + b), x, [k, b], r)
    for a, c in [(out, t_out), (gx, t_gx), (gk, t_gk), (gb, t_gb)]:
        close(a, c)


@pytest.mark.parametrize("padding,strides,dilation,cin", [
    ("valid", 1, 1, 3), ("same", 1, 1, 2), ("same", 2, 1, 1), ("valid", 2, 1, 3), ("same", 1, 2, 2), ("valid", 3, 1, 4),
])
def test_conv2d_matches_torch(padding, strides, dilation, cin):
    rng = np.random.default_rng(1)
    x, k, b = rng.normal(size=(2, 9, 8, cin)), rng.normal(size=(3, 3, cin, 5)), rng.normal(size=5)
    layer = layers.Conv2D(5, 3, strides=strides, padding=padding, dilation_rate=dilation, activation="relu",
                          dtype="float64")
    out, gx, (gk, gb), r = run_tinytf(layer, x, [k, b])

    def ref(x, k, b):
        xc = x.permute(0, 3, 1, 2)
        if padding == "same":
            pt, pb = tf_same_pad(9, 3, strides, dilation)
            pl, pr = tf_same_pad(8, 3, strides, dilation)
            xc = F.pad(xc, (pl, pr, pt, pb))
        y = F.conv2d(xc, k.permute(3, 2, 0, 1), b, stride=strides, dilation=dilation)
        return F.relu(y).permute(0, 2, 3, 1)

    t_out, t_gx, (t_gk, t_gb) = torch_grads(ref, x, [k, b], np.transpose(r, (0, 1, 2, 3)))
    for a, c in [(out, t_out), (gx, t_gx), (gk, t_gk), (gb, t_gb)]:
        close(a, c, 1e-8)


@pytest.mark.parametrize("cls,pool", [(layers.MaxPooling2D, F.max_pool2d), (layers.AveragePooling2D, F.avg_pool2d)])
@pytest.mark.parametrize("pool_size,strides", [(2, None), (3, 2), ((2, 3), (1, 2))])
def test_pooling_valid_matches_torch(cls, pool, pool_size, strides):
    x = np.random.default_rng(2).normal(size=(2, 7, 9, 3))
    out, gx, _, r = run_tinytf(cls(pool_size, strides, dtype="float64"), x)
    k = pool_size if isinstance(pool_size, tuple) else (pool_size, pool_size)
    s = strides if strides is not None else k
    s = s if isinstance(s, tuple) else (s, s)
    t_out, t_gx, _ = torch_grads(lambda x: pool(x.permute(0, 3, 1, 2), k, s).permute(0, 2, 3, 1), x, [], r)
    close(out, t_out)
    close(gx, t_gx)


def test_max_pooling_same_matches_torch_with_explicit_padding():
    x = np.random.default_rng(3).normal(size=(1, 5, 5, 2))
    out, gx, _, r = run_tinytf(layers.MaxPooling2D(2, padding="same", dtype="float64"), x)

    def ref(x):
        xc = F.pad(x.permute(0, 3, 1, 2), (0, 1, 0, 1), value=-np.inf)
        return F.max_pool2d(xc, 2).permute(0, 2, 3, 1)

    t_out, t_gx, _ = torch_grads(ref, x, [], r)
    close(out, t_out)
    close(gx, t_gx)


def test_global_pooling_matches_torch():
    x = np.random.default_rng(4).normal(size=(3, 4, 5, 6))
    out, gx, _, r = run_tinytf(layers.GlobalAveragePooling2D(dtype="float64"), x)
    t_out, t_gx, _ = torch_grads(lambda x: x.mean((1, 2)), x, [], r)
    close(out, t_out)
    close(gx, t_gx)
    out, gx, _, r = run_tinytf(layers.GlobalMaxPooling2D(dtype="float64"), x)
    t_out, t_gx, _ = torch_grads(lambda x: x.amax((1, 2)), x, [], r)
    close(out, t_out)
    close(gx, t_gx)


def test_batch_normalization_training_and_inference_match_torch():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 3, 2, 4)) * 3 + 1
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    mm, mv = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    layer = layers.BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")
    out, gx, (gg, gb), r = run_tinytf(layer, x, [gamma, beta, mm, mv], training=True)

    def ref(x, g, b):
        return F.batch_norm(x.permute(0, 3, 1, 2), None, None, g, b, training=True, eps=1e-3).permute(0, 2, 3, 1)

    t_out, t_gx, (t_gg, t_gb) = torch_grads(ref, x, [gamma, beta], r)
    for a, c in [(out, t_out), (gx, t_gx), (gg, t_gg), (gb, t_gb)]:
        close(a, c, 1e-8)
    # Keras' moving statistics use the biased batch variance
    flat = x.reshape(-1, 4)
    close(layer.moving_mean.numpy(), 0.9 * mm + 0.1 * flat.mean(0))
    close(layer.moving_variance.numpy(), 0.9 * mv + 0.1 * flat.var(0))
    inf = layer(tf.constant(x), training=False).numpy()
    want = F.batch_norm(torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(layer.moving_mean.numpy()),
                        torch.tensor(layer.moving_variance.numpy()), torch.tensor(gamma), torch.tensor(beta),
                        training=False, eps=1e-3).permute(0, 2, 3, 1).numpy()
    close(inf, want)


def test_layer_normalization_matches_torch():
    rng = np.random.default_rng(6)
    x, g, b = rng.normal(size=(4, 3, 7)), rng.normal(size=7), rng.normal(size=7)
    out, gx, (gg, gb), r = run_tinytf(layers.LayerNormalization(epsilon=1e-5, dtype="float64"), x, [g, b])
    t_out, t_gx, (t_gg, t_gb) = torch_grads(lambda x, g, b: F.layer_norm(x, (7,), g, b, 1e-5), x, [g, b], r)
    for a, c in [(out, t_out), (gx, t_gx), (gg, t_gg), (gb, t_gb)]:
        close(a, c, 1e-8)


def test_merge_reshape_flatten_and_dropout_inference_match_torch():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    for cls, fn in [(layers.Add, torch.add), (layers.Multiply, torch.mul), (layers.Subtract, torch.sub),
                    (layers.Maximum, torch.maximum), (layers.Minimum, torch.minimum)]:
        close(cls(dtype="float64")([tf.constant(a), tf.constant(b)]).numpy(), fn(torch.tensor(a), torch.tensor(b)).numpy())
    close(layers.Average(dtype="float64")([tf.constant(a), tf.constant(b)]).numpy(), (a + b) / 2)
    close(layers.Concatenate(axis=0, dtype="float64")([tf.constant(a), tf.constant(b)]).numpy(), torch.cat([torch.tensor(a), torch.tensor(b)]).numpy())
    x = rng.normal(size=(2, 3, 4))
    close(layers.Flatten(dtype="float64")(tf.constant(x)).numpy(), torch.flatten(torch.tensor(x), 1).numpy())
    close(layers.Reshape((4, -1), dtype="float64")(tf.constant(x)).numpy(), torch.tensor(x).reshape(2, 4, 3).numpy())
    close(layers.Dropout(0.5, dtype="float64")(tf.constant(x), training=False).numpy(), x)


def test_dropout_in_training_zeroes_and_scales():
    x = np.ones((200, 50), np.float32)
    tf.random.set_seed(0)
    y = layers.Dropout(0.3)(tf.constant(x), training=True).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
