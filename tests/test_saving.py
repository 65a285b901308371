"""Saving and loading: .keras / .weights.h5 round trips, Keras compatibility
both ways (committed Keras-written fixtures; a live check when keras is
importable), atomic writes, and hostile or corrupt files."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinytf
from tinytf import layers as L
from tinytf import optimizers
from tinytf.models import Model, Sequential, load_model, model_from_json
from tinytf.saving import _hdf5, saving_lib

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KERAS = FIXTURES / "keras"
RNG = np.random.default_rng(0)


def onehot(n, classes):
    return tinytf.utils.to_categorical(RNG.integers(0, classes, n), classes)


def same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(wa, wb))


def convnet(optimizer="adam"):
    tinytf.utils.set_random_seed(3)
    model = Sequential([tinytf.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(),
                        L.MaxPooling2D(), L.Flatten(), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def two_inputs():
    """The Functional Keras fixture's model, with the same layer names."""
    a, b = tinytf.Input((6,), name="a"), tinytf.Input((4,), name="b")
    h = L.Add(name="add")([L.Dense(8, activation="relu", name="branch_a")(a),
                           L.Dense(8, activation="tanh", name="dense_4")(b)])
    out = L.Dense(2, activation="softmax", name="out")(L.Concatenate(name="concatenate")([h, a]))
    model = Model([a, b], out, name="two_inputs")
    model.compile(optimizer=optimizers.RMSprop(0.01, name="rm_sprop"), loss="categorical_crossentropy")
    return model


X_IMG = RNG.standard_normal((48, 8, 8, 1)).astype(np.float32)
Y_IMG = onehot(48, 3)


# --- round trips ---------------------------------------------------------------------------------------------
# Each layer type inside a small Functional model: (factory, input shapes).
LAYER_CASES = {
    "Dense": (lambda: L.Dense(5, activation="tanh", kernel_regularizer="l2"), [(7,)]),
    "Activation": (lambda: L.Activation("sigmoid"), [(7,)]),
    "Dropout": (lambda: L.Dropout(0.3), [(7,)]),
    "Flatten": (lambda: L.Flatten(), [(3, 4)]),
    "Reshape": (lambda: L.Reshape((2, 6)), [(3, 4)]),
    "Conv2D": (lambda: L.Conv2D(3, (3, 2), strides=(1, 2), padding="same", activation="relu"), [(6, 6, 2)]),
    "BatchNormalization": (lambda: L.BatchNormalization(momentum=0.9), [(6, 6, 2)]),
    "LayerNormalization": (lambda: L.LayerNormalization(epsilon=1e-5), [(7,)]),
    "MaxPooling2D": (lambda: L.MaxPooling2D(3, strides=2, padding="same"), [(6, 6, 2)]),
    "AveragePooling2D": (lambda: L.AveragePooling2D(), [(6, 6, 2)]),
    "GlobalAveragePooling2D": (lambda: L.GlobalAveragePooling2D(keepdims=True), [(6, 6, 2)]),
    "GlobalMaxPooling2D": (lambda: L.GlobalMaxPooling2D(), [(6, 6, 2)]),
    **{name: (lambda name=name: getattr(L, name)(), [(7,), (7,)])
       for name in ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]},
    "Concatenate": (lambda: L.Concatenate(axis=-1), [(7,), (3,)]),
    "Conv1D": (lambda: L.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="relu"), [(9, 2)]),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same"), [(4, 4, 2)]),
    "MaxPooling1D": (lambda: L.MaxPooling1D(2), [(8, 3)]),
    "AveragePooling1D": (lambda: L.AveragePooling1D(3, strides=1, padding="same"), [(8, 3)]),
    "GlobalAveragePooling1D": (lambda: L.GlobalAveragePooling1D(), [(8, 3)]),
    "GlobalMaxPooling1D": (lambda: L.GlobalMaxPooling1D(keepdims=True), [(8, 3)]),
    "UpSampling2D": (lambda: L.UpSampling2D((2, 1), interpolation="bilinear"), [(4, 4, 2)]),
    "ZeroPadding2D": (lambda: L.ZeroPadding2D(((1, 0), (2, 1))), [(4, 4, 2)]),
    "Cropping2D": (lambda: L.Cropping2D((1, 2)), [(6, 6, 2)]),
    "Attention": (lambda: L.Attention(use_scale=True), [(5, 4), (6, 4)]),
    "MultiHeadAttention": (lambda: _SelfAttention(), [(5, 8)]),
    "Embedding": (lambda: L.Embedding(10, 4, mask_zero=True), [(6,)]),
    "Masking": (lambda: L.Masking(0.0), [(5, 3)]),
    "SimpleRNN": (lambda: L.SimpleRNN(4, return_sequences=True), [(5, 3)]),
    "LSTM": (lambda: L.LSTM(4, go_backwards=True, unit_forget_bias=False), [(5, 3)]),
    "GRU": (lambda: L.GRU(4, reset_after=False), [(5, 3)]),
    **{name: (lambda name=name: L.RNN(getattr(L, name)(4), return_sequences=True), [(5, 3)])
       for name in ["SimpleRNNCell", "LSTMCell", "GRUCell"]},
    "RNN": (lambda: L.RNN(L.LSTMCell(3), return_state=False), [(5, 3)]),
    "Bidirectional": (lambda: L.Bidirectional(L.GRU(3), merge_mode="sum"), [(5, 3)]),
    "TimeDistributed": (lambda: L.TimeDistributed(L.Dense(2)), [(5, 3)]),
    "Rescaling": (lambda: L.Rescaling(0.5, offset=1.0), [(6, 6, 2)]),
    "Normalization": (lambda: L.Normalization(mean=[0.5, -1.0], variance=[2.0, 0.5]), [(6, 6, 2)]),
    "Resizing": (lambda: L.Resizing(4, 5), [(6, 6, 2)]),
    "CenterCrop": (lambda: L.CenterCrop(4, 4), [(6, 6, 2)]),
    "RandomCrop": (lambda: L.RandomCrop(4, 4, seed=1), [(6, 6, 2)]),
    "RandomFlip": (lambda: L.RandomFlip(seed=1), [(6, 6, 2)]),
    "RandomRotation": (lambda: L.RandomRotation(0.2, fill_mode="constant", seed=1), [(6, 6, 2)]),
    "RandomTranslation": (lambda: L.RandomTranslation(0.2, 0.1, seed=1), [(6, 6, 2)]),
    "RandomZoom": (lambda: L.RandomZoom(0.2, seed=1), [(6, 6, 2)]),
    "RandomContrast": (lambda: L.RandomContrast(0.3, seed=1), [(6, 6, 2)]),
    "RandomBrightness": (lambda: L.RandomBrightness(0.2, value_range=(-3, 3), seed=1), [(6, 6, 2)]),
}
INT_INPUTS = {"Embedding"}  # these take token ids in [0, 10)


