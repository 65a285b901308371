"""Layers that start a sequence model and set its mask: Embedding (integer ids
to vectors; ``mask_zero`` marks id 0 as padding) and Masking (skips timesteps
whose features all equal ``mask_value``). Recurrent layers downstream read the
mask and carry their state over the masked steps."""
from .. import constraints, initializers, ops, regularizers
from .base import Layer
from .core import _positive_int


class Embedding(Layer):
    """Turns integer ids (batch, ...) into vectors (batch, ..., output_dim) by a
    lookup in ``embeddings`` (input_dim, output_dim). The gradient is the
    deterministic scatter-add of the gather op."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 input_length=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = _positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = _positive_int(output_dim, "output_dim", "Embedding")
        if embeddings_initializer == "uniform":  # Keras' alias of RandomUniform(-0.05, 0.05)
            embeddings_initializer = "random_uniform"
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if input_length is not None and self.input_shape_hint is None:  # Keras 2's argument
            self.input_shape_hint = (None, int(input_length))
        self._initial_weights = weights

    def build(self, input_shape=None):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs):
        ids = inputs if inputs.dtype.is_integer else ops.cast(inputs, "int32")
        try:
            return ops.gather(self.embeddings, ids)
        except IndexError as e:
            raise IndexError(f"Embedding '{self.name}': ids must be in [0, {self.input_dim}): {e}") from None

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}


class Masking(Layer):
    """Masks the timesteps (axis 1) whose features all equal `mask_value`:
    their features become 0 and the mask (batch, timesteps) marks them."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)
        self.supports_masking = True

    def _keep(self, inputs, keepdims):
        return ops.reduce_any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=keepdims)

    def call(self, inputs):
        return inputs * ops.cast(self._keep(inputs, True), inputs.dtype)

    def compute_mask(self, inputs, mask=None):
        return self._keep(inputs, False)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
