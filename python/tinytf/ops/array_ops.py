"""Shape and data-movement ops: reshape, transpose, slicing, concat/stack/
split, tile, ... Most are views on the input's memory (no copy)."""
import builtins

import numpy as np

from .. import _dtypes
from .._tensor import normalize_shape
from ._base import Tensor, _core, _wrap, active, as_tensor, normalize_axis, record, register


@register
def reshape(tensor, shape, name=None):
    x = as_tensor(tensor)
    if isinstance(shape, Tensor):
        shape = shape.numpy().tolist()
    shape = [int(d) for d in ([shape] if isinstance(shape, (int, np.integer)) else shape)]
    y = _wrap(x._t.reshape(shape))
    if active():
        record((x,), y, lambda dy, needs: (reshape(dy, x.shape),))
    return y


@register
def transpose(a, perm=None, conjugate=False, name=None):
    x = as_tensor(a)
    perm = list(reversed(range(x.ndim))) if perm is None else [int(p) for p in perm]
    y = _wrap(x._t.permute(perm))
    if active():
        inverse = list(np.argsort([p % x.ndim if x.ndim else 0 for p in perm]))
        record((x,), y, lambda dy, needs: (transpose(dy, inverse),))
    return y


@register
def expand_dims(input, axis, name=None):
    x = as_tensor(input)
    axis = int(axis)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"expand_dims: axis {axis} is out of range for a tensor of rank {x.ndim}")
    shape = list(x.shape)
    shape.insert(axis + x.ndim + 1 if axis < 0 else axis, 1)
    return reshape(x, shape)


@register
def squeeze(input, axis=None, name=None):
    x = as_tensor(input)
    if axis is None:
        shape = [d for d in x.shape if d != 1]
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: cannot squeeze axis {a} of size {x.shape[a]} (shape {tuple(x.shape)})")
        shape = [d for i, d in enumerate(x.shape) if i not in axes]
    return reshape(x, shape)


@register
def identity(input, name=None):
    x = as_tensor(input)
    y = _wrap(x._t)
    if active():
        record((x,), y, lambda dy, needs: (dy,))
    return y


@register
def stop_gradient(input, name=None):
    """The same values, never recorded: no gradient flows through it."""
    return _wrap(as_tensor(input)._t)


# --- slicing -------------------------------------------------------------------

def _view(x, starts, lengths, steps, shape):
    """The strided view of x, reshaped to `shape`, with its gradient."""
    y = _wrap(_core.strided_view(x._t, starts, lengths, steps).reshape(shape))
    if active():
        record((x,), y, lambda dy, needs: (_unslice(dy, x.shape, starts, lengths, steps),))
    return y


def _unslice(dy, shape, starts, lengths, steps):
    """Gradient of a slice: dy written into zeros of the input's shape."""
    out = _core.zeros(list(shape), dy.dtype._core)
    view = _core.strided_view(out, starts, lengths, steps)
    _core.copy_into(view, dy._t.reshape(list(view.shape)))
    g = _wrap(out)
    if active():
        record((dy,), g, lambda gg, needs: (_view(gg, starts, lengths, steps, list(dy.shape)),))
    return g


def getitem(x, key):
    """Basic indexing as TensorFlow: ints, slices, Ellipsis and None (newaxis)."""
    x = as_tensor(x)
    key = key if isinstance(key, tuple) else (key,)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > x.ndim:
        raise IndexError(f"too many indices for a tensor of rank {x.ndim}: {key!r}")
    starts, lengths, steps, shape = [], [], [], []
    dim = 0
    for k in key:
        if k is Ellipsis:
            for _ in range(x.ndim - n_real):
                starts.append(0), lengths.append(x.shape[dim]), steps.append(1), shape.append(x.shape[dim])
                dim += 1
        elif k is None:
            shape.append(1)
        elif isinstance(k, slice):
            start, stop, step = k.indices(x.shape[dim])
            n = len(range(start, stop, step))
            starts.append(start if n else 0), lengths.append(n), steps.append(step), shape.append(n)
            dim += 1
        else:
            if isinstance(k, Tensor):
                if k.ndim != 0 or not k.dtype.is_integer:
                    raise TypeError(f"only scalar integer tensors can be used as indices, got {k.dtype.name} {tuple(k.shape)}")
                k = int(k)
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
                raise TypeError(
                    f"only integers, slices, Ellipsis, None and scalar int tensors are valid indices, got {k!r}")
            size = x.shape[dim]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for axis {dim} with size {size}")
            starts.append(int(k) % size), lengths.append(1), steps.append(1)
            dim += 1
    while dim < x.ndim:
        starts.append(0), lengths.append(x.shape[dim]), steps.append(1), shape.append(x.shape[dim])
        dim += 1
    return _view(x, starts, lengths, steps, shape)


