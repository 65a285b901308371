"""``tinytf.saving``: Keras 3 ``.keras`` files, ``.weights.h5`` files and
object configs (the format is specified in docs/saving.md)."""
from .saving_lib import load_model, save_model
from .serialization import deserialize_keras_object, serialize_keras_object
