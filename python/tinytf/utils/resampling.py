"""Class-imbalance helpers: random over- and under-sampling to a target
class ratio. They return indices (``*_indices``) or the resampled arrays."""
import numpy as np


def class_labels(y, what="labels"):
    """One integer class per sample from class indices (n,) / (n, 1) or one-hot / probability rows (n, k)."""
    y = y.numpy() if hasattr(y, "numpy") else np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{what}: expected one class per sample, shape (n,), (n, 1) or one-hot (n, k); "
                         f"got shape {y.shape}")
    return y


def rng_for(seed):
    """numpy Generator: from `seed`, else from tinytf's global seed (so set_seed makes it repeat)."""
    if seed is None:
        from .. import random

        return np.random.default_rng(random._draw(1, None))  # (stream key, position): a fresh draw each call
    return np.random.default_rng(seed)


def _targets(counts, ratio, over, what):
    """Per-class target counts. ratio: a number r in (0, 1] (over-sampling lifts
    every class to at least r * the largest count; under-sampling cuts every
    class to at most the smallest count / r) or a {class: count} dict."""
    if isinstance(ratio, dict):
        out = dict(counts)
        for c, n in ratio.items():
            if c not in counts:
                raise ValueError(f"{what}: class {c!r} of ratio does not appear in y")
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
                raise ValueError(f"{what}: target counts must be non-negative integers, got {c!r}: {n!r}")
            if over and n < counts[c]:
                raise ValueError(f"{what}: over-sampling cannot reduce class {c!r} from {counts[c]} to {n} samples")
            if not over and n > counts[c]:
                raise ValueError(f"{what}: under-sampling cannot grow class {c!r} from {counts[c]} to {n} samples")
            out[c] = int(n)
        return out
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.integer, np.floating)) or not 0 < ratio <= 1:
        raise ValueError(f"{what}: ratio must be a number in (0, 1] or a {{class: count}} dict, got {ratio!r}")
    if over:
        top = max(counts.values())
        return {c: max(n, int(np.ceil(ratio * top - 1e-9))) for c, n in counts.items()}
    low = min(counts.values())
    return {c: min(n, int(np.floor(low / ratio + 1e-9))) for c, n in counts.items()}


def _resample_indices(y, ratio, seed, shuffle, over):
    what = "oversample" if over else "undersample"
    labels = class_labels(y, what)
    classes = np.unique(labels)
    if not len(classes):
        raise ValueError(f"{what}: y is empty")
    members = {c.item(): np.flatnonzero(labels == c) for c in classes}
    targets = _targets({c: len(m) for c, m in members.items()}, ratio, over, what)
    rng = rng_for(seed)
    parts = []
    for c, m in members.items():
        if over:  # every original sample, plus random repeats
            parts += [m, rng.choice(m, targets[c] - len(m), replace=True)]
        else:
            parts.append(np.sort(rng.choice(m, targets[c], replace=False)))
    idx = np.concatenate(parts).astype(np.int64)
    return rng.permutation(idx) if shuffle else np.sort(idx)


def oversample_indices(y, ratio=1.0, seed=None, shuffle=True):
    """Indices that repeat random samples of the smaller classes until each has
    at least ``ratio`` times as many samples as the largest (ratio=1: balanced),
    or the counts of a {class: count} dict. Every original index appears at least once."""
    return _resample_indices(y, ratio, seed, shuffle, over=True)


def undersample_indices(y, ratio=1.0, seed=None, shuffle=True):
    """Indices of a random subset of the larger classes so that each has at most
    ``smallest / ratio`` samples (ratio=1: balanced), or the counts of a dict."""
    return _resample_indices(y, ratio, seed, shuffle, over=False)


def _take(x, idx):
    if isinstance(x, (list, tuple)):
        return type(x)(_take(a, idx) for a in x)
    if isinstance(x, dict):
        return {k: _take(v, idx) for k, v in x.items()}
    return (x.numpy() if hasattr(x, "numpy") else np.asarray(x))[idx]


def random_oversample(x, y, ratio=1.0, seed=None, shuffle=True, return_indices=False):
    """(x, y) with the smaller classes randomly repeated (see oversample_indices);
    x may be an array or a list/dict of arrays. With return_indices, (x, y, indices)."""
    idx = oversample_indices(y, ratio, seed, shuffle)
    return (_take(x, idx), _take(y, idx)) + ((idx,) if return_indices else ())


def random_undersample(x, y, ratio=1.0, seed=None, shuffle=True, return_indices=False):
    """(x, y) with the larger classes randomly thinned (see undersample_indices)."""
    idx = undersample_indices(y, ratio, seed, shuffle)
    return (_take(x, idx), _take(y, idx)) + ((idx,) if return_indices else ())
