"""``tinytf.layers``: Keras layers (channels-last, Keras weight layouts)."""
from .base import Input, InputLayer, KerasTensor, Layer
from .core import Activation, Dense, Dropout, Flatten, Reshape
