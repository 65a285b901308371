"""Elementwise math, comparisons, reductions and matmul. Each op is defined
once: its kernel and, next to it, its gradient written with tinytf ops."""
from .. import _dtypes
from .._tensor import ones_like, zeros_like  # noqa: F401
from ._base import (Tensor, _core, _wrap, active, as_dtype, as_tensor, binary_args, float_only, normalize_axis,
                    record, recording, register)

U, B, R = _core.Unary, _core.Binary, _core.Reduce


# --- unary -------------------------------------------------------------------

def _unary(name, kind, grad=None, float_input=True):
    """Defines op `name` = kernel `kind`; grad(x, y, dy) -> dx, or None if not differentiable."""

    def op(x, name=None):
        x = as_tensor(x)
        if float_input:
            float_only(x, op.__name__)
        y = _wrap(_core.unary(kind, x._t))
        if grad is not None and active():
            record((x,), y, lambda dy, needs: (grad(x, y, dy),))
        return y

    op.__name__ = op.__qualname__ = name
    return register(op)


negative = _unary("negative", U.neg, lambda x, y, dy: negative(dy), float_input=False)
abs = _unary("abs", U.abs, lambda x, y, dy: dy * sign(x), float_input=False)  # noqa: A001
sign = _unary("sign", U.sign, float_input=False)
square = _unary("square", U.square, lambda x, y, dy: dy * (x * 2), float_input=False)
sqrt = _unary("sqrt", U.sqrt, lambda x, y, dy: dy * 0.5 / y)
rsqrt = _unary("rsqrt", U.rsqrt, lambda x, y, dy: dy * -0.5 * y * y * y)
exp = _unary("exp", U.exp, lambda x, y, dy: dy * y)
expm1 = _unary("expm1", U.expm1, lambda x, y, dy: dy * (y + 1))
log = _unary("log", U.log, lambda x, y, dy: dy / x)
log1p = _unary("log1p", U.log1p, lambda x, y, dy: dy / (x + 1))
reciprocal = _unary("reciprocal", U.reciprocal, lambda x, y, dy: negative(dy * y * y))
sin = _unary("sin", U.sin, lambda x, y, dy: dy * cos(x))
cos = _unary("cos", U.cos, lambda x, y, dy: negative(dy * sin(x)))
floor = _unary("floor", U.floor)
ceil = _unary("ceil", U.ceil)
round = _unary("round", U.round)  # noqa: A001  (half to even, as tf.round)
logical_not = _unary("logical_not", U.logical_not, float_input=False)


def activation_grad(kind, x, dy, alpha=0.0, order=1):
    """dy * f'(x) for a fused activation (or f''(x) with order=2): one C++
    pass. Differentiable itself, so activations have second derivatives."""
    dx = _wrap(_core.unary_grad(kind, x._t, dy._t, alpha, order))
    if active():
        def backward(g, needs):
            gx = activation_grad(kind, x, dy * g, alpha, order + 1) if needs[0] else None
            gdy = activation_grad(kind, x, g, alpha, order) if needs[1] else None
            return gx, gdy

        record((x, dy), dx, backward)
    return dx


def _activation(name, kind, alpha_arg=None, alpha_default=0.0):
    """An activation whose derivative is the fused kernel above."""

    def op(features, *args, name=None, **kwargs):
        x = as_tensor(features)
        float_only(x, op.__name__)
        alpha = float(kwargs.get(alpha_arg, args[0] if args else alpha_default)) if alpha_arg else 0.0
        y = _wrap(_core.unary(kind, x._t, alpha))
        if active():
            record((x,), y, lambda dy, needs: (activation_grad(kind, x, dy, alpha),))
        return y

    op.__name__ = op.__qualname__ = name
    return op


erf = register(_activation("erf", U.erf))


# --- binary ------------------------------------------------------------------

def unbroadcast(g, shape):
    """Sums a gradient of a broadcast result back to an input's shape."""
    if g is None or tuple(g._t.shape) == tuple(shape):
        return g
    return _sum_to_shape(g, tuple(shape))


def _sum_to_shape(g, shape):
    y = _wrap(_core.sum_to_shape(g._t, list(shape)))
    if active():
        record((g,), y, lambda dy, needs: (broadcast_to(dy, g.shape),))
    return y


@register
def broadcast_to(input, shape, name=None):
    x = as_tensor(input)
    shape = tuple(int(d) for d in shape)
    if tuple(x.shape) == shape:
        return x
    y = _wrap(x._t.expand(list(shape)).contiguous())
    if active():
        record((x,), y, lambda dy, needs: (_sum_to_shape(dy, tuple(x.shape)),))
    return y


