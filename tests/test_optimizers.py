"""Optimizers against numpy implementations of Keras 3's update rules (and
torch.optim where its formula is the same), plus clipping, weight decay,
schedules, constraints, state, config and argument checks."""
import math
import warnings

import numpy as np
import pytest

import tinytf
from tinytf import optimizers
from tinytf.constraints import NonNeg
from tinytf.optimizers import schedules

SHAPES = [(3,), (2, 4)]
NAMES = ["kernel", "bias"]
INIT = [np.random.default_rng(1).standard_normal(s).astype(np.float32) for s in SHAPES]


def make_grads(steps=6, seed=0):
    """Per step, one gradient per variable; shrinking, so AMSGrad's max matters."""
    rng = np.random.default_rng(seed)
    return [[(rng.standard_normal(s) * 0.7 ** k).astype(np.float32) for s in SHAPES] for k in range(steps)]


def make_vars(values=INIT):
    return [tinytf.Variable(v.copy(), name=n) for v, n in zip(values, NAMES)]


def run(opt, grads, variables=None):
    variables = variables or make_vars()
    for gs in grads:
        opt.apply_gradients([(tinytf.constant(g), v) for g, v in zip(gs, variables)])
    return [v.numpy() for v in variables]


# --- numpy references: Keras 3's update_step, in float64 -----------------------------------------
def sgd_ref(p, g, s, t, learning_rate, momentum=0.0, nesterov=False):
    if not momentum:
        p -= learning_rate * g
        return
    m = s.setdefault("m", np.zeros_like(p))
    m[:] = momentum * m - learning_rate * g
    p += momentum * m - learning_rate * g if nesterov else m


