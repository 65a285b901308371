"""``Tensor``: a Python handle on a C++ tensor (``_core.Tensor``), and the
conversions from numpy arrays, Python values and shapes.

Tensors and numpy arrays share memory both ways: ``constant(array)`` wraps a
C-contiguous array without copying, and ``np.asarray(tensor)`` is a view."""
import numpy as np

from . import _core
from . import _dtypes
from ._dtypes import as_dtype


class TensorShape(tuple):
    """A tuple of dimensions with TensorFlow's helpers (``as_list``, ``rank``)."""

    __slots__ = ()

    @property
    def rank(self):
        return len(self)

    ndims = rank

    def as_list(self):
        return list(self)

    def num_elements(self):
        return int(np.prod(self, dtype=np.int64))

    def __eq__(self, other):
        if isinstance(other, list):
            other = tuple(other)
        return tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self):
        return f"TensorShape({list(self)})"


class Tensor:
    """An immutable n-dimensional array (mutable only through ``Variable``)."""

    # _logits: set on softmax/sigmoid outputs so cross-entropy losses can use
    # the fused, stable kernel on the logits (as Keras does with TensorFlow).
    # _keras_mask: the boolean mask of padded timesteps a layer attached (Embedding
    # with mask_zero=True), read by the layers and losses downstream.
    # _relu_output: set on a convolution's fused-relu output, so that a max pool
    # over it can apply relu' to its small gradient instead (nn_ops._pool).
    __slots__ = ("_t", "_logits", "_keras_mask", "_relu_output", "__weakref__")
    __array_priority__ = 100  # numpy defers to our operators

    def __init__(self, core):
        self._t = core

    # --- metadata -----------------------------------------------------------
    @property
    def shape(self):
        return TensorShape(self._t.shape)

    @property
    def dtype(self):
        return _dtypes.from_core(self._t.dtype)

    @property
    def ndim(self):
        return self._t.ndim

    def get_shape(self):
        return self.shape

    # --- numpy interop ------------------------------------------------------
    def numpy(self):
        """A numpy view of this tensor's memory (no copy)."""
        return np.asarray(self._t)

    def __array__(self, dtype=None, copy=None):
        a = np.asarray(self._t)
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError("cannot convert without a copy to a different dtype")
            return a.astype(dtype)
        return a.copy() if copy else a

    def __len__(self):
        if not self._t.ndim:
            raise TypeError("len() of a scalar tensor")
        return self._t.shape[0]

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

    def __index__(self):
        if not self.dtype.is_integer:
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype.name}")
        return int(self.numpy())

    def __bool__(self):
        if self._t.size != 1:
            raise ValueError(
                f"The truth value of a tensor with shape {self.shape} is ambiguous; use reduce_any / reduce_all"
            )
        return bool(self.numpy())

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ")
        sep = "\n" if "\n" in body else ""
        return f"<tinytf.Tensor: shape={tuple(self.shape)}, dtype={self.dtype.name}, numpy={sep}{body}>"

    def __str__(self):
        return f"tinytf.Tensor({np.array2string(self.numpy(), separator=', ')}, shape={tuple(self.shape)}, dtype={self.dtype.name})"


def _wrap(core):
    t = Tensor.__new__(Tensor)
    t._t = core
    return t


def normalize_shape(shape, what="shape"):
    """A tuple of non-negative ints from an int, sequence, TensorShape or 1-D tensor."""
    if isinstance(shape, Tensor):
        shape = shape.numpy().tolist()
    elif isinstance(shape, np.ndarray):
        shape = shape.tolist()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of ints, got {shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, Tensor):
            d = d.numpy().item()
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{what} must contain only ints, got {shape!r}")
        if d < 0:
            raise ValueError(f"{what} has a negative dimension: {list(dims)}")
        out.append(int(d))
    return tuple(out)


_DEFAULT_FOR_KIND = {"f": _dtypes.float32, "i": _dtypes.int32, "u": _dtypes.int32, "b": _dtypes.bool}


def _to_array(value, dtype):
    """The numpy array a new tensor will wrap: `value` itself when possible."""
    if type(value) is np.ndarray and dtype is not None and value.dtype == dtype.dtype and value.flags.carray:
        return value  # the common case (a batch, a one-sample input), without the checks below
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.dtype.kind == "O":
            raise TypeError("cannot convert an object array to a tensor (ragged or mixed-type data?)")
        if dtype is None:
            dtype = _dtypes._BY_NUMPY.get(arr.dtype.newbyteorder("="))
            if dtype is None:
                raise TypeError(f"unsupported numpy dtype {arr.dtype}; supported: {_dtypes._SUPPORTED}")
    else:
        try:
            arr = np.asarray(value)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"cannot convert {type(value).__name__} to a tensor: {e}") from None
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"cannot convert {type(value).__name__} of {arr.dtype} values to a tensor")
        if dtype is None:  # Python floats become float32 and ints int32, as in TensorFlow
            dtype = _DEFAULT_FOR_KIND[arr.dtype.kind]
    np_dtype = dtype.dtype
    if arr.dtype != np_dtype:
        if arr.dtype.kind == "f" and np_dtype.kind in "iub" and not isinstance(value, (np.ndarray, np.generic)):
            raise TypeError(f"cannot convert float values to a {dtype.name} tensor without losing information")
        arr = arr.astype(np_dtype)
    if not (arr.flags.c_contiguous and arr.flags.aligned and arr.flags.writeable and arr.dtype.isnative):
        arr = np.array(arr, dtype=np_dtype.newbyteorder("="), order="C", copy=True)
    return arr


