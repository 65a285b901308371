"""Fashion-MNIST: 60,000 + 10,000 28x28 uint8 images of clothing, labels 0-9.

Keras downloads four gzipped IDX files; a ``fashion_mnist.npz`` in the Keras
array layout is accepted as a cache too."""
import gzip

import numpy as np

from ._cache import KERAS_ORIGIN, fetch, find
from ._npz import load_split

# Keras fetches these without a checksum; so do we (the IDX headers are checked).
FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz"]


def _idx(path):
    with open(path, "rb") as f:
        raw = gzip.decompress(f.read())
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_data():
    cached = find(["fashion_mnist.npz"])
    if cached is not None:
        return load_split(cached)
    base = KERAS_ORIGIN + "fashion-mnist/"
    arrays = [_idx(fetch(name, base + name, None)) for name in FILES]
    return (arrays[1], arrays[0]), (arrays[3], arrays[2])
