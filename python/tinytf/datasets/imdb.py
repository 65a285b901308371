"""IMDB-style movie reviews as lists of word ranks (Keras' imdb layout).

``load_data`` applies Keras' conventions: start_char, oov_char, index_from,
num_words, skip_top, maxlen. A ``movie_reviews.npz`` stand-in (same layout,
see ../shared/data/README.md) is used when the real imdb.npz is not cached."""
import json

import numpy as np

from ._cache import KERAS_ORIGIN, fetch, find

SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"


def _load_npz(path):
    # the reviews are object arrays of Python lists, as in Keras' own file
    with np.load(path, allow_pickle=True) as f:
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"]


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    cached = find([path, "movie_reviews.npz"])
    file = cached if cached is not None else fetch(path, KERAS_ORIGIN + "imdb.npz", SHA256)
    x_train, y_train, x_test, y_test = _load_npz(file)
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(x_train))
    x_train, y_train = x_train[order], y_train[order]
    order = rng.permutation(len(x_test))
    x_test, y_test = x_test[order], y_test[order]

    def encode(seqs):
        out = []
        for s in seqs:
            s = [w + index_from for w in s]
            if start_char is not None:
                s = [start_char] + s
            limit = num_words if num_words is not None else max(max(s, default=0) + 1, 1)
            out.append([w if skip_top <= w < limit else oov_char for w in s])
        return out

    xs, labels = encode(list(x_train) + list(x_test)), np.concatenate([y_train, y_test])
    if maxlen is not None:
        keep = [i for i, s in enumerate(xs) if len(s) < maxlen]
        xs, labels = [xs[i] for i in keep], labels[keep]
    n = len(x_train) if maxlen is None else sum(1 for s in encode(list(x_train)) if len(s) < maxlen)
    x = np.empty(len(xs), dtype=object)
    x[:] = xs
    return (x[:n], labels[:n]), (x[n:], labels[n:])


def get_word_index(path="imdb_word_index.json"):
    cached = find([path, "movie_reviews_word_index.json"])
    file = cached if cached is not None else fetch(path, KERAS_ORIGIN + "imdb_word_index.json", None)
    with open(file) as f:
        return json.load(f)