def adam_ref(p, g, s, t, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    m, v = s.setdefault("m", np.zeros_like(p)), s.setdefault("v", np.zeros_like(p))
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    if amsgrad:
        vhat = s.setdefault("vhat", np.zeros_like(p))
        vhat[:] = np.maximum(vhat, v)
        v = vhat
    alpha = learning_rate * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    p -= m * alpha / (np.sqrt(v) + epsilon)


def rmsprop_ref(p, g, s, t, learning_rate, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    v = s.setdefault("v", np.zeros_like(p))
    v[:] = rho * v + (1 - rho) * g * g
    denominator = v + epsilon
    if centered:
        a = s.setdefault("a", np.zeros_like(p))
        a[:] = rho * a + (1 - rho) * g
        denominator = v - a * a + epsilon
    increment = learning_rate * g / np.sqrt(denominator)
    if momentum:
        mom = s.setdefault("mom", np.zeros_like(p))
        mom[:] = momentum * mom + increment
        p -= mom
    else:
        p -= increment


def adagrad_ref(p, g, s, t, learning_rate, initial_accumulator_value=0.1, epsilon=1e-7):
    acc = s.setdefault("acc", np.full_like(p, initial_accumulator_value))
    acc += g * g
    p -= learning_rate * g / np.sqrt(acc + epsilon)


def adadelta_ref(p, g, s, t, learning_rate, rho=0.95, epsilon=1e-7):
    ag, ad = s.setdefault("ag", np.zeros_like(p)), s.setdefault("ad", np.zeros_like(p))
    ag[:] = rho * ag + (1 - rho) * g * g
    delta = -np.sqrt(ad + epsilon) * g / np.sqrt(ag + epsilon)
    ad[:] = rho * ad + (1 - rho) * delta * delta
    p += learning_rate * delta


def nadam_ref(p, g, s, t, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    u_t, u_next = beta_1 * (1 - 0.5 * 0.96 ** t), beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    s["u_product"] = s.get("u_product", 1.0) * u_t  # updated before the step, as Keras
    prod, prod_next = s["u_product"], s["u_product"] * u_next
    m, v = s.setdefault("m", np.zeros_like(p)), s.setdefault("v", np.zeros_like(p))
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    m_hat = u_next * m / (1 - prod_next) + (1 - u_t) * g / (1 - prod)
    p -= m_hat * learning_rate / (np.sqrt(v / (1 - beta_2 ** t)) + epsilon)


REFERENCES = {optimizers.SGD: sgd_ref, optimizers.Adam: adam_ref, optimizers.AdamW: adam_ref,
              optimizers.RMSprop: rmsprop_ref, optimizers.Adagrad: adagrad_ref, optimizers.Adadelta: adadelta_ref,
              optimizers.Nadam: nadam_ref}


def run_reference(cls, kwargs, grads, lr_at=None):
    """The base optimizer's part (clipping, weight decay before the step) then the update rule."""
    kwargs = dict(kwargs)
    clipnorm, clipvalue, global_clipnorm = (kwargs.pop(k, None) for k in ("clipnorm", "clipvalue", "global_clipnorm"))
    weight_decay = kwargs.pop("weight_decay", 0.004 if cls is optimizers.AdamW else None)
    params = [p.astype(np.float64) for p in INIT]
    states = [{} for _ in params]
    for t, gs in enumerate(grads, 1):
        gs = [g.astype(np.float64) for g in gs]
        if clipnorm:
            gs = [g * clipnorm / max(np.linalg.norm(g), clipnorm) for g in gs]
        if global_clipnorm:
            norm = math.sqrt(sum(np.sum(g * g) for g in gs))
            gs = [g * min(1.0, global_clipnorm / norm) for g in gs]
        if clipvalue:
            gs = [np.clip(g, -clipvalue, clipvalue) for g in gs]
        if lr_at is not None:
            kwargs["learning_rate"] = lr_at(t - 1)
        for p, g, s in zip(params, gs, states):
            if weight_decay:
                p -= p * weight_decay * kwargs["learning_rate"]
            REFERENCES[cls](p, g, s, t, **kwargs)
    return params


CASES = {
    "sgd": (optimizers.SGD, dict(learning_rate=0.1)),
    "sgd_momentum": (optimizers.SGD, dict(learning_rate=0.1, momentum=0.9)),
    "sgd_nesterov": (optimizers.SGD, dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    "adam": (optimizers.Adam, dict(learning_rate=0.01)),
    "amsgrad": (optimizers.Adam, dict(learning_rate=0.01, amsgrad=True)),
    "adamw": (optimizers.AdamW, dict(learning_rate=0.01, weight_decay=0.1)),
    "adamw_default_decay": (optimizers.AdamW, dict(learning_rate=0.01)),
    "rmsprop": (optimizers.RMSprop, dict(learning_rate=0.01)),
    "rmsprop_momentum": (optimizers.RMSprop, dict(learning_rate=0.01, momentum=0.9)),
    "rmsprop_centered": (optimizers.RMSprop, dict(learning_rate=0.01, momentum=0.5, centered=True)),
    "adagrad": (optimizers.Adagrad, dict(learning_rate=0.1)),
    "adadelta": (optimizers.Adadelta, dict(learning_rate=1.0)),
    "nadam": (optimizers.Nadam, dict(learning_rate=0.01)),
    # the base optimizer's gradient transforms and weight decay, under several update rules
    "sgd_clipnorm": (optimizers.SGD, dict(learning_rate=0.1, clipnorm=0.5)),
    "adam_clipnorm": (optimizers.Adam, dict(learning_rate=0.01, clipnorm=0.5)),
    "rmsprop_global_clipnorm": (optimizers.RMSprop, dict(learning_rate=0.01, global_clipnorm=0.8)),
    "sgd_momentum_global_clipnorm": (optimizers.SGD, dict(learning_rate=0.1, momentum=0.9, global_clipnorm=0.8)),
    "sgd_clipvalue": (optimizers.SGD, dict(learning_rate=0.1, clipvalue=0.3)),
    "nadam_clipvalue": (optimizers.Nadam, dict(learning_rate=0.01, clipvalue=0.3)),
    "sgd_weight_decay": (optimizers.SGD, dict(learning_rate=0.1, weight_decay=0.2)),
    "adagrad_weight_decay": (optimizers.Adagrad, dict(learning_rate=0.1, weight_decay=0.2)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_update_matches_keras_formula(case):
    cls, kwargs = CASES[case]
    grads = make_grads()
    got = run(cls(**kwargs), grads)
    want = run_reference(cls, kwargs, grads)
    for g, w, start in zip(got, want, INIT):
        assert g.dtype == np.float32 and not np.allclose(g, start)
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)


# --- torch.optim where its formula is Keras' (epsilon placement differs: a tiny epsilon there) ---------------
TORCH_CASES = {
    "sgd": (lambda: optimizers.SGD(0.1), lambda t, ps: t.optim.SGD(ps, lr=0.1)),
    "sgd_momentum": (lambda: optimizers.SGD(0.1, momentum=0.9), lambda t, ps: t.optim.SGD(ps, lr=0.1, momentum=0.9)),
    "sgd_nesterov": (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                     lambda t, ps: t.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
    "adam": (lambda: optimizers.Adam(0.01, epsilon=1e-12), lambda t, ps: t.optim.Adam(ps, lr=0.01, eps=1e-12)),
    "amsgrad": (lambda: optimizers.Adam(0.01, epsilon=1e-12, amsgrad=True),
                lambda t, ps: t.optim.Adam(ps, lr=0.01, eps=1e-12, amsgrad=True)),
    "adamw": (lambda: optimizers.AdamW(0.01, weight_decay=0.1, epsilon=1e-12),
              lambda t, ps: t.optim.AdamW(ps, lr=0.01, weight_decay=0.1, eps=1e-12)),
    "rmsprop_centered_momentum": (lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True, epsilon=1e-12),
                                  lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, centered=True,
                                                                eps=1e-12)),
    "adagrad": (lambda: optimizers.Adagrad(0.1, epsilon=1e-12),
                lambda t, ps: t.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.1, eps=1e-12)),
    "adadelta": (lambda: optimizers.Adadelta(1.0, rho=0.95, epsilon=1e-6),
                 lambda t, ps: t.optim.Adadelta(ps, lr=1.0, rho=0.95, eps=1e-6)),
    # torch's momentum_decay=1 gives Keras' 0.96 ** t momentum schedule
    "nadam": (lambda: optimizers.Nadam(0.01), lambda t, ps: t.optim.NAdam(ps, lr=0.01, eps=1e-7, momentum_decay=1.0)),
}


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_update_matches_torch(case):
    torch = pytest.importorskip("torch")
    ours, theirs = TORCH_CASES[case]
    grads = make_grads()
    got = run(ours(), grads)
    params = [torch.tensor(p, requires_grad=True) for p in INIT]
    opt = theirs(torch, params)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g)
        opt.step()
    for g, w in zip(got, params):
        np.testing.assert_allclose(g, w.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_keras_defaults():
    expect = {
        optimizers.SGD: dict(name="SGD", learning_rate=0.01, momentum=0.0, nesterov=False),
        optimizers.Adam: dict(name="adam", learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                              amsgrad=False),
        optimizers.AdamW: dict(name="adamw", learning_rate=0.001, weight_decay=0.004, epsilon=1e-7),
        optimizers.RMSprop: dict(name="rmsprop", learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                                 centered=False),
        optimizers.Adagrad: dict(name="adagrad", learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
        optimizers.Adadelta: dict(name="adadelta", learning_rate=0.001, rho=0.95, epsilon=1e-7),
        optimizers.Nadam: dict(name="nadam", learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    }
    for cls, values in expect.items():
        config = cls().get_config()
        assert {k: config[k] for k in values} == values, cls.__name__
        assert config["clipnorm"] is None and config["global_clipnorm"] is None and config["clipvalue"] is None
    assert optimizers.SGD().weight_decay is None


def test_clipping_one_step():
    g = [np.array([3.0, 4.0, 0.0], np.float32), np.full((2, 4), 0.25, np.float32)]  # norms 5 and sqrt(0.5)
    start = [np.zeros(s, np.float32) for s in SHAPES]

    def step(**kwargs):
        return run(optimizers.SGD(1.0, **kwargs), [g], make_vars(start))

    clipped = step(clipnorm=2.0)  # per variable: only the first is rescaled
    np.testing.assert_allclose(clipped[0], -g[0] * 2 / 5, rtol=1e-6)
    np.testing.assert_allclose(clipped[1], -g[1], rtol=1e-6)
    clipped = step(global_clipnorm=2.0)  # all together: norm sqrt(25.5)
    for c, gi in zip(clipped, g):
        np.testing.assert_allclose(c, -gi * 2 / math.sqrt(25.5), rtol=1e-6)
    clipped = step(clipvalue=0.5)
    np.testing.assert_allclose(clipped[0], [-0.5, -0.5, 0.0])
    np.testing.assert_allclose(clipped[1], -g[1])
    for off in (dict(clipnorm=0.0), dict(clipvalue=0.0), dict(global_clipnorm=0.0)):  # 0 means off, as Keras
        np.testing.assert_allclose(step(**off)[0], -g[0])


def test_weight_decay_exclusions():
    grads = [[np.zeros(s, np.float32) for s in SHAPES]]  # only the decay moves the variables
    for exclude in (dict(var_names=["bia"]), "by_variable"):
        opt = optimizers.SGD(0.5, weight_decay=0.1)
        variables = make_vars()
        if exclude == "by_variable":
            opt.exclude_from_weight_decay(var_list=[variables[1]])
        else:
            opt.exclude_from_weight_decay(**exclude)
        kernel, bias = run(opt, grads, variables)
        np.testing.assert_allclose(kernel, INIT[0] * (1 - 0.1 * 0.5), rtol=1e-6)
        np.testing.assert_array_equal(bias, INIT[1])
    # reconfiguring after the first step takes effect at the next one
    opt = optimizers.SGD(0.5, weight_decay=0.1)
    variables = make_vars()
    run(opt, grads, variables)
    opt.exclude_from_weight_decay(var_names=["kernel", "bias"])
    np.testing.assert_allclose(run(opt, grads, variables)[0], INIT[0] * 0.95, rtol=1e-6)


def test_none_gradients_are_skipped():
    opt = optimizers.Adam(0.1)
    kernel, bias = make_vars()
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(tinytf.constant(np.ones(3, np.float32)), kernel), (None, bias)])
    assert not np.allclose(kernel.numpy(), INIT[0])
    np.testing.assert_array_equal(bias.numpy(), INIT[1])
    assert opt.iterations == 1
    assert len(opt.get_weights()) == 2 + 4  # slots for both variables, as Keras builds on all of them
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply_gradients([(None, kernel), (None, bias)])
    opt.apply_gradients([])  # nothing to do
    assert opt.iterations == 1


def test_apply_without_variables_uses_the_built_ones():
    opt = optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="build"):
        opt.apply([tinytf.constant(np.ones(3, np.float32))])
    variables = make_vars()
    opt.build(variables)
    opt.apply([tinytf.constant(g) for g in make_grads(1)[0]])
    np.testing.assert_allclose(variables[0].numpy(), INIT[0] - 0.1 * make_grads(1)[0][0], rtol=1e-6)


def test_gradients_may_be_numpy_arrays():
    v = tinytf.Variable(np.ones(3, np.float32), name="w")
    optimizers.SGD(0.5).apply_gradients([(np.full(3, 2.0, np.float32), v)])
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="float64"):
        optimizers.SGD(0.5).apply_gradients([(np.ones(3), v)])


def test_constraints_after_the_update():
    v = tinytf.Variable(np.array([1.0, 0.05, -0.5], np.float32), name="w", constraint=NonNeg())
    optimizers.SGD(1.0).apply_gradients([(tinytf.constant(np.array([0.5, 0.1, -1.0], np.float32)), v)])
    np.testing.assert_allclose(v.numpy(), [0.5, 0.0, 0.5])


# --- learning-rate schedules ---------------------------------------------------------------------------
def warm_restarts(step, lr, first, t_mul, m_mul):
    """SGDR by walking the periods: first, first * t_mul, ...; period i starts at lr * m_mul ** i."""
    start, length, i = 0, first, 0
    while step >= start + length:
        start, length, i = start + length, length * t_mul, i + 1
    return lr * m_mul ** i * 0.5 * (1 + math.cos(math.pi * (step - start) / length))


SCHEDULES = [
    (schedules.ExponentialDecay(0.1, 4, 0.5), lambda s: 0.1 * 0.5 ** (s / 4)),
    (schedules.ExponentialDecay(0.1, 4, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** (s // 4)),
    (schedules.InverseTimeDecay(0.1, 4, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 4)),
    (schedules.InverseTimeDecay(0.1, 4, 0.5, staircase=True), lambda s: 0.1 / (1 + 0.5 * (s // 4))),
    (schedules.PiecewiseConstantDecay([3, 7], [1.0, 0.5, 0.1]), lambda s: 1.0 if s <= 3 else 0.5 if s <= 7 else 0.1),
    (schedules.PolynomialDecay(0.1, 8, 0.01, power=2.0),
     lambda s: (0.1 - 0.01) * (1 - min(s, 8) / 8) ** 2 + 0.01),
    (schedules.PolynomialDecay(0.1, 4, 0.01, cycle=True),
     lambda s: (0.1 - 0.01) * (1 - s / (4 * max(1, math.ceil(s / 4)))) + 0.01),
    (schedules.CosineDecay(0.1, 8, alpha=0.1),
     lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 8) / 8)) + 0.1)),
    (schedules.CosineDecay(0.0, 8, warmup_target=0.2, warmup_steps=4),
     lambda s: 0.2 * s / 4 if s < 4 else 0.2 * 0.5 * (1 + math.cos(math.pi * min(s - 4, 8) / 8))),
    (schedules.CosineDecayRestarts(0.1, 4, t_mul=2.0, m_mul=0.5), lambda s: warm_restarts(s, 0.1, 4, 2.0, 0.5)),
    (schedules.CosineDecayRestarts(0.1, 5, t_mul=1.0, alpha=0.2),
     lambda s: 0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi * (s % 5) / 5)) + 0.2)),
]


