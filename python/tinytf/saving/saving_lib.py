"""``.keras`` archives and ``.weights.h5`` files in Keras 3's layout (docs/saving.md).

A ``.keras`` file is an uncompressed zip of ``metadata.json``, ``config.json``
(the model's Keras config) and ``model.weights.h5`` (the weights store). Every
file is built in memory, then written atomically: a temporary file in the
same folder, fsync, rename. Loading checks sizes before reading anything and
turns every defect into a ValueError that names the file and the entry.
"""
import datetime
import io
import json
import os
import tempfile
import warnings
import zipfile

import numpy as np

from .. import __version__
from .._naming import to_snake_case
from ..distribute import _on_chief
from . import _hdf5
from .serialization import deserialize_keras_object, serialize_keras_object

FORMAT_VERSION = 1  # tinytf's saving format (docs/saving.md); bump when a reader must change
KERAS_VERSION = "3.15.1"  # the Keras release whose layout this format follows
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
MAX_JSON_BYTES = 64 << 20  # a config larger than this is not a model config
MAX_WEIGHTS_BYTES = 32 << 30
# zip bombs: a compressed member over 16 MiB may not expand to more than 100x its stored size
BOMB_FLOOR, MAX_EXPANSION = 16 << 20, 100


# --- the weights store ---------------------------------------------------------------------------------------
class WeightsStore:
    """Keras' HDF5 weights layout: the variables of the object at path P are the
    datasets ``P/vars/0``, ``P/vars/1``, ... and ``P/vars`` has an attribute
    ``name`` with the object's name. Built in memory; ``to_bytes`` gives the file."""

    def __init__(self, root=None):
        self.root = root or _hdf5.Group()

    def _group(self, path, create):
        group = self.root
        for part in [p for p in path.split("/") if p]:
            child = group.children.get(part)
            if child is None and create:
                child = group.children[part] = _hdf5.Group()
            if not isinstance(child, _hdf5.Group):
                return None
            group = child
        return group

    def make(self, path, name):
        """The (empty) dict of variables to fill for the object at path."""
        group = self._group(f"{path}/vars", create=True)
        group.attrs["name"] = name
        return group.children

    def has(self, path):
        return self._group(path, create=False) is not None

    def get(self, path):
        """The variables stored for path (empty when there are none)."""
        group = self._group(f"{path}/vars", create=False)
        if group is None:
            return {}
        for key, value in group.children.items():
            if not isinstance(value, np.ndarray):
                raise ValueError(f"'{path}/vars/{key}' is a group, expected a dataset")
        return group.children

    def to_bytes(self):
        return _hdf5.write(self.root)

    @classmethod
    def from_bytes(cls, data):
        return cls(_hdf5.read(data))


# --- walking a model's objects, as Keras does ------------------------------------------------------------------
def _name_key(name):
    return "~" + name if name.startswith("_") else name  # private attributes last


def _base_attributes(obj):
    """Attributes every object of obj's base class has: the framework's own, not children."""
    from ..layers import Layer
    from ..models import Model, Sequential

    base = Sequential if isinstance(obj, Sequential) else Model if isinstance(obj, Model) else Layer
    if base not in _BASE_ATTRIBUTES:
        probe = base(name="probe")  # a named probe does not advance the automatic layer names
        _BASE_ATTRIBUTES[base] = frozenset(vars(probe)) - {"optimizer"}
    return _BASE_ATTRIBUTES[base], base


_BASE_ATTRIBUTES = {}


def _children(obj):
    """(attribute name, value) pairs under which Keras stores obj's sub-objects:
    a Sequential or Functional model's ``layers`` first, then attributes and
    properties in sorted order, private ones last."""
    from ..layers import Layer
    from ..models import Model, Sequential

    if not isinstance(obj, Layer):
        return
    if isinstance(obj, Sequential) or (isinstance(obj, Model) and obj._functional):
        yield "layers", obj.layers
    skip, base = _base_attributes(obj)
    names = set(vars(obj))
    for cls in type(obj).__mro__:
        if cls is base:
            break
        names.update(k for k, v in vars(cls).items() if isinstance(v, property))
    for name in sorted(names - skip, key=_name_key):
        try:
            yield name, getattr(obj, name)
        except Exception:  # noqa: BLE001  (as Keras: a property that fails is not a child)
            continue


def _is_saveable(obj):
    from ..layers import Layer

    return isinstance(obj, Layer) or hasattr(obj, "save_own_variables")


def _layer_variables(layer):
    """Keras' order: variables created trainable first, then the others, each in creation order."""
    own = layer._own_weights
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


def _walk(obj, path, visited, visit):
    """Calls visit(obj, path) on obj and each saveable below it, once each, in Keras' order."""
    if id(obj) in visited:
        return
    visited.add(id(obj))
    visit(obj, path)
    for attr, child in _children(obj):
        _walk_child(child, f"{path}/{attr}" if path else attr, visited, visit)


