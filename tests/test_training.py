"""Keras-style models end to end: Sequential and Functional building,
compile/fit/evaluate/predict semantics against numpy, data handling, output,
determinism and bad input."""

import numpy as np
import pytest

import tinytf as tf
from tinytf import layers
from tinytf.models import Model, Sequential


def mlp(input_dim=4, hidden=8, out=3, activation="softmax"):
    return Sequential([layers.Dense(hidden, input_dim=input_dim, activation="relu"),
                       layers.Dense(out, activation=activation)])


def data(n=50, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return x, y


def numpy_forward(model, x):
    """The MLP of mlp() computed with numpy from its weights."""
    w1, b1, w2, b2 = model.get_weights()
    h = np.maximum(x @ w1 + b1, 0)
    z = h @ w2 + b2
    z = z - z.max(-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(-1, keepdims=True)


# --- building -------------------------------------------------------------------

def test_sequential_builds_eagerly_from_input_dim_and_lazily_otherwise():
    m = mlp()
    assert m.built and [w.shape for w in m.get_weights()] == [(4, 8), (8,), (8, 3), (3,)]
    lazy = Sequential([layers.Dense(5), layers.Dense(2)])
    assert not lazy.built
    with pytest.raises(ValueError, match="not been built"):
        lazy.summary()
    lazy(np.zeros((3, 7), np.float32))
    assert lazy.built and lazy.layers[0].kernel.shape == (7, 5) and lazy.count_params() == 7 * 5 + 5 + 12
    with_input = Sequential([tf.Input(shape=(6,)), layers.Dense(2)])
    assert len(with_input.layers) == 1 and with_input.count_params() == 14


def test_a_layer_built_by_hand_is_not_built_again_when_called():
    # Keras wraps every build(): called directly it marks the layer built, so the
    # first call keeps the weights it made (instead of adding a second set).
    for layer, shape, x in [(layers.Dense(3), (None, 4), np.ones((2, 4), np.float32)),
                            (layers.Conv2D(2, 3), (None, 5, 5, 1), np.ones((1, 5, 5, 1), np.float32))]:
        layer.build(shape)
        assert layer.built
        kernel = layer.kernel
        layer(x)
        assert len(layer.weights) == 2 and layer.kernel is kernel


def test_predict_matches_numpy_and_model_call():
    m = mlp()
    x, _ = data(70)
    want = numpy_forward(m, x)
    np.testing.assert_allclose(m.predict(x, batch_size=16, verbose=0), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m(x).numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.predict_on_batch(x[:3]), want[:3], rtol=1e-5, atol=1e-6)


def test_inference_calls_match_numpy_and_keep_dropout_masks_and_penalties():
    # Sequential inference calls each layer's call() directly when nothing
    # (masks, activity penalties, training) needs Layer.__call__: same results.
    m = mlp()
    x, _ = data(20)
    want = numpy_forward(m, x)
    for inp in (x, x.astype(np.float64), tf.constant(x), x[::-1].copy()[::-1]):
        np.testing.assert_allclose(m(inp).numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m(x[:1], training=False).numpy(), want[:1], rtol=1e-5, atol=1e-6)
    kind, logits = m(x)._logits  # Dense + softmax runs as one call; the fused cross-entropy still finds the logits
    w1, b1, w2, b2 = m.get_weights()
    assert kind == "softmax"
    np.testing.assert_allclose(logits.numpy(), np.maximum(x @ w1 + b1, 0) @ w2 + b2, rtol=1e-5, atol=1e-6)
    dense = layers.Dense(3, activation="softmax", dtype="float64")  # rank 3, float64, by itself
    x3 = np.random.default_rng(1).normal(size=(2, 4, 5))
    y3 = dense(x3).numpy()
    z3 = x3 @ dense.get_weights()[0] + dense.get_weights()[1]
    e3 = np.exp(z3 - z3.max(-1, keepdims=True))
    np.testing.assert_allclose(y3, e3 / e3.sum(-1, keepdims=True), rtol=1e-12)
    with pytest.raises(ValueError, match="expected input with last dimension 5"):
        dense(np.ones((2, 4)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(x) * np.arange(3, dtype=np.float32))
    assert all(g is not None for g in tape.gradient(loss, m.trainable_weights))

    drop = Sequential([layers.Dropout(0.5, input_shape=(1000,))])
    ones = np.ones((1, 1000), np.float32)
    assert np.array_equal(drop(ones).numpy(), ones)
    dropped = drop(ones, training=True).numpy()
    assert set(np.unique(dropped)) == {0.0, 2.0}

    masked = Sequential([layers.Masking(0.0, input_shape=(3, 2))])
    seq = np.array([[[1, 2], [0, 0], [3, 4]]], np.float32)
    assert np.array_equal(masked(seq)._keras_mask.numpy(), np.any(seq != 0, axis=-1))

    class Doubled(layers.Dense):  # a layer with its own __call__ keeps it inside a Sequential
        def __call__(self, inputs, *args, **kwargs):
            return super().__call__(inputs, *args, **kwargs) * 2.0

    doubled = Sequential([Doubled(2, input_dim=3, use_bias=False)])
    x3 = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(doubled(x3).numpy(), 2 * x3 @ doubled.get_weights()[0], rtol=1e-6)

    reg = Sequential([layers.Dense(3, input_dim=2, activity_regularizer="l2")])
    x2 = np.arange(8, dtype=np.float32).reshape(4, 2)
    out = x2 @ reg.get_weights()[0] + reg.get_weights()[1]
    reg(x2)
    assert len(reg.losses) == 1
    np.testing.assert_allclose(float(reg.losses[0]), 0.01 * np.sum(out ** 2) / 4, rtol=1e-5)


def test_a_dense_stack_infers_in_one_call_that_follows_its_weights():
    # Inference through a stack of plain Dense layers runs as one C++ call
    # (Sequential._dense_chain); it must see every weight change made in place.
    rng = np.random.default_rng(3)
    acts = ["relu", "tanh", "relu6", None, "softmax"]
    m = Sequential([layers.Input(shape=(6,))] + [layers.Dense(n, activation=a) for n, a in zip((9, 7, 5, 4, 3), acts)])
    fns = [lambda z: np.maximum(z, 0), np.tanh, lambda z: np.clip(z, 0, 6), lambda z: z]

    def forward(x):
        ws = m.get_weights()
        for i in range(4):
            x = fns[i](x @ ws[2 * i] + ws[2 * i + 1])
        z = x @ ws[8] + ws[9]
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    x = rng.normal(size=(1, 6)).astype(np.float32)
    np.testing.assert_allclose(m(x).numpy(), forward(x), rtol=1e-5, atol=1e-6)
    assert m._dense_chain()
    # A float32 C-contiguous array is read in place for the call; every other
    # input goes through a tensor first: the same values either way.
    batch = rng.normal(size=(5, 12))
    read_only = batch[:, :6].astype(np.float32)
    read_only.flags.writeable = False
    for inp in (batch[:, :6].astype(np.float32), batch[:, :6], batch[:, ::2].astype(np.float32)[:, :6],
                batch.astype(np.float32)[:, ::2], read_only, tf.constant(batch[:, :6].astype(np.float32))):
        expected = forward(np.asarray(inp, np.float64))
        got = m(inp)
        if isinstance(inp, np.ndarray) and inp.flags.writeable:
            inp[...] = 0  # the result must not depend on the input's memory after the call
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6)
    m.set_weights([w + rng.normal(size=w.shape).astype(np.float32) for w in m.get_weights()])
    np.testing.assert_allclose(m(x).numpy(), forward(x), rtol=1e-5, atol=1e-6)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(rng.normal(size=(8, 6)).astype(np.float32), rng.integers(0, 3, 8), epochs=1, verbose=0)
    np.testing.assert_allclose(m(x).numpy(), forward(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="Dense '.*': expected input with last dimension 6"):
        m(np.ones((1, 5), np.float32))
    # Not a plain stack (sigmoid is applied after the kernel): layer by layer, same values.
    other = Sequential([layers.Dense(4, input_dim=6, activation="sigmoid")])
    w, b = other.get_weights()
    np.testing.assert_allclose(other(x).numpy(), 1 / (1 + np.exp(-(x @ w + b))), rtol=1e-5)
    assert other._dense_chain() is False


def numpy_stack_gradients(model, acts, x, labels, weights):
    """Loss (Keras' sum_over_batch_size), probabilities and gradients of a
    Dense stack with a softmax cross-entropy, by hand in float64."""
    derivs = {"relu": lambda a: a > 0, "tanh": lambda a: 1 - a * a, "relu6": lambda a: (a > 0) & (a < 6),
              None: lambda a: np.ones_like(a)}
    fns = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "relu6": lambda z: np.clip(z, 0, 6), None: lambda z: z}
    ws = [w.astype(np.float64) for w in model.get_weights()]
    outs = [x.astype(np.float64)]
    for i, a in enumerate(acts):
        outs.append(fns[a](outs[-1] @ ws[2 * i] + ws[2 * i + 1]))
    z = outs[-1]
    e = np.exp(z - z.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    y = np.eye(p.shape[1])[labels] if labels.ndim == 1 else labels.astype(np.float64)
    w = np.ones(len(x)) if weights is None else weights.astype(np.float64)
    loss = np.sum(w * -(y * np.log(p)).sum(-1)) / len(x)
    d = (p * y.sum(-1, keepdims=True) - y) * w[:, None] / len(x)
    grads = []
    for i in reversed(range(len(acts))):
        d = d * derivs[acts[i]](outs[i + 1])
        grads[:0] = [outs[i].T @ d, d.sum(0)]
        d = d @ ws[2 * i].T
    return loss, p, grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_dense_stack_trains_in_one_call_with_numpy_gradients(dtype):
    # fit's step for a plain Dense stack with a softmax cross-entropy runs
    # forward, loss and backward in one C++ call (Sequential._fused_gradients).
    rng = np.random.default_rng(5)
    acts = ["relu", "tanh", "relu6", None]
    tol = dict(rtol=2e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    x = rng.normal(size=(37, 6)).astype(dtype)
    cases = [("sparse_categorical_crossentropy", "softmax", rng.integers(0, 5, 37), None),
             (tf.losses.SparseCategoricalCrossentropy(from_logits=True), None, rng.integers(0, 5, (37, 1)), None),
             ("categorical_crossentropy", "softmax", rng.dirichlet(np.ones(5), 37), rng.uniform(0, 2, 37)),
             (tf.losses.categorical_crossentropy, "softmax", np.eye(5)[rng.integers(0, 5, 37)].astype(np.uint8), None)]
    for loss, last, y, w in cases:
        m = Sequential([layers.Input(shape=(6,))] + [layers.Dense(n, activation=a, dtype=dtype) for n, a in
                                                      zip((9, 7, 5), acts)] + [layers.Dense(5, activation=last, dtype=dtype)])
        m.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
        m.train_on_batch(x, y, sample_weight=w)  # the first step resolves the loss and runs layer by layer
        labels = np.asarray(y).reshape(37, -1)[:, 0] if np.asarray(y).ndim == 2 and np.asarray(y).shape[1] == 1 else np.asarray(y)
        want_loss, want_p, want_grads = numpy_stack_gradients(m, acts, x, labels, w)
        if dtype == "float32":
            grads, (got_loss, _, probs, _) = m._gradients((x, y, w))
            assert m._fused_plan[2] is not None
        else:  # a Sequential computes in float32 (no floatx setting yet): the chain itself in float64
            chain = tf.ops.DenseChain([(l.kernel, l.bias, l._fused) for l in m.layers])
            target = labels if labels.ndim == 1 else labels.astype(dtype)
            got_loss, probs, grads = chain.gradients(tf.constant(x), tf.constant(target),
                                                     None if w is None else tf.constant(w.astype(dtype)))
        assert len(grads) == len(want_grads)
        np.testing.assert_allclose(got_loss, want_loss, **tol)
        np.testing.assert_allclose(probs.numpy(), want_p, **tol)
        for g, want in zip(grads, want_grads):
            assert g.dtype.name == dtype
            np.testing.assert_allclose(g.numpy(), want, **tol)
        # The loss logged is the same loss (the layer-by-layer path's value for the same weights)
        logs = m.test_on_batch(x, y, sample_weight=w, return_dict=True)
        np.testing.assert_allclose(logs["loss"], want_loss, rtol=1e-4)


def test_the_fused_dense_step_steps_aside_where_it_would_differ():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(16, 4)).astype(np.float32), rng.integers(0, 3, 16)
    not_fused = [
        (mlp(), dict(loss=tf.losses.SparseCategoricalCrossentropy(from_logits=True))),  # softmax output as logits
        (mlp(), dict(loss=tf.losses.CategoricalCrossentropy(label_smoothing=0.1))),
        (mlp(), dict(loss="mse")),
        (Sequential([layers.Dense(8, input_dim=4, kernel_regularizer="l2"), layers.Dense(3, activation="softmax")]),
         dict(loss="sparse_categorical_crossentropy")),
        (Sequential([layers.Dense(8, input_dim=4), layers.Dropout(0.5), layers.Dense(3, activation="softmax")]),
         dict(loss="sparse_categorical_crossentropy")),
    ]
    for m, kwargs in not_fused:
        m.compile(optimizer="sgd", **kwargs)
        target = np.eye(3, dtype=np.float32)[y] if kwargs["loss"] in ("mse",) or isinstance(
            kwargs["loss"], tf.losses.CategoricalCrossentropy) else y
        m.fit(x, target, epochs=2, batch_size=8, verbose=0)
        assert m._fused_plan[2] is None
    frozen = mlp()
    frozen.layers[0].trainable = False
    frozen.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = frozen.layers[0].get_weights()
    frozen.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert frozen._fused_plan[2] is None
    assert all(np.array_equal(a, b) for a, b in zip(before, frozen.layers[0].get_weights()))
    # Bad labels reach the general path, whose errors name them.
    m = mlp()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert m._fused_plan[2] is not None
    weights = m.get_weights()
    with pytest.raises(IndexError, match="label 7 is outside the valid range"):
        m.fit(x, np.full(16, 7), epochs=1, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="must be integer class ids"):
        m.fit(x, y + 0.5, epochs=1, batch_size=8, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights, m.get_weights()))


def test_functional_model_with_skip_connection_and_two_inputs():
    a, b = tf.Input(shape=(3,), name="a"), tf.Input(shape=(2,), name="b")
    h = layers.Dense(4, activation="relu")(a)
    skip = layers.Add()([h, layers.Dense(4)(a)])
    merged = layers.Concatenate()([skip, b])
    out = layers.Dense(1)(merged)
    m = Model(inputs=[a, b], outputs=out)
    assert [type(l).__name__ for l in m.layers].count("InputLayer") == 2
    xa, xb = np.random.default_rng(0).normal(size=(10, 3)), np.random.default_rng(1).normal(size=(10, 2))
    d1, d2, d3 = [l for l in m.layers if isinstance(l, layers.Dense)]
    h_np = np.maximum(xa @ d1.get_weights()[0] + d1.get_weights()[1], 0)
    s_np = h_np + xa @ d2.get_weights()[0] + d2.get_weights()[1]
    want = np.concatenate([s_np, xb], 1) @ d3.get_weights()[0] + d3.get_weights()[1]
    np.testing.assert_allclose(m.predict([xa, xb], verbose=0), want, rtol=1e-5, atol=1e-5)
    m.compile("adam", "mse")
    h = m.fit([xa, xb], np.zeros((10, 1)), epochs=3, verbose=0)
    assert h.history["loss"][2] < h.history["loss"][0]
    with pytest.raises(ValueError, match="expects 2 input"):
        m.predict(xa, verbose=0)


def test_subclassed_model_trains():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.d1 = layers.Dense(8, activation="relu")
            self.d2 = layers.Dense(1)

        def call(self, x, training=None):
            return self.d2(self.d1(x))

    net = Net()
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    net.compile(tf.optimizers.Adam(0.05), "mse")
    h = net.fit(x, y, epochs=20, verbose=0)
    assert len(net.trainable_weights) == 4 and h.history["loss"][-1] < 0.2 * h.history["loss"][0]


# --- compile / fit / evaluate semantics ---------------------------------------------

def test_evaluate_weights_batches_like_keras():
    """The epoch loss is the sample-weighted mean over batches (last batch smaller)."""
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = data(53)
    p = numpy_forward(m, x)
    want_loss = -np.log(np.clip(p[np.arange(53), y], 1e-7, 1)).mean()
    want_acc = (p.argmax(1) == y).mean()
    loss, acc = m.evaluate(x, y, batch_size=10, verbose=0)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
    np.testing.assert_allclose(acc, want_acc)
    assert m.evaluate(x, y, batch_size=53, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}
    m.compile("sgd", "sparse_categorical_crossentropy")
    assert isinstance(m.evaluate(x, y, verbose=0), float)


def test_sample_weight_and_class_weight_weight_the_loss_as_keras():
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    x, y = data(40)
    p = numpy_forward(m, x)
    per_sample = -np.log(p[np.arange(40), y])
    w = np.random.default_rng(3).uniform(0, 2, 40)
    # sum_over_batch_size: weighted sum / number of samples, per batch; batches then averaged by size
    want = np.mean(per_sample * w)
    np.testing.assert_allclose(m.evaluate(x, y, sample_weight=w, batch_size=40, verbose=0), want, rtol=1e-5)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    m2 = mlp()
    m2.set_weights(m.get_weights())
    m2.compile(tf.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    h = m2.fit(x, y, class_weight=cw, batch_size=40, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(h.history["loss"][0], np.mean(per_sample * np.array([cw[c] for c in y])), rtol=1e-5)


def test_class_weight_works_for_one_hot_and_per_timestep_labels():
    from tinytf.models.data import class_weights_to_sample_weights

    onehot = tf.utils.to_categorical([0, 2, 1], 3)
    np.testing.assert_array_equal(class_weights_to_sample_weights(onehot, {2: 5.0}), [1, 5, 1])
    seq = np.array([[0, 1, 1], [1, 0, 2]])
    np.testing.assert_array_equal(class_weights_to_sample_weights(seq, {1: 2.0}), [[1, 2, 2], [2, 1, 1]])


def test_validation_split_takes_the_tail_before_shuffling():
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    x, y = data(50)
    h = m.fit(x, y, validation_split=0.2, epochs=1, verbose=0)
    # val loss is computed after the epoch's training, on the last 10 samples
    p = numpy_forward(m, x[40:])
    np.testing.assert_allclose(h.history["val_loss"][0], -np.log(p[np.arange(10), y[40:]]).mean(), rtol=1e-5)


def test_fit_reduces_loss_and_records_history_with_validation_data():
    m = mlp()
    m.compile(tf.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = data(200)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    h = m.fit(x, y, epochs=15, batch_size=20, validation_data=(x, y), verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(h.history["loss"]) == 15 and h.history["loss"][-1] < h.history["loss"][0]
    assert h.history["val_accuracy"][-1] > 0.8


def test_fit_accepts_generators_and_sequences():
    x, y = data(60)

    def gen():
        while True:
            for i in range(0, 60, 20):
                yield x[i:i + 20], y[i:i + 20]

    class Seq(tf.utils.Sequence):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[i * 20:(i + 1) * 20], y[i * 20:(i + 1) * 20]

    for source, steps in ((gen(), 3), (Seq(), None)):
        m = mlp()
        m.compile("adam", "sparse_categorical_crossentropy")
        h = m.fit(source, steps_per_epoch=steps, epochs=2, verbose=0)
        assert len(h.history["loss"]) == 2


def test_train_and_test_on_batch():
    m = mlp()
    m.compile(tf.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = data(16)
    before = m.test_on_batch(x, y)
    m.train_on_batch(x, y)
    after = m.test_on_batch(x, y)
    assert len(before) == 2 and after[0] < before[0]


def test_l2_regularization_is_part_of_the_logged_loss():
    m = Sequential([layers.Dense(3, input_dim=4, kernel_regularizer=tf.regularizers.L2(0.1))])
    m.compile(tf.optimizers.SGD(0.0), "mse")
    x = np.ones((8, 4), np.float32)
    k, b = m.get_weights()
    mse = np.mean((x @ k + b) ** 2)
    loss = m.evaluate(x, np.zeros((8, 3)), verbose=0)
    np.testing.assert_allclose(loss, mse + 0.1 * np.sum(k ** 2), rtol=1e-5)


def test_frozen_layers_do_not_train():
    m = mlp()
    m.layers[0].trainable = False
    before = m.layers[0].get_weights()
    m.compile("adam", "sparse_categorical_crossentropy")
    m.fit(*data(20), epochs=2, verbose=0)
    for a, b in zip(before, m.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(m.trainable_weights) == 2 and len(m.non_trainable_weights) == 2


def test_same_seed_gives_the_same_bits_for_any_thread_count(restore_threads):
    x, y = data(64)
    results = []
    for threads in (1, 2):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.utils.set_random_seed(42)
        m = mlp()
        m.compile("adam", "sparse_categorical_crossentropy")
        m.fit(x, y, epochs=2, batch_size=8, verbose=0)
        results.append([w.tobytes() for w in m.get_weights()])
    assert results[0] == results[1]


# --- output ---------------------------------------------------------------------------

def test_progress_output_is_plain_lines_when_not_a_terminal(capsys):
    m = mlp()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(*data(40), epochs=2, batch_size=10, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "4/4" in out and "accuracy:" in out
    assert "\r" not in out and "\x1b" not in out and "\b" not in out
    assert len([l for l in out.splitlines() if "loss:" in l]) == 2
    m.fit(*data(40), epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_summary_prints_the_keras_table():
    m = mlp()
    buf = []
    m.summary(print_fn=buf.append)
    text = "\n".join(buf)
    assert 'Model: "' in text and "(None, 8)" in text and "Total params: 67" in text and "Dense" in text


# --- bad input ---------------------------------------------------------------------------

def test_bad_input_raises_clear_errors():
    m = mlp()
    x, y = data(10)
    with pytest.raises(RuntimeError, match="compile"):
        m.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        m.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="Unknown loss"):
        m.compile(optimizer="adam", loss="msee")
    with pytest.raises(ValueError, match="loss_weights must hold numbers, got 'accuracy'.*metrics="):
        m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])  # Keras 2's positional order
    with pytest.raises(ValueError, match="loss_weights must hold numbers"):
        m.compile("adam", "sparse_categorical_crossentropy", loss_weights={"out": "1"})
    m.compile("adam", "sparse_categorical_crossentropy", loss_weights=[np.float32(1)])
    m.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="cardinality"):
        m.fit(x, y[:7], verbose=0)
    with pytest.raises(ValueError, match=r"Dense 'dense_\d+': expected input with last dimension 4, got \(10, 5\)"):
        m.predict(np.zeros((10, 5)), verbose=0)
    with pytest.raises((ValueError, IndexError), match="label|not in"):
        m.fit(x, np.full(10, 7), verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        m.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        m.fit(x, y, verbose=5)
    with pytest.raises(ValueError, match="units must be a positive integer"):
        layers.Dense(0)
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        layers.Dense(3, foo=1)
    with pytest.raises(ValueError, match="expects 2 weights"):
        m.layers[0].set_weights([np.zeros((4, 8))])
    with pytest.raises(ValueError, match="shape"):
        m.layers[0].set_weights([np.zeros((5, 8)), np.zeros(8)])
    with pytest.raises(TypeError, match="object"):
        m.fit(np.array([[1, "a"]], dtype=object), np.array([0]), verbose=0)


# --- the real data: issue 5's accuracy bars -----------------------------------------------

def _mnist():
    try:
        return tf.datasets.mnist.load_data()
    except RuntimeError as e:
        pytest.skip(f"MNIST not available: {e}")


def test_mnist_mlp_reaches_97_percent():
    (x_train, y_train), (x_test, y_test) = _mnist()
    x_train = x_train.reshape(-1, 784).astype("float32") / 255
    x_test = x_test.reshape(-1, 784).astype("float32") / 255
    tf.utils.set_random_seed(1)
    model = Sequential()
    model.add(layers.Dense(64, input_dim=784, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, tf.utils.to_categorical(y_train, 10), epochs=10, batch_size=32, verbose=0)
    loss, acc = model.evaluate(x_test, tf.utils.to_categorical(y_test, 10), verbose=0)
    assert acc >= 0.97, (loss, acc)


def test_mnist_convnet_matches_keras_after_two_epochs_and_reaches_98_5_percent():
    """Keras' MNIST convnet. Keras 3.15 itself reaches 98.1-98.4% test accuracy
    after 2 epochs on this data (measured side by side, see the closing note);
    tinytf must do as well, and pass 98.5% with one more epoch."""
    (x_train, y_train), (x_test, y_test) = _mnist()
    x_train = x_train[..., None].astype("float32") / 255
    x_test = x_test[..., None].astype("float32") / 255
    y_train, y_test = tf.utils.to_categorical(y_train, 10), tf.utils.to_categorical(y_test, 10)
    tf.utils.set_random_seed(1)
    model = Sequential([tf.Input(shape=(28, 28, 1)),
                        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2)),
                        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"), layers.MaxPooling2D(pool_size=(2, 2)),
                        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0)
    _, acc2 = model.evaluate(x_test, y_test, verbose=0)
    assert acc2 >= 0.980, acc2
    model.fit(x_train, y_train, batch_size=128, epochs=3, initial_epoch=2, verbose=0)
    _, acc3 = model.evaluate(x_test, y_test, verbose=0)
    assert acc3 >= 0.985, (acc2, acc3)


def test_shuffled_batches_hold_the_rows_of_the_permutation():
    """Wide rows are gathered in C++, narrow or read-only ones by numpy: both
    must give exactly x[order[start:stop]] for every array."""
    from tinytf.models.data import ArrayData

    rng = np.random.default_rng(0)
    n = 301
    wide = rng.standard_normal((n, 28, 28)).astype(np.float32)
    images = rng.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)
    frozen = rng.standard_normal((n, 300))
    frozen.flags.writeable = False
    narrow = rng.integers(0, 10, n)
    data = ArrayData([wide, images, frozen], narrow, None, 64, True)
    order = np.random.default_rng(7).permutation(n)
    seen = 0
    for (xw, xi, xf), y, _ in data.batches(np.random.default_rng(7)):
        idx = order[seen:seen + len(y)]
        for got, want in ((xw, wide), (xi, images), (xf, frozen), (y, narrow)):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want[idx])
        seen += len(y)
    assert seen == n