def _axis_view(x, axis, start, length):
    starts = [0] * x.ndim
    lengths = list(x.shape)
    starts[axis], lengths[axis] = start, length
    return starts, lengths, [1] * x.ndim


# --- joining and splitting -------------------------------------------------------

@register
def concat(values, axis, name=None):
    xs = [as_tensor(v) for v in values]
    if not xs:
        raise ValueError("concat: expected a non-empty list of tensors")
    x0 = xs[0]
    ax = normalize_axis(axis, x0.ndim, "concat")[0] if x0.ndim else None
    if ax is None:
        raise ValueError("concat: cannot concatenate scalars (use stack)")
    for i, x in enumerate(xs):
        if x.dtype != x0.dtype:
            raise TypeError(f"concat: tensor {i} has dtype {x.dtype.name}, tensor 0 has {x0.dtype.name}")
        if x.ndim != x0.ndim or any(a != b for d, (a, b) in enumerate(zip(x.shape, x0.shape)) if d != ax):
            raise ValueError(f"concat: tensor {i} has shape {tuple(x.shape)}, incompatible with tensor 0's "
                             f"{tuple(x0.shape)} along axes other than {ax}")
    shape = list(x0.shape)
    shape[ax] = builtins.sum(x.shape[ax] for x in xs)
    out = _core.empty(shape, x0.dtype._core)
    offsets, pos = [], 0
    for x in xs:
        offsets.append(pos)
        _core.copy_into(_core.strided_view(out, *_axis_view(x, ax, pos, x.shape[ax])), x._t)
        pos += x.shape[ax]
    y = _wrap(out)
    if active():
        def backward(dy, needs):
            return tuple(_view(dy, *_axis_view(dy, ax, off, x.shape[ax]), list(x.shape)) if need else None
                         for x, off, need in zip(xs, offsets, needs))

        record(tuple(xs), y, backward)
    return y


@register
def stack(values, axis=0, name=None):
    xs = [as_tensor(v) for v in values]
    if not xs:
        raise ValueError("stack: expected a non-empty list of tensors")
    rank = xs[0].ndim
    if not -rank - 1 <= axis <= rank:
        raise ValueError(f"stack: axis {axis} is out of range for tensors of rank {rank}")
    axis = axis + rank + 1 if axis < 0 else axis
    for i, x in enumerate(xs):
        if tuple(x.shape) != tuple(xs[0].shape):
            raise ValueError(f"stack: tensor {i} has shape {tuple(x.shape)}, tensor 0 has {tuple(xs[0].shape)}")
    return concat([expand_dims(x, axis) for x in xs], axis)


