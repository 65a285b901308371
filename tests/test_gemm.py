"""GEMM, matmul and the fused Dense kernels against numpy.

Every ISA path the CPU can run is checked (scalar, AVX2, AVX-512), and results
must be bitwise identical for 1 and 2 threads. Sizes cross every tile and
cache-block boundary of every ISA (mr 4/6/12, nr up to 32, kc 128..384 and
1024 for C of 512 columns or more, mc 1024/1032/2064, nc 256/512).
"""
import itertools

import numpy as np
import pytest

import tinytf as tf
from tinytf import _core

DTYPES = [np.float32, np.float64]
ACTS = {
    _core.Act.none: lambda x: x,
    _core.Act.relu: lambda x: np.maximum(x, 0),
    _core.Act.relu6: lambda x: np.clip(x, 0, 6),
    _core.Act.sigmoid: lambda x: 1 / (1 + np.exp(-x)),
    _core.Act.tanh: np.tanh,
}


@pytest.fixture
def threads():
    """Call with n to set the thread count; restored to the default after."""
    yield _core.set_num_threads
    _core.set_num_threads(0)


def core(a):
    return tf.constant(a)._t


def tol(dtype, k):
    # Error of a length-k dot product of O(1) values, with room for FMA vs not.
    return 32 * np.finfo(dtype).eps * max(1, k) ** 0.5


def check_close(got, want, dtype, k):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol(dtype, k), atol=tol(dtype, k) * max(1, k) ** 0.5)


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def strided_rows(a, pad):
    """A core tensor equal to `a` (2-D) whose row stride is cols + pad."""
    rows, cols = a.shape
    big = np.full((rows, cols + pad), np.nan, a.dtype)
    big[:, :cols] = a
    flat = core(big.reshape(-1))
    # Rows of length cols at stride cols+pad: reshape (rows, cols+pad) then narrow
    # columns by viewing the transpose's leading-axis slice.
    t = flat.reshape([rows, cols + pad]).permute([1, 0]).slice(0, cols).permute([1, 0])
    assert t.strides == (cols + pad, 1) and tuple(t.shape) == (rows, cols)
    return t, big


# ---- raw gemm ---------------------------------------------------------------