class _SelfAttention:
    """MultiHeadAttention takes (query, value) as arguments, not a list: wrap it for the table."""

    def __call__(self, x):
        return L.MultiHeadAttention(num_heads=2, key_dim=3)(x, x)


def test_every_layer_type_is_covered():
    layer_classes = {name for name, obj in vars(L).items() if isinstance(obj, type) and issubclass(obj, L.Layer)
                     and obj.__name__ == name and name not in ("Layer", "InputLayer")}
    layer_classes.discard("TextVectorization")  # takes strings, so it runs before a model: see the next test
    assert layer_classes <= set(LAYER_CASES), f"no round-trip case for {sorted(layer_classes - set(LAYER_CASES))}"


def test_text_vectorization_config_round_trip():
    """As in Keras, the config carries a vocabulary given to the constructor (an
    adapted one travels through get_vocabulary / set_vocabulary)."""
    texts = np.array(["the cat sat", "a dog ran far", "cat"])
    layer = L.TextVectorization(vocabulary=["cat", "the", "dog"], output_sequence_length=4)
    again = L.TextVectorization.from_config(json.loads(json.dumps(layer.get_config())))
    assert np.array_equal(np.asarray(again(texts)), [[3, 2, 1, 0], [1, 4, 1, 1], [2, 0, 0, 0]])
    adapted = L.TextVectorization(max_tokens=8)
    adapted.adapt(texts)
    copy = L.TextVectorization.from_config(adapted.get_config())
    copy.set_vocabulary(adapted.get_vocabulary())
    assert np.array_equal(np.asarray(copy(texts)), np.asarray(adapted(texts)))


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_round_trip(name, tmp_path):
    factory, shapes = LAYER_CASES[name]
    ids = name in INT_INPUTS
    inputs = [tinytf.Input(s, dtype="int32" if ids else None) for s in shapes]
    y = factory()(inputs if len(inputs) > 1 else inputs[0])
    model = Model(inputs, L.Dense(2)(L.Flatten()(y) if len(y.shape) > 2 else y))
    model.compile(optimizer="adam", loss="mse")
    xs = [RNG.integers(0, 10, (16,) + s).astype(np.int32) if ids else RNG.standard_normal((16,) + s).astype(np.float32)
          for s in shapes]
    model.fit(xs, RNG.standard_normal((16, 2)).astype(np.float32), epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.get_config() == model.get_config()
    assert same_weights(loaded, model)
    assert np.array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))