def _binary(name, kind, grad=None, public=True):
    """Defines op `name` = kernel `kind`; grad(x, y, z, dz) -> (dx, dy) before un-broadcasting."""

    def op(x, y, name=None):
        x, y = binary_args(x, y, op.__name__)
        z = _wrap(_core.binary(kind, x._t, y._t))
        if grad is not None and active():
            def backward(dz, needs):
                gx, gy = grad(x, y, z, dz)
                return (unbroadcast(gx, x.shape) if needs[0] else None, unbroadcast(gy, y.shape) if needs[1] else None)

            record((x, y), z, backward)
        return z

    op.__name__ = op.__qualname__ = name
    return register(op) if public else op


add = _binary("add", B.add, lambda x, y, z, dz: (dz, dz))
subtract = _binary("subtract", B.subtract, lambda x, y, z, dz: (dz, negative(dz)))
multiply = _binary("multiply", B.multiply, lambda x, y, z, dz: (dz * y, dz * x))
_divide = _binary("divide", B.divide, lambda x, y, z, dz: (dz / y, negative(dz * z / y)), public=False)
maximum = _binary("maximum", B.maximum,
                  lambda x, y, z, dz: (where(x >= y, dz, 0.0), where(x >= y, 0.0, dz)))
minimum = _binary("minimum", B.minimum,
                  lambda x, y, z, dz: (where(x <= y, dz, 0.0), where(x <= y, 0.0, dz)))
squared_difference = _binary("squared_difference", B.squared_difference,
                             lambda x, y, z, dz: (dz * (x - y) * 2, dz * (y - x) * 2))
floordiv = _binary("floordiv", B.floordiv)
floormod = _binary("floormod", B.floormod, lambda x, y, z, dz: (dz, negative(dz * floordiv(x, y))))
pow = _binary("pow", B.pow, lambda x, y, z, dz: (
    dz * y * pow(x, y - 1),
    dz * z * where(x > 0, log(where(x > 0, x, 1.0)), 0.0)))  # noqa: A001
less = _binary("less", B.less)
less_equal = _binary("less_equal", B.less_equal)
greater = _binary("greater", B.greater)
greater_equal = _binary("greater_equal", B.greater_equal)
equal = _binary("equal", B.equal)
not_equal = _binary("not_equal", B.not_equal)
logical_and = _binary("logical_and", B.logical_and)
logical_or = _binary("logical_or", B.logical_or)
logical_xor = _binary("logical_xor", B.logical_xor)


@register
def divide(x, y, name=None):
    """True division; integer operands are computed in float64, as tf.divide."""
    x, y = binary_args(x, y, "divide")
    if not x.dtype.is_floating:
        x, y = cast(x, _dtypes.float64), cast(y, _dtypes.float64)
    return _divide(x, y)


truediv = divide


@register
def where(condition, x=None, y=None, name=None):
    """Elements of x where condition is true, else of y (all three broadcast)."""
    c = as_tensor(condition)
    if x is None or y is None:
        raise ValueError("where: x and y must both be given (the one-argument form is not supported)")
    x, y = binary_args(x, y, "where")
    if c.dtype != _dtypes.bool:
        raise TypeError(f"where: condition must be a bool tensor, got {c.dtype.name}")
    z = _wrap(_core.where(c._t, x._t, y._t))
    if active():
        def backward(dz, needs):
            zero = zeros_like(dz)
            return (None,
                    unbroadcast(where(c, dz, zero), x.shape) if needs[1] else None,
                    unbroadcast(where(c, zero, dz), y.shape) if needs[2] else None)

        record((c, x, y), z, backward)
    return z


@register
def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    return minimum(maximum(t, clip_value_min), clip_value_max)


@register
def add_n(inputs, name=None):
    if not inputs:
        raise ValueError("add_n: expected a non-empty list of tensors")
    total = as_tensor(inputs[0])
    for t in inputs[1:]:
        total = add(total, t)
    return total


@register
def cast(x, dtype, name=None):
    x = as_tensor(x)
    dtype = as_dtype(dtype)
    if x.dtype == dtype:
        return x
    y = _wrap(x._t.to(dtype._core))
    if active() and x.dtype.is_floating and dtype.is_floating:
        record((x,), y, lambda dy, needs: (cast(dy, x.dtype),))
    return y


# --- reductions ----------------------------------------------------------------

def _expand_reduced(g, x, axes, keepdims):
    """Reshapes the gradient of a reduction so it broadcasts against x."""
    if not keepdims:
        shape = list(x.shape)
        for a in axes:
            shape[a] = 1
        g = reshape(g, shape) if recording() else _wrap(g._t.reshape(shape))
    return g


