"""conv2d and pooling kernels (NHWC, HWIO) against independent references:
numpy loops/einsum over an explicitly padded input, central finite
differences, and PyTorch (when importable) with NHWC<->NCHW transposes."""
import contextlib

import numpy as np
import pytest

import tinytf as tf
from tinytf import _core

RNG = np.random.default_rng(1234)
ACTS = {"none": _core.Act.none, "relu": _core.Act.relu, "relu6": _core.Act.relu6,
        "sigmoid": _core.Act.sigmoid, "tanh": _core.Act.tanh}
NP_ACTS = {"none": lambda v: v, "relu": lambda v: np.maximum(v, 0), "relu6": lambda v: np.clip(v, 0, 6),
           "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh}
NP_ACT_GRADS = {"none": lambda y: np.ones_like(y), "relu": lambda y: (y > 0).astype(y.dtype),
                "relu6": lambda y: ((y > 0) & (y < 6)).astype(y.dtype), "sigmoid": lambda y: y * (1 - y),
                "tanh": lambda y: 1 - y * y}


def core(a):
    return tf.constant(np.ascontiguousarray(a))._t


def arr(t):
    return None if t is None else np.asarray(t)


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


@contextlib.contextmanager
def threads(n):
    _core.set_num_threads(n)
    try:
        yield
    finally:
        _core.set_num_threads(0)


@contextlib.contextmanager
def isa(name):
    _core.set_isa(name)
    try:
        yield
    finally:
        _core.set_isa(_core.cpu_best_isa())


def runnable_isas():
    order = ["scalar", "avx2", "avx512"]
    return order[: order.index(_core.cpu_best_isa()) + 1]


# --- numpy references ---------------------------------------------------------

def axis_pads(n, k, s, d, padding, i):
    """(before, after) padding of axis i (0 = height, 1 = width), TensorFlow's rule for SAME."""
    if padding == "VALID":
        return 0, 0
    if padding == "SAME":
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        return total // 2, total - total // 2
    return tuple(padding[i])


def conv_pads(x_shape, w_shape, strides, dilations, padding):
    return [axis_pads(x_shape[1 + i], w_shape[i], strides[i], dilations[i], padding, i) for i in range(2)]


def patches(xp, kh, kw, oh, ow, s, d):
    """The input pixels that filter tap (kh, kw) meets, for every output pixel: (N, OH, OW, C)."""
    return xp[:, kh * d[0]: kh * d[0] + (oh - 1) * s[0] + 1: s[0], kw * d[1]: kw * d[1] + (ow - 1) * s[1] + 1: s[1]]


def ref_conv(x, w, strides, dilations, padding, bias=None, act="none"):
    (pt, pb), (pl, pr) = conv_pads(x.shape, w.shape, strides, dilations, padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    KH, KW = w.shape[:2]
    oh = (xp.shape[1] - (KH - 1) * dilations[0] - 1) // strides[0] + 1
    ow = (xp.shape[2] - (KW - 1) * dilations[1] - 1) // strides[1] + 1
    y = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for kh in range(KH):
        for kw in range(KW):
            y += np.einsum("nhwc,co->nhwo", patches(xp, kh, kw, oh, ow, strides, dilations), w[kh, kw])
    if bias is not None:
        y += bias
    return NP_ACTS[act](y)


def ref_conv_grads(x, w, y, dy, strides, dilations, padding, act="none"):
    g = dy.astype(np.float64) * NP_ACT_GRADS[act](y.astype(np.float64))
    (pt, pb), (pl, pr) = conv_pads(x.shape, w.shape, strides, dilations, padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape)
    oh, ow = g.shape[1:3]
    for kh in range(w.shape[0]):
        for kw in range(w.shape[1]):
            dw[kh, kw] = np.einsum("nhwc,nhwo->co", patches(xp, kh, kw, oh, ow, strides, dilations), g)
            patches(dxp, kh, kw, oh, ow, strides, dilations)[...] += np.einsum("nhwo,co->nhwc", g, w[kh, kw])
    dx = dxp[:, pt: pt + x.shape[1], pl: pl + x.shape[2]]
    return dx, dw, g.sum(axis=(0, 1, 2))


def pool_windows(x_shape, ksize, strides, padding):
    """Yields (oh, ow, rows, cols): the in-bounds input rows/cols of each window."""
    (pt, pb), (pl, pr) = [axis_pads(x_shape[1 + i], ksize[i], strides[i], 1, padding, i) for i in range(2)]
    H, W = x_shape[1:3]
    oh_n = (H + pt + pb - ksize[0]) // strides[0] + 1
    ow_n = (W + pl + pr - ksize[1]) // strides[1] + 1
    for oh in range(oh_n):
        h0 = oh * strides[0] - pt
        rows = [h for h in range(h0, h0 + ksize[0]) if 0 <= h < H]
        for ow in range(ow_n):
            w0 = ow * strides[1] - pl
            yield oh, ow, rows, [c for c in range(w0, w0 + ksize[1]) if 0 <= c < W]


def ref_pool(x, ksize, strides, padding, kind):
    out = {}
    for oh, ow, rows, cols in pool_windows(x.shape, ksize, strides, padding):
        win = x[:, rows][:, :, cols]
        out[oh, ow] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    oh_n, ow_n = max(k[0] for k in out) + 1, max(k[1] for k in out) + 1
    y = np.zeros((x.shape[0], oh_n, ow_n, x.shape[3]))
    for (oh, ow), v in out.items():
        y[:, oh, ow] = v
    return y


def ref_pool_grad(x, dy, ksize, strides, padding, kind):
    dx = np.zeros(x.shape)
    for oh, ow, rows, cols in pool_windows(x.shape, ksize, strides, padding):
        if kind == "avg":
            dx[:, rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1] += dy[:, oh, ow][:, None, None] / (len(rows) * len(cols))
            continue
        win = x[:, rows][:, :, cols].reshape(x.shape[0], -1, x.shape[3])
        first = win.argmax(axis=1)  # first maximum in row-major order
        for n in range(x.shape[0]):
            for c in range(x.shape[3]):
                r, q = divmod(int(first[n, c]), len(cols))
                dx[n, rows[r], cols[q], c] += dy[n, oh, ow, c]
    return dx


# --- forward and backward against numpy ---------------------------------------

# (N, H, W, Cin, KH, KW, Cout, strides, dilations, padding)
CASES = [
    (2, 7, 9, 1, 3, 3, 5, (1, 1), (1, 1), "SAME"),        # direct, Cin 1
    (1, 11, 13, 3, 3, 3, 17, (2, 2), (1, 1), "SAME"),     # direct, Cin 3, odd Cout
    (2, 8, 8, 3, 5, 5, 4, (3, 3), (1, 1), "VALID"),       # kernel larger than stride
    (1, 10, 7, 2, 3, 2, 33, (1, 2), (2, 1), [[2, 1], [0, 3]]),
    (3, 5, 5, 4, 1, 1, 16, (1, 1), (1, 1), "VALID"),      # direct 1x1
    (2, 9, 9, 5, 3, 3, 7, (1, 1), (1, 1), "SAME"),        # gemm
    (1, 13, 11, 8, 3, 3, 6, (2, 2), (2, 2), "SAME"),      # gemm, dilated, strided
    (2, 6, 7, 7, 1, 1, 3, (1, 1), (1, 1), "VALID"),       # gemm pointwise (no im2col)
    (1, 7, 7, 6, 1, 1, 5, (2, 3), (1, 1), "SAME"),        # strided 1x1
    (2, 5, 6, 9, 2, 4, 11, (3, 1), (1, 2), [[1, 0], [2, 2]]),
    (1, 1, 1, 3, 1, 1, 2, (1, 1), (1, 1), "VALID"),       # 1x1 image
    (1, 2, 3, 5, 3, 3, 1, (3, 3), (1, 1), "SAME"),        # Cout 1, stride > size
    (1, 4, 5, 2, 3, 3, 4, (2, 2), (2, 2), [[4, 3], [5, 2]]),  # windows wholly in the padding
    (2, 4, 5, 6, 3, 2, 3, (1, 2), (2, 1), [[5, 1], [0, 4]]),
    (2, 8, 10, 32, 3, 3, 40, (1, 1), (1, 1), "SAME"),     # float32: Winograd F(4x4) forward, dx and dw
    (1, 12, 14, 33, 3, 3, 35, (1, 1), (1, 1), "VALID"),   # Winograd with channel tails
    (1, 6, 6, 32, 3, 3, 32, (1, 1), (1, 1), [[3, 1], [0, 2]]),  # Winograd, padding past the window
    (2, 13, 13, 32, 3, 3, 64, (1, 1), (1, 1), "VALID"),   # 11x11 output: F(4x4) with a partial tile row and column
    (1, 9, 9, 32, 3, 3, 32, (1, 1), (1, 1), "VALID"),     # 7x7 output: F(4x4) over 8x8 pixels
    (1, 8, 12, 32, 3, 3, 33, (1, 1), (1, 1), "VALID"),    # 6x10 output: F(2x2) forward and dw, F(4x4) dx
    (2, 6, 6, 34, 3, 3, 32, (1, 1), (1, 1), "SAME"),      # 6x6: F(2x2) throughout, channel tails
]
IDS = [f"c{c[3]}k{c[4]}x{c[5]}s{c[7][0]}{c[7][1]}d{c[8][0]}{c[8][1]}{c[9] if isinstance(c[9], str) else 'explicit'}"
       for c in CASES]


def make(case, dtype):
    N, H, W, C, KH, KW, O, s, d, pad = case
    x = RNG.standard_normal((N, H, W, C)).astype(dtype)
    w = (RNG.standard_normal((KH, KW, C, O)) / np.sqrt(KH * KW * C)).astype(dtype)
    b = RNG.standard_normal(O).astype(dtype)
    return x, w, b, s, d, pad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_forward_and_backward_match_numpy(case, dtype):
    x, w, b, s, d, pad = make(case, dtype)
    for act, bias in [("none", None), ("relu", b), ("tanh", b)]:
        y = arr(_core.conv2d(core(x), core(w), s, d, pad, None if bias is None else core(bias), ACTS[act]))
        assert y.dtype == dtype
        np.testing.assert_allclose(y, ref_conv(x, w, s, d, pad, bias, act), **tol(dtype))
        dy = RNG.standard_normal(y.shape).astype(dtype)
        dx, dw, db = (arr(t) for t in _core.conv2d_backward(core(x), core(w), core(y), core(dy), s, d, pad, ACTS[act]))
        rdx, rdw, rdb = ref_conv_grads(x, w, y, dy, s, d, pad, act)
        np.testing.assert_allclose(dx, rdx, **tol(dtype))
        np.testing.assert_allclose(dw, rdw, **tol(dtype))
        np.testing.assert_allclose(db, rdb, **tol(dtype))
    # The separate gradients agree with the fused backward (act none).
    dy = RNG.standard_normal(y.shape).astype(dtype)
    rdx, rdw, _ = ref_conv_grads(x, w, y, dy, s, d, pad)
    np.testing.assert_allclose(arr(_core.conv2d_backward_input(core(dy), core(w), x.shape, s, d, pad)), rdx, **tol(dtype))
    np.testing.assert_allclose(arr(_core.conv2d_backward_filter(core(x), core(dy), w.shape, s, d, pad)), rdw,
                               **tol(dtype))
    dx, dw, db = _core.conv2d_backward(core(x), core(w), core(y), core(dy), s, d, pad, need_dx=False, need_db=False)
    assert dx is None and db is None
    np.testing.assert_allclose(arr(dw), rdw, **tol(dtype))


@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[6], CASES[9]], ids=[IDS[1], IDS[3], IDS[6], IDS[9]])
def test_conv2d_gradients_match_finite_differences(case):
    x, w, b, s, d, pad = make(case, np.float64)
    dy = RNG.standard_normal(ref_conv(x, w, s, d, pad).shape)

    def loss(xx, ww, bb):
        return float((arr(_core.conv2d(core(xx), core(ww), s, d, pad, core(bb), _core.Act.tanh)) * dy).sum())

    y = arr(_core.conv2d(core(x), core(w), s, d, pad, core(b), _core.Act.tanh))
    dx, dw, db = (arr(t) for t in _core.conv2d_backward(core(x), core(w), core(y), core(dy), s, d, pad, _core.Act.tanh))
    eps = 1e-6
    for a, grad, which in [(x, dx, 0), (w, dw, 1), (b, db, 2)]:
        for flat in RNG.choice(a.size, size=min(a.size, 6), replace=False):
            idx = np.unravel_index(flat, a.shape)
            args = [x.copy(), w.copy(), b.copy()]
            args[which][idx] += eps
            up = loss(*args)
            args[which][idx] -= 2 * eps
            down = loss(*args)
            np.testing.assert_allclose(grad[idx], (up - down) / (2 * eps), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["scalar", "avx2", "avx512"])
