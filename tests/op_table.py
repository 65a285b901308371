"""The op table: one entry per public op of tinytf / tinytf.nn, with a
sample-input strategy (hypothesis) and an independent numpy reference.
test_ops.py runs every entry forward (vs numpy) and, for differentiable
ops, backward (vs central finite differences in float64)."""
import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinytf as tf

_erf = np.vectorize(math.erf, otypes=[np.float64])


class Case:
    def __init__(self, name, ref, inputs, fn=None, grad=True, kwargs=None, rtol=1e-5, atol=1e-6):
        self.name = name
        self.ref = ref
        self.inputs = inputs  # strategy of (list of numpy arrays, kwargs)
        self.fn = fn
        self.grad = grad
        self.kwargs = kwargs or {}
        self.rtol, self.atol = rtol, atol

    def tt(self):
        return self.fn or getattr(tf, self.name, None) or getattr(tf.nn, self.name)


# --- input strategies -------------------------------------------------------------

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
NONEMPTY = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def values(shape, seed, low=-2.0, high=2.0, dtype=np.float64):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


SEEDS = st.integers(0, 2**31)


@st.composite
def unary(draw, low=-2.0, high=2.0, shapes=SHAPES, dtype=np.float64):
    return [values(draw(shapes), draw(SEEDS), low, high, dtype)], {}


@st.composite
def binary(draw, low=-2.0, high=2.0, low2=None, high2=None, dtype=np.float64):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=0, max_side=4)).input_shapes
    seed_a, seed_b = draw(SEEDS), draw(SEEDS)
    a = values(shapes[0], seed_a, low, high, dtype)
    # distinct seeds: no ties, where maximum/minimum have no derivative
    b = values(shapes[1], seed_b + (seed_a == seed_b), low if low2 is None else low2, high if high2 is None else high2, dtype)
    return [a, b], {}


@st.composite
def ints_binary(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=0, max_side=4)).input_shapes
    rng = np.random.default_rng(draw(SEEDS))
    dtype = draw(st.sampled_from([np.int32, np.int64, np.float64]))
    return [rng.integers(-3, 4, shapes[0]).astype(dtype), rng.integers(-3, 4, shapes[1]).astype(dtype)], {}


@st.composite
def divisor_binary(draw):  # floordiv / floormod: ints and floats, no zero divisors
    [a, b], _ = draw(ints_binary())
    b = np.where(b == 0, 2, b).astype(b.dtype)
    if a.dtype.kind == "f":
        rng = np.random.default_rng(draw(SEEDS))
        a = np.asarray(a + rng.uniform(0.1, 0.9, a.shape))
    return [a, b], {}


@st.composite
def bools(draw, n=1):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3, min_side=0, max_side=4)).input_shapes
    rng = np.random.default_rng(draw(SEEDS))
    return [rng.random(s) < 0.5 for s in shapes], {}


@st.composite
def reduction(draw, dtype=np.float64):
    shape = draw(SHAPES)
    x = values(shape, draw(SEEDS), dtype=dtype) if dtype != bool else np.random.default_rng(draw(SEEDS)).random(shape) < 0.5
    nd = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1) if nd else st.none(),
                          st.lists(st.integers(0, nd - 1), unique=True) if nd else st.none()))
    return [x], {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def nonempty_reduction(draw):
    shape = draw(NONEMPTY)
    nd = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1), st.lists(st.integers(0, nd - 1), min_size=1, unique=True)))
    return [values(shape, draw(SEEDS))], {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def matmuls(draw):
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(0, 5)), draw(st.integers(1, 5))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    ta, tb = draw(st.booleans()), draw(st.booleans())
    a = values(batch[0] + ((k, m) if ta else (m, k)), draw(SEEDS))
    b = values(batch[1] + ((n, k) if tb else (k, n)), draw(SEEDS))
    return [a, b], {"transpose_a": ta, "transpose_b": tb}


@st.composite
def arg_reduction(draw):
    shape = draw(NONEMPTY)
    return [values(shape, draw(SEEDS))], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def reshapes(draw):
    shape = draw(SHAPES)
    n = int(np.prod(shape))
    new = [d for d in draw(st.permutations(list(shape)))] if n else list(shape)
    if draw(st.booleans()) and new and n:
        new[draw(st.integers(0, len(new) - 1))] = -1
    return [values(shape, draw(SEEDS))], {"shape": new}


