"""Lookup of Keras objects by string or config (``get``), shared by
activations, initializers, regularizers, constraints, losses, metrics and
optimizers. The config envelope is Keras 3's:
{"module": ..., "class_name": ..., "config": {...}, "registered_name": None}."""


def serialize(obj, module):
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    if hasattr(obj, "get_config"):
        return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
                "registered_name": None}
    return getattr(obj, "__name__", str(obj))


def get(identifier, table, kind, module_classes=None):
    """Resolves None, a name, a config dict, a class or an instance."""
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type):
        return identifier()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = (module_classes or {}).get(name) or table.get(name)
        if cls is None:
            raise ValueError(f"Unknown {kind}: {name!r}")
        return cls.from_config(identifier.get("config", {})) if hasattr(cls, "from_config") else cls
    if isinstance(identifier, str):
        found = table.get(identifier) or table.get(identifier.lower())
        if found is None:
            raise ValueError(f"Unknown {kind}: {identifier!r}. Known: {', '.join(sorted(k for k in table if k.islower()))}")
        return found() if isinstance(found, type) else found
    raise TypeError(f"Could not interpret {kind} identifier: {identifier!r}")
