"""Pooling layers (channels_last)."""
from .. import ops
from ..ops import nn_ops
from .base import Layer
from .conv import check_channels_last, conv_output_length, normalize_padding, normalize_tuple


class _Pooling2D(Layer):
    _op = None

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cls = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", cls)
        self.strides = normalize_tuple(strides if strides is not None else self.pool_size, 2, "strides", cls)
        self.padding = normalize_padding(padding, cls)
        self.data_format = check_channels_last(data_format, cls)

    def call(self, inputs):
        if inputs.ndim != 4:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a 4-D input (batch, height, width, "
                             f"channels), got shape {tuple(inputs.shape)}")
        return type(self)._op(inputs, self.pool_size, self.strides, self.padding.upper())

    def compute_output_shape(self, input_shape):
        h = conv_output_length(input_shape[1], self.pool_size[0], self.padding, self.strides[0])
        w = conv_output_length(input_shape[2], self.pool_size[1], self.padding, self.strides[1])
        return (input_shape[0], h, w, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    _op = staticmethod(nn_ops.max_pool2d)


class AveragePooling2D(_Pooling2D):
    _op = staticmethod(nn_ops.avg_pool2d)


class _GlobalPooling2D(Layer):
    _reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_channels_last(data_format, type(self).__name__)
        self.keepdims = keepdims

    def call(self, inputs):
        if inputs.ndim != 4:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a 4-D input, got shape "
                             f"{tuple(inputs.shape)}")
        return type(self)._reduce(inputs, axis=[1, 2], keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1, 1, input_shape[3]) if self.keepdims else (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    _reduce = staticmethod(ops.reduce_mean)


class GlobalMaxPooling2D(_GlobalPooling2D):
    _reduce = staticmethod(ops.reduce_max)


MaxPool2D, AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D = MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D
