"""``Layer``: variables, lazy build, call; and the symbolic tensors
(``Input``, ``KerasTensor``) that record calls for the Functional API."""
import functools
import inspect

import numpy as np

from .. import constraints, initializers, regularizers
from .._dtypes import as_dtype
from .._naming import to_snake_case, unique_name
from .._tensor import Tensor, Variable, constant
from ..ops import cast


class KerasTensor:
    """A symbolic tensor: a shape (batch dim None) and dtype, and the layer call
    that produced it. Calling layers on KerasTensors builds a Functional graph."""

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.dtype = as_dtype(dtype)
        self.node, self.index, self.name = node, index, name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"


class Node:
    """One call of a layer in a Functional graph."""

    def __init__(self, layer, inputs, kwargs, outputs):
        self.layer, self.inputs, self.kwargs, self.outputs = layer, inputs, kwargs, outputs


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flatten(item)]
    if isinstance(x, dict):
        return [v for k in x for v in _flatten(x[k])]
    return [x]


def _map(fn, x):
    if isinstance(x, (list, tuple)):
        return type(x)(_map(fn, v) for v in x)
    if isinstance(x, dict):
        return {k: _map(fn, v) for k, v in x.items()}
    return fn(x)


def _shape_of(x):
    return tuple(x.shape)


def _mask_of(x):
    return getattr(x, "_keras_mask", None)


def cast_for(layer, x):
    """The tensor x as `layer`'s call() receives it: a floating x in a
    floating layer's dtype."""
    if x._t.dtype is not layer._core_dtype and layer.dtype.is_floating and x.dtype.is_floating:
        return cast(x, layer.dtype)
    return x