@register
def split(value, num_or_size_splits, axis=0, num=None, name=None):
    x = as_tensor(value)
    ax = normalize_axis(axis, x.ndim, "split")[0]
    n = x.shape[ax]
    if isinstance(num_or_size_splits, (int, np.integer)):
        k = int(num_or_size_splits)
        if k <= 0 or n % k:
            raise ValueError(f"split: dimension {ax} of size {n} cannot be split into {k} equal parts")
        sizes = [n // k] * k
    else:
        sizes = [int(s) for s in num_or_size_splits]
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = n - (builtins.sum(sizes) + 1)
        if builtins.sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {list(num_or_size_splits)} do not add up to dimension {ax} of size {n}")
    out, pos = [], 0
    for s in sizes:
        shape = list(x.shape)
        shape[ax] = s
        out.append(_view(x, *_axis_view(x, ax, pos, s), shape))
        pos += s
    return out


@register
def unstack(value, num=None, axis=0, name=None):
    x = as_tensor(value)
    ax = normalize_axis(axis, x.ndim, "unstack")[0]
    shape = [d for i, d in enumerate(x.shape) if i != ax]
    return [_view(x, *_axis_view(x, ax, i, 1), shape) for i in range(x.shape[ax])]


@register
def tile(input, multiples, name=None):
    """Repeats the tensor `multiples[i]` times along axis i."""
    x = as_tensor(input)
    m = normalize_shape(multiples, "tile: multiples")
    if len(m) != x.ndim:
        raise ValueError(f"tile: expected {x.ndim} multiples for shape {tuple(x.shape)}, got {list(m)}")
    y = _wrap(_core.tile(x._t, list(m)))
    if active():
        def backward(dy, needs):
            from .math_ops import reduce_sum

            interleaved = [v for k, d in zip(m, x.shape) for v in (k, d)]
            return (reduce_sum(reshape(dy, interleaved), list(range(0, 2 * x.ndim, 2))),)

        record((x,), y, backward)
    return y


# --- shape queries -----------------------------------------------------------------

@register
def shape(input, out_type=_dtypes.int32, name=None):
    from .._tensor import constant

    return constant(np.array(as_tensor(input).shape, dtype=_dtypes.as_dtype(out_type).dtype))


@register
def size(input, out_type=_dtypes.int32, name=None):
    from .._tensor import constant

    return constant(np.array(as_tensor(input)._t.size, dtype=_dtypes.as_dtype(out_type).dtype))


@register
def rank(input, name=None):
    from .._tensor import constant

    return constant(np.int32(as_tensor(input).ndim))


# --- gather, one_hot, pad (C++ kernels) ------------------------------------------------

@register
def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """tf.gather: slices of `params` along `axis` at `indices` (out-of-range raises)."""
    p, idx = as_tensor(params), as_tensor(indices)
    if not idx.dtype.is_integer:
        raise TypeError(f"gather: indices must be int32 or int64, got {idx.dtype.name}")
    y = _wrap(_core.gather(p._t, idx._t, axis, batch_dims))
    if active() and p.dtype.is_floating:
        record((p, idx), y, lambda dy, needs: (_gather_grad(dy, idx, tuple(p.shape), axis, batch_dims), None))
    return y


def _gather_grad(dy, idx, shape, axis, batch_dims):
    """Dense scatter-add of dy into zeros of the params' shape (the embedding gradient)."""
    g = _wrap(_core.gather_backward(dy._t, idx._t, list(shape), axis, batch_dims))
    if active():
        record((dy,), g, lambda gg, needs: (gather(gg, idx, axis=axis, batch_dims=batch_dims),))
    return g


@register
def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    idx = as_tensor(indices)
    if not idx.dtype.is_integer:
        raise TypeError(f"one_hot: indices must be integers, got {idx.dtype.name}")
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise ValueError(f"one_hot: depth must be a non-negative int, got {depth!r}")
    dt = _dtypes.as_dtype(dtype or "float32")
    return _wrap(_core.one_hot(idx._t, int(depth), 1.0 if on_value is None else float(on_value),
                               0.0 if off_value is None else float(off_value), -1 if axis is None else int(axis),
                               dt._core))


@register
def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """tf.pad with CONSTANT, REFLECT or SYMMETRIC mode."""
    x = as_tensor(tensor)
    pads = np.asarray(paddings.numpy() if isinstance(paddings, Tensor) else paddings, dtype=np.int64).reshape(-1, 2)
    mode = str(mode).upper()
    y = _wrap(_core.pad(x._t, pads.tolist(), mode, float(constant_values)))
    if active():
        record((x,), y, lambda dy, needs: (_pad_grad(dy, x.shape, pads, mode),))
    return y


def _pad_grad(dy, shape, pads, mode):
    if mode == "CONSTANT":
        starts = [int(b) for b, _ in pads]
        return _view(dy, starts, list(shape), [1] * len(shape), list(shape))
    # Mirror modes: per axis, the centre plus the mirrored borders folded back.
    g = dy
    for a, (before, after) in enumerate(pads):
        n = shape[a]
        if before == 0 and after == 0:
            continue
        pieces = split(g, [int(before), n, int(after)], axis=a)
        total = pieces[1]
        shift = 1 if mode == "REFLECT" else 0
        for piece, offset in ((pieces[0], shift), (pieces[2], n - shift - int(after))):
            if piece.shape[a] == 0:
                continue
            rev = getitem(piece, tuple([slice(None)] * a + [slice(None, None, -1)]))
            widths = [[0, 0]] * len(shape)
            widths[a] = [offset, n - offset - piece.shape[a]]
            total = total + pad(rev, widths)
        g = total
    return g