def constant(value, dtype=None, shape=None, name=None):
    """Creates a tensor from a numpy array, Python scalar or nested list.

    A C-contiguous numpy array of a supported dtype is wrapped without a copy."""
    if type(value) is np.ndarray and type(dtype) is _dtypes.DType and value.dtype is dtype.dtype and shape is None \
            and value.flags.carray:
        return _wrap(_core.from_numpy(value))  # a batch or a one-sample input: the common case, checked first
    dtype = None if dtype is None else as_dtype(dtype)
    if isinstance(value, Tensor):
        t = value if dtype is None or value.dtype == dtype else _wrap(value._t.to(dtype._core))
    else:
        t = _wrap(_core.from_numpy(_to_array(value, dtype)))
    if shape is not None:
        shape = normalize_shape(shape)
        if t._t.size == 1:
            t = fill(shape, t.numpy().reshape(()).item(), t.dtype)
        elif tuple(t.shape) != shape:
            t = _wrap(t._t.reshape(list(shape)))
    return t


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """Returns `value` when it is already a tensor of the right dtype, else a new tensor."""
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != as_dtype(dtype):
            raise TypeError(f"expected a {as_dtype(dtype).name} tensor, got {value.dtype.name}")
        return value
    if dtype is None and dtype_hint is not None and not isinstance(value, (np.ndarray, np.generic)):
        dtype = dtype_hint
    return constant(value, dtype=dtype)


def zeros(shape, dtype=_dtypes.float32, name=None):
    return _wrap(_core.zeros(list(normalize_shape(shape)), as_dtype(dtype)._core))


def ones(shape, dtype=_dtypes.float32, name=None):
    return fill(shape, 1, dtype)


def fill(dims, value, dtype=None, name=None):
    """A tensor of shape `dims` filled with `value` (dtype inferred as in ``constant``)."""
    if dtype is None:
        dtype = constant(value).dtype
    return _wrap(_core.full(list(normalize_shape(dims, "dims")), value, as_dtype(dtype)._core))


def zeros_like(x, dtype=None, name=None):
    x = convert_to_tensor(x)
    return zeros(x.shape, dtype or x.dtype)


def ones_like(x, dtype=None, name=None):
    x = convert_to_tensor(x)
    return ones(x.shape, dtype or x.dtype)


class Variable(Tensor):
    """A mutable tensor, as ``tf.Variable``: ops read its current value;
    ``assign*`` update it in place (its memory never moves)."""

    __slots__ = ("_name", "trainable", "constraint", "_path", "__dict__")

    def __init__(self, initial_value, trainable=True, name=None, dtype=None, shape=None, constraint=None):
        if callable(initial_value):
            initial_value = initial_value()
        value = constant(initial_value, dtype=dtype)
        if shape is not None and tuple(value.shape) != normalize_shape(shape):
            raise ValueError(f"Variable: initial value has shape {tuple(value.shape)}, expected {tuple(shape)}")
        self._t = value._t.clone()  # a variable owns its memory
        self._name = name or "Variable"
        self._path = self._name
        self.trainable = bool(trainable)
        self.constraint = constraint

    @property
    def name(self):
        return self._name

    @property
    def path(self):
        return self._path

    def _check(self, value, op):
        value = convert_to_tensor(value, dtype=self.dtype)
        if tuple(value.shape) != tuple(self._t.shape):
            raise ValueError(
                f"Variable '{self._name}'.{op}: value has shape {tuple(value.shape)}, variable has {tuple(self._t.shape)}"
            )
        return value

    def assign(self, value, read_value=True):
        _core.copy_into(self._t, self._check(value, "assign")._t)
        return self

    def assign_add(self, delta, read_value=True):
        from . import ops

        return self.assign(ops.add(Tensor(self._t), self._check(delta, "assign_add")))

    def assign_sub(self, delta, read_value=True):
        from . import ops

        return self.assign(ops.subtract(Tensor(self._t), self._check(delta, "assign_sub")))

    def value(self):
        """A snapshot of the current value (later assigns do not change it)."""
        return _wrap(self._t.clone())

    read_value = value

    def numpy(self):
        """A copy of the current value, as TensorFlow's (later assigns do not
        change it; ``np.asarray(v)`` is the zero-copy view)."""
        return np.array(self._t)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ")
        return f"<tinytf.Variable '{self._name}' shape={tuple(self.shape)} dtype={self.dtype.name}, numpy={body}>"
