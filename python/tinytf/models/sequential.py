"""``Sequential``: a plain stack of layers, built lazily from the first batch
or eagerly when the input shape is known (``Input``, ``input_shape``, ``input_dim``)."""
import numpy as np

from .. import losses as losses_mod
from .._tape import active
from .._tensor import Tensor, constant
from ..layers.base import InputLayer, KerasTensor, Layer, cast_for
from ..layers.core import Dense
from ..layers.pooling import ConvMaxPool
from ..ops import DenseChain
from .model import Model


class Sequential(Model):
    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._input_layer = None
        self._shapes = []  # output shape of each layer once the input shape is known
        self._direct = False  # whether a call may run each layer's call() directly (see __call__)
        self._steps = []  # what the direct path calls: the layers, a Conv2D and its MaxPooling2D as one ConvMaxPool
        self._chain = None  # a plain Dense stack's DenseChain, or False when the model is not one (see __call__)
        self._fused_plan = None  # (train vars, losses, chain and label kind or None): see _gradients
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, KerasTensor):
            layer = layer.node.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {type(layer).__name__}: {layer!r}")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._layers:
                raise ValueError("Sequential: an Input can only be the first element")
            self._input_layer = layer
            return
        if any(layer is l for l in self._layers):
            raise ValueError(f"Sequential: layer '{layer.name}' is already in the model")
        self._layers.append(layer)
        self.built = self._direct = False
        self._chain = None
        shape = self._input_shape()
        if shape is not None:
            self._build_shapes(shape)

    def pop(self):
        if not self._layers:
            raise TypeError("Sequential.pop: there are no layers in the model")
        layer = self._layers.pop()
        self._shapes = self._shapes[:len(self._layers)]
        self._direct = False
        self._chain = None
        return layer

    def _input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.batch_shape
        if self._layers and self._layers[0].input_shape_hint is not None:
            return self._layers[0].input_shape_hint
        return None

    def _build_shapes(self, shape):
        """Builds every layer from the input shape, recording output shapes."""
        shape = (None,) + tuple(shape[1:])
        self._shapes = []
        for layer in self._layers:
            layer._maybe_build(shape)
            shape = layer.compute_output_shape(shape)
            self._shapes.append(shape)
        self._build_shape = (None,) + tuple(self._input_shape()[1:]) if self._input_shape() else None
        self.built = True
        # Without masks or activity penalties, Layer.__call__ on a built layer only
        # casts its input and calls call(): __call__ below can do that itself
        # (not for a layer that has its own __call__, models aside).
        self._direct = all(l._plain(own_call=isinstance(l, Model)) for l in self._layers)
        self._steps = []
        for layer in self._layers:
            pair = ConvMaxPool.of(self._steps[-1], layer) if self._steps else None
            if pair:
                self._steps[-1] = pair
            else:
                self._steps.append(layer)
        self._chain = None

    def _dense_chain(self):
        """The model as one DenseChain when it is a stack of plain Dense layers
        (activations the kernel applies, softmax only last), else False. Made
        on first use: a one-sample model(x) is then mostly the kernels' time,
        not a Python frame per layer and op."""
        if self._chain is None:
            last = self._layers[-1]
            plain = all(type(l) is Dense and l._after is None and l._core_dtype is self._core_dtype and
                        (l._fused != "softmax" or l is last) for l in self._layers)
            self._chain = plain and DenseChain([(l.kernel, l.bias, l._fused) for l in self._layers])
        return self._chain

    def _gradients(self, data):
        fused = self._fused_gradients(*data)
        return fused if fused is not None else super()._gradients(data)

    def _fused_gradients(self, x, y, w):
        """A plain Dense stack trained on a softmax cross-entropy (and nothing
        else: no weight penalties, no overridden call or compute_loss) takes
        its forward, loss and backward in one C++ call: the same kernels as the
        layer-by-layer path without the Python between them (the batch-32
        MNIST MLP: ~470 instead of 580-770 us a step here). None where the
        general path must run, including on bad input, so that its errors name
        what was wrong."""
        plan = self._fused_plan
        if plan is None or plan[0] is not self._train_vars or plan[1] is not self._losses:
            plan = self._fused_plan = (self._train_vars, self._losses, self._plan_fused())
        if plan[2] is None or active():
            return None
        chain, kind = plan[2]
        x = self._direct_input(x)
        labels = np.asarray(y)
        if kind == "sparse":
            if labels.ndim == 2 and labels.shape[1] == 1:
                labels = labels[:, 0]
            if labels.dtype.kind not in "iu":
                return None  # float class ids: the general path checks they are integers
            if labels.dtype not in (np.int32, np.int64):
                labels = labels.astype(np.int64)
        elif labels.dtype.kind in "fiub":
            labels = labels.astype(self.dtype.dtype, copy=False)
        if x is None or labels.dtype.kind not in "fiu" or labels.ndim != (1 if kind == "sparse" else 2):
            return None
        weights = None
        if w is not None:
            weights = np.asarray(w, dtype=self.dtype.dtype)
            if weights.size != len(labels):
                return None
        try:
            loss, probs, grads = chain.gradients(x, constant(labels), None if w is None else constant(weights.ravel()))
        except (ValueError, TypeError, IndexError):
            return None
        return grads, (loss, constant(labels), probs, None if w is None else constant(np.asarray(w)))

    def _plan_fused(self):
        """(chain, "sparse" or "one_hot") when fit may take the fused step, else None."""
        if (not self._direct or self._train_vars is None or self._losses is None or len(self._losses) != 1 or
                self._loss_w != [1.0] or type(self).call is not Sequential.call or
                type(self).compute_loss is not Sequential.compute_loss):
            return None
        chain = self._dense_chain()
        if not chain:
            return None
        weights = [v for l in self._layers for v in (l.kernel, l.bias) if v is not None]
        if len(weights) != len(self._train_vars) or any(a is not b for a, b in zip(weights, self._train_vars)) or self.losses:
            return None
        kind = losses_mod.fused_softmax_labels(self._losses[0], chain.softmax)
        return None if kind is None else (chain, kind)

    def build(self, input_shape=None):
        shape = input_shape or self._input_shape()
        if shape is None:
            raise ValueError("Sequential.build: the input shape is unknown; pass input_shape or add an Input first")
        self._build_shapes(tuple(shape))

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    def __call__(self, inputs, *args, **kwargs):
        if not self._layers:
            raise ValueError(f"Sequential model '{self.name}' has no layers; add some before calling it")
        training = kwargs.get("training")
        if self._direct and not args and len(kwargs) <= ("training" in kwargs):
            chain = self._chain if self._chain is not None else self._dense_chain()  # no call once made
            if chain and type(inputs) is np.ndarray and not active():
                try:
                    y = chain.call_array(inputs)
                except (ValueError, TypeError):
                    y = None  # a bad input: the paths below name the layer in its error
                if y is not None:
                    return y
            x = self._direct_input(inputs)
            if chain and x is not None and not active():
                try:
                    return chain(x)
                except (ValueError, TypeError):
                    pass  # a bad input: the layer-by-layer path below names the layer in its error
            if x is not None:  # every training step, and inference of other models: ~2 us a layer
                for layer in self._steps:
                    x = cast_for(layer, x)
                    x = layer.call(x, training=training) if layer._call_has_training else layer.call(x)
                return x
        return Layer.__call__(self, inputs, *args, **kwargs)

    def _direct_input(self, x):
        """`x` as the input tensor of the direct path, or None for the general one."""
        if type(x) is Tensor:
            return x if x._t.dtype is self._core_dtype and getattr(x, "_keras_mask", None) is None else None
        if type(x) is np.ndarray and x.dtype.kind == "f" and self.dtype.is_floating:
            return constant(x, dtype=self.dtype)
        return None

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def layers(self):
        return list(self._layers)

    @property
    def inputs(self):
        return [self._input_layer.output] if self._input_layer is not None else None

    def _layer_output_shapes(self):
        return list(zip(self._layers, self._shapes or [None] * len(self._layers)))

    # --- config (Keras 3's Sequential layout) -------------------------------------------------------
    def _batch_input_shape(self):
        """(None, ...) input shape once known: from the Input, an input_shape hint, or the first build."""
        shape = self._input_shape()
        if shape is None and self.built and self._layers:
            shape = self._layers[0]._build_shape
        return None if shape is None else (None,) + tuple(shape[1:])

    def get_config(self):
        from ..saving import serialize_keras_object
        from ..saving.serialization import dtype_policy

        layers = [serialize_keras_object(layer) for layer in self._layers]
        config = {"name": self.name, "trainable": self.trainable, "dtype": dtype_policy(self.dtype.name)}
        shape = self._batch_input_shape()
        if shape is not None:  # the input shape travels as an InputLayer entry, as in Keras
            if self._input_layer is not None:
                first = serialize_keras_object(self._input_layer)
            else:
                first = serialize_keras_object(InputLayer(batch_shape=shape, name="input_layer",
                                                          dtype=self._layers[0].dtype if self._layers else None))
            layers.insert(0, first)
            config["build_input_shape"] = list(shape)
        config["layers"] = layers
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        from ..saving import deserialize_keras_object

        if not isinstance(config.get("layers"), list):
            raise ValueError("a Sequential config needs a 'layers' list")
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for i, entry in enumerate(config["layers"]):
            model.add(deserialize_keras_object(entry, custom_objects, safe_mode, f"layers[{i}]"))
        shape = config.get("build_input_shape")
        if not model.built and model._layers and isinstance(shape, list):
            model.build(tuple(shape))
        return model

    def get_build_config(self):
        shape = self._batch_input_shape()
        return None if shape is None else {"input_shape": list(shape)}
