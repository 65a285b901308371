"""``tinytf.utils``: data helpers named as in Keras."""
import random as _py_random

import numpy as np

from .plotting import model_to_text, plot_history, plot_model
from .progbar import Progbar


def to_categorical(x, num_classes=None):
    """One-hot encodes integer class labels (any shape; a trailing axis of 1 is dropped)."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        if not np.all(np.equal(np.mod(x, 1), 0)):
            raise ValueError("to_categorical: labels must be whole numbers")
    elif x.dtype.kind not in "iub":
        raise TypeError(f"to_categorical: labels must be integers, got dtype {x.dtype}")
    x = x.astype(np.int64)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical: labels must be non-negative, got {x.min()}")
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    elif x.size and x.max() >= num_classes:
        raise ValueError(f"to_categorical: label {x.max()} is out of range for num_classes={num_classes}")
    out = np.zeros(x.shape + (num_classes,), dtype=np.float32)
    np.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """x divided by its `order`-norm along `axis` (zero vectors stay zero)."""
    x = np.asarray(x, dtype=np.float32 if np.asarray(x).dtype.kind != "f" else None)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


def set_random_seed(seed):
    """Seeds Python, numpy and tinytf at once, as keras.utils.set_random_seed."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"set_random_seed: seed must be an int, got {seed!r}")
    from .. import random

    _py_random.seed(seed)
    np.random.seed(seed % 2**32)
    random.set_seed(seed)


def compute_class_weight(class_weight, *, classes, y):
    """sklearn's formula: 'balanced' gives n_samples / (n_classes * count(c))."""
    classes, y = np.asarray(classes), np.asarray(y).ravel()
    if class_weight != "balanced":
        raise ValueError(f"compute_class_weight: only 'balanced' is supported, got {class_weight!r}")
    missing = set(np.unique(y)) - set(classes.tolist())
    if missing:
        raise ValueError(f"compute_class_weight: classes {sorted(missing)} appear in y but not in classes")
    counts = np.array([(y == c).sum() for c in classes], dtype=np.float64)
    if (counts == 0).any():
        raise ValueError(f"compute_class_weight: classes {classes[counts == 0].tolist()} do not appear in y")
    return len(y) / (len(classes) * counts)


class Sequence:
    """Base class for batch sources: implement ``__len__`` and ``__getitem__(i)``
    returning (x, y) or (x, y, sample_weight); fit calls ``on_epoch_end``."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def on_epoch_end(self):
        pass


PyDataset = Sequence


from ..preprocessing.sequence import pad_sequences  # noqa: E402  (keras.utils.pad_sequences)
from .model_selection import KFold, StratifiedKFold, cross_validate  # noqa: E402
from .resampling import (oversample_indices, random_oversample, random_undersample,  # noqa: E402
                         undersample_indices)
