"""Callbacks on tiny fits. Monitored values are scripted: a LambdaCallback listed
first writes them into the epoch logs, which every later callback then reads."""
import csv
import math

import numpy as np
import pytest

from tinytf import callbacks, optimizers
from tinytf.layers import Dense
from tinytf.models import Sequential

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 3)).astype(np.float32)
Y = X.sum(axis=1, keepdims=True).astype(np.float32)


def make_model(optimizer="sgd"):
    model = Sequential([Dense(4, input_dim=3, activation="relu"), Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def fit(model, cbs, epochs, **kwargs):
    kwargs.setdefault("batch_size", 4)
    return model.fit(X, Y, epochs=epochs, verbose=kwargs.pop("verbose", 0), callbacks=cbs, shuffle=False, **kwargs)


def scripted(**series):
    """Writes series[name][epoch] into the logs of each epoch end."""
    return callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: logs.update({k: v[epoch] for k, v in series.items()}))


def learning_rates(model):
    """A callback recording the optimizer's learning rate at each epoch start, and the list it fills."""
    seen = []
    return callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer.learning_rate)), seen


# --- hooks ------------------------------------------------------------------------------------------
class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []


def _recording(hook):
    def record(self, *args):  # (logs) or (epoch or batch, logs): CallbackList passes logs positionally
        *index, logs = args
        self.calls.append((hook, *index))
        if hook == "on_train_batch_end":
            assert "loss" in logs
        if hook == "on_epoch_end":
            assert sorted(logs) == ["loss", "val_loss"]

    return record


for _hook in [h for h in vars(callbacks.Callback) if h.startswith("on_") and h not in ("on_batch_begin",
                                                                                       "on_batch_end")]:
    setattr(Recorder, _hook, _recording(_hook))


