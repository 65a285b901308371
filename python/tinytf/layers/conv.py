"""Convolution layers (channels_last; kernels HWIO as Keras)."""
import math

from .. import activations, constraints, initializers, ops, regularizers
from ..ops import nn_ops
from .base import Layer
from .core import _positive_int, split_activation


def normalize_tuple(value, n, what, layer, minimum=1):
    if isinstance(value, int):
        value = (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n or any(v < minimum for v in value):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{layer}: {what} must be a {kind} int or a tuple of {n} {kind} ints. "
                         f"Received: {what}={value}")
    return value


def normalize_padding(padding, layer, allowed=("valid", "same")):
    p = str(padding).lower()
    if p not in allowed:
        choices = " or ".join(repr(a) for a in allowed)
        raise ValueError(f"{layer}: padding must be {choices}. Received: padding={padding!r}")
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
    if padding in ("same", "causal"):  # causal pads (k - 1) * dilation before: the length of 'same'
        return math.ceil(length / stride)
    return math.floor((length - (k - 1) * dilation - 1) / stride) + 1


def conv_transpose_output_length(length, k, padding, output_padding, stride, dilation=1):
    """Keras' output length of a transposed convolution: None stays None."""
    if length is None:
        return None
    k = (k - 1) * dilation + 1
    if output_padding is None:
        return length * stride if padding == "same" else (length - 1) * stride + max(k, stride)
    return (length - 1) * stride + (k % 2 if padding == "same" else k) + output_padding


class _Conv(Layer):
    """What the convolutions share: arguments, kernel and bias, config.
    `rank` is the number of spatial axes."""

    rank = 2
    _axes = "(batch, height, width, channels)"
    _paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name, n = type(self).__name__, self.rank
        self.filters = _positive_int(filters, "filters", name)
        self.kernel_size = normalize_tuple(kernel_size, n, "kernel_size", name)
        self.strides = normalize_tuple(strides, n, "strides", name)
        self.dilation_rate = normalize_tuple(dilation_rate, n, "dilation_rate", name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{name}: strides > 1 with dilation_rate > 1 is not supported. "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.padding = normalize_padding(padding, name, self._paddings)
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

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (in_channels, self.filters)

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a {self.rank + 2}-D input {self._axes} "
                             f"with known channels, got shape {tuple(input_shape)}")
        self._in_channels = input_shape[-1]
        self.kernel = self.add_weight("kernel", self._kernel_shape(input_shape[-1]),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def _run(self, inputs, kernel_call):
        """kernel_call(output_shape), once the input's rank, channels and size are checked."""
        if inputs.ndim != self.rank + 2 or inputs.shape[-1] != self._in_channels:
            want = (None,) * (self.rank + 1) + (self._in_channels,)
            raise ValueError(f"{type(self).__name__} '{self.name}': expected input of shape {want}, got "
                             f"{tuple(inputs.shape)}")
        return kernel_call(self.compute_output_shape(tuple(inputs.shape)))

    def call(self, inputs):
        def conv(output_shape):
            x, kernel, padding = inputs, self.kernel, self.padding.upper()
            strides, dilations = self.strides, self.dilation_rate
            if self.rank == 1:  # a 1-D convolution is a 2-D one over a height-1 image
                x, kernel = ops.expand_dims(x, 1), ops.expand_dims(kernel, 0)
                strides, dilations = (1,) + strides, (1,) + dilations
                if padding == "CAUSAL":  # (k - 1) * dilation zeros before the sequence, none after
                    padding = [[0, 0], [(self.kernel_size[0] - 1) * self.dilation_rate[0], 0]]
            y = nn_ops.conv2d_fused(x, kernel, strides, dilations, padding, self.bias, self._fused)
            return ops.squeeze(y, 1) if self.rank == 1 else y

        y = self._run(inputs, conv)
        return self._after(y) if self._after is not None else y

    def _output_lengths(self, input_shape):
        return [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate)]

    def compute_output_shape(self, input_shape):
        lengths = self._output_lengths(input_shape)
        if any(n is not None and n <= 0 for n in lengths):
            raise ValueError(f"{type(self).__name__} '{self.name}': input of shape {tuple(input_shape)} is too small "
                             f"for kernel_size={self.kernel_size} with padding='{self.padding}'")
        return (input_shape[0], *lengths, self.filters)

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


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels): ``activation(conv1d(inputs, kernel) + bias)``.
    kernel has shape (kernel_size, in_channels, filters); padding may also be 'causal'."""

    rank = 1
    _axes = "(batch, steps, channels)"
    _paddings = ("valid", "same", "causal")


class Conv2D(_Conv):
    """2-D convolution: ``activation(conv2d(inputs, kernel) + bias)``, one fused kernel."""


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (the gradient of Conv2D with respect to its
    input), for upsampling. kernel has shape (kh, kw, filters, in_channels) as
    Keras; the output size follows Keras (see conv_transpose_output_length)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, **kwargs)
        self.output_padding = output_padding
        if output_padding is not None:
            self.output_padding = normalize_tuple(output_padding, 2, "output_padding", "Conv2DTranspose", minimum=0)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"Conv2DTranspose: output_padding must be smaller than strides. Received: "
                                 f"output_padding={self.output_padding}, strides={self.strides}")

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (self.filters, in_channels)

    def call(self, inputs):
        # The output shape decides where the padding goes, as in TensorFlow:
        # conv2d of an output-shaped tensor with this padding has the input's shape.
        y = self._run(inputs, lambda output_shape: nn_ops.conv2d_transpose(
            inputs, self.kernel, output_shape, self.strides, self.dilation_rate, self.padding.upper()))
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def _output_lengths(self, input_shape):
        lengths = []
        for n, k, p, s, d in zip(input_shape[1:-1], self.kernel_size, self.output_padding or (None, None),
                                 self.strides, self.dilation_rate):
            length = conv_transpose_output_length(n, k, self.padding, p, s, d)
            if n is not None and conv_output_length(length, k, self.padding, s, d) != n:
                raise ValueError(f"Conv2DTranspose '{self.name}': output_padding={self.output_padding} does not fit "
                                 f"kernel_size={self.kernel_size}, strides={self.strides} and padding="
                                 f"'{self.padding}': an output of length {length} does not convolve back to the "
                                 f"input's {n}")
            lengths.append(length)
        return lengths

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        output_padding = None if self.output_padding is None else list(self.output_padding)
        return {**config, "output_padding": output_padding}


Convolution1D, Convolution2DTranspose = Conv1D, Conv2DTranspose
