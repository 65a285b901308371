"""``Trainer``: compile / fit / evaluate / predict, the one training loop
every model uses. A step: forward under a GradientTape -> loss (+ weight
penalties) -> gradients -> one fused optimizer update -> metrics."""
import signal
import sys
import threading

import numpy as np

from .. import callbacks as callbacks_mod
from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optimizers as optimizers_mod
from .. import random as random_mod
from .._tape import GradientTape
from .._tensor import Tensor, constant
from ..distribute import get_strategy
from ..ops import cast, reshape
from ..layers.base import _flatten
from .data import ArrayData, GeneratorData, _rebuild, is_generator_like


class _DeferInterrupt:
    """During fit, Ctrl-C takes effect at the next step boundary (check()), so
    weights and optimizer state are never half-updated and fit can be called
    again. A second Ctrl-C interrupts at once."""

    def check(self):
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def __enter__(self):
        self.pending, self.previous = False, None
        # Only Python's own Ctrl-C handler is replaced: an ignored SIGINT (a
        # background job) or a program's own handler stays as it is.
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def __exit__(self, exc_type, exc, tb):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


class _LazyLogs(dict):
    """Batch logs computed only if a callback reads them."""

    def __init__(self, compute):
        super().__init__()
        self._compute = compute
        self._done = False

    def _fill(self):
        if not self._done:
            self._done = True
            dict.update(self, self._compute())

    def __getitem__(self, k):
        self._fill()
        return dict.__getitem__(self, k)

    def get(self, k, default=None):
        self._fill()
        return dict.get(self, k, default)

    def items(self):
        self._fill()
        return dict.items(self)

    def keys(self):
        self._fill()
        return dict.keys(self)

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self):
        self._fill()
        return dict.__len__(self)

    def __contains__(self, k):
        self._fill()
        return dict.__contains__(self, k)


def _to_tensor(y, like=None):
    """Targets as tensors; float targets take the prediction's float dtype."""
    if y is None or isinstance(y, Tensor):
        return y
    a = np.asarray(y)
    if a.dtype.kind == "f" and like is not None and a.dtype != like.dtype.dtype:
        a = a.astype(like.dtype.dtype)
    elif a.dtype.kind in "iub" and like is not None and like.dtype.is_floating and a.dtype.kind == "b":
        a = a.astype(like.dtype.dtype)
    return constant(a)