@pytest.mark.parametrize("index", range(len(SCHEDULES)))
def test_schedule_values_and_config(index):
    schedule, formula = SCHEDULES[index]
    for step in range(0, 30):
        assert schedule(step) == pytest.approx(formula(step), rel=1e-9, abs=1e-12), step
    config = schedules.serialize(schedule)
    assert config["module"] == "keras.optimizers.schedules" and config["class_name"] == type(schedule).__name__
    again = schedules.deserialize(config)
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert [again(s) for s in range(30)] == [schedule(s) for s in range(30)]


def test_optimizer_steps_along_its_schedule():
    schedule = schedules.ExponentialDecay(0.1, 2, 0.5)
    opt = optimizers.Adam(schedule)
    grads = make_grads(5)
    got = run(opt, grads)
    want = run_reference(optimizers.Adam, dict(learning_rate=None), grads, lr_at=schedule)  # step k uses schedule(k)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)
    assert opt.iterations == 5 and opt.learning_rate == pytest.approx(schedule(5))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.01
    opt.learning_rate = schedules.CosineDecay(0.2, 10)  # another schedule may replace it
    assert opt.learning_rate == pytest.approx(schedules.CosineDecay(0.2, 10)(5))
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "CosineDecay"
    assert optimizers.Adam.from_config(config).learning_rate == pytest.approx(0.2)  # a fresh optimizer: step 0


