"""``tinytf.models``: Sequential and Functional models."""
from .model import Model
from .sequential import Sequential
