"""Core layers: Dense, Activation, Dropout, Flatten, Reshape."""
import numpy as np

from .. import activations, constraints, initializers, nn, ops, regularizers
from .base import Layer

# Activations the Dense/Conv kernels apply in their epilogue (one pass over the
# output). Sigmoid and softmax are not fused: their outputs keep the logits for
# the fused cross-entropy losses.
FUSED = {activations.linear: None, activations.relu: "relu", activations.relu6: "relu6", activations.tanh: "tanh"}


def split_activation(activation):
    """(name fused into the kernel or None, function applied afterwards or None)."""
    if activation in FUSED:
        return FUSED[activation], None
    return None, activation


def _positive_int(value, what, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: {what} must be a positive integer. Received: {what}={value!r}")
    return int(value)


class Dense(Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)`` on the last axis.
    kernel has shape (input_dim, units), as Keras."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = _positive_int(units, "units", "Dense")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._fused, self._after = split_activation(self.activation)
        if self._after is activations.softmax:  # the dense op takes a last-axis softmax too
            self._fused, self._after = "softmax", None

    def build(self, input_shape):
        if not input_shape or input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}': the last dimension of the input must be known, got shape "
                             f"{tuple(input_shape)}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.units,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def call(self, inputs):
        try:
            y = ops.dense(inputs, self.kernel, self.bias, self._fused)
        except (ValueError, TypeError) as e:
            k = self.kernel.shape[0]
            shape = tuple(inputs.shape)
            if not shape or shape[-1] != k:
                raise ValueError(f"Dense '{self.name}': expected input with last dimension {k}, got {shape}") from None
            raise type(e)(f"Dense '{self.name}': {e}") from None
        return self._after(y) if self._after is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                  "use_bias": self.use_bias, "kernel_initializer": initializers.serialize(self.kernel_initializer),
                  "bias_initializer": initializers.serialize(self.bias_initializer),
                  "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                  "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                  "kernel_constraint": constraints.serialize(self.kernel_constraint),
                  "bias_constraint": constraints.serialize(self.bias_constraint), "quantization_config": None}
        if self.activity_regularizer is not None:  # Keras' Dense lists it only when set
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        from ..saving._compat import pop_defaults

        return super().from_config(pop_defaults(config, "Dense", quantization_config=None))


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout: zeroes a fraction `rate` of inputs and scales the rest
    by 1/(1-rate), in training only."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout: rate must be in [0, 1]. Received: rate={rate}")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return nn.dropout(inputs, self.rate, noise_shape=self.noise_shape, seed=self.seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


class Flatten(Layer):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, inputs):
        return ops.reshape(inputs, [inputs.shape[0], -1])

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64)))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format or "channels_last"}


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one dimension can be -1. Received: target_shape={self.target_shape}")

    def call(self, inputs):
        try:
            return ops.reshape(inputs, (inputs.shape[0],) + self.target_shape)
        except ValueError:
            raise ValueError(f"Reshape '{self.name}': cannot reshape input of shape {tuple(inputs.shape)} to "
                             f"(batch,) + {self.target_shape}") from None

    def compute_output_shape(self, input_shape):
        if -1 in self.target_shape:
            known = int(np.prod([d for d in self.target_shape if d != -1]))
            total = None if any(d is None for d in input_shape[1:]) else int(np.prod(input_shape[1:]))
            if total is not None and total % known:
                raise ValueError(f"Reshape '{self.name}': cannot reshape {tuple(input_shape)} to {self.target_shape}")
            return (input_shape[0],) + tuple(total // known if d == -1 and total is not None else
                                             (None if d == -1 else d) for d in self.target_shape)
        if None not in input_shape[1:] and np.prod(input_shape[1:]) != np.prod(self.target_shape):
            raise ValueError(f"Reshape '{self.name}': total size of input {tuple(input_shape)} does not match "
                             f"target_shape {self.target_shape}")
        return (input_shape[0],) + self.target_shape

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