@st.composite
def transposes(draw):
    shape = draw(SHAPES)
    return [values(shape, draw(SEEDS))], {"perm": draw(st.permutations(list(range(len(shape)))))}


@st.composite
def expand_dims_case(draw):
    shape = draw(SHAPES)
    return [values(shape, draw(SEEDS))], {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def squeeze_case(draw):
    shape = list(draw(SHAPES))
    for _ in range(draw(st.integers(0, 2))):
        shape.insert(draw(st.integers(0, len(shape))), 1)
    ones = [i for i, d in enumerate(shape) if d == 1]
    axis = draw(st.one_of(st.none(), st.lists(st.sampled_from(ones), unique=True, min_size=1) if ones else st.none()))
    return [values(tuple(shape), draw(SEEDS))], {"axis": axis}


@st.composite
def concat_case(draw, same=False):
    shape = list(draw(NONEMPTY))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    arrays = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(shape)
        if not same:
            s[axis] = draw(st.integers(0, 3))
        arrays.append(values(tuple(s), draw(SEEDS)))
    return arrays, {"axis": axis}


@st.composite
def split_case(draw):
    shape = list(draw(NONEMPTY))
    axis = draw(st.integers(0, len(shape) - 1))
    k = draw(st.sampled_from([d for d in range(1, shape[axis] + 1) if shape[axis] % d == 0]))
    return [values(tuple(shape), draw(SEEDS))], {"num_or_size_splits": k, "axis": axis}


@st.composite
def tile_case(draw):
    shape = draw(SHAPES)
    return [values(shape, draw(SEEDS))], {"multiples": [draw(st.integers(0, 3)) for _ in shape]}


@st.composite
def broadcast_case(draw):
    shape = draw(SHAPES)
    target = draw(hnp.broadcastable_shapes(shape, max_dims=4, max_side=4).map(lambda s: np.broadcast_shapes(s, shape)))
    return [values(shape, draw(SEEDS))], {"shape": target}


@st.composite
def where_case(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, min_side=0, max_side=4)).input_shapes
    rng = np.random.default_rng(draw(SEEDS))
    return [rng.random(shapes[0]) < 0.5, values(shapes[1], draw(SEEDS)), values(shapes[2], draw(SEEDS))], {}


@st.composite
def bias_add_case(draw):
    shape = draw(NONEMPTY)
    return [values(shape, draw(SEEDS)), values(shape[-1:], draw(SEEDS))], {}


@st.composite
def moments_case(draw):
    shape = draw(NONEMPTY)
    axes = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    return [values(shape, draw(SEEDS))], {"axes": axes, "keepdims": draw(st.booleans())}


@st.composite
def batchnorm_case(draw):
    shape = draw(NONEMPTY)
    c = shape[-1:]
    return [values(shape, draw(SEEDS)), values(c, draw(SEEDS)), values(c, draw(SEEDS), 0.5, 2.0),
            values(c, draw(SEEDS)), values(c, draw(SEEDS))], {"variance_epsilon": 1e-3}


@st.composite
def clip_case(draw):
    return [values(draw(SHAPES), draw(SEEDS))], {"clip_value_min": -0.5, "clip_value_max": 0.7}


def _np_moments(x, axes, keepdims):
    return x.mean(tuple(axes), keepdims=keepdims), x.var(tuple(axes), keepdims=keepdims)


def _axis(kw):
    a = kw.get("axis")
    return tuple(a) if isinstance(a, list) else a


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# --- the table --------------------------------------------------------------------

