"""Fused optimizer updates (_core.*_update) and gradient norms.

References: numpy transcriptions of Keras 3's update_step formulas (computed in
float64 from the same inputs) and, where the formulas coincide, torch.optim."""
import numpy as np
import pytest

from tinytf import _core

SHAPES = [(3, 4), (1,), (0, 5), (7,), (2, 3, 5)]
STEPS = 4


def wrap(a):
    """A _core.Tensor sharing memory with the C-contiguous array `a`."""
    return _core.from_numpy(a)


@pytest.fixture
def threads():
    yield _core.set_num_threads
    _core.set_num_threads(0)


# --- numpy references of Keras' update_step (float64, in place on lists) -----

def ref_sgd(p, g, s, step, lr, momentum=0.0, nesterov=False):
    if not s:
        p -= g * lr
        return
    m = s["momentums"]
    m[:] = m * momentum - g * lr
    p += m * momentum - g * lr if nesterov else m


def ref_adam(p, g, s, step, lr, beta_1, beta_2, epsilon):
    alpha = lr * np.sqrt(1 - beta_2**step) / (1 - beta_1**step)
    m, v = s["m"], s["v"]
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    if "vhat" in s:
        s["vhat"][:] = np.maximum(s["vhat"], v)
        v = s["vhat"]
    p -= m * alpha / (np.sqrt(v) + epsilon)


def ref_rmsprop(p, g, s, step, lr, rho, momentum, epsilon):
    v = s["velocities"]
    v[:] = rho * v + (1 - rho) * g * g
    if "average_grads" in s:
        a = s["average_grads"]
        a[:] = rho * a + (1 - rho) * g
        denom = v - a * a + epsilon
    else:
        denom = v + epsilon
    inc = lr * g / np.sqrt(denom)
    if "momentums" in s:
        s["momentums"][:] = momentum * s["momentums"] + inc
        p -= s["momentums"]
    else:
        p -= inc


def ref_adagrad(p, g, s, step, lr, epsilon):
    acc = s["accumulators"]
    acc += g * g
    p -= lr * g / np.sqrt(acc + epsilon)


def ref_adadelta(p, g, s, step, lr, rho, epsilon):
    ag, ad = s["accumulated_grads"], s["accumulated_deltas"]
    ag[:] = rho * ag + (1 - rho) * g * g
    d = -np.sqrt(ad + epsilon) * g / np.sqrt(ag + epsilon)
    ad[:] = rho * ad + (1 - rho) * d * d
    p += lr * d


def nadam_product(step, beta_1, u_product):
    return u_product * beta_1 * (1 - 0.5 * 0.96**step)


def ref_nadam(p, g, s, step, lr, beta_1, beta_2, epsilon, u_product):
    u_t = beta_1 * (1 - 0.5 * 0.96**step)
    u_next = beta_1 * (1 - 0.5 * 0.96 ** (step + 1))
    prod_t = nadam_product(step, beta_1, u_product)
    m, v = s["m"], s["v"]
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    m_hat = u_next * m / (1 - prod_t * u_next) + (1 - u_t) * g / (1 - prod_t)
    p -= m_hat * lr / (np.sqrt(v / (1 - beta_2**step)) + epsilon)


