"""``tinytf.preprocessing.image``: image helpers (the layers live in tinytf.layers)."""
from ..layers.preprocessing.image import smart_resize

__all__ = ["smart_resize"]