CASES = [
    Case("negative", np.negative, unary()),
    Case("abs", np.abs, unary()),
    Case("sign", np.sign, unary(), grad=False),
    Case("square", np.square, unary()),
    Case("sqrt", np.sqrt, unary(0.2, 3.0)),
    Case("rsqrt", lambda x: 1 / np.sqrt(x), unary(0.2, 3.0)),
    Case("exp", np.exp, unary()),
    Case("expm1", np.expm1, unary()),
    Case("log", np.log, unary(0.2, 3.0)),
    Case("log1p", np.log1p, unary(-0.5, 3.0)),
    Case("reciprocal", np.reciprocal, unary(0.3, 3.0)),
    Case("sin", np.sin, unary()),
    Case("cos", np.cos, unary()),
    Case("erf", _erf, unary()),
    Case("floor", np.floor, unary(), grad=False),
    Case("ceil", np.ceil, unary(), grad=False),
    Case("round", np.round, unary(), grad=False),
    Case("logical_not", np.logical_not, bools(1), grad=False),
    Case("relu", lambda x: np.maximum(x, 0), unary()),
    Case("relu6", lambda x: np.clip(x, 0, 6), unary(-3, 8)),
    Case("leaky_relu", lambda x, alpha=0.2: np.where(x > 0, x, alpha * x), unary(), kwargs={"alpha": 0.1}),
    Case("elu", lambda x: np.where(x > 0, x, np.expm1(x)), unary()),
    Case("selu", lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)), unary()),
    Case("sigmoid", _sigmoid, unary(-8, 8)),
    Case("tanh", np.tanh, unary()),
    Case("softplus", lambda x: np.logaddexp(0, x), unary(-8, 8)),
    Case("softsign", lambda x: x / (1 + np.abs(x)), unary()),
    Case("gelu", lambda x, approximate=False: 0.5 * x * (1 + _erf(x / np.sqrt(2))), unary()),
    Case("silu", lambda x: x * _sigmoid(x), unary()),
    Case("add", np.add, binary()),
    Case("subtract", np.subtract, binary()),
    Case("multiply", np.multiply, binary()),
    Case("divide", np.divide, binary(-2, 2, 0.5, 2.0)),
    Case("maximum", np.maximum, binary()),
    Case("minimum", np.minimum, binary()),
    Case("squared_difference", lambda a, b: (a - b) ** 2, binary()),
    Case("pow", np.power, binary(0.3, 2.0, -2.0, 2.0)),
    Case("floordiv", np.floor_divide, divisor_binary(), grad=False),
    Case("floormod", np.mod, divisor_binary()),
    Case("less", np.less, ints_binary(), grad=False),
    Case("less_equal", np.less_equal, ints_binary(), grad=False),
    Case("greater", np.greater, ints_binary(), grad=False),
    Case("greater_equal", np.greater_equal, ints_binary(), grad=False),
    Case("equal", np.equal, ints_binary(), grad=False),
    Case("not_equal", np.not_equal, ints_binary(), grad=False),
    Case("logical_and", np.logical_and, bools(2), grad=False),
    Case("logical_or", np.logical_or, bools(2), grad=False),
    Case("logical_xor", np.logical_xor, bools(2), grad=False),
    Case("where", np.where, where_case()),
    Case("clip_by_value", lambda t, clip_value_min, clip_value_max: np.clip(t, clip_value_min, clip_value_max),
         clip_case()),
    Case("add_n", lambda *xs: sum(xs), concat_case(same=True).map(lambda c: (c[0], {})),
         fn=lambda *xs: tf.add_n(list(xs))),
    Case("cast", lambda x: x.astype(np.float32), unary(), fn=lambda x: tf.cast(x, "float32"), grad=False),
    Case("broadcast_to", lambda x, shape: np.broadcast_to(x, shape), broadcast_case()),
    Case("reduce_sum", lambda x, **kw: np.sum(x, _axis(kw), keepdims=kw["keepdims"]), reduction()),
    Case("reduce_mean", lambda x, **kw: np.mean(x, _axis(kw), keepdims=kw["keepdims"]), nonempty_reduction()),
    Case("reduce_max", lambda x, **kw: np.max(x, _axis(kw), keepdims=kw["keepdims"]), nonempty_reduction()),
    Case("reduce_min", lambda x, **kw: np.min(x, _axis(kw), keepdims=kw["keepdims"]), nonempty_reduction()),
    Case("reduce_prod", lambda x, **kw: np.prod(x, _axis(kw), keepdims=kw["keepdims"]), reduction()),
    Case("reduce_any", lambda x, **kw: np.any(x, _axis(kw), keepdims=kw["keepdims"]), reduction(bool), grad=False),
    Case("reduce_all", lambda x, **kw: np.all(x, _axis(kw), keepdims=kw["keepdims"]), reduction(bool), grad=False),
    Case("argmax", lambda x, axis: np.argmax(x, axis), arg_reduction(), grad=False),
    Case("argmin", lambda x, axis: np.argmin(x, axis), arg_reduction(), grad=False),
    Case("matmul", lambda a, b, transpose_a, transpose_b: np.matmul(np.swapaxes(a, -1, -2) if transpose_a else a,
                                                                     np.swapaxes(b, -1, -2) if transpose_b else b),
         matmuls()),
    Case("reshape", lambda x, shape: np.reshape(x, shape), reshapes()),
    Case("transpose", lambda x, perm: np.transpose(x, perm), transposes()),
    Case("expand_dims", lambda x, axis: np.expand_dims(x, axis), expand_dims_case()),
    Case("squeeze", lambda x, axis: np.squeeze(x, None if axis is None else tuple(axis)), squeeze_case()),
    Case("identity", lambda x: x, unary()),
    Case("stop_gradient", lambda x: x, unary(), grad=False),
    Case("concat", lambda *xs, axis: np.concatenate(xs, axis), concat_case(),
         fn=lambda *xs, axis: tf.concat(list(xs), axis)),
    Case("stack", lambda *xs, axis: np.stack(xs, axis), concat_case(same=True),
         fn=lambda *xs, axis: tf.stack(list(xs), axis)),
    Case("split", lambda x, num_or_size_splits, axis: np.split(x, num_or_size_splits, axis), split_case()),
    Case("unstack", lambda x, axis: [np.take(x, i, axis) for i in range(x.shape[axis])],
         split_case().map(lambda c: (c[0], {"axis": c[1]["axis"]}))),
    Case("tile", lambda x, multiples: np.tile(x, multiples), tile_case()),
    Case("shape", lambda x: np.array(x.shape, np.int32), unary(), grad=False),
    Case("size", lambda x: np.array(x.size, np.int32), unary(), grad=False),
    Case("rank", lambda x: np.array(x.ndim, np.int32), unary(), grad=False),
    Case("bias_add", np.add, bias_add_case()),
    Case("l2_loss", lambda x: np.sum(x * x) / 2, unary()),
    Case("moments", _np_moments, moments_case()),
    Case("batch_normalization", lambda x, m, v, o, s, variance_epsilon: (x - m) / np.sqrt(v + variance_epsilon) * s + o,
         batchnorm_case()),
]


