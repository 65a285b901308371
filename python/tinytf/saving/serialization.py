"""Objects to and from Keras 3 configs: every object is written in Keras'
envelope ``{"module", "class_name", "config", "registered_name"}`` (layers add
``"build_config"``, compiled models ``"compile_config"``), under Keras' public
module names, so the same JSON means the same model to tinytf and to Keras.

Reading a config never imports a module or runs code named in it: a class is
found in tinytf's own tables for the Keras module named, or in the
``custom_objects`` the caller passes; anything else is a ValueError that says
where in the config it was.
"""
import inspect

import numpy as np


def _families():
    """(base class, Keras module, {class name: class}) for each family of built-in objects."""
    from .. import constraints, initializers, layers, losses, metrics, models, optimizers, regularizers
    from ..optimizers import schedules

    layer_table = {name: obj for name, obj in vars(layers).items()
                   if isinstance(obj, type) and issubclass(obj, layers.Layer)}
    layer_table.update(Sequential=models.Sequential, Functional=models.Model, Model=models.Model)
    return [
        (schedules.LearningRateSchedule, "keras.optimizers.schedules", schedules._SCHEDULES),
        (layers.Layer, "keras.layers", layer_table),
        (initializers.Initializer, "keras.initializers", initializers._TABLE),
        (regularizers.Regularizer, "keras.regularizers", regularizers._TABLE),
        (constraints.Constraint, "keras.constraints", constraints._TABLE),
        (optimizers.Optimizer, "keras.optimizers", optimizers._TABLE),
        (losses.Loss, "keras.losses", losses._TABLE),
        (metrics.Metric, "keras.metrics", metrics._TABLE),
    ]


def _table_for_module(module):
    """The class table a Keras module name refers to, or None."""
    if module in ("keras", "keras.models") or (module or "").startswith("keras.src.models."):
        module = "keras.layers"
    return next((table for _, keras_module, table in _families() if module == keras_module), None)


def dtype_policy(name):
    """Keras' DTypePolicy envelope, as layers and Sequential models carry it."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


def _shape_list(shape):
    if shape is None:
        return None
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [_shape_list(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def serialize_keras_object(obj):
    """A JSON-ready Keras config of obj (None, plain values and containers pass through)."""
    from ..layers import InputLayer, Layer
    from ..models import Model, Sequential

    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if callable(obj) and not hasattr(obj, "get_config"):
        name = getattr(obj, "__name__", None)
        if name is None:
            raise TypeError(f"Cannot serialize {obj!r}: it has no get_config()")
        if getattr(obj, "__module__", "").startswith("tinytf."):  # a built-in function: its Keras name
            return name
        # a user function: loaded back through custom_objects
        return {"module": obj.__module__, "class_name": "function", "config": name, "registered_name": "function"}
    cls = type(obj)
    builtin = cls.__module__.startswith("tinytf.")
    config = obj.get_config()
    if builtin and isinstance(obj, Model):
        module, class_name, registered = (("keras", "Sequential", None) if isinstance(obj, Sequential) else
                                          ("keras.src.models.functional", "Functional", "Functional"))
    else:
        module = next((m for base, m, _ in _families() if isinstance(obj, base)), None) if builtin else cls.__module__
        class_name, registered = cls.__name__, (None if builtin else cls.__name__)
    if isinstance(obj, Layer) and not isinstance(obj, Model):
        config = dict(config)
        config.pop("batch_input_shape", None)  # Keras 3 keeps the input shape on the InputLayer only
        if not isinstance(obj, InputLayer) and isinstance(config.get("dtype"), str):
            config["dtype"] = dtype_policy(config["dtype"])
    out = {"module": module, "class_name": class_name, "config": serialize_keras_object(config),
           "registered_name": registered}
    if isinstance(obj, Layer) and not isinstance(obj, InputLayer):
        if hasattr(obj, "get_build_config"):
            build = obj.get_build_config()
        else:
            build = None if obj._build_shape is None else {"input_shape": _shape_list(obj._build_shape)}
        if build is not None:
            out["build_config"] = build
        compile_config = obj.get_compile_config() if hasattr(obj, "get_compile_config") else None
        if compile_config is not None:
            out["compile_config"] = compile_config
    return out


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, where="config"):
    """The object a Keras config describes. Plain values pass through; nested
    envelopes in an object's config are built first."""
    custom_objects = custom_objects or {}
    if isinstance(config, list):
        return [deserialize_keras_object(v, custom_objects, safe_mode, f"{where}[{i}]") for i, v in enumerate(config)]
    if not isinstance(config, dict):
        return config
    if "class_name" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode, f"{where}.{k}") for k, v in config.items()}
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "__lambda__" or (class_name == "function" and isinstance(inner, dict)):
        raise ValueError(f"{where}: the config holds Python bytecode (a lambda); tinytf never runs code from a "
                         "file. Rebuild that part in Python, or pass the function in custom_objects.")
    if class_name == "__tuple__":
        return tuple(deserialize_keras_object(inner["value"], custom_objects, safe_mode, where))
    if class_name == "__numpy__":
        dtype = np.dtype(inner.get("dtype") or "float32")
        if dtype.kind not in "biuf":
            raise ValueError(f"{where}: arrays of dtype {dtype} are not read from configs")
        return np.asarray(inner["value"], dtype=dtype)
    if class_name == "DTypePolicy":
        return inner["name"]
    if class_name == "function":
        name = config.get("registered_name") if config.get("registered_name") in custom_objects else inner
        if name not in custom_objects:
            raise ValueError(f"{where}: unknown function {inner!r}: pass it in custom_objects={{{inner!r}: fn}}")
        return custom_objects[name]
    cls = _find_class(config, custom_objects, where)
    from ..layers import Layer
    from ..models import Model

    if isinstance(cls, type) and issubclass(cls, Model):  # a model deserializes its own layers
        accepted = inspect.signature(cls.from_config).parameters
        extra = {k: v for k, v in (("custom_objects", custom_objects), ("safe_mode", safe_mode)) if k in accepted}
        obj = cls.from_config(inner, **extra)
    else:
        kwargs = {k: deserialize_keras_object(v, custom_objects, safe_mode, f"{where}.{k}")
                  for k, v in (inner or {}).items()}
        try:
            obj = cls.from_config(kwargs) if hasattr(cls, "from_config") else cls(**kwargs)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: cannot build {class_name} from its config: {e}") from None
    build = config.get("build_config") or {}
    if isinstance(obj, Layer) and not obj.built and build.get("input_shape") is not None:
        shape = build["input_shape"]
        obj._maybe_build([tuple(s) for s in shape] if shape and isinstance(shape[0], list) else tuple(shape))
    if isinstance(obj, Model) and config.get("compile_config"):
        obj.compile(**deserialize_keras_object(config["compile_config"], custom_objects, safe_mode,
                                               f"{where}.compile_config"))
    return obj


def _find_class(config, custom_objects, where):
    class_name, module = config["class_name"], config.get("module")
    for key in (config.get("registered_name"), class_name):
        if key in custom_objects:
            return custom_objects[key]
    table = _table_for_module(module)
    if table is None:
        raise ValueError(f"{where}: unknown module {module!r} for class {class_name!r}; tinytf builds only Keras "
                         f"built-ins and the classes passed in custom_objects")
    if class_name not in table:
        raise ValueError(f"{where}: unknown class {class_name!r} (module {module!r}); tinytf knows "
                         f"{', '.join(sorted(k for k in table if k[:1].isupper()))}. Pass custom objects in "
                         f"custom_objects={{'{class_name}': cls}}")
    return table[class_name]