def test_learning_rate_setter_and_callable():
    opt = optimizers.SGD(0.1)
    opt.learning_rate = np.float32(0.25)
    assert opt.learning_rate == 0.25 and isinstance(opt.learning_rate, float)
    with pytest.raises(ValueError):
        opt.learning_rate = -1.0
    opt = optimizers.SGD(lambda: 0.5)  # a callable takes no argument, as in Keras
    kernel, _ = run(opt, make_grads(1))
    np.testing.assert_allclose(kernel, INIT[0] - 0.5 * make_grads(1)[0][0], rtol=1e-6)
    assert [v.name for v in opt.variables] == ["iteration"]  # no learning_rate variable, as for a schedule


def test_custom_schedule_needs_get_config_to_serialize():
    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.1 / 2 ** step

    opt = optimizers.SGD(Halving())
    run(opt, make_grads(2))
    assert opt.learning_rate == pytest.approx(0.025)
    with pytest.raises(NotImplementedError):
        opt.get_config()


# --- state: Keras' variable order, save and restore -------------------------------------------------------
def test_variables_in_keras_order():
    def names(opt):
        run(opt, make_grads(1))
        return [v.name for v in opt.variables]

    assert names(optimizers.SGD()) == ["iteration", "learning_rate"]
    assert names(optimizers.SGD(momentum=0.9)) == ["iteration", "learning_rate", "kernel_momentum", "bias_momentum"]
    # Adam interleaves momentum/velocity per variable, then adds all velocity_hat
    assert names(optimizers.Adam(amsgrad=True)) == [
        "iteration", "learning_rate", "kernel_momentum", "kernel_velocity", "bias_momentum", "bias_velocity",
        "kernel_velocity_hat", "bias_velocity_hat"]
    # RMSprop adds each kind for all variables in turn
    assert names(optimizers.RMSprop(momentum=0.5, centered=True)) == [
        "iteration", "learning_rate", "kernel_velocity", "bias_velocity", "kernel_momentum", "bias_momentum",
        "kernel_average_gradient", "bias_average_gradient"]
    assert names(optimizers.Adadelta()) == [
        "iteration", "learning_rate", "kernel_accumulated_grad", "kernel_accumulated_delta_var",
        "bias_accumulated_grad", "bias_accumulated_delta_var"]
    assert names(optimizers.Nadam())[-1] == "u_product"
    assert names(optimizers.Adagrad(schedules.ExponentialDecay(0.1, 2, 0.5))) == [
        "iteration", "kernel_accumulator", "bias_accumulator"]
    weights = optimizers.Adagrad(0.1)
    run(weights, make_grads(3))
    iteration, lr, acc = weights.get_weights()[:3]
    assert iteration.dtype == np.int64 and iteration == 3
    assert lr.dtype == np.float32 and lr == np.float32(0.1)
    assert acc.shape == (3,) and acc.dtype == np.float32