class Layer:
    """Base class of every layer, following Keras' lifecycle:
    ``__init__`` (arguments) -> ``build(input_shape)`` on first call (weights)
    -> ``call(inputs, training=None)``."""

    _call_has_training = False
    _call_has_mask = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        params = inspect.signature(cls.call).parameters
        cls._call_has_training = "training" in params
        cls._call_has_mask = "mask" in params
        if "build" in cls.__dict__:  # as Keras' build wrapper: a build called directly also marks the layer built
            build = cls.__dict__["build"]

            @functools.wraps(build)
            def build_and_mark(self, *args, **kwargs):
                build(self, *args, **kwargs)
                self.built = True

            cls.build = build_and_mark

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None, input_dim=None,
                 batch_input_shape=None, batch_size=None, activity_regularizer=None, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got {name!r}")
        self._tracking = False  # set before anything else: __setattr__ reads it
        self._layers = []
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = as_dtype(dtype.get("config", {}).get("name", "float32") if isinstance(dtype, dict)
                              else dtype or "float32")
        self._core_dtype = self.dtype._core
        self.built = False
        self._own_weights = []  # Variables created by add_weight, in creation order
        self._regularized = []  # (variable, regularizer)
        self._activity_losses = []
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.supports_masking = False
        self.input_shape_hint = None  # the batch shape given by input_shape / input_dim
        if batch_input_shape is not None:
            self.input_shape_hint = tuple(batch_input_shape)
        elif input_shape is not None:
            self.input_shape_hint = (batch_size,) + tuple(input_shape)
        elif input_dim is not None:
            self.input_shape_hint = (batch_size, int(input_dim))
        self._build_shape = None
        self.output_shape_hint = None
        self._inbound_nodes = []
        self._tracking = True

    # --- sublayer tracking -----------------------------------------------------
    def __setattr__(self, name, value):
        if getattr(self, "_tracking", False) and not name.startswith("_"):
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(v, Layer) and v is not self and all(v is not l for l in self._layers):
                    self._layers.append(v)
        object.__setattr__(self, name, value)

    # --- weights -------------------------------------------------------------------
    def add_weight(self, name=None, shape=(), dtype=None, initializer=None, regularizer=None, trainable=True,
                   constraint=None, **kwargs):
        dtype = as_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating else "zeros"
        value = initializers.get(initializer)(tuple(int(d) for d in shape), dtype)
        v = Variable(value, trainable=trainable, name=name or "variable", dtype=dtype)
        v._path = f"{self.name}/{v.name}"
        v.constraint = constraints.get(constraint)
        self._own_weights.append(v)
        if regularizer is not None:
            self._regularized.append((v, regularizers.get(regularizer)))
        return v

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = value

    def _own(self, trainable):
        return [w for w in self._own_weights if (w.trainable and self._trainable) == trainable]

    @property
    def trainable_weights(self):
        out = self._own(True)
        for layer in self._layers:
            out += [w for w in layer.trainable_weights if all(w is not o for o in out)]
        return out

    @property
    def non_trainable_weights(self):
        out = self._own(False)
        for layer in self._layers:
            out += [w for w in layer.non_trainable_weights if all(w is not o for o in out)]
        return out

    @property
    def weights(self):
        """Keras order: per layer, trainable variables then non-trainable ones."""
        out = self._own(True) + self._own(False)
        for layer in self._layers:
            out += [w for w in layer.weights if all(w is not o for o in out)]
        return out

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [np.array(w) for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"Layer '{self.name}' expects {len(params)} weights, but set_weights received "
                             f"{len(weights)}")
        for p, w in zip(params, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(p.shape):
                raise ValueError(f"Layer '{self.name}': weight '{p.name}' has shape {tuple(p.shape)}, but the "
                                 f"provided value has shape {w.shape}")
        for p, w in zip(params, weights):
            p.assign(np.asarray(w, dtype=p.dtype.dtype))

    def count_params(self):
        if not self.built:
            raise ValueError(f"Layer '{self.name}' is not built yet: call it on data (or build it) first")
        return int(sum(np.prod(w.shape, dtype=np.int64) for w in self.weights))

    @property
    def losses(self):
        """Regularization penalties: weight regularizers now, activity ones from the last call."""
        out = [reg(v) for v, reg in self._regularized] + list(self._activity_losses)
        for layer in self._layers:
            out += layer.losses
        return out

    # --- build and call ------------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def _maybe_build(self, input_shape):
        if not self.built:
            self._build_shape = input_shape
            self.build(input_shape)
            self.built = True

    def call(self, inputs):
        return inputs

    def _plain(self, own_call=False):
        """Whether calling this layer only casts its input and runs call() (built;
        no masks or activity penalties; no __call__ of its own unless
        `own_call`): a model may then run call() itself."""
        return (self.built and self.activity_regularizer is None and not self._call_has_mask and
                type(self).compute_mask is Layer.compute_mask and (own_call or type(self).__call__ is Layer.__call__))

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: the input mask passed through when the layer
        supports masking (Keras semantics), else None."""
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape):
        """Output shape for an input shape (batch dim None). The default runs
        the layer once on a batch of one sample of zeros."""
        def dummy(shape):
            return constant(np.zeros([1 if d is None else d for d in shape], np.float32))

        out = self.call(_map(dummy, input_shape) if isinstance(input_shape, list) else dummy(input_shape))
        return _map(lambda t: (None,) + tuple(t.shape[1:]), out)

    def _convert_input(self, x):
        if isinstance(x, Tensor):
            if x.dtype != self.dtype and x.dtype.is_floating and self.dtype.is_floating:
                return cast(x, self.dtype)
            return x
        if isinstance(x, (np.ndarray, np.generic, list, float, int)):
            a = np.asarray(x)
            return constant(a, dtype=self.dtype if a.dtype.kind == "f" else None)
        return x

    def __call__(self, inputs, *args, **kwargs):
        if type(inputs) is Tensor and self.built and getattr(inputs, "_keras_mask", None) is None:
            # the common case inside a model: one tensor, no mask, already built
            if not self._call_has_training:
                kwargs.pop("training", None)
            inputs = cast_for(self, inputs)
            outputs = self.call(inputs, *args, **kwargs)
            if self.activity_regularizer is not None or type(self).compute_mask is not Layer.compute_mask:
                self._after_call(inputs, outputs, None)
            return outputs
        flat = _flatten(inputs)
        if any(isinstance(t, KerasTensor) for t in flat):
            return self._symbolic_call(inputs, args, kwargs)
        inputs = _map(self._convert_input, inputs)
        if not self.built:
            self._maybe_build(_map(_shape_of, inputs))
        if not self._call_has_training:
            kwargs.pop("training", None)
        mask = getattr(inputs, "_keras_mask", None) if isinstance(inputs, Tensor) else _map(_mask_of, inputs)
        if mask is not None and not isinstance(inputs, Tensor) and all(m is None for m in _flatten(mask)):
            mask = None
        if self._call_has_mask and "mask" not in kwargs and mask is not None:
            kwargs["mask"] = mask
        outputs = self.call(inputs, *args, **kwargs)
        self._after_call(inputs, outputs, mask)
        return outputs

    def _after_call(self, inputs, outputs, mask):
        """Output masks and activity penalties of a call."""
        if mask is not None or type(self).compute_mask is not Layer.compute_mask:
            out_mask = self.compute_mask(inputs, mask)
            for o, m in zip(_flatten(outputs), _flatten(out_mask) if isinstance(out_mask, (list, tuple))
                            else [out_mask] * len(_flatten(outputs))):
                if isinstance(o, Tensor):
                    o._keras_mask = m
        if self.activity_regularizer is not None:
            self._activity_losses = [self.activity_regularizer(o) / float(max(o.shape[0], 1)) if o.ndim else
                                     self.activity_regularizer(o) for o in _flatten(outputs)]

    def _symbolic_call(self, inputs, args, kwargs):
        shapes = _map(lambda t: t.shape, inputs)
        if not self.built:
            self._maybe_build(shapes)
        # Call options that change the outputs (e.g. return_attention_scores) reach
        # compute_output_shape when it takes them.
        params = inspect.signature(self.compute_output_shape).parameters
        out_shapes = self.compute_output_shape(shapes, **{k: v for k, v in kwargs.items() if k in params})
        dtype = self.dtype
        node = Node(self, inputs, kwargs, None)
        if isinstance(out_shapes, list):
            outputs = [KerasTensor(s, dtype, node, i) for i, s in enumerate(out_shapes)]
        else:
            outputs = KerasTensor(out_shapes, dtype, node, 0)
        node.outputs = outputs
        self._inbound_nodes.append(node)
        self.output_shape_hint = out_shapes
        return outputs

    # --- config --------------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}
        if self.input_shape_hint is not None:
            config["batch_input_shape"] = list(self.input_shape_hint)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "batch_shape" in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class InputLayer(Layer):
    """The placeholder a Functional model starts from (``Input`` makes one)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, sparse=None,
                 ragged=None, optional=False, input_shape=None, batch_input_shape=None, **kwargs):
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input: give a shape, e.g. Input(shape=(784,))")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype or "float32", **kwargs)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.built = True
        self.output = KerasTensor(self.batch_shape, self.dtype, Node(self, None, {}, None), 0, name=self.name)
        self.output.node.outputs = self.output

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype.name, "sparse": False, "ragged": False,
                "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config):
        config = {k: v for k, v in config.items() if k in ("batch_shape", "dtype", "name", "batch_input_shape")}
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, sparse=None, ragged=None,
          tensor=None, optional=False):
    """A symbolic input tensor: ``x = tinytf.Input(shape=(784,))``."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape).output
