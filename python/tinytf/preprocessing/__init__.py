"""``tinytf.preprocessing``: Keras' data helpers for sequences, text and images."""
import importlib as _importlib

from . import sequence, text
from .sequence import pad_sequences


def __getattr__(name):
    if name == "image":  # loads the image layers (and tinytf.layers): only on use
        return _importlib.import_module(".image", __name__)
    raise AttributeError(f"module 'tinytf.preprocessing' has no attribute {name!r}")
