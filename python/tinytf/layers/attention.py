"""Attention layers: dot-product ``Attention`` and ``MultiHeadAttention``, with
Keras' arguments, masks and weight layouts."""
import math

import numpy as np

from .. import constraints, initializers, nn, ops, regularizers
from .._tensor import constant
from ..ops import nn_ops
from .base import Layer

# What Keras subtracts from (Attention) or puts in place of (MultiHeadAttention)
# the scores of masked positions, so that softmax gives them ~0 weight.
_LARGE_NEGATIVE = 1e9


def _keep(mask):
    """A mask (bool, or numbers where non-zero keeps) as a bool tensor."""
    return ops.cast(mask, "bool")


def _and(a, b):
    return b if a is None else ops.logical_and(a, b)


def _causal_mask(q_len, k_len):
    """(1, q_len, k_len): query i attends to keys j <= i."""
    return constant(np.tri(q_len, k_len, dtype=bool)[None])


def _check_dropout(rate, layer):
    if not 0 <= rate < 1:
        raise ValueError(f"{layer}: dropout must be in [0, 1). Received: dropout={rate}")
    return float(rate)


class Attention(Layer):
    """Dot-product (Luong-style) attention, called on ``[query, value]`` or
    ``[query, value, key]`` (key defaults to value)::

        scores = query @ key^T   (* scale)                                    score_mode="dot"
        scores = concat_score_weight * sum(tanh((query_i + key_j) (* scale)))  score_mode="concat"
        output = softmax(scores) @ value

    Masks: value_mask (batch, Tv) hides keys, query_mask (batch, Tq) zeroes the
    output rows, use_causal_mask=True hides keys after the query's position."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: score_mode must be 'dot' or 'concat'. Received: score_mode={score_mode!r}")
        self.use_scale, self.score_mode, self.seed = bool(use_scale), score_mode, seed
        self.dropout = _check_dropout(dropout, "Attention")
        self.supports_masking = True

    def _check_inputs(self, inputs):
        """A list of 2 or 3 tensors (or of shapes; a single shape's items are ints or None)."""
        if (not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3
                or any(x is None or isinstance(x, int) for x in inputs)):
            raise ValueError(f"Attention '{self.name}': call it on a list [query, value] or [query, value, key]. "
                             f"Received: {inputs!r}")

    def build(self, input_shape):
        self._check_inputs(input_shape)
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        if len(query) < 3 or query[-1] != key[-1] or tuple(key[:-1]) != tuple(value[:-1]):
            raise ValueError(f"Attention '{self.name}': expected query (batch, Tq, dim), value (batch, Tv, dim_v) "
                             f"and key (batch, Tv, dim). Received shapes: {[tuple(s) for s in input_shape]}")
        self.scale = self.add_weight("scale", (), initializer="ones") if self.use_scale else None
        self.concat_score_weight = (self.add_weight("concat_score_weight", (), initializer="ones")
                                    if self.score_mode == "concat" else None)

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, key, transpose_b=True)
            return scores * self.scale if self.scale is not None else scores
        pairs = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)  # (batch, Tq, Tv, dim)
        if self.scale is not None:
            pairs = pairs * self.scale
        return ops.reduce_sum(ops.tanh(pairs), -1) * self.concat_score_weight

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        self._check_inputs(inputs)
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"Attention '{self.name}': mask must be a list [query_mask, value_mask]. "
                             f"Received: mask={mask!r}")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        query_mask, value_mask = (mask[0], mask[1]) if mask else (None, None)
        scores = self._scores(query, key)
        keep = None if value_mask is None else ops.expand_dims(_keep(value_mask), -2)
        if use_causal_mask:
            keep = _and(keep, _causal_mask(scores.shape[-2], scores.shape[-1]))
        if keep is not None:
            scores = ops.where(keep, scores, scores - _LARGE_NEGATIVE)
        weights = nn.softmax(scores)
        if training and self.dropout > 0:
            weights = nn.dropout(weights, self.dropout, seed=self.seed)
        output = ops.matmul(weights, value)
        if query_mask is not None:
            output = ops.where(ops.expand_dims(_keep(query_mask), -1), output, 0.0)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, mask=None):
        return mask[0] if mask else None

    def compute_output_shape(self, input_shape, return_attention_scores=False):
        self._check_inputs(input_shape)
        query, value = tuple(input_shape[0]), tuple(input_shape[1])
        key = tuple(input_shape[2]) if len(input_shape) == 3 else value
        output = query[:-1] + value[-1:]
        return [output, query[:-1] + key[-2:-1]] if return_attention_scores else output

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class _HeadDense(Layer):
    """Keras' EinsumDense as MultiHeadAttention uses it: the last `n_in` axes of
    the input contract with the first `n_in` axes of the kernel; the other
    kernel axes (and the bias) are the output's last axes."""

    def __init__(self, kernel_shape, n_in, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                 bias_regularizer, kernel_constraint, bias_constraint, **kwargs):
        super().__init__(**kwargs)
        self.in_shape, self.out_shape = tuple(kernel_shape[:n_in]), tuple(kernel_shape[n_in:])
        self.kernel = self.add_weight("kernel", kernel_shape, initializer=kernel_initializer,
                                      regularizer=kernel_regularizer, constraint=kernel_constraint)
        self.bias = (self.add_weight("bias", self.out_shape, initializer=bias_initializer,
                                     regularizer=bias_regularizer, constraint=bias_constraint) if use_bias else None)
        self.built = True

    def call(self, inputs):
        n_in = len(self.in_shape)
        lead = tuple(inputs.shape[:-n_in])
        if tuple(inputs.shape[-n_in:]) != self.in_shape:
            raise ValueError(f"MultiHeadAttention projection '{self.name}': expected input ending in "
                             f"{self.in_shape}, got shape {tuple(inputs.shape)}")
        k_in, k_out = math.prod(self.in_shape), math.prod(self.out_shape)
        y = nn_ops.dense(ops.reshape(inputs, (-1, k_in)), ops.reshape(self.kernel, (k_in, k_out)),
                         None if self.bias is None else ops.reshape(self.bias, (k_out,)))
        return ops.reshape(y, lead + self.out_shape)