def _walk_child(child, path, visited, visit):
    if _is_saveable(child):
        _walk(child, path, visited, visit)
    elif isinstance(child, (list, tuple, dict)):
        used = {}
        for item in child.values() if isinstance(child, dict) else child:
            if not (_is_saveable(item) or isinstance(item, (list, tuple, dict))):
                continue
            base = to_snake_case(type(item).__name__) if _is_saveable(item) else "container"
            used[base] = used.get(base, -1) + 1
            _walk_child(item, f"{path}/{base}" + (f"_{used[base]}" if used[base] else ""), visited, visit)


def save_state(model, store):
    def visit(obj, path):
        variables = store.make(path, obj.name)
        if hasattr(obj, "save_own_variables"):
            obj.save_own_variables(variables)
        else:
            for i, v in enumerate(_layer_variables(obj)):
                variables[str(i)] = v.numpy()

    _walk(model, "", set(), visit)


def load_state(model, store, skip_mismatch=False):
    from ..optimizers import Optimizer

    def visit(obj, path):
        if isinstance(obj, Optimizer):
            if store.has(path):
                exact = obj._learning_rate
                try:
                    obj.load_own_variables(store.get(path))
                except ValueError as e:
                    raise ValueError(f"optimizer '{obj.name}' at '{path}/vars': {e}") from None
                # The file holds the rate as float32, as Keras does; when it is the rate the optimizer
                # already has (from the compile config), keep that one unrounded.
                if isinstance(exact, float) and obj._learning_rate == float(np.float32(exact)):
                    obj._learning_rate = exact
            return
        if hasattr(obj, "load_own_variables"):
            obj.load_own_variables(store.get(path))
            return
        problem = _assign(_layer_variables(obj), store.get(path))
        if problem is None:
            return
        message = f"layer '{obj.name}' ({type(obj).__name__}) at '{path or '/'}/vars': {problem}"
        if not skip_mismatch:
            raise ValueError(message)
        warnings.warn(f"Skipping loading weights of {message}", stacklevel=3)

    _walk(model, "", set(), visit)


def _assign(variables, stored):
    """Assigns stored["0"], stored["1"], ... to variables; returns what is wrong instead, if anything."""
    if sorted(stored) != [str(i) for i in range(len(stored))] or len(stored) != len(variables):
        return f"expected {len(variables)} variables, but the file has {len(stored)} ({sorted(stored)})"
    values = [stored[str(i)] for i in range(len(variables))]
    for i, (v, value) in enumerate(zip(variables, values)):
        if tuple(value.shape) != tuple(v.shape):
            return f"variable {i} ('{v.name}') has shape {tuple(v.shape)}, but the file has shape {value.shape}"
        if value.dtype.kind not in "fiu":
            return f"variable {i} ('{v.name}') is stored with unsupported dtype {value.dtype}"
    for v, value in zip(variables, values):
        v.assign(value.astype(v.dtype.dtype, copy=False))
    return None


