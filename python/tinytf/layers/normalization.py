"""BatchNormalization and LayerNormalization (Keras defaults and weight order)."""
import numpy as np

from .. import constraints, initializers, regularizers
from .._tape import recording
from ..ops import nn_ops
from .base import Layer


def _last_axes(axis, rank, layer):
    """The count of trailing axes `axis` names (they must be the last ones)."""
    if rank == 0:
        raise ValueError(f"{layer}: cannot normalize a scalar input")
    axes = sorted(a % rank for a in ([axis] if isinstance(axis, int) else axis))
    if axes != list(range(rank - len(axes), rank)):
        raise ValueError(f"{layer}: only the last axes can be normalized (channels_last); got axis={axis} for "
                         f"inputs of rank {rank}")
    return len(axes)


class BatchNormalization(Layer):
    """Normalizes with batch statistics in training and moving statistics in
    inference: moving = moving * momentum + batch * (1 - momentum), as Keras."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if epsilon <= 0:
            raise ValueError(f"BatchNormalization: epsilon must be positive. Received: epsilon={epsilon}")
        self.axis, self.momentum, self.epsilon, self.center, self.scale = axis, float(momentum), float(epsilon), center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer, self.gamma_regularizer = regularizers.get(beta_regularizer), regularizers.get(gamma_regularizer)
        self.beta_constraint, self.gamma_constraint = constraints.get(beta_constraint), constraints.get(gamma_constraint)

    def build(self, input_shape):
        if _last_axes(self.axis, len(input_shape), "BatchNormalization") != 1:
            raise ValueError("BatchNormalization: only a single (last) axis is supported")
        c = input_shape[-1]
        if c is None:
            raise ValueError(f"BatchNormalization '{self.name}': the channel dimension must be known, got "
                             f"{tuple(input_shape)}")
        self.gamma = self.add_weight("gamma", (c,), initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", (c,), initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", (c,), initializer=self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (c,), initializer=self.moving_variance_initializer,
                                               trainable=False)

    def call(self, inputs, training=None):
        if training and self.trainable:
            y, mean, var = nn_ops.batch_norm_train(inputs, self.gamma, self.beta, self.epsilon)
            m = self.momentum
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
                view = np.asarray(moving)  # in place on the variable's memory
                view *= m
                view += (1.0 - m) * batch.numpy()
            return y
        if recording():  # differentiable (e.g. fine-tuning through a frozen layer)
            return nn_ops.batch_normalization(inputs, self.moving_mean, self.moving_variance, self.beta, self.gamma,
                                              self.epsilon)
        from .._tensor import _wrap

        return _wrap(nn_ops._core.batch_norm_inference(
            inputs._t, self.moving_mean._t, self.moving_variance._t, None if self.gamma is None else self.gamma._t,
            None if self.beta is None else self.beta._t, self.epsilon))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint), "synchronized": False,
                "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99}

    @classmethod
    def from_config(cls, config):
        from ..saving._compat import pop_defaults

        config = pop_defaults(config, "BatchNormalization", renorm=False, renorm_clipping=None)
        config.pop("renorm_momentum", None)  # only used with renorm
        return super().from_config(config)


class LayerNormalization(Layer):
    """Normalizes each sample over the last axis (or axes): gamma * (x - mean) / sqrt(var + eps) + beta."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if rms_scaling:
            raise ValueError("LayerNormalization: rms_scaling=True is not supported yet")
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), center, scale
        self.beta_initializer, self.gamma_initializer = initializers.get(beta_initializer), initializers.get(gamma_initializer)
        self.beta_regularizer, self.gamma_regularizer = regularizers.get(beta_regularizer), regularizers.get(gamma_regularizer)
        self.beta_constraint, self.gamma_constraint = constraints.get(beta_constraint), constraints.get(gamma_constraint)

    def build(self, input_shape):
        self._count = _last_axes(self.axis, len(input_shape), "LayerNormalization")
        shape = tuple(input_shape[-self._count:])
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization '{self.name}': normalized dimensions must be known, got "
                             f"{tuple(input_shape)}")
        self.gamma = self.add_weight("gamma", shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) if self.center else None

    def call(self, inputs):
        return nn_ops.layer_norm(inputs, self.gamma, self.beta, self.epsilon, self._count)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": False,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}

