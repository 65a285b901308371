"""Fuzzing: every public op and layer is called with random (often invalid)
arguments: shapes, dtypes, strides, axes, strings, None. A call must either
return tensors or raise ValueError / TypeError / IndexError — never crash,
hang or raise anything else."""
import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinytf as tf
from tinytf import layers

ALLOWED = (ValueError, TypeError, IndexError, NotImplementedError)
DTYPES = ["float32", "float64", "int32", "int64", "bool", "uint8"]


@st.composite
def tensors(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    dtype = draw(st.sampled_from(DTYPES))
    a = np.random.default_rng(draw(st.integers(0, 1000))).normal(size=shape) * 3
    a = a.astype(dtype) if dtype != "bool" else a > 0
    t = tf.constant(a)
    if draw(st.booleans()) and t.ndim >= 2:
        t = tf.transpose(t)  # a non-contiguous view
    return t


CHAOS = st.one_of(
    tensors(), tensors(), tensors(),
    st.integers(-5, 5), st.floats(-3, 3, allow_nan=False), st.none(), st.booleans(),
    st.sampled_from(["SAME", "VALID", "same", "bogus", "REFLECT", "float32", ""]),
    st.lists(st.integers(-3, 4), max_size=4), st.lists(st.lists(st.integers(-1, 3), min_size=2, max_size=2), max_size=4),
)

OPS = sorted(tf.ops.OPS.items())


def returns_tensors(out):
    if isinstance(out, (list, tuple)):
        return all(returns_tensors(o) for o in out)
    return isinstance(out, tf.Tensor)


@pytest.mark.parametrize("name,fn", OPS, ids=[n for n, _ in OPS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_ops_raise_clear_errors_on_random_arguments(name, fn, data):
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "name"]
    args, kwargs = [], {}
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            args += data.draw(st.lists(CHAOS, max_size=3))
        elif p.kind == p.VAR_KEYWORD:
            continue
        elif p.default is inspect.Parameter.empty or data.draw(st.booleans()):
            value = data.draw(CHAOS)
            if p.default is inspect.Parameter.empty and p.kind != p.KEYWORD_ONLY:
                args.append(value)
            else:
                kwargs[p.name] = value
    try:
        out = fn(*args, **kwargs)
    except ALLOWED:
        return
    assert returns_tensors(out), f"{name} returned {type(out).__name__}"


LAYERS = [layers.Dense, layers.Conv2D, layers.MaxPooling2D, layers.AveragePooling2D, layers.GlobalAveragePooling2D,
          layers.GlobalMaxPooling2D, layers.BatchNormalization, layers.LayerNormalization, layers.Dropout,
          layers.Flatten, layers.Reshape, layers.Activation, layers.Conv1D, layers.Conv2DTranspose,
          layers.MaxPooling1D, layers.AveragePooling1D, layers.GlobalAveragePooling1D, layers.GlobalMaxPooling1D,
          layers.UpSampling2D, layers.ZeroPadding2D, layers.Cropping2D]


@pytest.mark.parametrize("cls", LAYERS, ids=[c.__name__ for c in LAYERS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_layers_raise_clear_errors_on_random_arguments_and_inputs(cls, data):
    params = [p for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
              if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    kwargs = {}
    for p in params:
        if p.default is inspect.Parameter.empty or data.draw(st.integers(0, 3)) == 0:
            kwargs[p.name] = data.draw(st.one_of(st.integers(-2, 5), st.sampled_from(["relu", "same", "valid", "x"]),
                                                 st.lists(st.integers(-1, 4), max_size=3), st.none()))
    try:
        layer = cls(**kwargs)
    except ALLOWED:
        return
    x = data.draw(tensors())
    try:
        out = layer(x, training=data.draw(st.booleans()))
    except ALLOWED:
        return
    assert returns_tensors(out)