def test_hook_order_in_fit_evaluate_predict():
    model = make_model()
    rec = Recorder()
    model.fit(X[:8], Y[:8], batch_size=4, epochs=2, verbose=0, callbacks=[rec], shuffle=False,
              validation_data=(X[8:11], Y[8:11]))
    epoch = lambda e: [("on_epoch_begin", e),
                       ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
                       ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
                       ("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0), ("on_test_end",),
                       ("on_epoch_end", e)]
    assert rec.calls == [("on_train_begin",)] + epoch(0) + epoch(1) + [("on_train_end",)]
    assert rec.model is model and rec.params["epochs"] == 2 and rec.params["steps"] == 2

    rec.calls = []
    model.evaluate(X[:8], Y[:8], batch_size=4, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                         ("on_test_batch_begin", 1), ("on_test_batch_end", 1), ("on_test_end",)]
    rec.calls = []
    model.predict(X[:8], batch_size=4, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_predict_begin",), ("on_predict_batch_begin", 0), ("on_predict_batch_end", 0),
                         ("on_predict_batch_begin", 1), ("on_predict_batch_end", 1), ("on_predict_end",)]


def test_on_batch_aliases_are_the_training_batch_hooks():
    class Old(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_batch_begin(self, batch, logs=None):
            self.batches.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            self.batches.append(("end", batch, "loss" in logs))

    old = Old()
    fit(make_model(), [old], epochs=1, batch_size=8, validation_data=(X, Y))
    assert old.batches == [("begin", 0), ("end", 0, True), ("begin", 1), ("end", 1, True)]


def test_lambda_callback_hooks():
    calls = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_train_batch_begin=lambda batch, logs: calls.append(f"batch_begin {batch}"),
        on_train_batch_end=lambda batch, logs: calls.append(f"batch_end {batch}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_end=lambda logs: calls.append("test_end"),  # any other hook by keyword
    )
    fit(make_model(), [cb], epochs=1, batch_size=16, validation_data=(X, Y))
    assert calls == ["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0", "test_end",
                     "epoch_end 0 ['loss', 'val_loss']", "train_end"]


def test_history_records_every_epoch():
    model = make_model()
    history = fit(model, [scripted(extra=[1, 2, 3])], epochs=3, validation_split=0.25)
    assert isinstance(history, callbacks.History) and model.history is history
    assert history.epoch == [0, 1, 2]
    assert sorted(history.history) == ["extra", "loss", "val_loss"]
    assert history.history["extra"] == [1, 2, 3]
    assert all(len(v) == 3 and all(isinstance(x, float) for x in v)
               for k, v in history.history.items() if k != "extra")
    history = fit(model, [], epochs=3, initial_epoch=1)
    assert history.epoch == [1, 2] and len(history.history["loss"]) == 2


# --- EarlyStopping ---------------------------------------------------------------------------------
def stopping_epochs(values, epochs=None, monitor="val_loss", **kwargs):
    """The epochs run under EarlyStopping(**kwargs) with `monitor` following `values`."""
    model = make_model()
    stop = callbacks.EarlyStopping(monitor=monitor, **kwargs)
    history = fit(model, [scripted(**{monitor: values}), stop], epochs=epochs or len(values))
    return history.epoch, stop


def test_early_stopping_patience():
    epochs, stop = stopping_epochs([1.0, 0.8, 0.9, 0.85, 0.95, 0.7], patience=2)
    assert epochs == [0, 1, 2, 3] and stop.stopped_epoch == 3 and stop.best == 0.8 and stop.best_epoch == 1
    assert stopping_epochs([1.0, 0.8, 0.9, 0.85, 0.95, 0.7], patience=3)[0] == [0, 1, 2, 3, 4]
    assert stopping_epochs([1.0, 1.1, 0.5], patience=0)[0] == [0, 1]  # the first non-improvement stops


def test_early_stopping_min_delta_and_mode():
    assert stopping_epochs([1.0, 0.95, 0.9], min_delta=0.1, patience=1)[0] == [0, 1]
    assert stopping_epochs([1.0, 0.95, 0.9], min_delta=0.01, patience=1)[0] == [0, 1, 2]
    rising = [0.5, 0.6, 0.55, 0.58]
    assert stopping_epochs(rising, monitor="val_accuracy", patience=1)[0] == [0, 1, 2]  # auto: accuracy goes up
    assert stopping_epochs(rising, monitor="val_accuracy", mode="max", patience=1)[0] == [0, 1, 2]
    assert stopping_epochs(rising, monitor="val_accuracy", mode="min", patience=1)[0] == [0, 1]
    with pytest.warns(UserWarning, match="unknown"):
        assert stopping_epochs(rising, monitor="val_accuracy", mode="bigger", patience=1)[0] == [0, 1, 2]


def test_early_stopping_baseline_and_start_from_epoch():
    values = [0.9, 0.8, 0.85, 0.7]
    assert stopping_epochs(values, patience=3)[0] == [0, 1, 2, 3]
    # improvements that do not beat the baseline do not reset the patience
    assert stopping_epochs(values, patience=3, baseline=0.5)[0] == [0, 1, 2]
    assert stopping_epochs(values, patience=3, baseline=0.95)[0] == [0, 1, 2, 3]
    values = [0.5, 0.4, 1.0, 1.1, 1.2]
    assert stopping_epochs(values, patience=1)[0] == [0, 1, 2]
    assert stopping_epochs(values, patience=1, start_from_epoch=2)[0] == [0, 1, 2, 3]


def test_early_stopping_restores_best_weights(capsys):
    model = make_model()
    weights = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()))
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    history = fit(model, [scripted(val_loss=[1.0, 0.5, 0.7, 0.8, 0.1]), record, stop], epochs=5)
    assert history.epoch == [0, 1, 2, 3] and stop.best_epoch == 1
    for got, want in zip(model.get_weights(), weights[1]):
        np.testing.assert_array_equal(got, want)
    assert not all(np.array_equal(a, b) for a, b in zip(weights[1], weights[3]))
    out = capsys.readouterr().out
    assert "Epoch 4: early stopping" in out and "best epoch: 2" in out

    # without an early stop the best weights are restored too (Keras 3)
    model, weights = make_model(), []
    stop = callbacks.EarlyStopping(patience=5, restore_best_weights=True)
    fit(model, [scripted(val_loss=[1.0, 0.5, 0.7]), record, stop], epochs=3)
    assert stop.stopped_epoch == 0
    for got, want in zip(model.get_weights(), weights[1]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_is_reusable_and_warns_on_missing_metric():
    stop = callbacks.EarlyStopping(monitor="loss", patience=0)
    model = make_model()
    fit(model, [scripted(loss=[1.0, 2.0, 3.0]), stop], epochs=3)
    assert stop.stopped_epoch == 1
    fit(model, [scripted(loss=[1.0, 0.5, 0.4]), stop], epochs=3)  # state reset at train begin
    assert stop.stopped_epoch == 0 and stop.best == 0.4

    with pytest.warns(UserWarning, match="val_missing.*not available"):
        history = fit(make_model(), [callbacks.EarlyStopping(monitor="val_missing")], epochs=3)
    assert history.epoch == [0, 1, 2]


def test_monitor_direction_inference():
    class FakeModel:
        metrics = [type("Score", (), {"name": "score", "_direction": "up"})()]

    def lower_is_better(cb):
        cb.set_model(FakeModel())
        return cb._is_improvement(1.0, 2.0)

    for monitor in ["loss", "val_loss", "val_mean_squared_error", "mae", "val_sparse_categorical_crossentropy",
                    "output_1_loss"]:
        assert lower_is_better(callbacks.EarlyStopping(monitor=monitor)), monitor
    for monitor in ["accuracy", "val_accuracy", "val_binary_accuracy", "val_auc", "precision", "val_recall",
                    "val_score"]:  # val_score: from the model metric's _direction
        assert not lower_is_better(callbacks.EarlyStopping(monitor=monitor)), monitor
    with pytest.raises(ValueError, match="mode='max'"):
        lower_is_better(callbacks.EarlyStopping(monitor="val_custom"))
    with pytest.raises(ValueError, match="mode='max'"):
        lower_is_better(callbacks.ModelCheckpoint("m.keras", monitor="val_custom", save_best_only=True))
    assert lower_is_better(callbacks.ReduceLROnPlateau(monitor="val_custom"))  # Keras' default: minimize
    assert not lower_is_better(callbacks.EarlyStopping(monitor="val_custom", mode="max"))


# --- ReduceLROnPlateau ---------------------------------------------------------------------------------------
def test_reduce_lr_on_plateau_with_cooldown_and_min_lr():
    model = make_model(optimizers.SGD(0.1))
    rates, seen = learning_rates(model)
    reduce = callbacks.ReduceLROnPlateau(patience=2, factor=0.5, cooldown=1, min_lr=0.02)
    history = fit(model, [rates, scripted(val_loss=[1.0] * 8), reduce], epochs=8)
    # reductions at the ends of epochs 2, 4 and 6 (cooldown resets the count once), the last one clipped at min_lr
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02])
    assert history.history["learning_rate"] == pytest.approx(seen)  # the rate each epoch trained with
    assert model.optimizer.learning_rate == pytest.approx(0.02)


