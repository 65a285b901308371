"""Convolution layers (channels_last; kernels HWIO as Keras)."""
import math

from .. import activations, constraints, initializers, regularizers
from ..ops import nn_ops
from .base import Layer
from .core import _positive_int, split_activation


def normalize_tuple(value, n, what, layer):
    if isinstance(value, int):
        value = (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n or any(v <= 0 for v in value):
        raise ValueError(f"{layer}: {what} must be a positive int or a tuple of {n} positive ints. "
                         f"Received: {what}={value}")
    return value


def normalize_padding(padding, layer):
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same'. Received: padding={padding!r}")
    return p


def check_channels_last(data_format, layer):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' (NHWC) is supported. "
                         f"Received: data_format={data_format!r}")
    return "channels_last"


def conv_output_length(length, k, padding, stride, dilation=1):
    """Keras' conv_output_length: None stays None."""
    if length is None:
        return None
    if padding == "same":
        return math.ceil(length / stride)
    return math.floor((length - (k - 1) * dilation - 1) / stride) + 1


class Conv2D(Layer):
    """2-D convolution: ``activation(conv2d(inputs, kernel) + bias)``, one fused kernel."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name = type(self).__name__
        self.filters = _positive_int(filters, "filters", name)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", name)
        self.strides = normalize_tuple(strides, 2, "strides", name)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", name)
        if self.strides != (1, 1) and self.dilation_rate != (1, 1):
            raise ValueError(f"{name}: strides > 1 with dilation_rate > 1 is not supported. "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.padding = normalize_padding(padding, name)
        self.data_format = check_channels_last(data_format, name)
        if groups != 1:
            raise ValueError(f"{name}: groups != 1 is not supported yet. Received: groups={groups}")
        self.groups = groups
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._fused, self._after = split_activation(self.activation)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a 4-D input (batch, height, width, "
                             f"channels) with known channels, got shape {tuple(input_shape)}")
        self.kernel = self.add_weight("kernel", self.kernel_size + (input_shape[-1], self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def call(self, inputs):
        try:
            y = nn_ops.conv2d_fused(inputs, self.kernel, self.strides, self.dilation_rate, self.padding.upper(),
                                    self.bias, self._fused)
        except (ValueError, TypeError) as e:
            want = (None, None, None, self.kernel.shape[2])
            raise ValueError(f"{type(self).__name__} '{self.name}': expected input of shape {want}, got "
                             f"{tuple(inputs.shape)} ({e})") from None
        return self._after(y) if self._after is not None else y

    def compute_output_shape(self, input_shape):
        h = conv_output_length(input_shape[1], self.kernel_size[0], self.padding, self.strides[0], self.dilation_rate[0])
        w = conv_output_length(input_shape[2], self.kernel_size[1], self.padding, self.strides[1], self.dilation_rate[1])
        if (h is not None and h <= 0) or (w is not None and w <= 0):
            raise ValueError(f"{type(self).__name__} '{self.name}': input of shape {tuple(input_shape)} is too small "
                             f"for kernel_size={self.kernel_size} with padding='{self.padding}'")
        return (input_shape[0], h, w, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}
