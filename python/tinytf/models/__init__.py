"""``tinytf.models``: Sequential and Functional models, and loading them."""
from .model import Model
from .sequential import Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved with ``model.save("m.keras")`` (by tinytf or Keras 3)."""
    from ..saving import load_model as load

    return load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    model.save(filepath, overwrite=overwrite, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """The (uncompiled) model of a ``model.to_json()`` string."""
    import json

    from ..saving import deserialize_keras_object

    config = json.loads(json_string)
    if not isinstance(config, dict):
        raise ValueError("model_from_json: the JSON is not a model config")
    config.pop("compile_config", None)
    return deserialize_keras_object(config, custom_objects)
