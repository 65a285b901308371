"""Reading Keras configs that carry options tinytf implements only at their default."""


def pop_defaults(config, owner, **defaults):
    """config without the keys in defaults; a non-default value is a ValueError."""
    config = dict(config)
    for key, default in defaults.items():
        value = config.pop(key, default)
        if value != default:
            raise ValueError(f"{owner}: {key}={value!r} is not supported by tinytf (only {default!r})")
    return config