def test_reduce_lr_on_plateau_improvements_and_min_delta():
    def rates_under(values, **kwargs):
        model = make_model(optimizers.SGD(0.1))
        rates, seen = learning_rates(model)
        fit(model, [rates, scripted(val_loss=values), callbacks.ReduceLROnPlateau(patience=2, factor=0.5, **kwargs)],
            epochs=len(values))
        return seen

    assert rates_under([1.0, 0.9, 0.8, 0.7]) == pytest.approx([0.1] * 4)
    # less than 1e-4 better is no improvement with the default min_delta
    assert rates_under([1.0, 0.99995, 0.99992, 0.99994]) == pytest.approx([0.1, 0.1, 0.1, 0.05])
    assert rates_under([1.0, 0.99995, 0.99992, 0.99994], min_delta=0) == pytest.approx([0.1] * 4)
    assert rates_under([1.0, 1.0, 1.0, 1.0], mode="max", min_delta=0) == pytest.approx([0.1, 0.1, 0.1, 0.05])


def test_reduce_lr_on_plateau_errors():
    with pytest.raises(ValueError, match="factor"):
        callbacks.ReduceLROnPlateau(factor=1.0)
    model = make_model(optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)))
    with pytest.raises(TypeError, match="not settable"):
        fit(model, [scripted(val_loss=[1.0] * 3), callbacks.ReduceLROnPlateau(patience=1)], epochs=3)
    with pytest.warns(UserWarning, match="val_loss"):
        fit(make_model(), [callbacks.ReduceLROnPlateau(patience=1)], epochs=2)