def _prepare_optimizer(model):
    """Builds a compiled model's optimizer on its trainable weights (as Keras'
    compile does) so its slots exist to be saved or loaded."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and model.built and not optimizer.built:
        optimizer.build(model.trainable_weights)


# --- files -----------------------------------------------------------------------------------------------------
def _atomic_write(filepath, data, overwrite):
    """Writes data to filepath through a temporary file in the same folder, so
    that the old file stays whole until the new one is complete on disk."""
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} already exists; pass overwrite=True to replace it")
    folder = os.path.dirname(os.path.abspath(filepath))
    mode = os.stat(filepath).st_mode & 0o777 if os.path.exists(filepath) else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(filepath)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _read_file(filepath, limit):
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"No such file: {filepath}")
    if os.path.getsize(filepath) > limit:
        raise ValueError(f"{filepath}: the file is larger than {limit} bytes")
    with open(filepath, "rb") as f:
        return f.read()


def _weights_bytes(model):
    _prepare_optimizer(model)
    store = WeightsStore()
    save_state(model, store)
    return store.to_bytes()


def save_model(model, filepath, overwrite=True, **kwargs):
    """Writes model to a ``.keras`` file (Keras 3's layout)."""
    filepath = os.fspath(filepath)
    if kwargs:
        raise ValueError(f"save_model: unsupported argument(s) {sorted(kwargs)}")
    if not filepath.endswith(".keras"):
        raise ValueError(f"Invalid filepath extension for saving: {filepath!r}. Use a '.keras' file (or "
                         "save_weights() with a '.weights.h5' file)")
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet: call it on data or give it an input shape "
                         "before saving")
    config = json.dumps(serialize_keras_object(model))
    metadata = json.dumps({"keras_version": KERAS_VERSION, "tinytf_version": __version__,
                           "tinytf_format": FORMAT_VERSION,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(METADATA, metadata)
        zf.writestr(CONFIG, config)
        zf.writestr(WEIGHTS, _weights_bytes(model))
    if _on_chief(model):  # in a distributed run only rank 0 writes
        _atomic_write(filepath, buffer.getvalue(), overwrite)


class _Archive:
    """A .keras zip opened for checked reads of its members."""

    def __init__(self, filepath):
        self.filepath = os.fspath(filepath)
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(_read_file(self.filepath, MAX_WEIGHTS_BYTES + 2 * MAX_JSON_BYTES)))
        except zipfile.BadZipFile as e:
            raise ValueError(f"{self.filepath}: not a .keras file, or a truncated one (corrupt zip: {e})") from None

    def fail(self, entry, what):
        raise ValueError(f"{self.filepath}: {entry}: {what}")

    def read(self, name, limit):
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            self.fail(name, f"missing entry (the archive holds {self.zip.namelist()})")
        if info.file_size > limit:
            self.fail(name, f"declares {info.file_size} bytes, more than the {limit} allowed")
        if info.file_size > BOMB_FLOOR and info.file_size > MAX_EXPANSION * info.compress_size:
            self.fail(name, "declares far more bytes than it stores (a zip bomb?)")
        try:
            with self.zip.open(info) as f:
                data = f.read(limit + 1)
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as e:
            self.fail(name, f"corrupt entry ({e})")
        if len(data) > limit:
            self.fail(name, "larger than declared")
        return data

    def json(self, name):
        try:
            return json.loads(self.read(name, MAX_JSON_BYTES))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            self.fail(name, f"invalid JSON ({type(e).__name__}: {e})")

    def weights(self):
        try:
            return WeightsStore.from_bytes(self.read(WEIGHTS, MAX_WEIGHTS_BYTES))
        except ValueError as e:
            if str(e).startswith(self.filepath):
                raise
            self.fail(WEIGHTS, str(e))


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model saved in a ``.keras`` file (by tinytf or by Keras 3)."""
    archive = _Archive(filepath)
    metadata = archive.json(METADATA) if METADATA in archive.zip.namelist() else {}
    version = metadata.get("tinytf_format", FORMAT_VERSION) if isinstance(metadata, dict) else FORMAT_VERSION
    if not isinstance(version, int) or version > FORMAT_VERSION:
        archive.fail(METADATA, f"written in tinytf format {version!r}; this tinytf reads formats up to "
                               f"{FORMAT_VERSION}: upgrade tinytf")
    config = archive.json(CONFIG)
    if not isinstance(config, dict) or "class_name" not in config:
        archive.fail(CONFIG, "not a Keras object config (no 'class_name')")
    if not compile:
        config.pop("compile_config", None)
    try:
        model = deserialize_keras_object(config, custom_objects, safe_mode, where="config")
    except ValueError as e:
        archive.fail(CONFIG, str(e))
    except (TypeError, KeyError, AttributeError, IndexError, RecursionError) as e:  # a value of the wrong kind
        archive.fail(CONFIG, f"malformed config ({type(e).__name__}: {e})")
    from ..models import Model

    if not isinstance(model, Model):
        archive.fail(CONFIG, f"describes a {type(model).__name__}, not a model")
    store = archive.weights()
    _prepare_optimizer(model)
    try:
        load_state(model, store)
    except ValueError as e:
        archive.fail(WEIGHTS, str(e))
    return model


def save_weights(model, filepath, overwrite=True):
    """Writes the model's weights (and optimizer state) to a ``.weights.h5`` file."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in '.weights.h5'. Received: filepath={filepath!r}")
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet: there are no weights to save")
    data = _weights_bytes(model)
    if _on_chief(model):  # in a distributed run only rank 0 writes
        _atomic_write(filepath, data, overwrite)


def load_weights(model, filepath, skip_mismatch=False):
    """Loads weights (and optimizer state, when the model is compiled) from a
    ``.weights.h5`` or ``.keras`` file."""
    filepath = os.fspath(filepath)
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet: call it on data or give it an input shape, "
                         "then load weights")
    if filepath.endswith(".keras"):
        store = _Archive(filepath).weights()
    elif filepath.endswith(".weights.h5"):
        try:
            store = WeightsStore.from_bytes(_read_file(filepath, MAX_WEIGHTS_BYTES))
        except ValueError as e:
            raise ValueError(f"{filepath}: {e}") from None
    else:
        raise ValueError(f"Invalid filepath extension for loading weights: {filepath!r}. Use a '.weights.h5' or "
                         "'.keras' file (legacy Keras 2 '.h5' files are not supported)")
    _prepare_optimizer(model)
    try:
        load_state(model, store, skip_mismatch)
    except ValueError as e:
        raise ValueError(f"{filepath}: {e}") from None