class Trainer:
    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        # This rank's replica when the model is made or compiled in a multi-rank
        # MirroredStrategy's scope; None otherwise (plain training).
        self._replica = get_strategy()._replica

    # --- compile ---------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        self.optimizer = optimizers_mod.get(optimizer)
        weights = loss_weights.values() if isinstance(loss_weights, dict) else _flatten(loss_weights)
        for w in weights:
            if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating))):
                raise ValueError(f"compile: loss_weights must hold numbers, got {w!r} in {loss_weights!r}; as in "
                                 f"Keras 3, compile's third positional argument is loss_weights (pass metrics=[...])")
        self._loss_spec, self._loss_weights = loss, loss_weights
        self._metric_spec, self._weighted_metric_spec = metrics, weighted_metrics
        for spec in _flatten(loss) if loss is not None else []:
            if spec is not None:
                losses_mod.get(spec)  # unknown names fail here, not at the first batch
        for spec in _flatten(metrics) + _flatten(weighted_metrics):
            if spec is not None and not isinstance(spec, str):
                metrics_mod.get(spec)
            elif isinstance(spec, str) and spec not in metrics_mod.SHAPE_DEPENDENT:
                metrics_mod.get(spec)
        self._losses = None  # resolved per output on the first batch, when shapes are known
        self._metrics = None
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self._replica = get_strategy()._replica or self._replica
        self.compiled = True
        self.stop_training = False

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call compile() before using the model for {what}")

    def _resolve(self, ys, preds):
        """Per-output losses and metrics, once output shapes are known."""
        n = len(preds)
        names = [getattr(kt, "name", None) for kt in (self.outputs or [])] if hasattr(self, "outputs") else []

        def per_output(spec, what):
            if isinstance(spec, dict):
                return [spec.get(nm) for nm in names] if names else list(spec.values())
            if isinstance(spec, (list, tuple)) and n > 1 and len(spec) == n and what == "loss":
                return list(spec)
            return [spec] * n

        loss_specs = per_output(self._loss_spec, "loss")
        if all(s is None for s in loss_specs):
            raise ValueError("compile() was called without a loss; pass loss=... to compile")
        self._losses = [None if s is None else losses_mod.get(s) for s in loss_specs]
        lw = self._loss_weights
        self._loss_w = ([lw.get(nm, 1.0) for nm in names] if isinstance(lw, dict) else
                        list(lw) if isinstance(lw, (list, tuple)) else [1.0 if lw is None else lw] * n)
        if len(self._loss_w) != n:
            raise ValueError(f"loss_weights has {len(self._loss_w)} entries for {n} outputs")
        self._metrics = []
        for weighted, spec in ((False, self._metric_spec), (True, self._weighted_metric_spec)):
            specs = per_output(spec, "metrics") if isinstance(spec, dict) else [spec] * n
            for i, s in enumerate(specs):
                for m in _flatten(s) if s is not None else []:
                    metric = metrics_mod.resolve(m, ys[i], preds[i], self._losses[i])
                    if n > 1:
                        metric.name = f"{names[i] if i < len(names) and names[i] else 'output_' + str(i)}_{metric.name}"
                    if weighted:
                        metric.name = "weighted_" + metric.name if metric.name in [m2.name for _, m2, _ in self._metrics] else metric.name
                    self._metrics.append((i, metric, weighted))

    # --- steps -------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        ys, preds = _flatten(y), _flatten(y_pred)
        if len(ys) != len(preds):
            raise ValueError(f"The model has {len(preds)} output(s) but {len(ys)} target(s) were given")
        if self._losses is None:
            self._resolve(ys, preds)
        total = None
        for i, (fn, w) in enumerate(zip(self._losses, self._loss_w)):
            if fn is None:
                continue
            term = fn(ys[i], preds[i], sample_weight=_with_mask(sample_weight, preds[i]))
            if w != 1.0:
                term = term * float(w)
            total = term if total is None else total + term
        penalties = self.losses
        for p in penalties:
            total = total + p
        return total

    def train_step(self, data):
        grads, outputs = self._gradients(data)
        self.optimizer.apply_gradients(zip(grads, self._train_vars))
        return self._update_metrics(*outputs)

    def _gradients(self, data):
        """Forward and backward on a batch: the gradients of the trainable weights, and
        (loss, y, y_pred, sample_weight) for the metrics."""
        x, y, w = data
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            y = _rebuild(y, [_to_tensor(t, p) for t, p in zip(_flatten(y), _flatten(y_pred))])
            w = None if w is None else constant(np.asarray(w))
            loss = self.compute_loss(x, y, y_pred, w)
        if self._train_vars is None:  # a subclassed model creates its weights on the first call
            self._train_vars = self.trainable_weights
        return tape.gradient(loss, self._train_vars), (loss, y, y_pred, w)

    def test_step(self, data):
        x, y, w = data
        y_pred = self(x, training=False)
        y = _rebuild(y, [_to_tensor(t, p) for t, p in zip(_flatten(y), _flatten(y_pred))])
        w = None if w is None else constant(np.asarray(w))
        loss = self.compute_loss(x, y, y_pred, w)
        return self._update_metrics(loss, y, y_pred, w)

    def predict_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        return self(x, training=False)

    def _update_metrics(self, loss, y, y_pred, w):
        n = _batch_size(y_pred)
        self._loss_tracker.update_state(float(loss), sample_weight=n)
        ys, preds = _flatten(y), _flatten(y_pred)
        for i, metric, weighted in self._metrics:
            metric.update_state(ys[i], preds[i], sample_weight=w if weighted else None)
        return self._logs

    def _logs(self):
        logs = {"loss": float(self._loss_tracker.result())}
        for _, metric, _ in self._metrics or []:
            logs[metric.name] = float(metric.result())
        return logs

    def _reset_metrics(self):
        self._loss_tracker.reset_state()
        for _, metric, _ in self._metrics or []:
            metric.reset_state()

    reset_metrics = _reset_metrics

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for _, m, _ in self._metrics or []]

    # --- fit -----------------------------------------------------------------------
    def _adapt(self, x, y, sample_weight, batch_size, shuffle, class_weight, steps, what):
        if is_generator_like(x):
            if y is not None:
                raise ValueError(f"{what}: y must not be given when x is a generator or Sequence (it yields y)")
            if class_weight is not None or sample_weight is not None:
                raise ValueError(f"{what}: class_weight/sample_weight cannot be used with a generator; yield weights")
            return GeneratorData(x, steps, what)
        if what != "predict" and y is None:
            raise ValueError(f"{what}: targets y are required")
        return ArrayData(x, y, sample_weight, batch_size, shuffle, class_weight, what)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            validation_split_mode="tail"):
        self._require_compiled("training (fit)")
        verbose = _verbosity(verbose, default=1)
        data = self._adapt(x, y, sample_weight, batch_size, shuffle, class_weight, steps_per_epoch, "fit")
        val = None
        if validation_data is not None:
            vd = tuple(validation_data) if isinstance(validation_data, (tuple, list)) else validation_data
            if isinstance(vd, tuple):
                if len(vd) not in (2, 3):
                    raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight_val)")
                val = ArrayData(vd[0], vd[1], vd[2] if len(vd) == 3 else None,
                                validation_batch_size or data.__dict__.get("batch_size", 32), False, None, "validation")
            else:
                val = GeneratorData(vd, validation_steps, "validation")
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
            if not isinstance(data, ArrayData):
                raise ValueError("validation_split is only supported for array inputs, not generators")
            data, val = data.split(validation_split, validation_split_mode)
            val.shuffle = False
        steps = data.steps() if steps_per_epoch is None or isinstance(data, GeneratorData) else steps_per_epoch
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
        seed = random_mod._draw(1, None)[0]  # shuffling follows tinytf.random.set_seed
        if self._replica is not None:  # every rank takes rank 0's seed, weights and optimizer state
            verbose = verbose if self._replica.is_chief else 0
            seed = self._replica.prepare_fit(self, data, val, seed, dict(
                epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                validation_steps=validation_steps, validation_freq=validation_freq))

        self.history = callbacks_mod.History()
        cbs = list(callbacks or [])
        if verbose:
            cbs.append(callbacks_mod.ProgbarLogger())
        cbs.append(self.history)
        cb = callbacks_mod.CallbackList(cbs, self, {"verbose": verbose, "epochs": epochs, "steps": steps})
        self._train_vars = self.trainable_weights if self.built else None
        rng = np.random.default_rng(seed)
        self.stop_training = False
        cb.on_train_begin()
        with _DeferInterrupt() as interrupt:
            logs = self._epochs(data, val, cb, rng, interrupt, initial_epoch, epochs, steps_per_epoch,
                                validation_steps, validation_freq)
        cb.on_train_end(logs)
        return self.history

    def _epochs(self, data, val, cb, rng, interrupt, initial_epoch, epochs, steps_per_epoch, validation_steps,
                validation_freq):
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            cb.on_epoch_begin(epoch)
            step = -1
            for step, batch in enumerate(data.batches(rng)):
                if steps_per_epoch is not None and step >= steps_per_epoch:
                    break
                cb.on_train_batch_begin(step)
                compute = self.train_step(batch) if self._replica is None else self._replica.train_step(self, batch)
                interrupt.check()
                cb.on_train_batch_end(step, _LazyLogs(compute))
                if self.stop_training:
                    break
            if step < 0:
                raise ValueError("fit: the training data produced no batches")
            logs = self._logs()
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_data(val, cb, validation_steps)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        return logs

    # --- evaluate / predict ------------------------------------------------------------
    def _evaluate_data(self, data, cb, steps=None):
        self._reset_metrics()
        cb.on_test_begin()
        for step, batch in enumerate(data.batches()):
            if steps is not None and step >= steps:
                break
            cb.on_test_batch_begin(step)
            compute = self.test_step(batch) if self._replica is None else self._replica.test_step(self, batch)
            cb.on_test_batch_end(step, _LazyLogs(compute))
        logs = self._logs()
        cb.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """[loss, *metrics] (a float when there are no metrics), as Keras."""
        self._require_compiled("evaluation (evaluate)")
        data = self._adapt(x, y, sample_weight, batch_size, False, None, steps, "evaluate")
        verbose = _verbosity(verbose, default=1 if _interactive() else 0)
        if self._replica is not None:
            verbose = verbose if self._replica.is_chief else 0
            self._replica.prepare_evaluate(self, data)
        cbs = list(callbacks or [])
        cb = callbacks_mod.CallbackList(cbs, self, {"verbose": verbose, "steps": data.steps()})
        logs = self._evaluate_data(data, cb, steps)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs as numpy arrays, computed batch by batch with training=False."""
        data = self._adapt(x, None, None, batch_size, False, None, steps, "predict")
        cb = callbacks_mod.CallbackList(list(callbacks or []), self, {"steps": data.steps()})
        if isinstance(data, ArrayData) and data.n <= data.batch_size and not cb.wants("on_predict_batch_end"):
            out = self(data.x_struct if len(data.xs) > 1 else data.xs[0], training=False)  # one batch: no copies
            return _map_numpy(out, copy=True)
        cb.on_predict_begin()
        chunks = []
        for step, (xb, _, _) in enumerate(data.batches()):
            if steps is not None and step >= steps:
                break
            cb.on_predict_batch_begin(step)
            out = self.predict_step(xb)
            chunks.append([np.array(o) for o in _flatten(out)])
            cb.on_predict_batch_end(step, {"outputs": out})
        cb.on_predict_end()
        if not chunks:
            raise ValueError("predict: the input produced no batches")
        outs = [np.concatenate([c[i] for c in chunks]) for i in range(len(chunks[0]))]
        return outs[0] if len(outs) == 1 else outs

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self._require_compiled("training (train_on_batch)")
        if self._replica is not None:
            raise NotImplementedError("train_on_batch is not supported under MirroredStrategy: use fit")
        data = ArrayData(x, y, sample_weight, None, False, class_weight, "train_on_batch")
        self._train_vars = self.trainable_weights if self.built else None
        self._reset_metrics()
        logs = self.train_step((x, y, data.w))()
        return logs if return_dict else (list(logs.values()) if len(logs) > 1 else logs["loss"])

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("evaluation (test_on_batch)")
        ArrayData(x, y, sample_weight, None, False, None, "test_on_batch")
        self._reset_metrics()
        logs = self.test_step((x, y, sample_weight))()
        return logs if return_dict else (list(logs.values()) if len(logs) > 1 else logs["loss"])

    def predict_on_batch(self, x):
        return _map_numpy(self(x, training=False), copy=True)


def _with_mask(sample_weight, y_pred):
    """Padded timesteps (a mask the model attached to its output) weigh zero, as Keras."""
    mask = getattr(y_pred, "_keras_mask", None)
    if mask is None:
        return sample_weight
    m = cast(mask, y_pred.dtype)
    if sample_weight is None:
        return m
    w = sample_weight
    if w.ndim < m.ndim:
        w = reshape(w, list(w.shape) + [1] * (m.ndim - w.ndim))
    return w * m


def _batch_size(y_pred):
    first = _flatten(y_pred)[0]
    return first.shape[0] if first.ndim else 1


def _map_numpy(out, copy=False):
    if isinstance(out, (list, tuple)):
        return [_map_numpy(o, copy) for o in out]
    if isinstance(out, dict):
        return {k: _map_numpy(v, copy) for k, v in out.items()}
    return np.array(out) if copy else out.numpy()


def _interactive():
    return hasattr(sys.stdout, "isatty") and sys.stdout.isatty()


def _verbosity(verbose, default):
    if verbose == "auto":
        return default
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return verbose