def test_every_isa_the_cpu_runs_matches_numpy(name):
    if name not in runnable_isas():
        pytest.skip(f"this CPU cannot run {name}")
    with isa(name):
        for case in [CASES[0], CASES[1], CASES[3], CASES[4], CASES[5], CASES[15], CASES[20]]:
            for dtype in (np.float32, np.float64):
                x, w, b, s, d, pad = make(case, dtype)
                y = arr(_core.conv2d(core(x), core(w), s, d, pad, core(b), _core.Act.relu6))
                np.testing.assert_allclose(y, ref_conv(x, w, s, d, pad, b, "relu6"), **tol(dtype))
                dy = RNG.standard_normal(y.shape).astype(dtype)
                got = _core.conv2d_backward(core(x), core(w), core(y), core(dy), s, d, pad, _core.Act.relu6)
                for g, r in zip(got, ref_conv_grads(x, w, y, dy, s, d, pad, "relu6")):
                    np.testing.assert_allclose(arr(g), r, **tol(dtype))


def test_non_contiguous_inputs():
    x_nchw = RNG.standard_normal((2, 3, 9, 8))
    w_oihw = RNG.standard_normal((6, 3, 3, 3))
    x = core(x_nchw).permute([0, 2, 3, 1])
    w = core(w_oihw).permute([2, 3, 1, 0])
    assert not x.is_contiguous and not w.is_contiguous
    xn, wn = x_nchw.transpose(0, 2, 3, 1), w_oihw.transpose(2, 3, 1, 0)
    for wide in (False, True):  # Cin 3 (direct) and Cin 12 (gemm)
        if wide:
            x_nchw = RNG.standard_normal((2, 12, 9, 8))
            w_oihw = RNG.standard_normal((6, 12, 3, 3))
            x, w = core(x_nchw).permute([0, 2, 3, 1]), core(w_oihw).permute([2, 3, 1, 0])
            xn, wn = x_nchw.transpose(0, 2, 3, 1), w_oihw.transpose(2, 3, 1, 0)
        y = arr(_core.conv2d(x, w, (2, 1), (1, 1), "SAME"))
        np.testing.assert_allclose(y, ref_conv(xn, wn, (2, 1), (1, 1), "SAME"), rtol=1e-10, atol=1e-10)
        dy_nchw = RNG.standard_normal((y.shape[0], y.shape[3], y.shape[1], y.shape[2]))
        dy = core(dy_nchw).permute([0, 2, 3, 1])
        got = _core.conv2d_backward(x, w, core(y), dy, (2, 1), (1, 1), "SAME")
        ref = ref_conv_grads(xn, wn, y, dy_nchw.transpose(0, 2, 3, 1), (2, 1), (1, 1), "SAME")
        for g, r in zip(got, ref):
            np.testing.assert_allclose(arr(g), r, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(arr(_core.max_pool2d(x, 2, 2, "SAME")), ref_pool(xn, (2, 2), (2, 2), "SAME", "max"))


@pytest.mark.parametrize("shape", [(16, 13, 13, 32, 64, "VALID"), (8, 16, 16, 64, 128, "SAME"), (8, 6, 6, 32, 48, "SAME")],
                         ids=["convnet-conv2", "16x16", "f2x2"])
def test_float32_winograd_stays_close_to_float64(shape):
    # The Winograd paths round more than a direct sum (F(4x4): ~6e-6 of the
    # largest value, F(2x2): ~3e-7); the float64 path is exact GEMM. A wrong or
    # badly rounded transform coefficient shows up here long before rtol=2e-4.
    N, H, W, C, O, pad = shape
    x = RNG.standard_normal((N, H, W, C))
    w = RNG.standard_normal((3, 3, C, O)) / np.sqrt(9 * C)
    y = arr(_core.conv2d(core(x), core(w), (1, 1), (1, 1), pad))
    dy = RNG.standard_normal(y.shape)
    y32 = arr(_core.conv2d(core(x.astype(np.float32)), core(w.astype(np.float32)), (1, 1), (1, 1), pad))
    got = _core.conv2d_backward(*(core(a.astype(np.float32)) for a in (x, w, y, dy)), (1, 1), (1, 1), pad)
    want = _core.conv2d_backward(core(x), core(w), core(y), core(dy), (1, 1), (1, 1), pad)
    for g32, g64 in [(y32, y)] + [(arr(a), arr(b)) for a, b in zip(got, want)]:
        assert np.abs(g32 - g64).max() <= 2e-5 * np.abs(g64).max()


# --- determinism -----------------------------------------------------------------

@pytest.mark.parametrize("shape", [(8, 16, 16, 3, 32), (4, 12, 12, 64, 16), (16, 10, 10, 32, 48), (24, 6, 6, 32, 48)],
                         ids=["direct", "gemm", "winograd4x4", "winograd2x2"])
def test_one_and_two_threads_give_identical_bits(shape):
    N, H, W, C, O = shape
    x = RNG.standard_normal((N, H, W, C)).astype(np.float32)
    w = RNG.standard_normal((3, 3, C, O)).astype(np.float32)
    b = RNG.standard_normal(O).astype(np.float32)
    dy = RNG.standard_normal((N, H, W, O)).astype(np.float32)
    dp = RNG.standard_normal((N, H // 2, W // 2, C)).astype(np.float32)
    outs = []
    for n in (1, 2):
        with threads(n):
            y = _core.conv2d(core(x), core(w), (1, 1), (1, 1), "SAME", core(b), _core.Act.relu)
            grads = _core.conv2d_backward(core(x), core(w), y, core(dy), (1, 1), (1, 1), "SAME", _core.Act.relu)
            p = _core.max_pool2d(core(x), 3, 2, "SAME")
            pg = max_pool_grad(core(x), core(dp), 3, 2, "SAME")
            a = _core.avg_pool2d(core(x), 3, 2, "SAME")
            ag = _core.avg_pool2d_backward(core(dp), x.shape, 3, 2, "SAME")
            outs.append([arr(t).copy() for t in (y, *grads, p, pg, a, ag)])
    for one, two in zip(*outs):
        assert one.tobytes() == two.tobytes()


# --- pooling ------------------------------------------------------------------------

POOL_CASES = [
    ((2, 7, 9, 3), (2, 2), (2, 2), "VALID"),
    ((1, 7, 9, 5), (3, 3), (2, 2), "SAME"),
    ((2, 5, 5, 1), (3, 2), (1, 3), "SAME"),
    ((1, 11, 6, 2), (2, 3), (3, 2), [[1, 0], [2, 1]]),
    ((1, 1, 1, 4), (1, 1), (1, 1), "VALID"),
    ((3, 4, 4, 17), (4, 4), (4, 4), "SAME"),
    ((2, 5, 7, 70), (2, 2), (3, 2), "VALID"),  # disjoint windows, uncovered pixels, two channel blocks
    ((1, 20, 19, 3), (17, 16), (2, 3), "SAME"),  # 272 places in a window: int32 argmax
]


def max_pool_grad(x, dy, k, s, pad):
    """The max-pool gradient as the op computes it: argmax from the forward pass, then the backward kernel."""
    y, argmax = _core.max_pool2d_with_argmax(x, k, s, pad)
    np.testing.assert_array_equal(arr(y), arr(_core.max_pool2d(x, k, s, pad)))
    return _core.max_pool2d_backward(dy, argmax, x.shape, k, s, pad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_matches_numpy(case, dtype):
    shape, k, s, pad = case
    # Few distinct values: windows hold ties, and the gradient must pick the first maximum.
    x = RNG.integers(-2, 3, size=shape).astype(dtype)
    y = arr(_core.max_pool2d(core(x), k, s, pad))
    np.testing.assert_array_equal(y, ref_pool(x, k, s, pad, "max"))
    dy = RNG.standard_normal(y.shape).astype(dtype)
    dx = arr(max_pool_grad(core(x), core(dy), k, s, pad))
    np.testing.assert_allclose(dx, ref_pool_grad(x, dy, k, s, pad, "max"), **tol(dtype))
    x = RNG.standard_normal(shape).astype(dtype)
    a = arr(_core.avg_pool2d(core(x), k, s, pad))
    np.testing.assert_allclose(a, ref_pool(x, k, s, pad, "avg"), **tol(dtype))
    dx = arr(_core.avg_pool2d_backward(core(dy), shape, k, s, pad))
    np.testing.assert_allclose(dx, ref_pool_grad(x, dy, k, s, pad, "avg"), **tol(dtype))


@pytest.mark.parametrize("name", ["scalar", "avx2", "avx512"])
def test_max_pooling_on_every_isa_the_cpu_runs_matches_numpy(name):
    """float32 windows with uint8 places run pool_simd.h's loops compiled for the
    ISA: vector blocks of channels and a scalar tail (70 = 4 x 16 + 6)."""
    if name not in runnable_isas():
        pytest.skip(f"this CPU cannot run {name}")
    with isa(name):
        for shape, k, s, pad in POOL_CASES[:-1]:
            x = RNG.integers(-2, 3, size=shape).astype(np.float32)
            dy = RNG.standard_normal(ref_pool(x, k, s, pad, "max").shape).astype(np.float32)
            results = []
            for n in (1, 2):
                with threads(n):
                    y = arr(_core.max_pool2d(core(x), k, s, pad))
                    results.append((y, arr(max_pool_grad(core(x), core(dy), k, s, pad))))
            np.testing.assert_array_equal(results[0][0], ref_pool(x, k, s, pad, "max"))
            np.testing.assert_allclose(results[0][1], ref_pool_grad(x, dy, k, s, pad, "max"), rtol=1e-6, atol=1e-6)
            for a, b in zip(results[0], results[1]):
                assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cin,pool,strides,padding", [(1, 2, 2, "valid"), (32, 2, 2, "valid"), (3, 3, 1, "same"),
                                                      (32, 3, 2, "same")])
def test_relu_conv_then_max_pool_gradients_equal_the_separate_ops(dtype, cin, pool, strides, padding):
    """A max pool over a convolution's fused relu hands back its gradient with
    relu' applied (nn_ops._pool); the gradients must equal those of conv, relu
    and pool as separate ops, also when the conv output has a second consumer."""
    tf.utils.set_random_seed(0)
    x = tf.constant(RNG.standard_normal((2, 13, 12, cin)).astype(dtype))
    fused = tf.layers.Conv2D(32, 3, activation="relu", dtype=np.dtype(dtype).name)
    plain = tf.layers.Conv2D(32, 3, dtype=np.dtype(dtype).name)
    fused.build(x.shape), plain.build(x.shape)
    plain.set_weights(fused.get_weights())
    pooling = tf.layers.MaxPooling2D(pool, strides, padding, dtype=np.dtype(dtype).name)
    r = RNG.standard_normal(pooling.compute_output_shape(fused.compute_output_shape(x.shape))).astype(dtype)
    for second_consumer in (False, True):
        grads = []
        for conv, relu in ((fused, lambda t: t), (plain, tf.nn.relu)):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = relu(conv(x))
                loss = tf.reduce_sum(pooling(y) * r) + (tf.reduce_sum(y * y) if second_consumer else 0.0)
            grads.append([g.numpy() for g in tape.gradient(loss, [x] + conv.trainable_weights)])
        for a, b in zip(*grads):
            np.testing.assert_allclose(a, b, rtol=2e-6 if dtype == np.float32 else 1e-13, atol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cin,cout,pool,strides,padding", [(1, 32, 2, 2, "valid"), (3, 16, 3, 2, "same"),
                                                           (2, 5, 3, 1, "valid"), (32, 16, 2, 2, "valid")])
def test_conv_backward_from_a_max_pools_gradient_in_parts_matches_numpy(dtype, cin, cout, pool, strides, padding):
    """conv2d_backward_pooled: the max pool's input gradient unpooled image by
    image (direct kernels: few input channels; an odd output leaves pixels no
    window covers, overlapping windows add) or whole (Winograd, and output
    channels that are not a multiple of the vector width) must give numpy's
    conv gradients of the unpooled gradient, at 1 and 2 threads bit for bit."""
    x = RNG.standard_normal((3, 12, 13, cin)).astype(dtype)
    w = RNG.standard_normal((3, 3, cin, cout)).astype(dtype)
    y = arr(_core.conv2d(core(x), core(w)))  # (3, 10, 11, cout): the last column is in no valid window
    pooled, argmax = _core.max_pool2d_with_argmax(core(y), pool, strides, padding)
    gp = RNG.standard_normal(arr(pooled).shape).astype(dtype)
    dy = ref_pool_grad(y, gp, (pool, pool), (strides, strides), padding.upper(), "max")
    want = ref_conv_grads(x, w, y, dy, (1, 1), (1, 1), "VALID")
    results = []
    for n in (1, 2):
        with threads(n):
            results.append([arr(t) for t in _core.conv2d_backward_pooled(
                core(x), core(w), core(gp), argmax, y.shape, pool, strides, padding, 1, 1, "VALID", True, True)])
    for got, ref in zip(results[0], want):
        np.testing.assert_allclose(got / np.abs(ref).max(), ref / np.abs(ref).max(), **tol(dtype))
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()


def test_a_max_pools_unformed_input_gradient_reads_as_the_gradient():
    """The gradient a max pool hands back for a fused-relu convolution's output
    is formed when read: asked for directly, it is numpy's pool gradient times relu'."""
    x = tf.constant(RNG.standard_normal((2, 9, 8, 1)).astype(np.float32))
    conv, pool = tf.layers.Conv2D(16, 3, activation="relu"), tf.layers.MaxPooling2D(2)
    with tf.GradientTape() as tape:
        y = conv(x)
        tape.watch(y)
        r = RNG.standard_normal(pool.compute_output_shape(y.shape)).astype(np.float32)
        loss = tf.reduce_sum(pool(y) * r)
    g = tape.gradient(loss, y)
    want = ref_pool_grad(y.numpy(), r, (2, 2), (2, 2), "VALID", "max") * (y.numpy() > 0)
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose((g + 1.0).numpy(), want + 1.0, rtol=1e-6, atol=1e-6)


def test_conv_backward_from_a_max_pools_gradient_checks_its_parts():
    x, w = core(np.zeros((2, 6, 6, 1), np.float32)), core(np.zeros((3, 3, 1, 4), np.float32))
    p, argmax = _core.max_pool2d_with_argmax(_core.conv2d(x, w), 2, 2)
    args = (2, 2, "VALID", 1, 1, "VALID", False, True)
    raises(ValueError, r"conv2d_backward_pooled: the max pool's input has shape \(2, 5, 5, 4\), not the "
           r"convolution's output shape \(2, 4, 4, 4\)", _core.conv2d_backward_pooled, x, w, p, argmax,
           (2, 5, 5, 4), *args)
    raises(ValueError, "pooled shape", _core.conv2d_backward_pooled, x, w, p, argmax, (2, 6, 6, 4), *args)
    raises(TypeError, "argmax must be uint8", _core.conv2d_backward_pooled, x, w, p, p, (2, 4, 4, 4), *args)
    raises(TypeError, "the pooled gradient is float64 but the input is float32", _core.conv2d_backward_pooled, x, w,
           core(np.zeros((2, 2, 2, 4))), argmax, (2, 4, 4, 4), *args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cin,conv_strides,conv_padding,act,pool,pool_strides,pool_padding", [
    (1, 1, "VALID", "relu", 2, 2, "VALID"),  # the convnet's first layer: direct, uncovered last column
    (3, 2, "SAME", "none", 3, 2, "SAME"),    # overlapping windows, padded pool, NaN-free negatives
    (2, 1, "SAME", "relu", 3, 1, "VALID"),
    (32, 1, "VALID", "relu", 2, 2, "VALID"),  # Winograd: conv, then pool
])
def test_conv_then_max_pool_in_one_op_matches_numpy(dtype, cin, conv_strides, conv_padding, act, pool, pool_strides,
                                                    pool_padding):
    """conv2d_max_pool: the direct kernels convolve image by image into cache
    and pool from there. Values and argmax must be numpy's pool of numpy's
    convolution and bit for bit those of the two ops, at 1 and 2 threads, on
    every ISA the CPU runs."""
    x = RNG.standard_normal((5, 12, 13, cin)).astype(dtype)
    w = RNG.standard_normal((3, 3, cin, 16)).astype(dtype)
    b = RNG.standard_normal(16).astype(dtype)
    args = (conv_strides, 1, conv_padding, core(b), ACTS[act], pool, pool_strides, pool_padding)
    conv = ref_conv(x, w, (conv_strides,) * 2, (1, 1), conv_padding, b, act)
    want = ref_pool(conv, (pool, pool), (pool_strides,) * 2, pool_padding, "max")
    for name in runnable_isas():
        with isa(name):
            results = []
            for n in (1, 2):
                with threads(n):
                    y, argmax, conv_shape = _core.conv2d_max_pool(core(x), core(w), *args)
                    results.append((arr(y), arr(argmax)))
            separate = _core.conv2d(core(x), core(w), conv_strides, 1, conv_padding, core(b), ACTS[act])
            y2, argmax2 = _core.max_pool2d_with_argmax(separate, pool, pool_strides, pool_padding)
        assert tuple(conv_shape) == conv.shape
        np.testing.assert_allclose(results[0][0], want, **tol(dtype))
        for got in results:
            assert got[0].tobytes() == arr(y2).tobytes() and got[1].tobytes() == arr(argmax2).tobytes()


