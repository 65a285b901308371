"""Recurrent layers: SimpleRNN, LSTM, GRU (and their cells, and ``RNN(cell)``),
Bidirectional, TimeDistributed.

As in Keras 3 the weights live in a nested cell (``layer.cell.kernel``,
``recurrent_kernel``, ``bias``; ``get_weights()`` in that order), with Keras'
shapes and gate orders (LSTM i, f, c, o; GRU z, r, h). A whole sequence runs
as one C++ kernel forward and one backward (``ops.rnn_ops.rnn``)."""
import numpy as np

from .. import activations, constraints, initializers, nn, ops, regularizers
from .._naming import to_snake_case
from .._tensor import constant, ones, zeros
from ..ops.nn_ops import _ACTS
from ..ops.rnn_ops import rnn
from .base import Layer
from .core import _positive_int


def _act_name(fn, what, layer):
    name = activations.serialize(fn)
    if name not in _ACTS:
        raise ValueError(f"{layer}: {what}={name!r} is not supported by the recurrent kernel; use one of "
                         f"{sorted(k for k in _ACTS if k)}")
    return name


def _rate(value, what, layer):
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"{layer}: {what} must be in [0, 1), got {value}")
    return value


# --- cells ----------------------------------------------------------------------------------

class _Cell(Layer):
    """Weights and arguments of one recurrent cell; ``call`` runs one step.
    Subclasses set `kind` (the kernel) and `gates` (G: columns = G * units)."""

    kind, gates = None, 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.units = _positive_int(units, "units", cls)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self._act = _act_name(self.activation, "activation", cls)
        self._ract = _act_name(self.recurrent_activation, "recurrent_activation", cls)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout, "dropout", cls)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout", cls)
        self.seed = seed

    @property
    def state_size(self):
        return [self.units, self.units] if self.kind == "lstm" else self.units

    @property
    def output_size(self):
        return self.units

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self, shape, dtype=None):
        return self.bias_initializer(shape, dtype)

    def build(self, input_shape):
        if not input_shape or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the last (features) dimension of the input must "
                             f"be known, got shape {tuple(input_shape)}")
        cols = self.gates * self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], cols), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, cols),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = (self.add_weight("bias", self._bias_shape(), initializer=self._bias_init,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def _run(self, sequences, initial_state=None, mask=None, training=None, **flags):
        """The fused kernel over (batch, time, features) with this cell's weights
        and (in training) dropout: [output, *states]."""
        x = sequences
        rec_mask = None
        if training and self.dropout > 0:
            keep = nn.dropout(ones((x.shape[0], x.shape[-1]), x.dtype), self.dropout, seed=self.seed)
            x = x * ops.expand_dims(keep, 1)
        if training and self.recurrent_dropout > 0:
            rec_mask = nn.dropout(ones((x.shape[0], self.units), x.dtype), self.recurrent_dropout, seed=self.seed)
        return rnn(self.kind, x, self.kernel, self.recurrent_kernel, self.bias, initial_state, mask,
                   activation=self._act, recurrent_activation=self._ract, recurrent_dropout_mask=rec_mask,
                   reset_after=getattr(self, "reset_after", True), **flags)

    def call(self, inputs, states, training=None):
        """One step: (output, new_states) from inputs (batch, features) and the states."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        out = self._run(ops.expand_dims(inputs, 1), states, training=training)
        return out[0], out[1:]

    def get_initial_state(self, batch_size=None):
        n = 2 if self.kind == "lstm" else 1
        return [zeros((batch_size, self.units), self.dtype) for _ in range(n)]

    def get_config(self):
        config = {**super().get_config(), "units": self.units,
                  "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                  "kernel_initializer": initializers.serialize(self.kernel_initializer),
                  "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                  "bias_initializer": initializers.serialize(self.bias_initializer),
                  "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                  "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                  "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                  "kernel_constraint": constraints.serialize(self.kernel_constraint),
                  "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                  "bias_constraint": constraints.serialize(self.bias_constraint),
                  "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}
        if self.kind != "simple":
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config


class SimpleRNNCell(_Cell):
    kind, gates = "simple", 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, "sigmoid", use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)


class LSTMCell(_Cell):
    kind, gates = "lstm", 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, implementation=None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype)
        u = self.units  # the forget gate starts open: [init(u), ones(u), init(2u)]
        return np.concatenate([np.asarray(self.bias_initializer((u,), dtype)), np.ones(u),
                               np.asarray(self.bias_initializer((2 * u,), dtype))])

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_Cell):
    kind, gates = "gru", 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, implementation=None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed,
                         **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):  # reset_after: input bias and recurrent bias
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


# --- the layers -------------------------------------------------------------------------------

def _with_states(inputs, initial_state):
    """Keras' convention: initial states travel as extra inputs, so that a
    Functional graph sees them (``lstm(x, initial_state=[h, c])``)."""
    if initial_state is None:
        return inputs
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    return [inputs] + states


def _split_inputs(inputs, mask):
    if isinstance(inputs, (list, tuple)):
        mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        return inputs[0], list(inputs[1:]) or None, mask
    return inputs, None, mask


def _first_shape(input_shape):
    return input_shape[0] if isinstance(input_shape, list) else input_shape


class RNN(Layer):
    """A recurrent layer over (batch, timesteps, features) around one of the
    built-in cells (SimpleRNNCell, LSTMCell, GRUCell)."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, time_major=False, **kwargs):
        if not isinstance(cell, _Cell):
            raise TypeError(f"RNN: cell must be a SimpleRNNCell, LSTMCell or GRUCell (the cells tinytf runs as one "
                            f"fused kernel), got {type(cell).__name__}")
        if time_major:
            raise ValueError(f"{type(self).__name__}: only batch-major input (time_major=False) is supported")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.states = None  # stateful: the last states (values, no gradient), reused by the next call
        self.unroll = bool(unroll)  # accepted for Keras compatibility; the kernel never unrolls
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        return super().__call__(_with_states(inputs, initial_state), *args, **kwargs)

    def _n_states(self):
        return 2 if self.cell.kind == "lstm" else 1

    def build(self, input_shape):
        shape = _first_shape(input_shape)
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected input of rank 3 (batch, timesteps, "
                             f"features), got shape {tuple(shape)}")
        self.cell._maybe_build(tuple(shape))

    def call(self, inputs, mask=None, training=None):
        sequences, states, mask = _split_inputs(inputs, mask)
        if self.stateful and states is None and self.states is not None:
            if self.states[0].shape[0] != sequences.shape[0]:
                raise ValueError(f"{type(self).__name__} '{self.name}' is stateful: the batch size must stay "
                                 f"{self.states[0].shape[0]}, got input of shape {tuple(sequences.shape)} "
                                 f"(call reset_states() to start over)")
            states = self.states
        try:
            out = self.cell._run(sequences, states, mask, training, go_backwards=self.go_backwards,
                                 return_sequences=self.return_sequences,
                                 zero_output_for_mask=self.zero_output_for_mask)
        except (ValueError, TypeError) as e:
            raise type(e)(f"{type(self).__name__} '{self.name}': {e} (input shape {tuple(sequences.shape)})") from None
        if self.stateful:
            self.states = [constant(s.numpy().copy()) for s in out[1:]]
        return out if self.return_state else out[0]

    def compute_mask(self, inputs, mask=None):
        mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        out = mask if self.return_sequences else None
        return [out] + [None] * self._n_states() if self.return_state else out

    def compute_output_shape(self, input_shape):
        shape = _first_shape(input_shape)
        units = self.cell.units
        out = (shape[0], shape[1], units) if self.return_sequences else (shape[0], units)
        if self.return_state:
            return [out] + [(shape[0], units)] * self._n_states()
        return out

    def get_initial_state(self, batch_size):
        return self.cell.get_initial_state(batch_size)

    def reset_states(self, states=None):
        """Stateful layers: forget the carried states (or set them to `states`)."""
        self.states = None if states is None else [constant(np.asarray(s, self.dtype.dtype)) for s in
                                                   (states if isinstance(states, (list, tuple)) else [states])]

    reset_state = reset_states

    def get_config(self):
        return {**super().get_config(), "cell": _serialize(self.cell), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(_deserialize(config.pop("cell")), **config)


# The cell's arguments read through the layer, as Keras' LSTM.units etc.
for _name in ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
              "bias_constraint", "dropout", "recurrent_dropout", "reset_after"):
    setattr(RNN, _name, property(lambda self, n=_name: getattr(self.cell, n)))
del _name

_LAYER_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask",
               "time_major", "trainable", "name", "dtype", "input_shape", "input_dim", "batch_input_shape",
               "batch_size", "activity_regularizer")


class _Recurrent(RNN):
    """SimpleRNN / LSTM / GRU: an RNN whose cell takes the cell arguments of
    the same call (Keras' flat signature and config)."""

    cell_class = None

    def __init__(self, units, **kwargs):
        layer_kwargs = {k: kwargs.pop(k) for k in _LAYER_ARGS if k in kwargs}
        kwargs.pop("use_cudnn", None)
        cell = self.cell_class(units, dtype=layer_kwargs.get("dtype"), trainable=layer_kwargs.get("trainable", True),
                               name=to_snake_case(self.cell_class.__name__), **kwargs)
        super().__init__(cell, **layer_kwargs)

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        return {**self.cell.get_config(), **config}

    from_config = classmethod(Layer.from_config.__func__)  # the flat config, not RNN's nested cell


class SimpleRNN(_Recurrent):
    """Fully-connected RNN: h = activation(x W + h' U + b)."""

    cell_class = SimpleRNNCell


class LSTM(_Recurrent):
    """Long Short-Term Memory (Hochreiter & Schmidhuber 1997); gates i, f, c, o."""

    cell_class = LSTMCell


class GRU(_Recurrent):
    """Gated Recurrent Unit (Cho et al. 2014); gates z, r, h. reset_after=True
    (the default, as cuDNN) applies the reset gate after the recurrent kernel."""

    cell_class = GRUCell


# --- wrappers ---------------------------------------------------------------------------------

class Bidirectional(Layer):
    """Runs `layer` forwards and a copy backwards over the sequence and merges
    the outputs (merge_mode 'concat', 'sum', 'mul', 'ave' or None: a list)."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, RNN):
            raise ValueError(f"Bidirectional: `layer` must be a recurrent layer (SimpleRNN, LSTM, GRU, RNN), got "
                             f"{type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, RNN):
            raise ValueError(f"Bidirectional: `backward_layer` must be a recurrent layer, got "
                             f"{type(backward_layer).__name__}")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"Bidirectional: invalid merge_mode {merge_mode!r}; use 'concat', 'sum', 'mul', 'ave' "
                             f"or None")
        kwargs.setdefault("dtype", layer.dtype.name)
        super().__init__(**kwargs)
        self.forward_layer = self._copy(layer, "forward_", layer.go_backwards)
        self.backward_layer = (self._copy(layer, "backward_", not layer.go_backwards) if backward_layer is None
                               else backward_layer)
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError("Bidirectional: the forward and backward layers must have different go_backwards")
        for a in ("return_sequences", "return_state"):
            if getattr(self.forward_layer, a) != getattr(self.backward_layer, a):
                raise ValueError(f"Bidirectional: the forward and backward layers must have the same {a}")
        for sub in (self.forward_layer, self.backward_layer):  # as Keras: masked steps output zeros
            sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self._initial_weights = weights
        if self.input_shape_hint is None:  # Bidirectional(LSTM(..., input_shape=...)) as in Keras 2
            self.input_shape_hint = layer.input_shape_hint

    @staticmethod
    def _copy(layer, prefix, go_backwards):
        # Keras strips the prefix first, so a reloaded config (which holds the forward copy) keeps its names
        config = {**layer.get_config(), "go_backwards": go_backwards, "name": prefix + layer.name.removeprefix(prefix)}
        config.pop("batch_input_shape", None)
        return type(layer).from_config(config)

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        return super().__call__(_with_states(inputs, initial_state), *args, **kwargs)

    def build(self, input_shape):
        shape = _first_shape(input_shape)
        self.forward_layer._maybe_build(shape)
        self.backward_layer._maybe_build(shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs, mask=None, training=None):
        sequences, states, mask = _split_inputs(inputs, mask)
        half = len(states) // 2 if states else 0
        fw_states, bw_states = (states[:half], states[half:]) if states else (None, None)
        y = self.forward_layer(sequences, initial_state=fw_states, mask=mask, training=training)
        y_rev = self.backward_layer(sequences, initial_state=bw_states, mask=mask, training=training)
        if self.return_state:
            out_states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        if self.merge_mode == "concat":
            output = ops.concat([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) * 0.5
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + out_states
        return output

    def compute_mask(self, inputs, mask=None):
        mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        out = mask if self.return_sequences else None
        masks = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            masks += [None] * (2 * self.forward_layer._n_states())
        return masks if len(masks) > 1 else masks[0]

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(_first_shape(input_shape))
        states = []
        if self.return_state:
            shape, states = shape[0], shape[1:]
        if self.merge_mode == "concat":
            outs = [tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)]
        else:
            outs = [tuple(shape)] * (2 if self.merge_mode is None else 1)
        outs += list(states) * 2
        return outs if len(outs) > 1 else outs[0]

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": _serialize(self.forward_layer),
                "backward_layer": _serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        layer = _deserialize(config.pop("layer"))
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"])
        return cls(layer, **config)


class TimeDistributed(Layer):
    """Applies `layer` to every timestep: (batch, time, ...) runs as one call on
    (batch * time, ...)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: `layer` must be a Layer, got {type(layer).__name__}")
        kwargs.setdefault("dtype", layer.dtype.name)
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    @staticmethod
    def _child_shape(input_shape, name):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{name}': expected input of rank >= 3 (batch, time, ...), got shape "
                             f"{tuple(input_shape)}")
        return (None,) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build(self._child_shape(input_shape, self.name))

    def call(self, inputs, training=None, mask=None):
        shape = tuple(inputs.shape)
        self._child_shape(shape, self.name)
        kwargs = {"training": training} if self.layer._call_has_training else {}
        if mask is not None and self.layer._call_has_mask:
            kwargs["mask"] = ops.reshape(mask, (-1,) + tuple(mask.shape[2:]))
        y = self.layer(ops.reshape(inputs, (shape[0] * shape[1],) + shape[2:]), **kwargs)
        return ops.reshape(y, shape[:2] + tuple(y.shape[1:]))

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(input_shape, self.name))
        return (input_shape[0], input_shape[1]) + tuple(child[1:])

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(_deserialize(config.pop("layer")), **config)


def _serialize(layer):
    return {"module": "keras.layers", "class_name": type(layer).__name__, "config": layer.get_config(),
            "registered_name": None}


def _deserialize(config):
    """A wrapped layer from its config envelope (or as is: the saving code builds nested layers first)."""
    if isinstance(config, Layer):
        return config
    from ..saving.serialization import deserialize_keras_object

    layer = deserialize_keras_object(config)
    if not isinstance(layer, Layer):
        raise ValueError(f"expected a layer config, got {config!r:.80}")
    return layer