@st.composite
def gather_case(draw):
    shape = draw(NONEMPTY)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    idx_shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    rng = np.random.default_rng(draw(SEEDS))
    idx = rng.integers(0, shape[axis], idx_shape).astype(draw(st.sampled_from([np.int32, np.int64])))
    return [values(shape, draw(SEEDS)), idx], {"axis": axis}


@st.composite
def one_hot_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4))
    depth = draw(st.integers(0, 5))
    idx = np.random.default_rng(draw(SEEDS)).integers(-1, depth + 2, shape).astype(np.int64)
    return [idx], {"depth": depth}


def _np_one_hot(idx, depth):
    return (idx[..., None] == np.arange(depth)).astype(np.float32)


@st.composite
def pad_case(draw):
    shape = draw(NONEMPTY)
    mode = draw(st.sampled_from(["CONSTANT", "REFLECT", "SYMMETRIC"]))
    limit = {"CONSTANT": lambda d: 3, "REFLECT": lambda d: d - 1, "SYMMETRIC": lambda d: d}[mode]
    pads = [[draw(st.integers(0, limit(d))), draw(st.integers(0, limit(d)))] for d in shape]
    return [values(shape, draw(SEEDS))], {"paddings": pads, "mode": mode}


def _np_pad(x, paddings, mode):
    return np.pad(x, paddings, mode={"CONSTANT": "constant", "REFLECT": "reflect", "SYMMETRIC": "symmetric"}[mode])


CASES += [
    Case("gather", lambda p, i, axis: np.take(p, i, axis=axis), gather_case()),
    Case("one_hot", _np_one_hot, one_hot_case(), grad=False),
    Case("pad", _np_pad, pad_case()),
]


def _np_log_softmax(x, axis=-1):
    m = x.max(axis, keepdims=True) if x.size else x
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