def test_conv_then_max_pool_in_one_op_checks_its_arguments():
    x, w = core(np.zeros((2, 6, 6, 1), np.float32)), core(np.zeros((3, 3, 1, 4), np.float32))
    args = (1, 1, "VALID", None, _core.Act.relu)
    raises(ValueError, "conv2d_max_pool: ksize must be positive", _core.conv2d_max_pool, x, w, *args, 0, 2, "VALID")
    raises(ValueError, r"conv2d_max_pool: the output would be empty .*\(2, 4, 4, 4\)", _core.conv2d_max_pool, x, w,
           *args, 5, 1, "VALID")
    raises(ValueError, "conv2d_max_pool: padding must be", _core.conv2d_max_pool, x, w, *args, 2, 2, "FULL")
    raises(ValueError, "conv2d_max_pool: bias has shape", _core.conv2d_max_pool, x, w, 1, 1, "VALID",
           core(np.zeros(3, np.float32)), _core.Act.relu, 2, 2, "VALID")
    raises(TypeError, "conv2d_max_pool: input is float32 but filter is float64", _core.conv2d_max_pool, x,
           core(np.zeros((3, 3, 1, 4))), *args, 2, 2, "VALID")
    with pytest.raises(ValueError, match="activation must be None or 'relu', got 'tanh'"):
        tf.ops.nn_ops.conv2d_max_pool(tf.constant(np.zeros((2, 6, 6, 1), np.float32)),
                                      tf.constant(np.zeros((3, 3, 1, 4), np.float32)), (1, 1), (1, 1), "VALID", None,
                                      "tanh", (2, 2), (2, 2), "VALID")