def _spread(g, x, scale=None):
    """g (shaped to broadcast against x), divided by `scale`, copied to x's shape:
    the gradient of a sum or mean. Straight on the core when no tape records the
    backward pass (every training step): the ops below cost ~15 us more."""
    if recording():
        return broadcast_to(g if scale is None else g / scale, x.shape)
    t = g._t if scale is None else _core.binary(B.divide, g._t, _core.full([], scale, g._t.dtype))
    return g if scale is None and tuple(t.shape) == tuple(x.shape) else _wrap(t.expand(list(x.shape)).contiguous())


def _reduce(name, kind, grad=None, dtype_check=None):
    def op(input_tensor, axis=None, keepdims=False, name=None):
        x = as_tensor(input_tensor)
        if dtype_check:
            dtype_check(x, op.__name__)
        axes = normalize_axis(axis, x.ndim, op.__name__)
        y = _wrap(_core.reduce(kind, x._t, axes, bool(keepdims)))
        if grad is not None and active():
            record((x,), y, lambda dy, needs: (grad(x, y, _expand_reduced(dy, x, axes, keepdims), axes, keepdims),))
        return y

    op.__name__ = op.__qualname__ = name
    return register(op)


def _extremum_grad(x, y, dy, axes, keepdims):
    # Ties share the gradient equally, as TensorFlow does.
    mask = cast(equal(x, _expand_reduced(y, x, axes, keepdims)), x.dtype)
    return mask * dy / reduce_sum(mask, axes, keepdims=True)


def _prod_grad(x, y, dy, axes, keepdims):
    # d prod / d x_i = product of the others, also when some x_j are zero.
    is_zero = equal(x, 0.0)
    nonzero = where(is_zero, ones_like(x), x)
    prod_nonzero = reduce_prod(nonzero, axes, keepdims=True)
    zeros = reduce_sum(cast(is_zero, x.dtype), axes, keepdims=True)
    others = where(is_zero, where(equal(zeros, 1.0), prod_nonzero, 0.0), where(equal(zeros, 0.0), prod_nonzero / nonzero, 0.0))
    return dy * others


def _count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def _bool_only(x, op):
    if x.dtype != _dtypes.bool:
        raise TypeError(f"{op}: expected a bool tensor, got {x.dtype.name}")


reduce_sum = _reduce("reduce_sum", R.sum, lambda x, y, dy, axes, k: _spread(dy, x))
reduce_mean = _reduce("reduce_mean", R.mean, lambda x, y, dy, axes, k: _spread(dy, x, float(max(_count(x, axes), 1))))
reduce_max = _reduce("reduce_max", R.max, _extremum_grad)
reduce_min = _reduce("reduce_min", R.min, _extremum_grad)
reduce_prod = _reduce("reduce_prod", R.prod, _prod_grad)
reduce_any = _reduce("reduce_any", R.any, dtype_check=_bool_only)
reduce_all = _reduce("reduce_all", R.all, dtype_check=_bool_only)


def _arg(name, is_max):
    def op(input, axis=None, output_type=_dtypes.int64, name=None):
        x = as_tensor(input)
        ax = 0 if axis is None else normalize_axis(axis, x.ndim, op.__name__)
        if isinstance(ax, list):
            if len(ax) != 1:
                raise ValueError(f"{op.__name__}: axis must be a single int, got {axis!r}")
            ax = ax[0]
        return _wrap(_core.arg_reduce(is_max, x._t, ax, as_dtype(output_type)._core))

    op.__name__ = op.__qualname__ = name
    return register(op)


argmax = _arg("argmax", True)
argmin = _arg("argmin", False)


# --- matmul ----------------------------------------------------------------------

@register
def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """Batched matrix product of rank >= 2 tensors, batch dims broadcast."""
    a, b = binary_args(a, b, "matmul")
    float_only(a, "matmul")
    ta, tb = bool(transpose_a), bool(transpose_b)
    c = _wrap(_core.matmul(a._t, b._t, ta, tb))
    if active():
        def backward(dc, needs):
            # The four cases of TensorFlow's MatMul gradient.
            if not ta and not tb:
                ga, gb = (lambda: matmul(dc, b, transpose_b=True)), (lambda: matmul(a, dc, transpose_a=True))
            elif not ta and tb:
                ga, gb = (lambda: matmul(dc, b)), (lambda: matmul(dc, a, transpose_a=True))
            elif ta and not tb:
                ga, gb = (lambda: matmul(b, dc, transpose_b=True)), (lambda: matmul(a, dc))
            else:
                ga, gb = (lambda: matmul(b, dc, True, True)), (lambda: matmul(dc, a, True, True))
            return (unbroadcast(ga(), a.shape) if needs[0] else None, unbroadcast(gb(), b.shape) if needs[1] else None)

        record((a, b), c, backward)
    return c


from .array_ops import reshape  # noqa: E402  (array_ops imports this module)