@st.composite
def softmax_case(draw):
    shape = draw(NONEMPTY)
    return [values(shape, draw(SEEDS), -3, 3)], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def xent_case(draw):
    shape = draw(NONEMPTY)
    labels = np.random.default_rng(draw(SEEDS)).dirichlet(np.ones(shape[-1]), shape[:-1])
    return [labels, values(shape, draw(SEEDS), -3, 3)], {}


@st.composite
def sparse_xent_case(draw):
    shape = draw(NONEMPTY)
    labels = np.random.default_rng(draw(SEEDS)).integers(0, shape[-1], shape[:-1]).astype(np.int64)
    return [labels, values(shape, draw(SEEDS), -3, 3)], {}


@st.composite
def sigmoid_xent_case(draw):
    shape = draw(SHAPES)
    return [values(shape, draw(SEEDS), 0, 1), values(shape, draw(SEEDS), -4, 4)], {}


CASES += [
    Case("softmax", lambda x, axis: np.exp(_np_log_softmax(x, axis)), softmax_case()),
    Case("log_softmax", _np_log_softmax, softmax_case()),
    Case("softmax_cross_entropy_with_logits", lambda z, x: -(z * _np_log_softmax(x)).sum(-1), xent_case()),
    Case("sparse_softmax_cross_entropy_with_logits",
         lambda z, x: -np.take_along_axis(_np_log_softmax(x), z[..., None], -1)[..., 0], sparse_xent_case()),
    Case("sigmoid_cross_entropy_with_logits",
         lambda z, x: np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))), sigmoid_xent_case()),
    # dropout is random; rate 0 checks the plumbing here, tests/test_nn_ops.py checks masks and gradients
    Case("dropout", lambda x, rate: x, unary(), kwargs={"rate": 0.0}, grad=False),
]


def _np_conv2d(x, w, strides, padding, dilations=None):
    """Direct NHWC/HWIO convolution with TensorFlow's SAME padding rule."""
    sh, sw = strides
    dh, dw = dilations or (1, 1)
    kh, kw, cin, cout = w.shape
    n, h, wd, _ = x.shape
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "SAME":
        oh, ow = -(-h // sh), -(-wd // sw)
        ph, pw = max((oh - 1) * sh + ekh - h, 0), max((ow - 1) * sw + ekw - wd, 0)
        x = np.pad(x, [(0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)])
    else:
        oh, ow = (h - ekh) // sh + 1, (wd - ekw) // sw + 1
    out = np.zeros((n, oh, ow, cout))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :]
            out += np.einsum("nhwc,cd->nhwd", patch, w[i, j])
    return out


def _np_pool(x, ksize, strides, padding, reduce):
    kh, kw = ksize
    sh, sw = strides
    n, h, w, c = x.shape
    if padding == "SAME":
        oh, ow = -(-h // sh), -(-w // sw)
        ph, pw = max((oh - 1) * sh + kh - h, 0), max((ow - 1) * sw + kw - w, 0)
        top, left = ph // 2, pw // 2
    else:
        oh, ow, top, left = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - top, j * sw - left
            win = x[:, max(r0, 0):min(r0 + kh, h), max(c0, 0):min(c0 + kw, w), :]
            out[:, i, j, :] = reduce(win, axis=(1, 2))
    return out


@st.composite
def conv_case(draw):
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    cin, cout = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID":
        h, w = max(h, (kh - 1) * dil[0] + 1), max(w, (kw - 1) * dil[1] + 1)
    return ([values((n, h, w, cin), draw(SEEDS)), values((kh, kw, cin, cout), draw(SEEDS))],
            {"strides": strides, "padding": padding, "dilations": dil})


@st.composite
def pool_case(draw):
    n, h, w, c = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    if padding == "VALID":
        h, w = max(h, k[0]), max(w, k[1])
    return [values((n, h, w, c), draw(SEEDS))], {"ksize": k, "strides": s, "padding": padding}


CASES += [
    Case("conv2d", _np_conv2d, conv_case()),
    Case("max_pool2d", lambda x, ksize, strides, padding: _np_pool(x, ksize, strides, padding, np.max), pool_case()),
    Case("avg_pool2d", lambda x, ksize, strides, padding: _np_pool(x, ksize, strides, padding, np.mean), pool_case()),
]