@pytest.mark.parametrize("case", ["sgd_momentum", "amsgrad", "adamw", "rmsprop_centered", "adagrad", "adadelta",
                                  "nadam"])
def test_state_round_trip_continues_the_same_trajectory(case):
    cls, kwargs = CASES[case]
    grads = make_grads(6)
    original = cls(**kwargs)
    variables = make_vars()
    run(original, grads[:3], variables)

    restored = cls(**kwargs)
    copies = make_vars([v.numpy() for v in variables])
    with pytest.raises(ValueError, match="not built"):
        restored.set_weights(original.get_weights())
    restored.build(copies)
    store = {}
    original.save_own_variables(store)
    assert sorted(store, key=int) == [str(i) for i in range(len(original.variables))]
    restored.load_own_variables(store)
    assert restored.iterations == 3
    for a, b in zip(restored.get_weights(), original.get_weights()):
        np.testing.assert_array_equal(a, b)

    for a, b in zip(run(original, grads[3:], variables), run(restored, grads[3:], copies)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # lr and u_product travel as float32


def test_load_with_wrong_count_warns_and_skips():
    opt = optimizers.Adam()
    run(opt, make_grads(1))
    before = opt.get_weights()
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        opt.load_own_variables({"0": np.array(7)})
    assert opt.iterations == 1
    with pytest.raises(ValueError, match="shape"):
        opt.set_weights(before[:2] + [np.zeros(5, np.float32)] + before[3:])


# --- config and arguments -----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_config_round_trip(case):
    cls, kwargs = CASES[case]
    opt = cls(**kwargs)
    config = opt.get_config()
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    envelope = optimizers.serialize(opt)
    assert envelope["class_name"] == cls.__name__ and envelope["module"] == "keras.optimizers"
    assert optimizers.deserialize(envelope).get_config() == config
    assert optimizers.get(envelope).get_config() == config


def test_get_by_name():
    for name, cls in [("sgd", optimizers.SGD), ("adam", optimizers.Adam), ("AdamW", optimizers.AdamW),
                      ("rmsprop", optimizers.RMSprop), ("adagrad", optimizers.Adagrad),
                      ("adadelta", optimizers.Adadelta), ("nadam", optimizers.Nadam)]:
        assert type(optimizers.get(name)) is cls
    opt = optimizers.SGD()
    assert optimizers.get(opt) is opt


@pytest.mark.parametrize("make, error", [
    (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0), ValueError),
    (lambda: optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0), ValueError),
    (lambda: optimizers.SGD(learning_rate=-0.1), ValueError),
    (lambda: optimizers.SGD(learning_rate="fast"), ValueError),
    (lambda: optimizers.SGD(clipnorm=-1.0), ValueError),
    (lambda: optimizers.Adam(weight_decay=-0.1), ValueError),
    (lambda: optimizers.SGD(momentum=1.5), ValueError),
    (lambda: optimizers.AdamW(weight_decay=None), ValueError),
    (lambda: optimizers.Adam(betas=(0.9, 0.99)), ValueError),
    (lambda: optimizers.get("adamax_typo"), ValueError),
    (lambda: optimizers.get(3), TypeError),
    (lambda: optimizers.Adam(use_ema=True), NotImplementedError),
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), ValueError),
    (lambda: schedules.PolynomialDecay(0.1, -1), ValueError),
    (lambda: schedules.CosineDecay(0.1, 0), ValueError),
    (lambda: schedules.PiecewiseConstantDecay([10], [1.0]), ValueError),
    (lambda: schedules.deserialize({"class_name": "NoSuchDecay", "config": {}}), ValueError),
])
def test_bad_arguments(make, error):
    with pytest.raises(error):
        make()


def test_legacy_decay_argument_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="decay"):
        opt = optimizers.SGD(0.1, decay=1e-4)
    assert "decay" not in opt.get_config()


def test_float64_variables():
    v = tinytf.Variable(np.ones(3), name="w")
    assert v.dtype == tinytf.float64
    opt = optimizers.Adam(0.1)
    opt.apply_gradients([(tinytf.constant(np.array([1.0, -1.0, 0.5])), v)])
    np.testing.assert_allclose(v.numpy(), [0.9, 1.1, 0.9], rtol=1e-5)
    assert opt.get_weights()[2].dtype == np.float64


def test_warnings_are_not_raised_in_the_normal_path():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(optimizers.Nadam(), make_grads(2))
