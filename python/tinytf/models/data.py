"""Turning fit/evaluate/predict inputs into batches: numpy arrays (sliced,
views when not shuffled), tensors, Python generators and Sequence objects."""
import math

import numpy as np

from .. import _core
from .._tensor import Tensor


def _flat(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return [a for v in x for a in _flat(v)]
    if isinstance(x, dict):
        return [a for k in x for a in _flat(x[k])]
    return [x]


def _row_taker(a):
    """take(index) -> a[index] for shuffled batches. Arrays of wide rows
    (images, feature vectors) go through the C++ gather (threads, no GIL;
    numpy's fancy indexing copies a row at a time), wrapped once."""
    if (a.ndim >= 2 and a.dtype in (np.float32, np.float64, np.int32, np.int64, np.uint8)
            and a.itemsize * (a.size // max(len(a), 1)) >= 1024 and a.flags.c_contiguous and a.flags.writeable):
        t = _core.from_numpy(a)
        return lambda index: np.asarray(_core.gather(t, _core.from_numpy(index), 0))
    return a.__getitem__


def _rebuild(structure, flat):
    it = iter(flat)

    def build(s):
        if isinstance(s, (list, tuple)):
            return type(s)(build(v) for v in s)
        if isinstance(s, dict):
            return {k: build(v) for k, v in s.items()}
        return next(it)

    return None if structure is None else build(structure)


def _as_array(a, what):
    if isinstance(a, Tensor):
        return a.numpy()
    if isinstance(a, np.ndarray):
        return a
    try:
        arr = np.asarray(a)
    except ValueError as e:
        raise ValueError(f"{what}: cannot convert input to an array: {e}") from None
    if arr.dtype == object:
        raise TypeError(f"{what}: cannot use ragged or mixed-type data (object array); pad it first")
    return arr


def class_weights_to_sample_weights(y, class_weight):
    """Per-element weights from a {class: weight} dict. Float labels with a last
    dimension > 1 are one-hot (argmax, as Keras); integer labels are class
    indices of any rank (e.g. per timestep); a trailing dimension of 1 is dropped."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] > 1 and y.dtype.kind == "f":
        y = y.argmax(-1)
    elif y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    labels = np.round(y).astype(np.int64)
    for k in class_weight:
        if not isinstance(k, (int, np.integer)):
            raise ValueError(f"class_weight keys must be integer class indices, got {k!r}")
    table = np.ones(max(int(labels.max(initial=0)), max(class_weight, default=0)) + 1, np.float64)
    for k, v in class_weight.items():
        if k >= 0:
            table[k] = v
    if labels.size and labels.min() < 0:
        raise ValueError(f"class_weight: labels must be non-negative class indices, got {labels.min()}")
    return table[labels].astype(np.float32)


class ArrayData:
    """Batches of in-memory arrays: x (and y, sample weights) with the same first dimension."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False, class_weight=None, what="fit"):
        self.x_struct, self.y_struct = x, y
        self.xs = [_as_array(a, what) for a in _flat(x)]
        self.ys = [_as_array(a, what) for a in _flat(y)]
        if not self.xs:
            raise ValueError(f"{what}: no input data (x is empty)")
        sizes = {len(a) if a.ndim else None for a in self.xs + self.ys}
        if None in sizes:
            raise ValueError(f"{what}: inputs must have a batch dimension, got a scalar")
        if len(sizes) != 1:
            raise ValueError(f"{what}: data cardinality is ambiguous. Make sure all arrays contain the same number "
                             f"of samples: x sizes: {[len(a) for a in self.xs]}, y sizes: {[len(a) for a in self.ys]}")
        self.n = sizes.pop()
        w = None if sample_weight is None else _as_array(sample_weight, what).astype(np.float32, copy=False)
        if class_weight is not None:
            if not self.ys:
                raise ValueError(f"{what}: class_weight needs targets y")
            if len(self.ys) > 1:
                raise ValueError(f"{what}: class_weight is only supported for models with a single output")
            cw = class_weights_to_sample_weights(self.ys[0], class_weight)
            w = cw if w is None else w.reshape(w.shape + (1,) * (cw.ndim - w.ndim)) * cw
        if w is not None and len(w) != self.n:
            raise ValueError(f"{what}: sample_weight has {len(w)} entries for {self.n} samples")
        self.w = w
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size <= 0):
            raise ValueError(f"{what}: batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.shard = None  # in a distributed run: (start, stop) of a global batch -> this replica's rows

    def steps(self):
        return math.ceil(self.n / self.batch_size)

    def split(self, fraction, mode="tail"):
        """(train, validation): mode 'tail' takes the last `fraction` of samples
        for validation, as Keras; 'stratified' see stratified_split."""
        if mode == "stratified":
            return self.stratified_split(fraction)
        if mode != "tail":
            raise ValueError(f"validation_split_mode must be 'tail' or 'stratified', got {mode!r}")
        at = int(math.floor(self.n * (1.0 - fraction)))
        if at <= 0 or at >= self.n:
            raise ValueError(f"validation_split={fraction} leaves an empty training or validation set "
                             f"({self.n} samples)")
        return self.take(slice(0, at)), self.take(slice(at, self.n))

    def stratified_split(self, fraction):
        """(train, validation) with as many validation samples as the tail split,
        drawn at random within each class (of the first target) so that both
        sets keep the class proportions; order is kept within each set. The
        draw follows tinytf.random.set_seed."""
        from ..utils.resampling import class_labels, rng_for

        if len(self.ys) != 1:
            raise ValueError("validation_split_mode='stratified' needs exactly one target array y")
        labels = class_labels(self.ys[0], "validation_split_mode='stratified'")
        n_val = self.n - int(math.floor(self.n * (1.0 - fraction)))
        if n_val <= 0 or n_val >= self.n:
            raise ValueError(f"validation_split={fraction} leaves an empty training or validation set "
                             f"({self.n} samples)")
        classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        # Largest remainders: per-class shares of n_val that add up to n_val exactly.
        share = counts * (n_val / self.n)
        take = np.floor(share).astype(np.int64)
        take[np.argsort(-(share - take), kind="stable")[:n_val - take.sum()]] += 1
        rng = rng_for(None)
        val = np.zeros(self.n, bool)
        for c in range(len(classes)):
            members = np.flatnonzero(inverse == c)
            val[rng.choice(members, take[c], replace=False)] = True
        return self.take(np.flatnonzero(~val)), self.take(np.flatnonzero(val))

    def take(self, index):
        out = ArrayData.__new__(ArrayData)
        out.__dict__.update(self.__dict__)
        out.xs = [a[index] for a in self.xs]
        out.ys = [a[index] for a in self.ys]
        out.w = None if self.w is None else self.w[index]
        out.n = len(out.xs[0])
        return out

    def batches(self, rng=None):
        """Yields (x, y, sample_weight) batches; slices are views when not shuffled."""
        order = rng.permutation(self.n) if (self.shuffle and rng is not None) else None
        arrays = self.xs + self.ys
        takers = [a.__getitem__ for a in arrays] if order is None else [_row_taker(a) for a in arrays]
        nx = len(self.xs)
        b = self.batch_size
        for start in range(0, self.n, b):
            stop = min(start + b, self.n)
            if self.shard is not None:
                start, stop = self.shard(start, stop)
            idx = slice(start, stop) if order is None else order[start:stop]
            rows = [take(idx) for take in takers]
            x = _rebuild(self.x_struct, rows[:nx])
            y = _rebuild(self.y_struct, rows[nx:]) if self.ys else None
            yield x, y, None if self.w is None else self.w[idx]


class GeneratorData:
    """Batches from a Python generator/iterator or a Sequence (``len`` + ``[i]``)
    yielding x, (x, y) or (x, y, sample_weight)."""

    def __init__(self, source, steps=None, what="fit"):
        self.source, self.what = source, what
        self.is_sequence = hasattr(source, "__getitem__") and hasattr(source, "__len__")
        self.n_steps = steps if steps is not None else (len(source) if self.is_sequence else None)
        self._iter = None
        self.shard = None  # in a distributed run: (start, stop) of a global batch -> this replica's rows

    def steps(self):
        return self.n_steps

    def batches(self, rng=None):
        if self.is_sequence:
            order = range(len(self.source))
            for count, i in enumerate(order):
                if self.n_steps is not None and count >= self.n_steps:
                    break
                yield self._replica_part(self._unpack(self.source[i]))
            if hasattr(self.source, "on_epoch_end"):
                self.source.on_epoch_end()
            return
        if self._iter is None:
            self._iter = iter(self.source)
        count = 0
        while self.n_steps is None or count < self.n_steps:
            try:
                item = next(self._iter)
            except StopIteration:
                self._iter = None
                return
            count += 1
            yield self._replica_part(self._unpack(item))

    def _replica_part(self, batch):
        """The batch, or in a distributed run this replica's rows of it."""
        if self.shard is None:
            return batch
        lo, hi = self.shard(0, len(_flat(batch[0])[0]))
        return tuple(None if part is None else _rebuild(part, [a[lo:hi] for a in _flat(part)]) for part in batch)

    def _unpack(self, item):
        if isinstance(item, tuple):
            if len(item) == 1:
                return item[0], None, None
            if len(item) == 2:
                return item[0], item[1], None
            if len(item) == 3:
                return item
            raise ValueError(f"{self.what}: a generator must yield x, (x, y) or (x, y, sample_weight); got a tuple "
                             f"of {len(item)}")
        return item, None, None


def is_generator_like(x):
    import types

    return isinstance(x, (types.GeneratorType,)) or (hasattr(x, "__getitem__") and hasattr(x, "__len__") and
                                                      not isinstance(x, (np.ndarray, list, tuple, dict, Tensor))) \
        or (hasattr(x, "__next__") and not isinstance(x, (np.ndarray, Tensor)))