class MultiHeadAttention(Layer):
    """Multi-head attention as Keras: ``mha(query, value, key=None, ...)``.

    Each head projects query, key and value (kernels (dim, num_heads, key_dim)
    or (dim, num_heads, value_dim), biases (num_heads, key_dim or value_dim)), attends with
    softmax(q k^T / sqrt(key_dim)), and the output projection (kernel
    (num_heads, value_dim, out_dim), bias (out_dim,)) combines the heads.
    Weights are the sublayers query_dense, key_dense, value_dense,
    output_dense, in Keras' order.

    Call arguments: attention_mask (batch, Tq, Tk) (True attends),
    use_causal_mask, return_attention_scores (also returns the
    (batch, num_heads, Tq, Tk) weights), training (dropout on the weights);
    masks of the inputs (e.g. Embedding(mask_zero=True)) are used as Keras does."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, seed=None, use_gate=False, sliding_window=None, **kwargs):
        super().__init__(**kwargs)
        for what, v in (("num_heads", num_heads), ("key_dim", key_dim), ("value_dim", value_dim)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0):
                raise ValueError(f"MultiHeadAttention: {what} must be a positive integer. Received: {what}={v!r}")
        if use_gate or sliding_window is not None:
            raise ValueError(f"MultiHeadAttention: use_gate and sliding_window are not supported. Received: "
                             f"use_gate={use_gate}, sliding_window={sliding_window}")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = _check_dropout(dropout, "MultiHeadAttention")
        self.use_bias, self.seed = use_bias, seed
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self._output_shape = tuple(int(d) for d in output_shape) if output_shape else None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        self.attention_axes = None if attention_axes is None else tuple(int(a) for a in attention_axes)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.supports_masking = True

    def __call__(self, query, value=None, key=None, **kwargs):
        # The tensors travel as one list [query, value(, key)], so that masks and
        # Functional graphs (which replay a call with that list) see all of them.
        if value is None and isinstance(query, (list, tuple)) and 2 <= len(query) <= 3:
            inputs = list(query)
        elif value is None:
            raise ValueError(f"MultiHeadAttention '{self.name}': call it as mha(query, value) or "
                             f"mha(query, value, key)")
        else:
            inputs = [query, value] + ([] if key is None else [key])
        return super().__call__(inputs, **kwargs)

    # --- shapes ---------------------------------------------------------------
    def _shapes(self, input_shape):
        query, value = tuple(input_shape[0]), tuple(input_shape[1])
        key = tuple(input_shape[2]) if len(input_shape) == 3 else value
        if len(query) < 3 or len(value) != len(query) or len(key) != len(query) or key[:-1] != value[:-1]:
            raise ValueError(f"MultiHeadAttention '{self.name}': query, value and key must have the same rank (3 or "
                             f"more), and key and value the same shape but the last axis. Received: query={query}, "
                             f"value={value}, key={key}")
        return query, value, key

    def _axes(self, rank):
        """(other inner axes, attention axes) of an input of this rank: axes 1 .. rank - 2."""
        inner = range(1, rank - 1)
        attention = inner if self.attention_axes is None else sorted({a % rank for a in self.attention_axes})
        if not attention or any(a not in inner for a in attention):
            raise ValueError(f"MultiHeadAttention '{self.name}': attention_axes must be axes between the batch and "
                             f"the feature axis of rank-{rank} inputs. Received: attention_axes={self.attention_axes}")
        return [a for a in inner if a not in attention], list(attention)

    def build(self, input_shape):
        query, value, key = self._shapes(input_shape)
        self._axes(len(query))

        def dense(name, kernel_shape, n_in):
            return _HeadDense(kernel_shape, n_in, self.use_bias, self.kernel_initializer, self.bias_initializer,
                              self.kernel_regularizer, self.bias_regularizer, self.kernel_constraint,
                              self.bias_constraint, activity_regularizer=self._activity_regularizer,
                              dtype=self.dtype, name=name)

        heads = self.num_heads
        self.query_dense = dense("query", (query[-1], heads, self.key_dim), 1)
        self.key_dense = dense("key", (key[-1], heads, self.key_dim), 1)
        self.value_dense = dense("value", (value[-1], heads, self.value_dim), 1)
        self.output_dense = dense("attention_output", (heads, self.value_dim) + (self._output_shape or query[-1:]), 2)

    def compute_output_shape(self, input_shape, return_attention_scores=False):
        query, value, key = self._shapes(input_shape)
        output = query[:-1] + (self._output_shape or query[-1:])
        if not return_attention_scores:
            return output
        others, attention = self._axes(len(query))
        scores = (query[0], *(query[a] for a in others), self.num_heads, *(query[a] for a in attention),
                  *(key[a] for a in attention))
        return [output, scores]

    # --- call ------------------------------------------------------------------
    def call(self, inputs, mask=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        self._shapes([tuple(x.shape) for x in inputs])
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        masks = list(mask or []) + [None] * 3
        query_mask = query_mask if query_mask is not None else masks[0]
        value_mask = value_mask if value_mask is not None else masks[1]
        key_mask = key_mask if key_mask is not None else masks[2]

        keep = None if attention_mask is None else _keep(attention_mask)
        if query_mask is not None:
            keep = _and(keep, ops.expand_dims(_keep(query_mask), -1))
        for m in (value_mask, key_mask):
            if m is not None:
                keep = _and(keep, ops.expand_dims(_keep(m), -2))
        if use_causal_mask:
            keep = _and(keep, _causal_mask(query.shape[1], value.shape[1]))

        output, scores = self._attend(self.query_dense(query), self.key_dense(key), self.value_dense(value), keep,
                                      training)
        output = self.output_dense(output)
        return (output, scores) if return_attention_scores else output

    def _attend(self, query, key, value, keep, training):
        """softmax(q k^T / sqrt(key_dim)) v on projected (batch, *inner, heads, dim)
        tensors. The axes between batch and heads that are not attention axes
        join the batch, the attention axes flatten into one sequence axis:
        (batch', heads, T, dim), so each head is one batched matmul."""
        rank = query.ndim - 1  # of the layer's inputs
        others, attention = self._axes(rank)
        perm = [0, *others, rank - 1, *attention, rank]

        def to_heads(x):
            return ops.reshape(ops.transpose(x, perm), (-1, self.num_heads, math.prod(x.shape[a] for a in attention),
                                                        x.shape[-1]))

        q, k, v = to_heads(query * (1.0 / math.sqrt(self.key_dim))), to_heads(key), to_heads(value)
        scores = ops.matmul(q, k, transpose_b=True)  # (batch', heads, Tq, Tk)
        grouped = [query.shape[0], *(query.shape[a] for a in others), self.num_heads]
        shape = grouped + [query.shape[a] for a in attention] + [key.shape[a] for a in attention]
        if keep is not None:
            # Keras' Softmax(mask): masked scores become a large negative number,
            # their weights exactly 0. The mask gets the heads axis before Tq.
            while keep.ndim < len(shape):
                keep = ops.expand_dims(keep, -2 * len(attention) - 1)
            scores = ops.reshape(ops.where(keep, ops.reshape(scores, shape), -_LARGE_NEGATIVE), scores.shape)
        weights = ops.reshape(nn.softmax(scores), shape)
        if keep is not None:
            weights = ops.where(keep, weights, 0.0)
        dropped = nn.dropout(weights, self.dropout, seed=self.seed) if training and self.dropout > 0 else weights
        output = ops.matmul(ops.reshape(dropped, scores.shape), v)  # (batch', heads, Tq, value_dim)
        output = ops.reshape(output, grouped + [query.shape[a] for a in attention] + [self.value_dim])
        return ops.transpose(output, np.argsort(perm)), weights

    def compute_mask(self, inputs, mask=None):
        return mask[0] if mask else None

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": None if self._output_shape is None else list(self._output_shape),
                "attention_axes": None if self.attention_axes is None else list(self.attention_axes),
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self._activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint), "seed": self.seed}