def convnet(dtype, cin, activation="relu", padding="valid"):
    L = tf.layers
    return tf.models.Sequential([L.Input((11, 10, cin)), L.Conv2D(8, 3, activation=activation, padding=padding,
                                                                   dtype=dtype),
                                 L.MaxPooling2D(2, dtype=dtype), L.Flatten(dtype=dtype), L.Dense(3, dtype=dtype)])


def check_conv_pool_model(model, layers, cin, padding, activation):
    """A model of Conv2D, MaxPooling2D(2), Flatten, Dense on (4, 11, 10, cin):
    its output against numpy, its gradients against the layers called one by
    one (two separate ops)."""
    conv, pool, flat, dense = layers
    x = RNG.standard_normal((4, 11, 10, cin)).astype(np.float32)
    k, b = conv.get_weights()
    want = ref_pool(ref_conv(x, k, (1, 1), (1, 1), padding.upper(), b, activation or "none"), (2, 2), (2, 2),
                    "VALID", "max")
    want = want.reshape(4, -1) @ dense.get_weights()[0] + dense.get_weights()[1]
    np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-4, atol=1e-4)
    r = RNG.standard_normal((4, 3)).astype(np.float32)
    grads = []
    for call in (model, lambda t: dense(flat(pool(conv(t))))):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(call(tf.constant(x)) * r)
        grads.append([g.numpy() for g in tape.gradient(loss, model.trainable_weights)])
    for a, c in zip(*grads):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cin,activation,padding", [(1, "relu", "valid"), (3, None, "same"), (32, "relu", "valid")])