# --- LearningRateScheduler ---------------------------------------------------------------------------------
def test_learning_rate_scheduler_sets_the_rate_per_epoch(capsys):
    model = make_model(optimizers.SGD(0.1))
    rates, seen = learning_rates(model)
    halve = callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr * 0.5, verbose=1)
    history = fit(model, [halve, rates], epochs=4)
    assert seen == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert history.history["learning_rate"] == pytest.approx(seen)
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.05" in capsys.readouterr().out

    model = make_model(optimizers.SGD(0.1))
    rates, seen = learning_rates(model)
    fit(model, [callbacks.LearningRateScheduler(lambda epoch: 1.0 / (epoch + 10)), rates], epochs=3)  # old API
    assert seen == pytest.approx([0.1, 1 / 11, 1 / 12])


def test_learning_rate_scheduler_rate_is_used_and_checked():
    model = make_model()
    before = model.get_weights()
    fit(model, [callbacks.LearningRateScheduler(lambda epoch, lr: 0.0)], epochs=2)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="float"):
        fit(make_model(), [callbacks.LearningRateScheduler(lambda epoch, lr: "fast")], epochs=1)


# --- CSVLogger -----------------------------------------------------------------------------------------------
def read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_rows(tmp_path):
    path = tmp_path / "log.csv"
    history = fit(make_model(), [callbacks.CSVLogger(path)], epochs=3, validation_split=0.25)
    rows = read_csv(path)
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    for row, loss, val_loss in zip(rows[1:], history.history["loss"], history.history["val_loss"]):
        assert float(row[1]) == loss and float(row[2]) == val_loss


def test_csv_logger_separator_append_and_missing_values(tmp_path):
    path = tmp_path / "log.tsv"
    extra = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(a=1) if epoch == 0 else None)
    fit(make_model(), [extra, callbacks.CSVLogger(path, separator="\t")], epochs=2)
    rows = read_csv(path, "\t")
    assert rows[0] == ["epoch", "a", "loss"] and rows[2][:2] == ["1", "NA"]  # columns from the first epoch
    fit(make_model(), [callbacks.CSVLogger(path, separator="\t", append=True)], epochs=2)
    rows = read_csv(path, "\t")
    assert len(rows) == 5 and [r[0] for r in rows[3:]] == ["0", "1"]  # no second header
    fit(make_model(), [callbacks.CSVLogger(path, separator="\t")], epochs=1)  # append=False overwrites
    assert len(read_csv(path, "\t")) == 2


# --- ModelCheckpoint -----------------------------------------------------------------------------------------
@pytest.fixture
def saves(monkeypatch):
    """model -> the list of (method, path) calls its save/save_weights receive."""
    def patch(model):
        calls = []
        for method in ("save", "save_weights"):
            def record(path, overwrite=False, method=method):
                assert overwrite is True
                calls.append((method, path))

            monkeypatch.setattr(model, method, record, raising=False)
        return calls

    return patch


def checkpoint_calls(saves, values, filepath, epochs=None, monitor="val_loss", **kwargs):
    model = make_model()
    calls = saves(model)
    fit(model, [scripted(**{monitor: values}), callbacks.ModelCheckpoint(filepath, monitor=monitor, **kwargs)],
        epochs=epochs or len(values))
    return calls


