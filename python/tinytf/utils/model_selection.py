"""K-fold splitters and ``cross_validate``: a fresh model per fold, metrics per
fold with their mean and standard deviation."""
import numpy as np

from .resampling import _take, class_labels, rng_for


def _check_splits(n_splits, n, what):
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ValueError(f"{what}: n_splits must be an integer >= 2, got {n_splits!r}")
    if n_splits > n:
        raise ValueError(f"{what}: cannot make {n_splits} folds from {n} samples")


def _num_samples(x):
    first = x
    while isinstance(first, (list, tuple, dict)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    return len(first)


class KFold:
    """Splits n samples into n_splits folds of consecutive (or, with shuffle,
    random) samples; the first n % n_splits folds have one sample more.
    ``split`` yields (train_indices, validation_indices) for each fold."""

    def __init__(self, n_splits=5, shuffle=False, seed=None):
        self.n_splits, self.shuffle, self.seed = n_splits, bool(shuffle), seed

    def get_n_splits(self, x=None, y=None):
        return self.n_splits

    def _folds(self, x, y):
        n = _num_samples(x)
        _check_splits(self.n_splits, n, type(self).__name__)
        order = rng_for(self.seed).permutation(n) if self.shuffle else np.arange(n)
        return np.array_split(order, self.n_splits)

    def split(self, x, y=None):
        folds = self._folds(x, y)
        for k, val in enumerate(folds):
            train = np.concatenate([f for j, f in enumerate(folds) if j != k])
            yield np.sort(train), np.sort(val)


class StratifiedKFold(KFold):
    """K folds that keep the class proportions of y: each class's samples
    (shuffled when shuffle=True) are dealt to the folds in turn, so every
    fold's count of a class is within one of the others'."""

    def _folds(self, x, y):
        if y is None:
            raise ValueError("StratifiedKFold: split needs the labels y")
        labels = class_labels(y, "StratifiedKFold")
        n = len(labels)
        _check_splits(self.n_splits, n, "StratifiedKFold")
        rng = rng_for(self.seed) if self.shuffle else None
        by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        order = np.concatenate([rng.permutation(m) if rng is not None else m for m in by_class])
        fold_of = np.arange(n) % self.n_splits  # position in the class-grouped order -> fold
        return [order[fold_of == k] for k in range(self.n_splits)]


def cross_validate(build_fn, x, y, k=5, stratified=True, fit_kwargs=None, evaluate_kwargs=None, seed=None):
    """Trains ``build_fn()`` (a new compiled model) on k-1 folds and evaluates
    it on the remaining one, for each of the k folds (shuffled, and stratified
    by class when `stratified`). With a seed, folds and each fold's model
    initialisation repeat (tinytf.utils.set_random_seed(seed + fold)).

    Returns {"folds": [per-fold metric dicts], "mean": {...}, "std": {...},
    "histories": [per-fold History.history]}."""
    from . import set_random_seed

    if not callable(build_fn):
        raise TypeError(f"cross_validate: build_fn must be a callable returning a compiled model, got {build_fn!r}")
    fit_kwargs = dict(fit_kwargs or {})
    evaluate_kwargs = dict(evaluate_kwargs or {})
    for bad in ("x", "y", "validation_data", "validation_split"):
        if bad in fit_kwargs:
            raise ValueError(f"cross_validate: fit_kwargs must not set {bad!r}; the folds provide the data")
    fit_kwargs.setdefault("verbose", 0)
    evaluate_kwargs.setdefault("verbose", 0)
    splitter = (StratifiedKFold if stratified else KFold)(k, shuffle=True, seed=seed)
    folds, histories = [], []
    for fold, (train, val) in enumerate(splitter.split(x, y)):
        if seed is not None:
            set_random_seed(int(seed) + fold)
        model = build_fn()
        if not getattr(model, "compiled", False):
            raise ValueError("cross_validate: build_fn must return a compiled model (call model.compile(...))")
        history = model.fit(_take(x, train), _take(y, train), **fit_kwargs)
        logs = model.evaluate(_take(x, val), _take(y, val), return_dict=True, **evaluate_kwargs)
        folds.append({name: float(v) for name, v in logs.items()})
        histories.append(history.history)
    names = list(folds[0])
    return {"folds": folds,
            "mean": {m: float(np.mean([f[m] for f in folds])) for m in names},
            "std": {m: float(np.std([f[m] for f in folds])) for m in names},
            "histories": histories}
