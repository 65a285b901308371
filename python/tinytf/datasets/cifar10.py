"""CIFAR-10: 32x32x3 uint8 images (channels_last), labels (N, 1) in 0-9.

Keras downloads the 170 MB python-pickle archive; a ``cifar10.npz`` (or the
smaller ``cifar10_subset.npz`` stand-in) in the Keras array layout is used
when present."""
import pickle
import tarfile

import numpy as np

from ._cache import find, fetch
from ._npz import load_split

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_data():
    cached = find(["cifar10.npz", "cifar10_subset.npz"])
    if cached is not None:
        return load_split(cached)
    path = fetch("cifar-10-python.tar.gz", ORIGIN, SHA256)
    xs, ys = {}, {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if name.startswith("data_batch_") or name == "test_batch":
                # the official archive's pickles hold only arrays and lists
                batch = pickle.load(tar.extractfile(member), encoding="bytes")  # noqa: S301
                xs[name] = batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
                ys[name] = np.asarray(batch[b"labels"], np.uint8).reshape(-1, 1)
    train = [f"data_batch_{i}" for i in range(1, 6)]
    return ((np.concatenate([xs[n] for n in train]), np.concatenate([ys[n] for n in train])),
            (xs["test_batch"], ys["test_batch"]))
