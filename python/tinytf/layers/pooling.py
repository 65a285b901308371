"""Pooling layers (channels_last). The 1-D ones run the 2-D kernels over a
height-1 image."""
from .. import ops
from ..ops import nn_ops
from .base import Layer
from .conv import Conv2D, check_channels_last, conv_output_length, normalize_padding, normalize_tuple


class _Pooling(Layer):
    rank = 2
    _op = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", cls)
        self.strides = normalize_tuple(strides if strides is not None else self.pool_size, self.rank, "strides", cls)
        self.padding = normalize_padding(padding, cls)
        self.data_format = check_channels_last(data_format, cls)

    def call(self, inputs):
        if inputs.ndim != self.rank + 2:
            axes = "(batch, steps, channels)" if self.rank == 1 else "(batch, height, width, channels)"
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a {self.rank + 2}-D input {axes}, "
                             f"got shape {tuple(inputs.shape)}")
        if self.rank == 1:
            y = type(self)._op(ops.expand_dims(inputs, 1), (1,) + self.pool_size, (1,) + self.strides,
                               self.padding.upper())
            return ops.squeeze(y, 1)
        return type(self)._op(inputs, self.pool_size, self.strides, self.padding.upper())

    def compute_output_shape(self, input_shape):
        lengths = [conv_output_length(n, k, self.padding, s)
                   for n, k, s in zip(input_shape[1:-1], self.pool_size, self.strides)]
        return (input_shape[0], *lengths, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    rank = 1
    _op = staticmethod(nn_ops.max_pool2d)


class AveragePooling1D(_Pooling):
    rank = 1
    _op = staticmethod(nn_ops.avg_pool2d)


class MaxPooling2D(_Pooling):
    _op = staticmethod(nn_ops.max_pool2d)


class AveragePooling2D(_Pooling):
    _op = staticmethod(nn_ops.avg_pool2d)


class ConvMaxPool:
    """A Conv2D and the MaxPooling2D that takes its output, run as one op
    (nn_ops.conv2d_max_pool) with the values and errors of the two layers:
    what Sequential calls for such a pair. `of(conv, pool)` gives one, or
    None when the pair does not fuse."""

    _call_has_training = False

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool
        self.dtype, self._core_dtype = conv.dtype, conv._core_dtype

    @classmethod
    def of(cls, conv, pool):
        fuses = (type(conv) is Conv2D and type(pool) is MaxPooling2D and conv._after is None and
                 conv._fused in (None, "relu") and pool._core_dtype is conv._core_dtype)
        return cls(conv, pool) if fuses else None

    def call(self, inputs):
        conv, pool = self.conv, self.pool
        return conv._run(inputs, lambda _: nn_ops.conv2d_max_pool(
            inputs, conv.kernel, conv.strides, conv.dilation_rate, conv.padding.upper(), conv.bias, conv._fused,
            pool.pool_size, pool.strides, pool.padding.upper()))


class _GlobalPooling(Layer):
    rank = 2
    _reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_channels_last(data_format, type(self).__name__)
        self.keepdims = keepdims

    def _axes(self, inputs):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a {self.rank + 2}-D input, got shape "
                             f"{tuple(inputs.shape)}")
        return list(range(1, self.rank + 1))

    def call(self, inputs):
        return type(self)._reduce(inputs, axis=self._axes(inputs), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps; with a mask (e.g. from Embedding(mask_zero=True)),
    the mean of the unmasked steps only, as Keras."""

    rank = 1

    def call(self, inputs, mask=None):
        axes = self._axes(inputs)
        if mask is None:
            return ops.reduce_mean(inputs, axis=axes, keepdims=self.keepdims)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        total = ops.reduce_sum(inputs * weights, axis=axes, keepdims=self.keepdims)
        return total / ops.reduce_sum(weights, axis=axes, keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling):
    rank = 1
    _reduce = staticmethod(ops.reduce_max)


class GlobalAveragePooling2D(_GlobalPooling):
    _reduce = staticmethod(ops.reduce_mean)


class GlobalMaxPooling2D(_GlobalPooling):
    _reduce = staticmethod(ops.reduce_max)


MaxPool1D, AvgPool1D, GlobalAvgPool1D, GlobalMaxPool1D = MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D
MaxPool2D, AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D = MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D
