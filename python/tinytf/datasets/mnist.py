"""MNIST digits: 60,000 + 10,000 28x28 uint8 images, labels 0-9."""
from ._cache import KERAS_ORIGIN, fetch
from ._npz import load_split

SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    return load_split(fetch(path, KERAS_ORIGIN + "mnist.npz", SHA256 if path == "mnist.npz" else None))