def test_model_checkpoint_every_epoch_with_formatted_path(saves, tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
    calls = checkpoint_calls(saves, [0.5, 0.4, 0.6], pattern)
    assert calls == [("save", str(tmp_path / name)) for name in
                     ["ckpt-01-0.50.keras", "ckpt-02-0.40.keras", "ckpt-03-0.60.keras"]]
    calls = checkpoint_calls(saves, [0.5, 0.4, 0.6], str(tmp_path / "w-{epoch}.weights.h5"), save_weights_only=True)
    assert [c[0] for c in calls] == ["save_weights"] * 3 and calls[2][1].endswith("w-3.weights.h5")


def test_model_checkpoint_save_best_only(saves, tmp_path, capsys):
    path = str(tmp_path / "best-{epoch}.keras")
    calls = checkpoint_calls(saves, [0.5, 0.4, 0.6, 0.3], path, save_best_only=True, verbose=1)
    assert [c[1][-7:] for c in calls] == ["1.keras", "2.keras", "4.keras"]
    out = capsys.readouterr().out
    assert "Epoch 2: val_loss improved from 0.50000 to 0.40000, saving model to" in out
    assert "Epoch 3: val_loss did not improve from 0.40000" in out
    calls = checkpoint_calls(saves, [0.5, 0.4, 0.6, 0.3], path, save_best_only=True, initial_value_threshold=0.45)
    assert [c[1][-7:] for c in calls] == ["2.keras", "4.keras"]
    calls = checkpoint_calls(saves, [0.5, 0.7, 0.6, 0.8], path, monitor="val_accuracy", save_best_only=True)
    assert [c[1][-7:] for c in calls] == ["1.keras", "2.keras", "4.keras"]
    with pytest.warns(UserWarning, match="val_loss"):
        model = make_model()
        calls = saves(model)
        fit(model, [callbacks.ModelCheckpoint(path, save_best_only=True)], epochs=2)
    assert calls == []


def test_model_checkpoint_every_n_batches(saves, tmp_path):
    # 4 batches an epoch: the count of 3 runs across epoch ends
    calls = checkpoint_calls(saves, [0.5, 0.4], str(tmp_path / "{epoch}-{batch}.weights.h5"), save_freq=3,
                             save_weights_only=True)
    assert calls == [("save_weights", str(tmp_path / name)) for name in ["1-3.weights.h5", "2-2.weights.h5"]]


def test_model_checkpoint_creates_directories_and_checks_arguments(saves, tmp_path):
    nested = tmp_path / "a" / "b"
    checkpoint_calls(saves, [0.5], str(nested / "m.keras"))
    assert nested.is_dir()
    with pytest.raises(KeyError, match="val_accuracy"):
        checkpoint_calls(saves, [0.5], str(tmp_path / "{val_accuracy:.2f}.keras"))
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint("m.keras", save_freq="batch")
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint("m.keras", save_freq=0)


# --- TerminateOnNaN, ProgbarLogger -------------------------------------------------------------------------
def test_terminate_on_nan(capsys):
    y = Y.copy()
    y[5] = np.nan  # the second batch of 4 has a NaN loss
    batches = []
    count = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(batch))
    model = make_model()
    history = model.fit(X, y, batch_size=4, epochs=3, verbose=0, shuffle=False,
                        callbacks=[count, callbacks.TerminateOnNaN()])
    assert batches == [0, 1] and history.epoch == [0] and math.isnan(history.history["loss"][0])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        make_model().fit(X, y, batch_size=4, epochs=1, verbose=0, shuffle=False,
                         callbacks=[callbacks.TerminateOnNaN(raise_error=True)])


@pytest.mark.parametrize("verbose", [1, 2])
def test_progbar_logger_lines(verbose, capsys):
    fit(make_model(), [], epochs=2, verbose=verbose, validation_split=0.25)
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out  # captured stdout is not a terminal: whole lines only
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("3/3") and "loss:" in lines[1] and "val_loss:" in lines[1]
    fit(make_model(), [], epochs=1, verbose=verbose)
    assert "Epoch" not in capsys.readouterr().out  # as Keras 3: no "Epoch 1/1"


def test_progbar_logger_can_follow_evaluate(capsys):
    make_model().evaluate(X, Y, batch_size=8, verbose=0, callbacks=[callbacks.ProgbarLogger()])
    assert capsys.readouterr().out == ""  # verbose=0 is obeyed
    logger = callbacks.ProgbarLogger()
    logger.set_params({"verbose": 2, "steps": 2})
    logger.on_test_begin()
    logger.on_test_batch_end(0, {"loss": 1.0})
    logger.on_test_batch_end(1, {"loss": 0.5})
    logger.on_test_end({"loss": 0.5})
    assert capsys.readouterr().out.startswith("2/2")
