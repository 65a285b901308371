"""Callbacks with Keras' hook names. ``fit`` always adds History (and a
ProgbarLogger when verbose)."""
import numpy as np


class Callback:
    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    """Calls a hook on every callback; hooks nobody overrides cost nothing."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        for hook in _HOOKS:
            users = [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, hook)]
            setattr(self, hook, self._fanout(users) if users else _noop)

    @staticmethod
    def _fanout(fns):
        def call(*args, **kwargs):
            for fn in fns:
                fn(*args, **kwargs)

        return call

    def wants(self, hook):
        return getattr(self, hook) is not _noop


def _noop(*args, **kwargs):
    return None


def _overrides(cb, hook):
    return getattr(getattr(cb, hook), "__func__", None) is not getattr(Callback, hook)


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]`` etc."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class ProgbarLogger(Callback):
    """Prints 'Epoch i/n' and a progress bar (verbose=1) or one line per epoch (verbose=2)."""

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        self.verbose = 1
        self.bar = None
        self.seen = 0

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)
        self.steps = params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        from .utils.progbar import Progbar

        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self.bar = Progbar(self.steps, verbose=self.verbose)
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self.bar.dynamic and self.verbose == 1:
            self.bar.update(self.seen, logs.items() if logs else None, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(self.seen, list((logs or {}).items()), finalize=True)


class LambdaCallback(Callback):
    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        for name, fn in dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                             on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                             on_train_batch_end=on_train_batch_end, **kwargs).items():
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