def test_sequential_runs_a_conv_and_its_max_pool_as_one_op(cin, activation, padding):
    """Sequential calls a Conv2D (relu or no activation) and the MaxPooling2D
    after it as one ConvMaxPool: its output must be numpy's, and its gradients
    must be those of the layers called one by one."""
    tf.utils.set_random_seed(0)
    model = convnet("float32", cin, activation, padding)
    assert type(model._steps[0]).__name__ == "ConvMaxPool" and len(model._steps) == 3
    check_conv_pool_model(model, model.layers, cin, padding, activation)


def test_sequential_conv_and_max_pool_gradients_match_finite_differences():
    tf.utils.set_random_seed(1)
    model = convnet("float64", 2)
    x = tf.constant(RNG.standard_normal((2, 11, 10, 2)))
    r = RNG.standard_normal((2, 3))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) * r)
    kernel = model.layers[0].kernel
    got = tape.gradient(loss, kernel).numpy()
    k0, eps = kernel.numpy(), 1e-6
    for idx in [(0, 0, 0, 0), (1, 2, 1, 5), (2, 1, 0, 7)]:
        def loss_at(delta):
            k = k0.copy()
            k[idx] += delta
            kernel.assign(k)
            return float(np.sum(model(x).numpy() * r))
        numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
        kernel.assign(k0)
        np.testing.assert_allclose(got[idx], numeric, rtol=1e-6, atol=1e-8)