SHAPES = [  # (M, K, N)
    (1, 1, 1), (0, 5, 3), (4, 0, 3), (3, 5, 0), (1, 7, 33), (13, 1, 17), (2, 3, 5),
    (12, 16, 32), (13, 17, 31), (7, 29, 65), (25, 11, 48), (37, 131, 97),
    (97, 389, 23),  # K > kc of every ISA: several passes over C
    (14, 1100, 530),  # C of 512 columns or more: deeper passes (pass_depth), still several
    (1, 389, 97), (1, 40, 300),  # one row: wide strips (2 and 4 strips wide), several passes, narrow edges
    (1, 1100, 300), (1, 300, 1030), (1, 0, 260),  # one wide row (gemm_row): passes, k and column tails, two sweeps
    (45, 131, 10), (33, 64, 16),  # C at most one vector wide: computed transposed
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_all_transpositions_and_sizes(isa, dtype):
    rng = np.random.default_rng(1)
    for (M, K, N), ta, tb in itertools.product(SHAPES, (False, True), (False, True)):
        A = rand(rng, (K, M) if ta else (M, K), dtype)
        B = rand(rng, (N, K) if tb else (K, N), dtype)
        C0 = rand(rng, (M, N), dtype)
        want = 0.75 * ((A.T if ta else A).astype(np.float64) @ (B.T if tb else B)) - 1.5 * C0
        C = C0.copy()
        _core.gemm(ta, tb, 0.75, core(A), core(B), -1.5, core(C))
        check_close(C, want, dtype, K)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_beta_zero_never_reads_c(isa, dtype):
    rng = np.random.default_rng(2)
    for M, K, N in [(5, 7, 3), (40, 400, 70), (3, 0, 4), (40, 400, 7), (1, 300, 1030)]:
        A, B = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
        C = np.full((M, N), np.nan, dtype)
        _core.gemm(False, False, 1.0, core(A), core(B), 0.0, core(C))
        check_close(C, A.astype(np.float64) @ B, dtype, K)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_bias_and_every_activation(isa, dtype):
    rng = np.random.default_rng(3)
    for act, f in ACTS.items():
        shapes = [(13, 29, 37), (30, 400, 18), (6, 0, 5), (40, 64, 10), (70, 600, 7), (1, 70, 1030), (1, 0, 300)]
        for (M, K, N), beta in itertools.product(shapes, (0.0, 0.5)):
            A, B, bias = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype), rand(rng, (N,), dtype)
            C0 = rand(rng, (M, N), dtype)
            C = C0.copy() if beta else np.full((M, N), np.nan, dtype)
            _core.gemm(False, False, 1.0, core(A), core(B), beta, core(C), bias=core(bias), act=act)
            want = f(A.astype(np.float64) @ B + beta * C0 + bias)
            check_close(C, want, dtype, K)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_activations_are_accurate_everywhere(isa, dtype):
    # The epilogue's vector exp/sigmoid/tanh: within a few ulp of float64 numpy
    # over the whole range (tiny sigmoid outputs excepted), NaN and inf as numpy.
    x = np.concatenate([np.linspace(-120, 120, 4001), np.geomspace(1e-20, 50, 500), -np.geomspace(1e-20, 50, 500),
                        [0.0, 0.625, -0.625, 1e30, -1e30, np.inf, -np.inf, np.nan]]).astype(dtype).reshape(-1, 1)
    one = np.ones((1, 1), dtype)
    for act in (_core.Act.sigmoid, _core.Act.tanh, _core.Act.relu, _core.Act.relu6):
        C = np.zeros_like(x)
        _core.gemm(False, False, 1.0, core(x), core(one), 0.0, core(C), act=act)
        with np.errstate(over="ignore"):
            want = ACTS[act](x.astype(np.float64))
        normal = np.isfinite(want) & (np.abs(want) > (1e-30 if dtype == np.float32 else 1e-300))
        ulp = np.spacing(np.abs(want[normal]).astype(dtype)).astype(np.float64)
        assert np.all(np.abs(C[normal] - want[normal]) <= 3 * ulp), act
        assert np.array_equal(C[np.isinf(want)], want[np.isinf(want)]), act
        assert np.all(np.abs(C[~normal & np.isfinite(want)]) <= 1e-30), act
        assert np.array_equal(np.isnan(C), np.isnan(want) & (act != _core.Act.relu)), act


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_strided_operands_stay_in_bounds(isa, dtype):
    rng = np.random.default_rng(4)
    for (M, K, N), ta, tb in itertools.product([(9, 21, 35), (40, 300, 50)], (False, True), (False, True)):
        A = rand(rng, (K, M) if ta else (M, K), dtype)
        B = rand(rng, (N, K) if tb else (K, N), dtype)
        ta_t, _ = strided_rows(A, 3)
        tb_t, _ = strided_rows(B, 5)
        C0 = rand(rng, (M, N), dtype)
        tc, big = strided_rows(C0, 7)
        _core.gemm(ta, tb, 1.0, ta_t, tb_t, 1.0, tc)
        want = (A.T if ta else A).astype(np.float64) @ (B.T if tb else B) + C0
        check_close(big[:, :N], want, dtype, K)
        assert np.isnan(big[:, N:]).all()  # the gaps between rows are untouched


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_leading_dims_of_1kb_2kb_and_4kb(isa, dtype):
    # Row strides of 1, 2 or 4 KB (cache-set conflicts) make B packed or read
    # in place depending on the stride, the rows of C and the ISA (one tile
    # of rows, 9 here, never packs it), and A as stored packed when its tiles
    # are tall enough to conflict (AVX-512, 4 KB).
    rng = np.random.default_rng(13)
    shapes = [(77, 70, 45), (29, 400, 70), (9, 90, 40)]
    for nbytes, (M, K, N), ta in itertools.product((1024, 2048, 4096), shapes, (False, True)):
        unit = nbytes // np.dtype(dtype).itemsize
        A = rand(rng, (K, M) if ta else (M, K), dtype)
        B = rand(rng, (K, N), dtype)
        ta_t, _ = strided_rows(A, -A.shape[1] % unit)  # row stride: the next multiple of nbytes
        tb_t, _ = strided_rows(B, -N % unit)
        C = np.zeros((M, N), dtype)
        _core.gemm(ta, False, 1.0, ta_t, tb_t, 0.0, core(C))
        check_close(C, (A.T if ta else A).astype(np.float64) @ B, dtype, K)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_large_blocks(isa, dtype):
    # Crosses mc (2064 rows) and nc (512 columns); packs B, B^T and A^T (whose
    # 20 KB row stride makes it packed).
    rng = np.random.default_rng(5)
    M, K, N = 2077, 70, 530
    for ta, tb in [(True, False), (False, True), (True, True)]:
        A = rand(rng, (K, M) if ta else (M, K), dtype)
        B = rand(rng, (N, K) if tb else (K, N), dtype)
        a_t, _ = strided_rows(A, 20480 // np.dtype(dtype).itemsize - M) if ta else (core(A), None)
        C = np.zeros((M, N), dtype)
        _core.gemm(ta, tb, 1.0, a_t, core(B), 0.0, core(C))
        check_close(C, (A.T if ta else A).astype(np.float64) @ (B.T if tb else B), dtype, K)


def gemm_on_1_and_2_threads(threads, ta, tb, A, B, alpha, C0, bias, act):
    """C = alpha op(A) op(B) + 0.5 C0 (+ bias, act) on 1 and on 2 threads,
    which must agree bit for bit; returns C."""
    out = []
    for n in (1, 2):
        threads(n)
        C = C0.copy()
        _core.gemm(ta, tb, alpha, core(A), core(B), 0.5, core(C), bias=None if bias is None else core(bias), act=act)
        out.append(C)
    assert np.array_equal(out[0], out[1])
    return out[1]


def test_gemm_bitwise_identical_for_1_and_2_threads(isa, threads):
    rng = np.random.default_rng(6)
    for (M, K, N), ta, tb in itertools.product(
            [(64, 784, 64), (301, 77, 45), (13, 500, 300), (130, 70, 129), (130, 1024, 70), (32, 784, 64),
             (48, 1024, 96), (300, 77, 10), (64, 1000, 7)], (False, True), (False, True)):
        for dtype in DTYPES:
            A = rand(rng, (K, M) if ta else (M, K), dtype)
            B = rand(rng, (N, K) if tb else (K, N), dtype)
            bias = rand(rng, (N,), dtype)
            got = gemm_on_1_and_2_threads(threads, ta, tb, A, B, 1.0, np.ones((M, N), dtype), bias, _core.Act.tanh)
            want = np.tanh(0.5 + (A.T if ta else A).astype(np.float64) @ (B.T if tb else B) + bias)
            check_close(got, want, dtype, K)


def test_long_products_split_each_threads_share_in_two(isa, threads):
    # From 64M multiply-adds per thread (kGemmLongWorkPerThread) each thread's
    # share goes in two items, handed out as threads free up; below, one.
    # N < 512 keeps these off the shared-B path.
    rng = np.random.default_rng(26)
    for (M, K, N), ta, tb in [((4200, 200, 160), False, False), ((4200, 200, 160), True, True),
                              ((2100, 200, 160), False, True)]:
        for dtype in DTYPES:
            A = rand(rng, (K, M) if ta else (M, K), dtype)
            B = rand(rng, (N, K) if tb else (K, N), dtype)
            C0 = rand(rng, (M, N), dtype)
            got = gemm_on_1_and_2_threads(threads, ta, tb, A, B, 1.0, C0, None, _core.Act.none)
            a64, b64 = (A.T if ta else A).astype(np.float64), (B.T if tb else B).astype(np.float64)
            check_close(got, a64 @ b64 + 0.5 * C0, dtype, K)


def test_large_products_share_packed_b_between_threads(isa, threads):
    # From 512 rows and columns and 256 deep, the threads split C by rows and
    # share each packed block of B (gemm.cpp's team path), here over several
    # B blocks (N > nc, both shared buffers reused) and passes over K (K > kc).
    rng = np.random.default_rng(16)
    for (M, K, N), ta, tb in [((530, 260, 540), False, False), ((530, 260, 540), True, False),
                              ((530, 260, 540), False, True), ((613, 800, 1100), False, False),
                              ((613, 800, 1100), True, True), ((530, 1100, 540), False, False)]:
        for dtype in DTYPES:
            A = rand(rng, (K, M) if ta else (M, K), dtype)
            B = rand(rng, (N, K) if tb else (K, N), dtype)
            bias = rand(rng, (N,), dtype)
            C0 = rand(rng, (M, N), dtype)
            got = gemm_on_1_and_2_threads(threads, ta, tb, A, B, 0.75, C0, bias, _core.Act.relu)
            a64, b64 = (A.T if ta else A).astype(np.float64), (B.T if tb else B).astype(np.float64)
            check_close(got, np.maximum(0.75 * a64 @ b64 + 0.5 * C0 + bias, 0), dtype, K)


def test_one_row_gives_the_bits_it_has_inside_a_batch(isa):
    # Note [GEMM determinism]: a single row (one-sample inference) takes other
    # strips than a batch, but every element must keep its FMA chain.
    rng = np.random.default_rng(8)
    for dtype, (M, K, N), ta, tb in itertools.product(DTYPES, [(13, 389, 97), (5, 64, 10), (13, 1024, 97),
                                                                    (40, 64, 10), (40, 500, 8), (13, 1100, 530),
                                                                    (13, 1100, 300), (5, 70, 1100)],
                                                      (False, True), (False, True)):
        A = rand(rng, (K, M) if ta else (M, K), dtype)
        B, bias = rand(rng, (N, K) if tb else (K, N), dtype), rand(rng, (N,), dtype)
        whole = np.zeros((M, N), dtype)
        _core.gemm(ta, tb, 1.0, core(A), core(B), 0.0, core(whole), bias=core(bias), act=_core.Act.relu)
        for i in range(M):
            row = np.zeros((1, N), dtype)
            a = np.ascontiguousarray(A[:, i:i + 1] if ta else A[i:i + 1])
            _core.gemm(ta, tb, 1.0, core(a), core(B), 0.0, core(row), bias=core(bias), act=_core.Act.relu)
            assert np.array_equal(row[0], whole[i]), (dtype, M, K, N, ta, tb, i)


def test_gemm_rejects_bad_arguments():
    f = np.ones((3, 4), np.float32)
    g = np.ones((4, 5), np.float32)
    c = np.zeros((3, 5), np.float32)
    with pytest.raises(ValueError, match="shapes do not match"):
        _core.gemm(False, False, 1.0, core(f), core(f), 0.0, core(c))
    with pytest.raises(ValueError, match="shapes do not match"):
        _core.gemm(True, False, 1.0, core(f), core(g), 0.0, core(c))
    with pytest.raises(TypeError, match="dtypes differ"):
        _core.gemm(False, False, 1.0, core(f), core(g.astype(np.float64)), 0.0, core(c))
    with pytest.raises(TypeError, match="float32 or float64"):
        _core.gemm(False, False, 1.0, core(f.astype(np.int32)), core(g.astype(np.int32)), 0.0,
                   core(c.astype(np.int32)))
    with pytest.raises(ValueError, match="2-D"):
        _core.gemm(False, False, 1.0, core(f.reshape(-1)), core(g), 0.0, core(c))
    with pytest.raises(ValueError, match="contiguous, non-overlapping rows"):
        _core.gemm(False, False, 1.0, core(f), core(g), 0.0, core(c.T.copy()).permute([1, 0]))
    with pytest.raises(ValueError, match="bias"):
        _core.gemm(False, False, 1.0, core(f), core(g), 0.0, core(c), bias=core(np.ones(4, np.float32)))
    sq = core(np.ones((4, 4), np.float32))
    with pytest.raises(ValueError, match="overlap"):
        _core.gemm(False, False, 1.0, sq, core(np.ones((4, 4), np.float32)), 0.0, sq)


# ---- matmul -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_batched_broadcast_and_transposes(isa, dtype):
    rng = np.random.default_rng(7)
    cases = [((2, 3, 5, 7), (7, 4)), ((5, 7), (2, 3, 7, 4)), ((2, 1, 5, 7), (1, 3, 7, 4)),
             ((4, 1, 7), (4, 7, 9)), ((3, 0, 7), (7, 2)), ((6, 33, 17), (6, 17, 40)), ((1, 1), (1, 1))]
    for (sa, sb), ta, tb in itertools.product(cases, (False, True), (False, True)):
        a = rand(rng, sa, dtype)
        b = rand(rng, sb, dtype)
        a_in = np.swapaxes(a, -1, -2).copy() if ta else a
        b_in = np.swapaxes(b, -1, -2).copy() if tb else b
        got = np.asarray(_core.matmul(core(a_in), core(b_in), ta, tb))
        check_close(got, np.matmul(a.astype(np.float64), b), dtype, sa[-1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_non_contiguous_views(isa, dtype):
    rng = np.random.default_rng(8)
    a = rand(rng, (3, 9, 6), dtype)
    b = rand(rng, (3, 6, 5), dtype)
    # (9, 3, 6) stored, viewed as (3, 9, 6): batch stride 6, row stride 18.
    a_view = core(np.ascontiguousarray(a.transpose(1, 0, 2))).permute([1, 0, 2])
    # column-major last two dims
    b_view = core(np.ascontiguousarray(b.transpose(0, 2, 1))).permute([0, 2, 1])
    got = np.asarray(_core.matmul(a_view, b_view))
    check_close(got, a.astype(np.float64) @ b, dtype, 6)
    w = rand(rng, (12, 5), dtype)
    rows = core(w).slice(1, 12, 2)  # rows 1, 3, ..., 11: row stride 10
    got = np.asarray(_core.matmul(rows.permute([1, 0]), core(rand(rng, (6, 4), dtype))))
    assert got.shape == (5, 4)


def test_matmul_batched_bitwise_identical_for_1_and_2_threads(threads):
    rng = np.random.default_rng(9)
    # threads across the batch / inside one folded GEMM / inside each product
    for sa, sb in [((200, 16, 32), (200, 32, 24)), ((64, 80, 160), (160, 80)), ((2, 200, 300), (300, 90))]:
        a, b = rand(rng, sa, np.float32), rand(rng, sb, np.float32)
        out = []
        for n in (1, 2):
            threads(n)
            out.append(np.asarray(_core.matmul(core(a), core(b))).copy())
        assert np.array_equal(out[0], out[1])


def test_matmul_rejects_bad_arguments():
    a = core(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="rank >= 2"):
        _core.matmul(core(np.ones(3, np.float32)), a)
    with pytest.raises(ValueError, match="inner dimensions"):
        _core.matmul(a, a)
    with pytest.raises(ValueError):
        _core.matmul(core(np.ones((2, 2, 3), np.float32)), core(np.ones((3, 3, 4), np.float32)))
    with pytest.raises(TypeError, match="dtype"):
        _core.matmul(a, core(np.ones((3, 2), np.float64)))
    with pytest.raises(TypeError):
        _core.matmul(core(np.ones((2, 3), np.int32)), core(np.ones((3, 2), np.int32)))


# ---- Dense --------------------------------------------------------------------

def act_grad(act, y):
    return {_core.Act.none: np.ones_like(y), _core.Act.relu: (y > 0).astype(y.dtype),
            _core.Act.relu6: ((y > 0) & (y < 6)).astype(y.dtype), _core.Act.sigmoid: y * (1 - y),
            _core.Act.tanh: 1 - y * y}[act]


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_forward_and_backward(isa, dtype):
    rng = np.random.default_rng(10)
    for (xs, N), act in itertools.product([((32, 50), 10), ((2, 5, 7), 33), ((7,), 3), ((300, 3), 4), ((0, 4), 3),
                                            ((5, 0), 6)], ACTS):
        K = xs[-1]
        x, w, b = rand(rng, xs, dtype), rand(rng, (K, N), dtype), rand(rng, (N,), dtype)
        y = np.asarray(_core.dense(core(x), core(w), core(b), act))
        want = ACTS[act](x.astype(np.float64) @ w + b)
        check_close(y, want, dtype, K)
        dy = rand(rng, y.shape, dtype)
        dx, dw, db = _core.dense_backward(core(x), core(w), core(y), core(dy), act)
        rows = int(np.prod(xs[:-1]))
        g = (dy * act_grad(act, y)).astype(np.float64).reshape(rows, N)
        x2 = x.astype(np.float64).reshape(rows, K)
        check_close(np.asarray(dw), x2.T @ g, dtype, x2.shape[0])
        check_close(np.asarray(db), g.sum(0), dtype, x2.shape[0])
        check_close(np.asarray(dx), (g @ w.T).reshape(xs), dtype, N)
        dx, dw, db = _core.dense_backward(core(x), core(w), core(y), core(dy), act, need_dx=False, need_db=False)
        assert dx is None and db is None


def test_dense_without_bias_and_with_transposed_kernel():
    rng = np.random.default_rng(11)
    x, w = rand(rng, (9, 20), np.float32), rand(rng, (20, 13), np.float32)
    wt = core(np.ascontiguousarray(w.T)).permute([1, 0])  # column-major (20, 13)
    y = np.asarray(_core.dense(core(x), wt, None, _core.Act.relu))
    check_close(y, np.maximum(x.astype(np.float64) @ w, 0), np.float32, 20)
    dy = rand(rng, y.shape, np.float32)
    dx, dw, _ = _core.dense_backward(core(x), wt, core(y), core(dy), _core.Act.relu)
    g = dy * (y > 0)
    check_close(np.asarray(dx), g.astype(np.float64) @ w.T, np.float32, 13)
    check_close(np.asarray(dw), x.T.astype(np.float64) @ g, np.float32, 9)


def test_dense_backward_bitwise_identical_for_1_and_2_threads(threads):
    rng = np.random.default_rng(12)
    x, w = rand(rng, (3000, 70), np.float32), rand(rng, (70, 60), np.float32)
    y = np.tanh(x @ w)
    dy = rand(rng, y.shape, np.float32)
    out = []
    for n in (1, 2):
        threads(n)
        out.append([np.asarray(t).copy() for t in
                    _core.dense_backward(core(x), core(w), core(y), core(dy), _core.Act.tanh)])
    for a, b in zip(*out):
        assert np.array_equal(a, b)


def test_dense_rejects_bad_arguments():
    x, w = core(np.ones((4, 3), np.float32)), core(np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"dense: input last dimension 3 does not match kernel shape \(5, 2\)"):
        _core.dense(x, core(np.ones((5, 2), np.float32)), None)
    with pytest.raises(ValueError, match="bias shape"):
        _core.dense(x, w, core(np.ones(3, np.float32)))
    with pytest.raises(TypeError, match="dtype"):
        _core.dense(x, core(np.ones((3, 2), np.float64)), None)
    with pytest.raises(ValueError, match="rank-2 kernel"):
        _core.dense(x, core(np.ones(3, np.float32)), None)
    y = core(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="dense backward: shapes do not match"):
        _core.dense_backward(x, w, y, core(np.ones((4, 3), np.float32)), _core.Act.none)
    with pytest.raises(TypeError, match="dtypes differ"):
        _core.dense_backward(x, w, y, core(np.ones((4, 2), np.float64)), _core.Act.none)


def test_fma_peak_probe_reports_a_rate(threads):
    threads(1)  # on 2 threads another process on one core halved the short runs' best in CI
    best, held = _core.fma_peak_gflops("float32"), _core.fma_peak_gflops("float32", sustained=True)
    # The same FMA chains on the same core: the two differ by the machine's
    # noise, not by the factors a wrong flop count or unit would give.
    assert 0.25 * best < held < 4 * best
    with pytest.raises(ValueError):
        _core.fma_peak_gflops("int8")