@pytest.mark.parametrize("optimizer", sorted(k for k in optimizers._TABLE if k[0].isupper()) +
                         ["SGD-nesterov", "Adam-amsgrad", "RMSprop-centered"])
def test_training_resumes_bitwise_after_save_and_load(optimizer, tmp_path):
    """2 epochs, save, load, 1 more epoch == 3 epochs straight, bit for bit."""
    name, _, variant = optimizer.partition("-")
    extra = {"nesterov": {"momentum": 0.9, "nesterov": True}, "amsgrad": {"amsgrad": True},
             "centered": {"centered": True, "momentum": 0.5}}.get(variant, {})

    def make():
        return convnet(getattr(optimizers, name)(**extra))

    straight = make()
    history = straight.fit(X_IMG, Y_IMG, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    first = make()
    first.fit(X_IMG, Y_IMG, epochs=2, batch_size=16, shuffle=False, verbose=0)
    first.save(tmp_path / "m.keras")
    resumed = load_model(tmp_path / "m.keras")
    assert resumed.optimizer.iterations == first.optimizer.iterations == 6
    last = resumed.fit(X_IMG, Y_IMG, epochs=1, batch_size=16, shuffle=False, verbose=0).history
    assert last["loss"] == history["loss"][-1:] and last["accuracy"] == history["accuracy"][-1:]
    assert same_weights(resumed, straight)
    assert all(np.array_equal(a, b) for a, b in zip(resumed.optimizer.get_weights(), straight.optimizer.get_weights()))


@pytest.mark.parametrize("how", ["input", "input_dim", "lazy"])
def test_sequential_round_trip_however_its_input_shape_was_given(how, tmp_path):
    first = {"input": [tinytf.Input((5,)), L.Dense(4)], "input_dim": [L.Dense(4, input_dim=5)],
             "lazy": [L.Dense(4)]}[how]
    model = Sequential(first + [L.Dense(3, activation="softmax")], name="seq")
    model.compile(optimizer="sgd", loss="categorical_crossentropy", loss_weights=0.5, metrics=["accuracy", "mse"])
    x = RNG.standard_normal((20, 5)).astype(np.float32)
    model.fit(x, onehot(20, 3), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert [type(layer) for layer in loaded.layers] == [L.Dense, L.Dense] and loaded.name == "seq"
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_compile_config() == model.get_compile_config()
    assert loaded.evaluate(x, onehot(20, 3), verbose=0) is not None and loaded.metrics_names == model.metrics_names
    assert not load_model(tmp_path / "m.keras", compile=False).compiled


def test_frozen_layers_and_names_survive(tmp_path):
    model = convnet()
    model.layers[0].trainable = False
    model.fit(X_IMG, Y_IMG, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert not loaded.layers[0].trainable and len(loaded.trainable_weights) == len(model.trainable_weights)
    assert same_weights(loaded, model)


def test_functional_with_a_shared_layer_and_nested_sequential(tmp_path):
    inp = tinytf.Input((4,))
    shared = L.Dense(4, activation="tanh", name="shared")
    block = Sequential([tinytf.Input((4,)), L.Dense(3)], name="block")
    out = L.Concatenate()([shared(shared(inp)), block(inp)])
    model = Model(inp, out)
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    for loaded in (model_from_json(model.to_json()), Model.from_config(model.get_config())):
        loaded.set_weights(model.get_weights())
        assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    calls = [e["inbound_nodes"] for e in model.get_config()["layers"] if e["name"] == "shared"][0]
    assert [c["args"][0]["config"]["keras_history"] for c in calls] == [[inp.name, 0, 0], ["shared", 0, 0]]
    model.save(tmp_path / "m.keras")
    assert np.array_equal(load_model(tmp_path / "m.keras").predict(x, verbose=0), model.predict(x, verbose=0))


def test_custom_layers_load_only_through_custom_objects(tmp_path):
    class Scale(L.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    model = Sequential([tinytf.Input((3,)), Scale(3.0), L.Dense(2)])
    model.save(tmp_path / "m.keras")
    entry = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))["config"]["layers"][1]
    assert entry["class_name"] == "Scale" and entry["registered_name"] == "Scale"
    with pytest.raises(ValueError, match="unknown module .* 'Scale'"):
        load_model(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", custom_objects={"Scale": Scale})
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_get_config_from_config_and_json(tmp_path):
    model = two_inputs()
    config = model.get_config()
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]] and config["output_layers"] == ["out", 0, 0]
    clone = Model.from_config(config)
    assert clone.get_config() == config
    again = model_from_json(model.to_json())
    assert again.get_config() == config and not again.compiled
    assert json.loads(model.to_json())["compile_config"]["loss"] == "categorical_crossentropy"


# --- weights files ---------------------------------------------------------------------------------------------
def test_save_and_load_weights(tmp_path):
    model = convnet()
    model.fit(X_IMG, Y_IMG, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    other = convnet()
    other.load_weights(tmp_path / "w.weights.h5")
    assert same_weights(other, model) and other.optimizer.iterations == model.optimizer.iterations
    model.save(tmp_path / "m.keras")
    third = convnet()
    third.load_weights(tmp_path / "m.keras")
    assert same_weights(third, model)
    with pytest.raises(ValueError, match=".weights.h5"):
        model.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="legacy"):
        model.load_weights(tmp_path / "w.h5")
    with pytest.raises(FileExistsError):
        model.save_weights(tmp_path / "w.weights.h5", overwrite=False)
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)