def test_functional_runs_a_conv_and_its_only_reader_max_pool_as_one_op():
    """A Functional Conv2D whose output only a MaxPooling2D reads runs as one
    ConvMaxPool: output against numpy, gradients against the layers called
    one by one. A conv output that is also read elsewhere, or is a model
    output, stays two ops with the same values."""
    tf.utils.set_random_seed(2)
    L = tf.layers
    inp = L.Input((11, 10, 3))
    conv, pool, flat, dense = L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dense(3)
    model = tf.models.Model(inp, dense(flat(pool(conv(inp)))))
    check_conv_pool_model(model, (conv, pool, flat, dense), 3, "valid", "relu")
    assert len(model._fusion) == 1

    x = RNG.standard_normal((4, 11, 10, 3)).astype(np.float32)
    conv_out = conv(inp)
    two_readers = tf.models.Model(inp, [pool(conv_out), L.GlobalAveragePooling2D()(conv_out)])
    also_output = tf.models.Model(inp, [pool(conv_out), conv_out])
    y = conv(tf.constant(x))
    for m in (two_readers, also_output):
        got = m(x)
        assert m._fusion == {}
        np.testing.assert_array_equal(got[0].numpy(), pool(y).numpy())


def test_sequential_leaves_other_pairs_to_the_layers():
    L = tf.layers
    for first, second in [(L.Conv2D(4, 3, activation="tanh"), L.MaxPooling2D(2)),
                          (L.Conv2D(4, 3, activation="relu"), L.AveragePooling2D(2)),
                          (L.Conv2D(4, 3, activation="sigmoid"), L.MaxPooling2D(2))]:
        model = tf.models.Sequential([L.Input((8, 8, 1)), first, second])
        assert model._steps == [first, second]
        x = RNG.standard_normal((2, 8, 8, 1)).astype(np.float32)
        np.testing.assert_array_equal(model(x).numpy(), second(first(tf.constant(x))).numpy())


