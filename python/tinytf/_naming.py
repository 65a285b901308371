"""Keras-style names: snake_case of a class name, made unique per session."""
import re
from collections import defaultdict

_counts = defaultdict(int)


def to_snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base):
    """dense, dense_1, dense_2, ... as Keras names layers."""
    n = _counts[base]
    _counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def reset():
    _counts.clear()