# name -> (kernel, reference, slots in kernel order (None: optional and absent), slot init, hyperparameters)
CASES = {
    "sgd": (_core.sgd_update, ref_sgd, [None], 0.0, dict(lr=0.1)),
    "sgd_momentum": (_core.sgd_update, ref_sgd, ["momentums"], 0.0, dict(lr=0.1, momentum=0.9)),
    "sgd_nesterov": (_core.sgd_update, ref_sgd, ["momentums"], 0.0, dict(lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (_core.adam_update, ref_adam, ["m", "v", None], 0.0, dict(lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7)),
    "amsgrad": (_core.adam_update, ref_adam, ["m", "v", "vhat"], 0.0,
                dict(lr=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-7)),
    "rmsprop": (_core.rmsprop_update, ref_rmsprop, ["velocities", None, None], 0.0,
                dict(lr=0.01, rho=0.9, momentum=0.0, epsilon=1e-7)),
    "rmsprop_centered_momentum": (_core.rmsprop_update, ref_rmsprop, ["velocities", "momentums", "average_grads"], 0.0,
                                  dict(lr=0.01, rho=0.8, momentum=0.5, epsilon=1e-7)),
    "adagrad": (_core.adagrad_update, ref_adagrad, ["accumulators"], 0.1, dict(lr=0.05, epsilon=1e-7)),
    "adadelta": (_core.adadelta_update, ref_adadelta, ["accumulated_grads", "accumulated_deltas"], 0.0,
                 dict(lr=1.0, rho=0.95, epsilon=1e-7)),
}
STEPPED = {"adam", "amsgrad"}  # take the 1-based step


def make_state(dtype, slot_names, init, seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    slots = {k: [np.full(s, init, dtype) for s in shapes] for k in slot_names if k}
    return params, slots


def run_case(name, dtype, steps=STEPS, shapes=SHAPES, **options):
    kernel, ref, names, init, hp = CASES[name]
    params, slots = make_state(dtype, names, init, shapes=shapes)
    ref_p = [p.astype(np.float64) for p in params]
    ref_s = {k: [a.astype(np.float64) for a in v] for k, v in slots.items()}
    rng = np.random.default_rng(1)
    for step in range(1, steps + 1):
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in params]
        args = [[wrap(p) for p in params], [wrap(g) for g in grads]]
        args += [[wrap(a) for a in slots[k]] if k else None for k in names]
        kw = dict(hp, step=step) if name in STEPPED else hp
        kernel(*args, **kw, **options)
        ref_g = [apply_options(g.astype(np.float64), i, **options) for i, g in enumerate(grads)]
        for i, (p, g) in enumerate(zip(ref_p, ref_g)):
            wd = options.get("weight_decay", 0.0)
            p -= p * (wd[i] if isinstance(wd, list) else wd) * hp["lr"]
            ref(p, g, {k: v[i] for k, v in ref_s.items()}, step, **{k: v for k, v in hp.items()})
    return params, slots, ref_p, ref_s


def apply_options(g, i, grad_scale=1.0, clipvalue=None, weight_decay=0.0):
    g = g * (grad_scale[i] if isinstance(grad_scale, list) else grad_scale)
    return np.clip(g, -clipvalue, clipvalue) if clipvalue else g


def assert_close(actual, expected, dtype):
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_update_matches_keras_formula(name, dtype):
    params, slots, ref_p, ref_s = run_case(name, dtype)
    assert_close(params, ref_p, dtype)
    for k in slots:
        assert_close(slots[k], ref_s[k], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_isa_build_matches_keras_formula(isa, name, dtype):
    # Long enough for the vector loops and several 512-element blocks, with ragged tails.
    shapes = [(37, 29), (13,), (1031,)]
    params, slots, ref_p, ref_s = run_case(name, dtype, shapes=shapes, clipvalue=2.0, weight_decay=0.01)
    assert_close(params, ref_p, dtype)
    for k in slots:
        assert_close(slots[k], ref_s[k], dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nadam_matches_keras_formula_and_carries_u_product(isa, dtype):
    hp = dict(lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    params, slots = make_state(dtype, ["m", "v"], 0.0, shapes=SHAPES + [(1031,)])
    ref_p = [p.astype(np.float64) for p in params]
    ref_s = {k: [a.astype(np.float64) for a in v] for k, v in slots.items()}
    rng = np.random.default_rng(1)
    u, ref_u = 1.0, 1.0
    for step in range(1, STEPS + 1):
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in params]
        new_u = _core.nadam_update([wrap(p) for p in params], [wrap(g) for g in grads], [wrap(a) for a in slots["m"]],
                                   [wrap(a) for a in slots["v"]], **hp, step=step, u_product=u)
        for i, (p, g) in enumerate(zip(ref_p, grads)):
            ref_nadam(p, g.astype(np.float64), {k: v[i] for k, v in ref_s.items()}, step, **hp, u_product=ref_u)
        ref_u = nadam_product(step, hp["beta_1"], ref_u)
        assert new_u == pytest.approx(ref_u, rel=1e-15)
        u = new_u
    assert_close(params, ref_p, dtype)
    assert_close(slots["m"], ref_s["m"], dtype)


def test_nadam_empty_list_still_advances_u_product():
    assert _core.nadam_update([], [], [], [], 0.1, 0.9, 0.999, 1e-7, 3, 0.5) == pytest.approx(
        nadam_product(3, 0.9, 0.5))


# --- Keras base-optimizer options: clipping and decoupled weight decay ---------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_decay_is_adamw(dtype):
    params, _, ref_p, _ = run_case("adam", dtype, weight_decay=0.05)
    assert_close(params, ref_p, dtype)
    params, _, ref_p, _ = run_case("sgd_momentum", dtype, weight_decay=[0.1, 0.0, 0.2, 0.0, 0.3])
    assert_close(params, ref_p, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clipvalue_and_grad_scale(dtype):
    params, _, ref_p, _ = run_case("sgd", dtype, clipvalue=0.5)
    assert_close(params, ref_p, dtype)
    params, _, ref_p, _ = run_case("adagrad", dtype, grad_scale=[0.5, 2.0, 1.0, 0.1, 3.0], clipvalue=1.0)
    assert_close(params, ref_p, dtype)
    params, _, ref_p, _ = run_case("rmsprop", dtype, grad_scale=0.25)
    assert_close(params, ref_p, dtype)


def test_clipnorm_and_global_clipnorm_recipes_match_keras():
    # clipnorm: g * c / max(||g||, c) per tensor; global_clipnorm: g * c * min(1/||all||, 1/c).
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(s) * 3 for s in [(4, 5), (3,), (0,), (1,)]]
    grads.append(np.zeros(2))
    norms = _core.l2_norms([wrap(g) for g in grads])
    np.testing.assert_allclose(norms, [np.linalg.norm(g) for g in grads], rtol=1e-14)
    c = 1.5
    scales = [c / max(n, c) for n in norms]
    params = [np.zeros_like(g) for g in grads]
    _core.sgd_update([wrap(p) for p in params], [wrap(g) for g in grads], None, lr=1.0, grad_scale=scales)
    for p, g in zip(params, grads):
        l2 = np.sqrt(np.sum(g * g))
        np.testing.assert_allclose(-p, g * c / max(l2, c), rtol=1e-14)
        assert np.linalg.norm(p) <= c * (1 + 1e-12)
    total = _core.global_norm([wrap(g) for g in grads])
    assert total == pytest.approx(np.sqrt(sum(np.sum(g * g) for g in grads)), rel=1e-14)
    params = [np.zeros_like(g) for g in grads]
    _core.sgd_update([wrap(p) for p in params], [wrap(g) for g in grads], None, lr=1.0,
                     grad_scale=c * min(1 / total, 1 / c))
    assert np.sqrt(sum(np.sum(p * p) for p in params)) == pytest.approx(c, rel=1e-12)


# --- torch.optim as a second reference where the formulas coincide ----------

def torch_run(make_opt, params, grads_per_step):
    torch = pytest.importorskip("torch")
    tp = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = make_opt(tp)
    for grads in grads_per_step:
        for t, g in zip(tp, grads):
            t.grad = torch.tensor(g.copy())
        opt.step()
    return [t.detach().numpy() for t in tp]


def ours_run(name, params, grads_per_step, hp, slot_init=0.0, **options):
    kernel, _, names, _, _ = CASES[name]
    slots = {k: [np.full(p.shape, slot_init) for p in params] for k in names if k}
    for step, grads in enumerate(grads_per_step, 1):
        args = [[wrap(p) for p in params], [wrap(g) for g in grads]]
        args += [[wrap(a) for a in slots[k]] if k else None for k in names]
        kernel(*args, **(dict(hp, step=step) if name in STEPPED else hp), **options)
    return params


# (case, our hyperparameters, torch optimizer factory, our extra options). Keras
# puts epsilon inside the sqrt (Adagrad, RMSprop) or adds it to an unscaled sqrt
# (Adam), torch differently: with epsilon = 0 the formulas are the same.
TORCH_CASES = [
    ("sgd_momentum", dict(lr=0.1, momentum=0.9), lambda o, p: o.SGD(p, lr=0.1, momentum=0.9), {}),
    ("sgd_nesterov", dict(lr=0.1, momentum=0.9, nesterov=True),
     lambda o, p: o.SGD(p, lr=0.1, momentum=0.9, nesterov=True), {}),
    ("adagrad", dict(lr=0.1, epsilon=0.0), lambda o, p: o.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0), {}),
    ("adam", dict(lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=0.0),
     lambda o, p: o.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=0.0), {}),
    ("amsgrad", dict(lr=0.01, beta_1=0.9, beta_2=0.99, epsilon=0.0),
     lambda o, p: o.Adam(p, lr=0.01, betas=(0.9, 0.99), eps=0.0, amsgrad=True), {}),
    ("adam", dict(lr=0.01, beta_1=0.9, beta_2=0.999, epsilon=0.0),
     lambda o, p: o.AdamW(p, lr=0.01, betas=(0.9, 0.999), eps=0.0, weight_decay=0.1), dict(weight_decay=0.1)),
    ("rmsprop_centered_momentum", dict(lr=0.01, rho=0.8, momentum=0.5, epsilon=0.0),
     lambda o, p: o.RMSprop(p, lr=0.01, alpha=0.8, momentum=0.5, centered=True, eps=0.0), {}),
    ("adadelta", dict(lr=1.0, rho=0.95, epsilon=1e-6), lambda o, p: o.Adadelta(p, lr=1.0, rho=0.95, eps=1e-6), {}),
]


@pytest.mark.parametrize("case", range(len(TORCH_CASES)))
def test_matches_torch_optim(case):
    torch = pytest.importorskip("torch")
    name, hp, factory, options = TORCH_CASES[case]
    rng = np.random.default_rng(7)
    params = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(5)]
    expected = torch_run(lambda p: factory(torch.optim, p), params, grads)
    slot_init = 0.1 if name == "adagrad" else 0.0
    actual = ours_run(name, [p.copy() for p in params], grads, hp, slot_init, **options)
    for a, e in zip(actual, expected):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


def test_nadam_matches_torch_with_keras_momentum_schedule():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    params = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(5)]
    # torch's mu_t = beta_1 (1 - 0.5 * 0.96^(t * momentum_decay)): Keras' schedule when momentum_decay = 1.
    # torch keeps the running product in the default dtype: make that float64.
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        expected = torch_run(lambda p: torch.optim.NAdam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-7, momentum_decay=1.0),
                             params, grads)
    finally:
        torch.set_default_dtype(default)
    ours = [p.copy() for p in params]
    m = [np.zeros(s) for s in SHAPES]
    v = [np.zeros(s) for s in SHAPES]
    u = 1.0
    for step, g in enumerate(grads, 1):
        u = _core.nadam_update([wrap(p) for p in ours], [wrap(x) for x in g], [wrap(a) for a in m],
                               [wrap(a) for a in v], 0.01, 0.9, 0.999, 1e-7, step, u)
    for a, e in zip(ours, expected):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