def test_load_weights_mismatch_raises_or_skips(tmp_path):
    model = Sequential([tinytf.Input((4,)), L.Dense(5), L.Dense(2)])
    model.save_weights(tmp_path / "w.weights.h5")
    wider = Sequential([tinytf.Input((4,)), L.Dense(6), L.Dense(2)])
    before = wider.get_weights()
    with pytest.raises(ValueError, match=r"layers/dense/vars.*shape \(4, 6\).*\(4, 5\)"):
        wider.load_weights(tmp_path / "w.weights.h5")
    with pytest.warns(UserWarning, match="Skipping loading weights of layer"):
        wider.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    assert np.array_equal(wider.layers[0].kernel.numpy(), before[0])  # skipped
    assert np.array_equal(wider.layers[1].bias.numpy(), model.layers[1].bias.numpy())  # loaded
    with pytest.raises(ValueError, match="expected 2 variables, but the file has 0"):
        Sequential([tinytf.Input((4,)), L.Dense(5), L.Dense(2), L.Dense(1)]).load_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="not built"):
        Sequential([L.Dense(2)]).load_weights(tmp_path / "w.weights.h5")


def test_model_checkpoint_writes_loadable_files(tmp_path):
    model = convnet()
    cbs = [tinytf.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.keras")),
           tinytf.callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch}.weights.h5"), save_weights_only=True)]
    model.fit(X_IMG, Y_IMG, epochs=2, verbose=0, callbacks=cbs)
    assert same_weights(load_model(tmp_path / "m-2.keras"), model)
    fresh = convnet()
    fresh.load_weights(tmp_path / "w-2.weights.h5")
    assert same_weights(fresh, model)