# --- PyTorch as a second reference -------------------------------------------------

def torch_same_pads(shape_hw, k, s, d):
    (pt, pb), (pl, pr) = [axis_pads(shape_hw[i], k[i], s[i], d[i], "SAME", i) for i in range(2)]
    return (pl, pr, pt, pb)  # F.pad order: last dim first


@pytest.mark.parametrize("case", [(32, 28, 28, 1, 32, 1, 1), (4, 15, 15, 3, 8, 2, 1), (3, 9, 10, 16, 24, 1, 2)])
def test_conv2d_matches_torch(case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    N, H, W, C, O, s, d = case
    x = RNG.standard_normal((N, H, W, C)).astype(np.float32)
    w = (RNG.standard_normal((3, 3, C, O)) / np.sqrt(9 * C)).astype(np.float32)
    b = RNG.standard_normal(O).astype(np.float32)
    dy = RNG.standard_normal((N, -(-H // s), -(-W // s), O)).astype(np.float32)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tw = torch.tensor(w.transpose(3, 2, 0, 1), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = F.conv2d(F.pad(tx, torch_same_pads((H, W), (3, 3), (s, s), (d, d))), tw, tb, stride=s, dilation=d)
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    y = arr(_core.conv2d(core(x), core(w), s, d, "SAME", core(b)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)
    dx, dw, db = (arr(t) for t in _core.conv2d_backward(core(x), core(w), core(y), core(dy), s, d, "SAME"))
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dw, tw.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-4, atol=2e-3)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-4, atol=2e-3)


@pytest.mark.parametrize("case", [((2, 9, 9, 4), 3, 2), ((1, 8, 7, 3), 2, 2), ((2, 6, 6, 5), 3, 1)])
def test_pooling_matches_torch(case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    shape, k, s = case
    x = RNG.standard_normal(shape).astype(np.float32)
    pads = torch_same_pads(shape[1:3], (k, k), (s, s), (1, 1))
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tmax = F.max_pool2d(F.pad(tx, pads, value=-np.inf), k, s)
    # TF's SAME average divides by the in-bounds count: a sum pool over a count pool.
    ones = torch.ones_like(tx[:1, :1])
    tavg = F.avg_pool2d(F.pad(tx, pads), k, s) / F.avg_pool2d(F.pad(ones, pads), k, s)
    dmax = RNG.standard_normal(tuple(tmax.shape)).astype(np.float32)
    davg = RNG.standard_normal(tuple(tavg.shape)).astype(np.float32)
    (tmax * torch.tensor(dmax)).sum().backward(retain_graph=True)
    gmax = tx.grad.clone()
    tx.grad = None
    (tavg * torch.tensor(davg)).sum().backward()
    nhwc = (0, 2, 3, 1)
    y = _core.max_pool2d(core(x), k, s, "SAME")
    np.testing.assert_allclose(arr(y), tmax.detach().numpy().transpose(nhwc), rtol=1e-6)
    dx = max_pool_grad(core(x), core(dmax.transpose(nhwc)), k, s, "SAME")
    np.testing.assert_allclose(arr(dx), gmax.numpy().transpose(nhwc), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(arr(_core.avg_pool2d(core(x), k, s, "SAME")), tavg.detach().numpy().transpose(nhwc),
                               rtol=1e-5, atol=1e-6)
    dx = _core.avg_pool2d_backward(core(davg.transpose(nhwc)), shape, k, s, "SAME")
    np.testing.assert_allclose(arr(dx), tx.grad.numpy().transpose(nhwc), rtol=1e-5, atol=1e-6)


# --- edge sizes and errors ------------------------------------------------------------

@pytest.mark.parametrize("shape", [(0, 5, 5, 3, 4), (2, 5, 5, 3, 0), (2, 5, 5, 0, 4), (0, 5, 5, 8, 4)])
def test_empty_batch_and_channels(shape):
    N, H, W, C, O = shape
    x = np.zeros((N, H, W, C), np.float32)
    w = np.ones((3, 3, C, O), np.float32)
    b = np.arange(O, dtype=np.float32)
    y = arr(_core.conv2d(core(x), core(w), 1, 1, "SAME", core(b)))
    assert y.shape == (N, H, W, O)
    np.testing.assert_array_equal(y, np.broadcast_to(b, y.shape))
    dy = np.ones(y.shape, np.float32)
    dx, dw, db = (arr(t) for t in _core.conv2d_backward(core(x), core(w), core(y), core(dy), 1, 1, "SAME"))
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == (O,)
    assert not dx.any() and not dw.any()
    np.testing.assert_array_equal(db, np.full(O, N * H * W, np.float32))


def raises(exc, match, fn, *args, **kwargs):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


def test_errors_name_the_op_and_the_shapes():
    x, w = core(np.zeros((1, 5, 5, 3), np.float32)), core(np.zeros((3, 3, 3, 4), np.float32))
    raises(ValueError, r"conv2d: expected an input of rank 4.*\(5, 5, 3\)", _core.conv2d,
           core(np.zeros((5, 5, 3), np.float32)), w)
    raises(ValueError, r"conv2d: expected a filter of rank 4", _core.conv2d, x, core(np.zeros((3, 3, 3), np.float32)))
    raises(ValueError, r"conv2d: input has 3 channels but the filter expects 2 .*\(1, 5, 5, 3\).*\(3, 3, 2, 4\)",
           _core.conv2d, x, core(np.zeros((3, 3, 2, 4), np.float32)))
    raises(ValueError, "strides must be positive", _core.conv2d, x, w, (0, 1))
    raises(ValueError, "dilations must be positive", _core.conv2d, x, w, 1, (1, -1))
    raises(ValueError, "padding must be 'VALID', 'SAME'", _core.conv2d, x, w, 1, 1, "FULL")
    raises(ValueError, "explicit padding must be non-negative", _core.conv2d, x, w, 1, 1, [[0, -1], [0, 0]])
    raises(ValueError, r"explicit padding must be \[\[top", _core.conv2d, x, w, 1, 1, [[0, 1, 2], [0, 0]])
    raises(ValueError, r"output would be empty .*\(1, 5, 5, 3\)", _core.conv2d, x,
           core(np.zeros((7, 3, 3, 4), np.float32)))
    raises(ValueError, "bias has shape", _core.conv2d, x, w, bias=core(np.zeros(5, np.float32)))
    raises(ValueError, r"\(1, h, w, 1\)", _core.conv2d, x, w, (1, 1, 1))
    raises(TypeError, "strides must be an int or a pair", _core.conv2d, x, w, "1")
    raises(TypeError, "must hold integers", _core.conv2d, x, w, (1.5, 1))
    raises(TypeError, "filter is float64", _core.conv2d, x, core(np.zeros((3, 3, 3, 4))))
    raises(TypeError, "float32 or float64, got int32", _core.conv2d, core(np.zeros((1, 5, 5, 3), np.int32)), w)
    y = _core.conv2d(x, w)
    raises(ValueError, r"conv2d_backward: output gradient has shape \(1, 2, 2, 4\)", _core.conv2d_backward, x, w, y,
           core(np.zeros((1, 2, 2, 4), np.float32)))
    raises(ValueError, r"conv2d_backward_input: expected an input of rank 4", _core.conv2d_backward_input, y, w,
           (1, 5, 5))
    raises(ValueError, "conv2d_backward_filter: input has 3 channels", _core.conv2d_backward_filter, x, y,
           (3, 3, 2, 4))
    raises(ValueError, "max_pool2d: ksize must be positive", _core.max_pool2d, x, (0, 2), 1)
    raises(ValueError, "avg_pool2d: strides must be positive", _core.avg_pool2d, x, 2, (1, 0))
    raises(ValueError, "smaller than the window", _core.max_pool2d, x, 2, 1, [[2, 0], [0, 0]])
    raises(ValueError, "max_pool2d: the output would be empty", _core.max_pool2d, x, 6, 1, "VALID")
    raises(ValueError, "max_pool2d: expected an input of rank 4", _core.max_pool2d, core(np.zeros((5, 5), np.float32)),
           2, 2)
    p, argmax = _core.max_pool2d_with_argmax(x, 2, 2)
    raises(ValueError, "pooled shape", _core.max_pool2d_backward, core(np.zeros((1, 3, 3, 3), np.float32)), argmax,
           x.shape, 2, 2)
    raises(ValueError, "pooled shape", _core.avg_pool2d_backward, p, (1, 6, 6, 3), 2, 2)
    raises(TypeError, "argmax must be uint8", _core.max_pool2d_backward, p, p, x.shape, 2, 2)
    raises(TypeError, "float32 or float64", _core.max_pool2d_backward, argmax, argmax, x.shape, 2, 2)


@pytest.mark.parametrize("name", ["scalar", "avx2", "avx512"])
def test_max_pool_nan_is_a_maximum_only_when_met_first(name):
    # One 2x2 window (NHWC pixels [nan, 1], [2, 3], [4, nan], [5, 0]): channel 0
    # starts with NaN, channel 1 meets it after its maximum 3. The pair repeats
    # over 40 channels so the vector blocks see it too, not only the scalar tail.
    if name not in runnable_isas():
        pytest.skip(f"this CPU cannot run {name}")
    x = np.tile(np.array([[[[np.nan, 1.0], [2.0, 3.0]], [[4.0, np.nan], [5.0, 0.0]]]], np.float32), 20)
    dy = np.tile(np.array([[[[10.0, 20.0]]]], np.float32), 20)
    with isa(name):
        y, argmax = _core.max_pool2d_with_argmax(core(x), 2, 2, "VALID")
        dx = arr(_core.max_pool2d_backward(core(dy), argmax, x.shape, 2, 2, "VALID"))
    assert np.isnan(arr(y)[0, 0, 0, 0::2]).all() and (arr(y)[0, 0, 0, 1::2] == 3.0).all()
    assert arr(argmax).ravel().tolist() == [0, 1] * 20  # row-major places in the window
    want = np.zeros_like(x)
    want[0, 0, 0, 0::2], want[0, 0, 1, 1::2] = 10.0, 20.0
    np.testing.assert_array_equal(dx, want)