# --- layouts, validation, determinism -----------------------------------------

def test_strided_grads_give_the_same_update():
    rng = np.random.default_rng(4)
    g = rng.standard_normal((6, 5)).astype(np.float32)
    a = rng.standard_normal((5, 6)).astype(np.float32)
    b = a.copy()
    m1, v1, m2, v2 = (np.zeros((5, 6), np.float32) for _ in range(4))
    gt = np.ascontiguousarray(g.T)
    _core.adam_update([wrap(a)], [wrap(gt)], [wrap(m1)], [wrap(v1)], None, 0.01, 0.9, 0.999, 1e-7, 1)
    _core.adam_update([wrap(b)], [wrap(g).permute([1, 0])], [wrap(m2)], [wrap(v2)], None, 0.01, 0.9, 0.999, 1e-7, 1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(v1, v2)


def bad_call_cases():
    f32 = np.float32
    shapes = [(3, 4), (5,), (2, 2)]

    def lists(dtype=f32):
        return [np.ones(s, dtype) for s in shapes]

    p, g, m, v = lists(), lists(), lists(), lists()
    P, G, M, V = ([wrap(a) for a in x] for x in (p, g, m, v))
    adam = lambda params=P, grads=G, mm=M, vv=V, step=1, **kw: _core.adam_update(  # noqa: E731
        params, grads, mm, vv, None, 0.1, 0.9, 0.999, 1e-7, step, **kw)
    bad_grad_shape = G[:2] + [wrap(np.ones((2, 3), f32))]
    bad_grad_dtype = G[:2] + [wrap(np.ones((2, 2), np.float64))]
    transposed = wrap(np.ones((2, 2), f32)).permute([1, 0])  # not contiguous
    ints = [wrap(np.ones(s, np.int32)) for s in shapes]
    fresh = [wrap(np.ones(5, f32)) for _ in range(2)]
    cases = [
        (ValueError, "3 params but 2 grads", lambda: adam(grads=G[:2])),
        (ValueError, "3 params but 2 v", lambda: adam(vv=V[:2])),
        (ValueError, r"grads\[2\] has shape \(2, 3\), expected \(2, 2\)", lambda: adam(grads=bad_grad_shape)),
        (TypeError, r"grads\[2\] has dtype float64", lambda: adam(grads=bad_grad_dtype)),
        (ValueError, r"params\[2\] must be contiguous", lambda: adam(params=P[:2] + [transposed])),
        (TypeError, "float32 or float64", lambda: adam(params=ints, grads=ints, mm=ints, vv=ints)),
        (ValueError, "share memory", lambda: adam(vv=M)),
        (ValueError, "share memory", lambda: adam(grads=G[:2] + [M[2]])),
        (ValueError, "share memory", lambda: adam(params=P[:2] + [P[1]], grads=G[:2] + [G[1]], mm=M[:2] + fresh[:1],
                                                  vv=V[:2] + fresh[1:])),
        (ValueError, "1-based", lambda: adam(step=0)),
        (ValueError, "grad_scale", lambda: adam(grad_scale=[1.0, 2.0])),
        (ValueError, "weight_decay", lambda: adam(weight_decay=[0.1])),
        (ValueError, "momentums slot", lambda: _core.sgd_update(P, G, None, 0.1, momentum=0.9)),
    ]
    return cases, p + m + v


def test_bad_calls_raise_and_change_nothing():
    cases, arrays = bad_call_cases()
    before = [a.copy() for a in arrays]
    for exc, match, call in cases:
        with pytest.raises(exc, match=match):
            call()
        for a, b in zip(arrays, before):
            np.testing.assert_array_equal(a, b)


def test_empty_lists_are_a_no_op():
    _core.sgd_update([], [], None, 0.1)
    _core.adam_update([], [], [], [], None, 0.1, 0.9, 0.999, 1e-7, 1)


def big_state(dtype=np.float32):
    rng = np.random.default_rng(5)
    shapes = [(301, 517), (70001,), (3,), (0,), (257, 129)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("name", ["adam", "amsgrad", "sgd_nesterov", "rmsprop_centered_momentum", "adadelta"])
def test_one_and_two_threads_are_bitwise_equal(threads, name):
    kernel, _, names, init, hp = CASES[name]
    results = []
    for n in (1, 2):
        threads(n)
        params = big_state()
        grads = [g * 0.5 + 0.1 for g in big_state()]
        slots = {k: [np.full(p.shape, init, np.float32) for p in params] for k in names if k}
        for step in (1, 2):
            args = [[wrap(p) for p in params], [wrap(g) for g in grads]]
            args += [[wrap(a) for a in slots[k]] if k else None for k in names]
            kernel(*args, **(dict(hp, step=step) if name in STEPPED else hp), clipvalue=1.0, weight_decay=0.01)
        results.append(params + [a for k in slots for a in slots[k]])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_global_norm_is_exact_and_thread_independent(threads):
    xs = big_state(np.float32) + big_state(np.float64)
    xs.append(np.ascontiguousarray(np.arange(12.0).reshape(3, 4)))
    tensors = [wrap(x) for x in xs[:-1]] + [wrap(xs[-1]).permute([1, 0])]
    expected = np.sqrt(sum(np.sum(x.astype(np.float64) ** 2) for x in xs))
    values = []
    for n in (1, 2):
        threads(n)
        values.append((_core.global_norm(tensors), _core.l2_norms(tensors)))
    assert values[0] == values[1]
    assert values[0][0] == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(values[0][1], [np.linalg.norm(x.astype(np.float64)) for x in xs], rtol=1e-13)
    assert _core.global_norm([]) == 0.0
    with pytest.raises(TypeError, match=r"tensors\[0\] has dtype int32"):
        _core.global_norm([wrap(np.ones(3, np.int32))])