# --- the file layout Keras uses ------------------------------------------------------------------------------
def test_archive_layout_is_keras(tmp_path):
    model = two_inputs()
    model.fit([RNG.standard_normal((8, 6)).astype(np.float32), RNG.standard_normal((8, 4)).astype(np.float32)],
              onehot(8, 2), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    zf = zipfile.ZipFile(tmp_path / "m.keras")
    assert [i.filename for i in zf.infolist()] == ["metadata.json", "config.json", "model.weights.h5"]
    assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    meta = json.loads(zf.read("metadata.json"))
    assert meta["tinytf_format"] == saving_lib.FORMAT_VERSION and "keras_version" in meta
    root = _hdf5.read(zf.read("model.weights.h5"))

    def tree(group, path=""):
        out = {}
        for name, child in group.children.items():
            out.update(tree(child, f"{path}/{name}") if isinstance(child, _hdf5.Group) else
                       {f"{path}/{name}": child.shape})
        return out or {path: "empty"}

    assert tree(root) == {
        "/vars": "empty", "/layers/input_layer/vars": "empty", "/layers/input_layer_1/vars": "empty",
        "/layers/dense/vars/0": (6, 8), "/layers/dense/vars/1": (8,),  # branch_a
        "/layers/dense_1/vars/0": (4, 8), "/layers/dense_1/vars/1": (8,),  # dense_4
        "/layers/add/vars": "empty", "/layers/concatenate/vars": "empty",
        "/layers/dense_2/vars/0": (14, 2), "/layers/dense_2/vars/1": (2,),  # out
        "/optimizer/vars/0": (), "/optimizer/vars/1": (),
        **{f"/optimizer/vars/{i}": s for i, s in enumerate([(6, 8), (8,), (4, 8), (8,), (14, 2), (2,)], 2)}}
    assert [layer.name for layer in model.layers] == ["a", "b", "branch_a", "dense_4", "add", "concatenate", "out"]


def _without_ids(config):
    if isinstance(config, dict):
        return {k: _without_ids(v) for k, v in config.items() if k != "shared_object_id"}
    if isinstance(config, list):
        return [_without_ids(v) for v in config]
    return config


@pytest.mark.parametrize("name", ["convnet", "functional"])
def test_configs_match_keras_exactly(name):
    """The same model built in tinytf has the config Keras wrote (compared with the committed fixtures)."""
    theirs = _without_ids(json.loads(zipfile.ZipFile(KERAS / f"{name}.keras").read("config.json")))
    if name == "convnet":
        model = Sequential([tinytf.Input((8, 8, 1), name="input_layer_1"), L.Conv2D(4, 3, activation="relu"),
                            L.BatchNormalization(), L.MaxPooling2D(), L.Flatten(), L.Dropout(0.2),
                            L.Dense(8, activation="relu", name="dense_2"), L.Dense(3, activation="softmax",
                                                                                   name="dense_3")], name="convnet")
        model.compile(optimizer=optimizers.SGD(0.05, momentum=0.9, name="sgd"), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        for layer, keras_name in zip(model.layers, ["conv2d", "batch_normalization", "max_pooling2d", "flatten",
                                                    "dropout"]):
            layer.name = keras_name
    else:
        model = two_inputs()
    ours = json.loads(model.to_json())
    # Keras keeps the learning rate as a float32 variable; it writes build_config only for layers with a build()
    ours["compile_config"]["optimizer"]["config"]["learning_rate"] = \
        theirs["compile_config"]["optimizer"]["config"]["learning_rate"]
    for mine, keras_entry in zip(ours["config"]["layers"], theirs["config"]["layers"]):
        if "build_config" not in keras_entry:
            mine.pop("build_config", None)
    assert ours == theirs


# --- Keras-written files (committed fixtures: no Keras needed) ------------------------------------------------------
@pytest.mark.parametrize("name, inputs", [("mlp", 1), ("convnet", 1), ("functional", 2)])
def test_loads_keras_written_models(name, inputs):
    model = load_model(KERAS / f"{name}.keras")
    xs = [np.load(KERAS / f"{name}.inputs{i}.npy") for i in range(inputs)]
    expected = np.load(KERAS / f"{name}.expected.npy")
    np.testing.assert_allclose(model.predict(xs if inputs > 1 else xs[0], verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert model.optimizer.iterations == 8  # Keras trained 2 epochs of 4 batches
    y = tinytf.utils.to_categorical(np.arange(len(xs[0])) % expected.shape[1], expected.shape[1])
    model.fit(xs if inputs > 1 else xs[0], y, epochs=1, verbose=0)  # and training goes on from there
    assert model.optimizer.iterations == 9


def test_loads_keras_written_weights_file():
    model = Sequential([tinytf.Input((8,)), L.Dense(16, activation="relu"), L.Dense(3, activation="softmax")])
    model.load_weights(KERAS / "mlp.weights.h5")
    np.testing.assert_allclose(model.predict(np.load(KERAS / "mlp.inputs0.npy"), verbose=0),
                               np.load(KERAS / "mlp.expected.npy"), rtol=1e-5, atol=1e-6)


def test_keras_loads_tinytf_models(tmp_path):
    keras = pytest.importorskip("keras")
    for make, xs in ((convnet, X_IMG[:8]), (two_inputs, [RNG.standard_normal((8, 6)).astype(np.float32),
                                                         RNG.standard_normal((8, 4)).astype(np.float32)])):
        model = make()
        model.fit(xs, onehot(8, model.predict(xs, verbose=0).shape[-1]), epochs=1, verbose=0)
        model.save(tmp_path / "m.keras")
        theirs = keras.models.load_model(tmp_path / "m.keras")
        np.testing.assert_allclose(np.asarray(theirs.predict(xs, verbose=0)), model.predict(xs, verbose=0),
                                   rtol=1e-5, atol=1e-6)
        assert int(theirs.optimizer.iterations.numpy()) == model.optimizer.iterations
        model.save_weights(tmp_path / "w.weights.h5")
        theirs.load_weights(tmp_path / "w.weights.h5")


# --- the tinytf format fixtures: every released format version must keep loading ---------------------------------
@pytest.mark.parametrize("folder", sorted(p.name for p in FIXTURES.glob("tinytf_format_v*")))
def test_released_format_versions_still_load(folder):
    path = FIXTURES / folder
    model = load_model(path / "model.keras")
    np.testing.assert_allclose(model.predict(np.load(path / "inputs.npy"), verbose=0), np.load(path / "expected.npy"),
                               rtol=1e-5, atol=1e-6)


def test_a_format_fixture_exists_for_the_current_version():
    assert (FIXTURES / f"tinytf_format_v{saving_lib.FORMAT_VERSION}" / "model.keras").is_file()


def test_newer_format_is_refused(tmp_path):
    path = _rewrite(tmp_path, "metadata.json", lambda m: {**m, "tinytf_format": saving_lib.FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="upgrade tinytf"):
        load_model(path)


# --- atomic writes ---------------------------------------------------------------------------------------------------
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    model = convnet()
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    model.fit(X_IMG, Y_IMG, epochs=1, verbose=0)

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(tmp_path / "w.weights.h5")
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["m.keras"]  # no temporary left
    load_model(path)


def test_killed_save_never_leaves_a_broken_file(tmp_path):
    """A process saving a large model over and over is killed at a random moment: the file still loads."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(tinytf.__file__).parents[1])!r})
        import numpy as np, tinytf
        from tinytf import layers as L
        model = tinytf.models.Sequential([tinytf.Input((512,)), L.Dense(2048), L.Dense(512)])
        for i in range(1000):
            model.layers[1].bias.assign(np.full(512, i, np.float32))
            model.save(sys.argv[1])
            print(i, flush=True)
    """)
    path = tmp_path / "big.keras"
    proc = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "0"  # one complete save exists
        time.sleep(0.3 + float(RNG.random()) * 0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    model = load_model(path)
    assert model.layers[1].bias.numpy()[0] == model.layers[1].bias.numpy()[-1] >= 0


# --- hostile and corrupt files ----------------------------------------------------------------------------------------
def _saved(tmp_path):
    path = tmp_path / "good.keras"
    if not path.exists():
        model = Sequential([tinytf.Input((4,)), L.Dense(3, name="dense"), L.Dense(2, name="dense_1")])
        model.compile(optimizer="adam", loss="mse")
        model.save(path)
    return path


def _rewrite(tmp_path, entry, change, name="bad.keras", compress=zipfile.ZIP_STORED):
    """A copy of a good archive with one entry changed (JSON entries get the parsed value), or dropped if None."""
    src = zipfile.ZipFile(_saved(tmp_path))
    out = tmp_path / name
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == entry:
                if change is None:
                    continue
                data = change(json.loads(data)) if entry.endswith(".json") else change(data)
                data = json.dumps(data).encode() if entry.endswith(".json") else data
            zf.writestr(info.filename, data, compress_type=compress if info.filename == entry else zipfile.ZIP_STORED)
    return out


def _set_layer(model_config, index, **changes):
    model_config["config"]["layers"][index].update(changes)
    return model_config


@pytest.mark.parametrize("case, match", [
    ("truncated", "not a .keras file, or a truncated one"),
    ("garbage", "not a .keras file"),
    ("no config", "config.json: missing entry"),
    ("no weights", "model.weights.h5: missing entry"),
    ("bad json", "config.json: invalid JSON"),
    ("not a config", "config.json: not a Keras object config"),
    ("unknown class", r"config.json: layers\[1\]: unknown class 'FancyDense'"),
    ("unknown module", r"unknown module 'os' for class 'system'"),
    ("lambda", "bytecode"),
    ("bad argument", r"layers\[1\]: cannot build Dense from its config"),
    ("wrong shape", r"model.weights.h5: layer 'dense' \(Dense\) at 'layers/dense/vars': variable 0 .* shape \(4, 7\)"),
    ("corrupt weights", "model.weights.h5: HDF5 weights file"),
    ("truncated weights", "model.weights.h5: HDF5 weights file"),
    ("zip bomb", "zip bomb"),
    ("bad crc", "corrupt entry"),
])
def test_hostile_or_corrupt_archives_raise_clear_errors(case, match, tmp_path):
    good = _saved(tmp_path)
    lam = {"class_name": "__lambda__", "config": {"code": "YmFk", "defaults": None, "closure": None}}
    path = {
        "truncated": lambda: _bytes(tmp_path, good.read_bytes()[:len(good.read_bytes()) // 2]),
        "garbage": lambda: _bytes(tmp_path, bytes(RNG.integers(0, 256, 5000, dtype=np.uint8))),
        "no config": lambda: _rewrite(tmp_path, "config.json", None),
        "no weights": lambda: _rewrite(tmp_path, "model.weights.h5", None),
        "bad json": lambda: _raw_json(tmp_path, "config.json", b"{not json"),
        "not a config": lambda: _rewrite(tmp_path, "config.json", lambda c: [1, 2]),
        "unknown class": lambda: _rewrite(tmp_path, "config.json", lambda c: _set_layer(c, 1, class_name="FancyDense")),
        "unknown module": lambda: _rewrite(tmp_path, "config.json",
                                           lambda c: _set_layer(c, 1, module="os", class_name="system")),
        "lambda": lambda: _rewrite(tmp_path, "config.json", lambda c: _set_layer(
            c, 1, config={**c["config"]["layers"][1]["config"], "activation": lam})),
        "bad argument": lambda: _rewrite(tmp_path, "config.json", lambda c: _set_layer(
            c, 1, config={**c["config"]["layers"][1]["config"], "units": -3})),
        "wrong shape": lambda: _rewrite(tmp_path, "config.json", lambda c: _set_layer(
            c, 1, config={**c["config"]["layers"][1]["config"], "units": 7})),
        "corrupt weights": lambda: _rewrite(tmp_path, "model.weights.h5", lambda d: d[:64] + b"\xff" * 64 + d[128:]),
        "truncated weights": lambda: _rewrite(tmp_path, "model.weights.h5", lambda d: d[:len(d) // 2]),
        "zip bomb": lambda: _rewrite(tmp_path, "config.json", lambda c: {**c, "padding": " " * (20 << 20)},
                                     compress=zipfile.ZIP_DEFLATED),
        "bad crc": lambda: _flip_stored_byte(tmp_path, good),
    }[case]()
    with pytest.raises(ValueError, match=match) as info:
        load_model(path)
    assert str(path) in str(info.value)


def _bytes(tmp_path, data):
    path = tmp_path / "bad.keras"
    path.write_bytes(data)
    return path


def _raw_json(tmp_path, entry, data):
    src = zipfile.ZipFile(_saved(tmp_path))
    out = tmp_path / "bad.keras"
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            zf.writestr(info.filename, data if info.filename == entry else src.read(info.filename))
    return out


def _flip_stored_byte(tmp_path, good):
    data = bytearray(good.read_bytes())
    at = data.find(b'"units"')  # inside config.json, stored uncompressed
    data[at + 1] ^= 0x20
    return _bytes(tmp_path, bytes(data))


@pytest.mark.parametrize("name, match", [("soft_link", "soft link"), ("external_link", "external link")])
def test_hdf5_links_are_refused(name, match):
    model = Sequential([tinytf.Input((8,)), L.Dense(16), L.Dense(3)])
    with pytest.raises(ValueError, match=f"{name}.weights.h5: .*{match} \\(not allowed\\)"):
        model.load_weights(KERAS / f"{name}.weights.h5")


def test_hdf5_links_built_with_h5py_are_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = Sequential([tinytf.Input((2,)), L.Dense(3)])
    for link, match in ((h5py.SoftLink("/elsewhere"), "soft link"), (h5py.ExternalLink("other.h5", "/x"), "external")):
        path = tmp_path / "x.weights.h5"
        with h5py.File(path, "w") as f:
            f.create_dataset("elsewhere", data=np.zeros((2, 3), np.float32))
            f.create_group("layers/dense/vars")["0"] = link
        with pytest.raises(ValueError, match=match):
            model.load_weights(path)


def test_fuzzed_weights_files_only_raise_value_errors(tmp_path):
    model = convnet()
    model.fit(X_IMG, Y_IMG, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    good = (tmp_path / "w.weights.h5").read_bytes()
    rng = np.random.default_rng(1)
    outcomes = set()
    for _ in range(300):
        data = bytearray(good)
        for at in rng.integers(0, len(data), rng.integers(1, 8)):
            data[at] = rng.integers(0, 256)
        try:
            _hdf5.read(bytes(data))
            outcomes.add("read")
        except ValueError:
            outcomes.add("refused")
    assert "refused" in outcomes


def test_hdf5_shape_bomb_is_refused():
    """A dataset header may not declare more data than the file stores."""
    root = _hdf5.Group()
    root.children["x"] = np.zeros((4, 4), np.float32)
    data = bytearray(_hdf5.write(root))
    dims = data.find((4).to_bytes(8, "little") * 2)
    data[dims:dims + 16] = (1 << 20).to_bytes(8, "little") * 2
    with pytest.raises(ValueError, match="needs 4398046511104 bytes, but 64 are stored"):
        _hdf5.read(bytes(data))


def test_hdf5_files_are_readable_by_h5py(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = two_inputs()
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        names = {}
        f.visititems(lambda path, obj: names.update({path: obj.attrs["name"]}) if path.endswith("vars") else None)
        assert {k: v.decode() for k, v in names.items()} == {
            "vars": "two_inputs", "layers/input_layer/vars": "a", "layers/input_layer_1/vars": "b",
            "layers/dense/vars": "branch_a", "layers/dense_1/vars": "dense_4", "layers/add/vars": "add",
            "layers/concatenate/vars": "concatenate", "layers/dense_2/vars": "out", "optimizer/vars": "rm_sprop"}
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.get_layer("branch_a").kernel.numpy())
        assert f["optimizer/vars/0"].shape == () and f["optimizer/vars/0"].dtype == np.int64


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load_model("/nonexistent/m.keras")


# --- plots, the bundled digits and the main example -------------------------------------------------------------
def test_plot_model_text_diagram(tmp_path):
    model = two_inputs()
    tinytf.utils.plot_model(model, to_file=tmp_path / "m.txt", show_shapes=True, show_layer_names=True)
    text = (tmp_path / "m.txt").read_text(encoding="utf-8")
    assert 'Model: "two_inputs"' in text and "concatenate (Concatenate)" in text
    assert "[(None, 8), (None, 6)] -> (None, 14)" in text and "from: add, a" in text
    seq = convnet()
    assert "(None, 3, 3, 4) -> (None, 36)" in tinytf.utils.model_to_text(seq, show_shapes=True)


def test_plots_as_png(tmp_path):
    pytest.importorskip("matplotlib")
    model = convnet()
    history = model.fit(X_IMG, Y_IMG, epochs=2, validation_split=0.25, verbose=0)
    for path in (tinytf.utils.plot_history(history, tmp_path / "h.png"),
                 tinytf.utils.plot_model(model, to_file=tmp_path / "m.png", show_shapes=True),
                 tinytf.utils.plot_model(two_inputs(), to_file=tmp_path / "f.png", rankdir="LR")):
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="not in the history"):
        tinytf.utils.plot_history(history, tmp_path / "x.png", metrics=["auc"])


def test_plots_without_matplotlib_say_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"plot_history needs matplotlib.*tinytf\[plot\]"):
        tinytf.utils.plot_history({"loss": [1.0, 0.5]}, tmp_path / "h.png")
    with pytest.raises(ImportError, match="plot_model needs matplotlib"):
        tinytf.utils.plot_model(convnet(), to_file=tmp_path / "m.png")


def test_bundled_digits():
    (x_train, y_train), (x_test, y_test) = tinytf.datasets.digits.load_data()
    assert x_train.shape == (1438, 8, 8) and x_test.shape == (359, 8, 8) and x_train.dtype == np.uint8
    assert x_train.max() == 16 and set(np.unique(y_train)) == set(range(10))
    (again, _), _ = tinytf.datasets.digits.load_data()
    assert np.array_equal(again, x_train)  # the split is deterministic


def test_main_example_runs_offline_on_the_bundled_digits(tmp_path):
    """No MNIST cached and no network: the example trains on the digits, says so, and saves its outputs."""
    env = {**os.environ, "HOME": str(tmp_path), "TINYTF_DATA_DIR": str(tmp_path / "empty"),
           "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "PYTHONPATH": str(Path(tinytf.__file__).parents[1])}
    example = Path(__file__).resolve().parents[1] / "examples" / "mnist_mlp.py"
    run = subprocess.run([sys.executable, str(example), "--epochs", "2", "--out", str(tmp_path / "out")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "MNIST is not available" in run.stdout and "Data: UCI optical digits" in run.stdout
    assert "test accuracy" in run.stdout
    model = load_model(tmp_path / "out" / "mnist_mlp.keras")
    assert model.layers[0].kernel.shape == (64, 64)
