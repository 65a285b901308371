"""Recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed),
Embedding and Masking against PyTorch as the reference: the same weights in
Keras layout in, the same outputs and gradients out; Keras' masking rules;
thread-count determinism; and an Embedding + LSTM model on the movie-review
data."""
import numpy as np
import pytest

import tinytf as tf
from tinytf import layers
from tinytf.ops.rnn_ops import rnn

torch = pytest.importorskip("torch")

GATES = {"simple": 1, "lstm": 4, "gru": 3}


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def weights(kind, F, u, reset_after=True, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    G = GATES[kind]
    bias_shape = (2, G * u) if kind == "gru" and reset_after else (G * u,)
    return [rng.normal(size=s) * scale for s in ((F, G * u), (u, G * u), bias_shape)]


# --- a reference in torch: Keras' cell formulas and sequence rules, step by step ---------------

def torch_act(name):
    return {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda v: v}[name]


def torch_cell(kind, W, U, b, u, reset_after, act, ract, rdrop):
    """step(x_t, h, c) -> (h, c) with Keras-layout weights (torch tensors)."""
    act, ract = torch_act(act), torch_act(ract)

    def step(x, h, c):
        hd = h if rdrop is None else h * rdrop  # the state as the recurrent kernel sees it
        if kind == "simple":
            return act(x @ W + hd @ U + b), c
        if kind == "lstm":
            z = x @ W + hd @ U + b
            i, f, g, o = ract(z[:, :u]), ract(z[:, u:2 * u]), act(z[:, 2 * u:3 * u]), ract(z[:, 3 * u:])
            c = f * c + i * g
            return o * act(c), c
        xz = x @ W + (b[0] if reset_after else b)
        if reset_after:
            rec = hd @ U + b[1]
            z, r = ract(xz[:, :u] + rec[:, :u]), ract(xz[:, u:2 * u] + rec[:, u:2 * u])
            hh = act(xz[:, 2 * u:] + r * rec[:, 2 * u:])
        else:
            rec = hd @ U[:, :2 * u]
            z, r = ract(xz[:, :u] + rec[:, :u]), ract(xz[:, u:2 * u] + rec[:, u:2 * u])
            hh = act(xz[:, 2 * u:] + (r * hd) @ U[:, 2 * u:])
        return z * h + (1 - z) * hh, c

    return step


def torch_reference(kind, x, W, U, b, h0=None, c0=None, mask=None, go_backwards=False, return_sequences=False,
                    zero_output_for_mask=False, rdrop=None, reset_after=True, activation="tanh",
                    recurrent_activation="sigmoid"):
    B, T, _ = x.shape
    u = U.shape[0]
    h = h0 if h0 is not None else torch.zeros(B, u, dtype=x.dtype)
    c = c0 if c0 is not None else torch.zeros(B, u, dtype=x.dtype)
    step = torch_cell(kind, W, U, b, u, reset_after, activation, recurrent_activation, rdrop)
    prev, outs = torch.zeros(B, u, dtype=x.dtype), []
    for t in (range(T - 1, -1, -1) if go_backwards else range(T)):
        hn, cn = step(x[:, t], h, c)
        if mask is None:
            out, h, c = hn, hn, cn
        else:  # Keras: a masked step keeps the states and repeats the previous output (zeros at first)
            m = mask[:, t:t + 1]
            out = torch.where(m, hn, torch.zeros_like(hn) if zero_output_for_mask else prev)
            h, c = torch.where(m, hn, h), torch.where(m, cn, c)
        prev = out
        outs.append(out)
    y = torch.stack(outs, 1) if return_sequences else outs[-1]
    return [y, h, c] if kind == "lstm" else [y, h]


def run_both(kind, x, ws, h0=None, c0=None, mask=None, rdrop=None, dtype="float64", **kw):
    """Outputs and gradients (x, weights, initial states) of the op and of the
    torch reference for a random linear function of all outputs."""
    states = [s for s in (h0, c0) if s is not None]
    tx = [tf.Variable(a.astype(dtype)) for a in [x] + ws + states]
    with tf.GradientTape() as tape:
        outs = rnn(kind, tx[0], tx[1], tx[2], tx[3], initial_state=tx[4:] or None,
                   mask=None if mask is None else tf.constant(mask),
                   recurrent_dropout_mask=None if rdrop is None else tf.constant(rdrop.astype(dtype)), **kw)
        rs = [np.random.default_rng(7 + i).normal(size=tuple(o.shape)) for i, o in enumerate(outs)]
        loss = tf.add_n([tf.reduce_sum(o * tf.constant(r.astype(dtype))) for o, r in zip(outs, rs)])
    grads = tape.gradient(loss, tx)

    px = [torch.tensor(a, requires_grad=True) for a in [x] + ws + states]
    hc = dict(zip(["h0", "c0"], px[4:]))
    ref = torch_reference(kind, px[0], px[1], px[2], px[3], mask=None if mask is None else torch.tensor(mask),
                          rdrop=None if rdrop is None else torch.tensor(rdrop), **hc, **kw)
    sum((o * torch.tensor(r)).sum() for o, r in zip(ref, rs)).backward()
    return ([o.numpy() for o in outs], [g.numpy() for g in grads],
            [o.detach().numpy() for o in ref], [p.grad.numpy() for p in px])


def check(kind, tol=1e-10, **kw):
    outs, grads, routs, rgrads = run_both(kind, **kw)
    for a, b in zip(outs + grads, routs + rgrads):
        close(a, b, tol)


# --- the kernel against torch's own modules (anchors the gate layouts) ----------------------

def torch_module(kind, F, u, W, U, b, nonlinearity="tanh", bidirectional=False):
    """torch.nn.LSTM / GRU / RNN holding Keras-layout weights. Keras LSTM gates
    i,f,c,o are torch's i,f,g,o; Keras GRU z,r,h are torch's r,z,n (reset_after
    is torch's formula, with the two Keras biases as b_ih and b_hh)."""
    mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(kind)
    m = (mod(F, u, batch_first=True, bidirectional=bidirectional) if mod else
         torch.nn.RNN(F, u, nonlinearity=nonlinearity, batch_first=True, bidirectional=bidirectional)).double()

    def perm(a):  # Keras column blocks -> torch row blocks
        return np.concatenate([a[..., u:2 * u], a[..., :u], a[..., 2 * u:]], -1) if kind == "gru" else a

    bi, bh = (b[0], b[1]) if b.ndim == 2 else (b, np.zeros_like(b))
    return m, lambda sfx: {f"weight_ih_l0{sfx}": perm(W).T, f"weight_hh_l0{sfx}": perm(U).T,
                           f"bias_ih_l0{sfx}": perm(bi), f"bias_hh_l0{sfx}": perm(bh)}


def load(module, params):
    with torch.no_grad():
        for name, value in params.items():
            getattr(module, name).copy_(torch.tensor(np.ascontiguousarray(value)))


@pytest.mark.parametrize("kind,act", [("lstm", "tanh"), ("gru", "tanh"), ("simple", "tanh"), ("simple", "relu")])
def test_op_matches_torch_modules(kind, act):
    B, T, F, u = 3, 6, 5, 4
    x = np.random.default_rng(1).normal(size=(B, T, F))
    W, U, b = weights(kind, F, u)
    h0 = np.random.default_rng(2).normal(size=(B, u))
    c0 = np.random.default_rng(3).normal(size=(B, u))
    states = [h0, c0] if kind == "lstm" else [h0]
    tx = [tf.Variable(a) for a in [x, W, U, b] + states]
    with tf.GradientTape() as tape:
        y, *hc = rnn(kind, tx[0], tx[1], tx[2], tx[3], initial_state=tx[4:], activation=act, return_sequences=True)
        loss = tf.reduce_sum(y * y) + tf.add_n([tf.reduce_sum(s * (i + 2.0)) for i, s in enumerate(hc)])
    gx, gW, gU, gb, *gs = [g.numpy() for g in tape.gradient(loss, tx)]

    m, params = torch_module(kind, F, u, W, U, b, nonlinearity=act)
    load(m, params(""))
    X = torch.tensor(x, requires_grad=True)
    init = [torch.tensor(s[None], requires_grad=True) for s in states]
    Y, H = m(X, tuple(init) if kind == "lstm" else init[0])
    H = list(H) if kind == "lstm" else [H]
    ((Y * Y).sum() + sum((s * (i + 2.0)).sum() for i, s in enumerate(H))).backward()
    close(y.numpy(), Y.detach().numpy())
    for s, S in zip(hc, H):
        close(s.numpy(), S[0].detach().numpy())
    close(gx, X.grad.numpy())
    for g, t in zip(gs, init):
        close(g, t.grad[0].numpy())
    grads = {n: p.grad.numpy() for n, p in m.named_parameters()}
    p = params("")
    perm = (lambda a: np.concatenate([a[..., u:2 * u], a[..., :u], a[..., 2 * u:]], -1)) if kind == "gru" else (
        lambda a: a)
    close(perm(gW).T, grads["weight_ih_l0"])
    close(perm(gU).T, grads["weight_hh_l0"])
    if kind == "gru":
        close(perm(gb[0]), grads["bias_ih_l0"])
        close(perm(gb[1]), grads["bias_hh_l0"])
    else:
        close(gb, grads["bias_ih_l0"])
    assert set(p) == set(grads)


# --- every option against the step-by-step reference ------------------------------------------

def padded_mask(B, T):
    """Post-padding, pre-padding, a hole in the middle, all masked, none masked."""
    lengths = [T, T - 2, 1, 0, T - 1][:B]
    mask = np.array([[t < n for t in range(T)] for n in lengths])
    mask[1] = mask[1][::-1]      # pre-padded
    mask[4, T // 2] = False      # a gap
    return mask


CONFIGS = {
    "plain": {},
    "sequences_backwards": dict(return_sequences=True, go_backwards=True),
    "initial_state": dict(states=True),
    "mask": dict(mask=True, states=True),
    "mask_sequences": dict(mask=True, states=True, return_sequences=True),
    "mask_zero_output_backwards": dict(mask=True, return_sequences=True, zero_output_for_mask=True,
                                       go_backwards=True),
    "recurrent_dropout": dict(rdrop=True, return_sequences=True, states=True),
}


def config_case(kind, reset_after, config, B, T, F, u, rng):
    """x and the keyword arguments of CONFIGS[config] as numpy values
    (h0, c0, mask, rdrop), for run_both / torch_reference."""
    kw = dict(CONFIGS[config])
    x = rng.normal(size=(B, T, F))
    if kw.pop("states", False):
        kw["h0"] = rng.normal(size=(B, u))
        if kind == "lstm":
            kw["c0"] = rng.normal(size=(B, u))
    if kw.pop("mask", False):
        kw["mask"] = padded_mask(B, T)
    if kw.pop("rdrop", False):
        kw["rdrop"] = (rng.random((B, u)) > 0.3) / 0.7
    if kind == "gru":
        kw["reset_after"] = reset_after
    return x, kw


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("kind,reset_after", [("lstm", True), ("gru", True), ("gru", False), ("simple", True)])
def test_op_options_match_reference(kind, reset_after, config):
    F, u = 3, 4
    x, kw = config_case(kind, reset_after, config, 5, 7, F, u, np.random.default_rng(11))
    check(kind, x=x, ws=weights(kind, F, u, reset_after), **kw)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("kind,reset_after", [("lstm", True), ("gru", True), ("gru", False), ("simple", True)])
def test_op_without_a_tape_matches_reference(kind, reset_after, config):
    """Outside a GradientTape nothing is kept for a backward: the steps go 16
    at a time and h, c roll over two slots. 37 steps cross two chunk ends."""
    F, u = 3, 4
    x, kw = config_case(kind, reset_after, config, 5, 37, F, u, np.random.default_rng(12))
    ws = weights(kind, F, u, reset_after, scale=0.3)
    states = [kw.pop(k) for k in ("h0", "c0") if k in kw]
    mask, rdrop = kw.pop("mask", None), kw.pop("rdrop", None)
    outs = rnn(kind, tf.constant(x), *[tf.constant(w) for w in ws],
               initial_state=[tf.constant(s) for s in states] or None, mask=None if mask is None else tf.constant(mask),
               recurrent_dropout_mask=None if rdrop is None else tf.constant(rdrop), **kw)
    hc = dict(zip(["h0", "c0"], [torch.tensor(s) for s in states]))
    ref = torch_reference(kind, torch.tensor(x), *[torch.tensor(w) for w in ws],
                          mask=None if mask is None else torch.tensor(mask),
                          rdrop=None if rdrop is None else torch.tensor(rdrop), **hc, **kw)
    assert len(outs) == len(ref)
    for a, b in zip(outs, ref):
        close(a.numpy(), b.numpy())


@pytest.mark.parametrize("kind,u,reset_after", [("lstm", 32, True), ("gru", 128, True), ("gru", 128, False),
                                               ("simple", 128, True)])
def test_op_with_recurrent_kernel_rows_a_multiple_of_1kb(kind, u, reset_after):
    """G*u float64 values per row of U fill whole KBs: the forward reads U
    from a copy with longer rows (no packing at every step). Same reference."""
    B, T, F = 5, 4, 3
    rng = np.random.default_rng(8)
    kw = dict(return_sequences=True, mask=padded_mask(B, T), h0=rng.normal(size=(B, u)),
              rdrop=(rng.random((B, u)) > 0.3) / 0.7)
    if kind == "lstm":
        kw["c0"] = rng.normal(size=(B, u))
    if kind == "gru":
        kw["reset_after"] = reset_after
    check(kind, x=rng.normal(size=(B, T, F)), ws=weights(kind, F, u, reset_after, scale=0.2), **kw)


@pytest.mark.parametrize("kind,act,ract", [("lstm", "relu", "sigmoid"), ("gru", "linear", "tanh")])
def test_op_other_activations(kind, act, ract):
    x = np.random.default_rng(5).normal(size=(2, 4, 3))
    check(kind, x=x, ws=weights(kind, 3, 5), return_sequences=True, activation=act, recurrent_activation=ract)


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
@pytest.mark.parametrize("kind,reset_after", [("lstm", True), ("gru", True), ("gru", False), ("simple", True)])
def test_float32_vectorised_gates(kind, reset_after, isa):
    """float32 runs the vectorised exp/tanh of each ISA: close to float64 torch."""
    levels = ["scalar", "avx2", "avx512"]
    if levels.index(isa) > levels.index(tf._core.cpu_best_isa()):
        pytest.skip(f"this CPU has no {isa}")
    B, T, F, u = 5, 9, 6, 37  # 37 units: vector loops with tails
    rng = np.random.default_rng(3)
    kw = dict(x=rng.normal(size=(B, T, F)) * 2, ws=weights(kind, F, u, reset_after, scale=0.4),
              mask=padded_mask(B, T), return_sequences=True, h0=rng.normal(size=(B, u)))
    if kind == "lstm":
        kw["c0"] = rng.normal(size=(B, u))
    if kind == "gru":
        kw["reset_after"] = reset_after
    before = tf._core.isa()
    tf._core.set_isa(isa)
    try:
        outs, grads, routs, rgrads = run_both(kind, dtype="float32", **kw)
    finally:
        tf._core.set_isa(before)
    for a, b in zip(outs + grads, routs + rgrads):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4 * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple"])
def test_threads_bitwise(kind, restore_threads):
    rng = np.random.default_rng(0)
    B, T, F, u = 33, 12, 16, 32
    x = rng.normal(size=(B, T, F)).astype(np.float32)
    ws = [w.astype(np.float32) for w in weights(kind, F, u, scale=0.3)]
    mask = rng.random((B, T)) > 0.2
    results = []
    for threads in (1, 2):
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tx = [tf.Variable(a) for a in [x] + ws]
        with tf.GradientTape() as tape:
            outs = rnn(kind, *tx, mask=tf.constant(mask), return_sequences=True)
            loss = tf.reduce_sum(outs[0] * outs[0]) + tf.reduce_sum(outs[1])
        results.append([o.numpy().copy() for o in outs] + [g.numpy().copy() for g in tape.gradient(loss, tx)])
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_op_bad_arguments():
    x = tf.constant(np.zeros((2, 3, 4), np.float32))
    W, U, b = [tf.constant(w.astype(np.float32)) for w in weights("lstm", 4, 5)]
    with pytest.raises(ValueError, match="rank 3"):
        rnn("lstm", tf.constant(np.zeros((2, 4), np.float32)), W, U, b)
    with pytest.raises(ValueError, match="kernel must have shape"):
        rnn("lstm", tf.constant(np.zeros((2, 3, 6), np.float32)), W, U, b)
    with pytest.raises(ValueError, match="recurrent_kernel"):
        rnn("gru", x, W, U, b)
    with pytest.raises(ValueError, match="initial state"):
        rnn("lstm", x, W, U, b, initial_state=[np.zeros((2, 4), np.float32), np.zeros((2, 5), np.float32)])
    with pytest.raises(ValueError, match="mask"):
        rnn("lstm", x, W, U, b, mask=np.ones((2, 4), bool))
    with pytest.raises(TypeError, match="dtype"):
        rnn("lstm", tf.constant(np.zeros((2, 3, 4))), W, U, b)
    with pytest.raises(ValueError, match="not supported"):
        rnn("lstm", x, W, U, b, activation="softplus")


# --- layers ----------------------------------------------------------------------------------------

def test_lstm_layer_weights_and_defaults():
    layer = layers.LSTM(6, return_sequences=True, return_state=True)
    y, h, c = layer(np.zeros((2, 5, 3), np.float32))
    assert tuple(y.shape) == (2, 5, 6) and tuple(h.shape) == tuple(c.shape) == (2, 6)
    assert layer.cell.kernel.shape == (3, 24) and layer.cell.recurrent_kernel.shape == (6, 24)
    k, rk, b = layer.get_weights()
    assert [w.shape for w in layer.get_weights()] == [(3, 24), (6, 24), (24,)]
    assert np.array_equal(b, np.r_[np.zeros(6), np.ones(6), np.zeros(12)])  # unit_forget_bias
    assert np.allclose(rk @ rk.T, np.eye(6), atol=1e-5)  # orthogonal
    assert layer.units == 6 and layer.cell.name == "lstm_cell"
    with pytest.raises(ValueError, match="shape"):
        layer.set_weights([k, rk[:, :20], b])
    other = layers.LSTM(5)
    other(np.zeros((1, 1, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        layer.set_weights(other.get_weights())  # 5 units into 6
    with pytest.raises(ValueError, match="rank 3"):
        layers.LSTM(4)(np.zeros((2, 3), np.float32))
    gru = layers.GRU(3, reset_after=False)
    gru(np.zeros((1, 2, 4), np.float32))
    assert [w.shape for w in gru.get_weights()] == [(4, 9), (3, 9), (9,)]


@pytest.mark.parametrize("cls,kind", [(layers.LSTM, "lstm"), (layers.GRU, "gru"), (layers.SimpleRNN, "simple")])
def test_layers_match_torch(cls, kind):
    B, T, F, u = 4, 6, 5, 3
    x = np.random.default_rng(0).normal(size=(B, T, F))
    W, U, b = weights(kind, F, u)
    layer = cls(u, return_sequences=True, dtype="float64")
    xt = tf.constant(x)
    layer(xt)
    layer.set_weights([W, U, b])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        loss = tf.reduce_sum(y * y)
    gx = tape.gradient(loss, xt)
    m, params = torch_module(kind, F, u, W, U, b)
    load(m, params(""))
    X = torch.tensor(x, requires_grad=True)
    Y = m(X)[0]
    (Y * Y).sum().backward()
    close(y.numpy(), Y.detach().numpy())
    close(gx.numpy(), X.grad.numpy())


def unpadded_torch(m, x, lengths):
    """Per-sample torch runs on the unpadded (post-padded) sequences: outputs
    padded with the last valid output, and the final states."""
    outs, finals = [], []
    for i, n in enumerate(lengths):
        y, _ = m(torch.tensor(x[i:i + 1, :n]))
        y = y[0].detach().numpy()
        outs.append(np.concatenate([y, np.repeat(y[-1:], x.shape[1] - n, 0)]))
        finals.append(y[-1])
    return np.stack(outs), np.stack(finals)


def test_bidirectional_matches_torch_with_mask():
    B, T, F, u = 4, 7, 3, 5
    rng = np.random.default_rng(4)
    x = rng.normal(size=(B, T, F))
    lengths = [7, 4, 2, 6]
    mask = np.array([[t < n for t in range(T)] for n in lengths])
    fw, bw = weights("lstm", F, u, seed=1), weights("lstm", F, u, seed=2)
    layer = layers.Bidirectional(layers.LSTM(u, return_sequences=True, dtype="float64"))
    layer(tf.constant(x))
    layer.set_weights(fw + bw)
    assert layer.forward_layer.name.startswith("forward_") and layer.backward_layer.go_backwards
    y = layer(tf.constant(x), mask=tf.constant(mask)).numpy()

    m, params = torch_module("lstm", F, u, *fw, bidirectional=True)
    load(m, {**params(""), **torch_module("lstm", F, u, *bw)[1]("_reverse")})
    for i, n in enumerate(lengths):
        ref = m(torch.tensor(x[i:i + 1, :n]))[0][0].detach().numpy()
        close(y[i, :n], ref)
        close(y[i, n:], 0)  # Keras: Bidirectional zeroes the outputs of masked steps
    summed = layers.Bidirectional(layers.GRU(u), merge_mode="sum")
    assert tuple(summed(tf.constant(x)).shape) == (B, u)
    assert len(summed.get_weights()) == 6


def test_bidirectional_states_and_gradients():
    x = tf.constant(np.random.default_rng(0).normal(size=(3, 4, 2)))
    layer = layers.Bidirectional(layers.LSTM(3, return_state=True, dtype="float64"), merge_mode=None)
    out = layer(x)
    assert len(out) == 6 and [tuple(o.shape) for o in out] == [(3, 3)] * 6
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, initial_state=[tf.constant(np.ones((3, 3)))] * 4)
        loss = tf.reduce_sum(y[0]) + tf.reduce_sum(y[1] * 2.0)
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    assert all(g is not None for g in grads) and len(grads) == 7


def test_time_distributed_dense():
    x = np.random.default_rng(0).normal(size=(2, 5, 3))
    td = layers.TimeDistributed(layers.Dense(4, activation="tanh", dtype="float64"), dtype="float64")
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = td(xt)
        loss = tf.reduce_sum(y * y)
    k, b = td.get_weights()
    close(y.numpy(), np.tanh(x @ k + b))
    ref = 2 * np.tanh(x @ k + b) * (1 - np.tanh(x @ k + b) ** 2)
    close(tape.gradient(loss, xt).numpy(), ref @ k.T)
    assert td.compute_output_shape((None, 5, 3)) == (None, 5, 4)
    with pytest.raises(ValueError, match="rank >= 3"):
        td(np.zeros((2, 3)))


def test_embedding_lookup_gradient_and_mask():
    emb = layers.Embedding(10, 3, mask_zero=True, dtype="float64")
    ids = np.array([[1, 2, 0], [4, 4, 9]])
    with tf.GradientTape() as tape:
        y = emb(ids)
        loss = tf.reduce_sum(y * tf.constant(np.arange(18.0).reshape(2, 3, 3)))
    table = emb.get_weights()[0]
    assert table.shape == (10, 3) and np.abs(table).max() <= 0.05  # RandomUniform(-0.05, 0.05)
    close(y.numpy(), table[ids])
    ref = np.zeros((10, 3))
    np.add.at(ref, ids, np.arange(18.0).reshape(2, 3, 3))
    close(tape.gradient(loss, emb.embeddings).numpy(), ref)
    assert np.array_equal(y._keras_mask.numpy(), ids != 0)
    with pytest.raises(IndexError):
        emb(np.array([[10]]))


def test_embedding_mask_reaches_lstm():
    """Embedding(mask_zero) + LSTM on post-padded ids equals torch on the unpadded sequences."""
    rng = np.random.default_rng(2)
    lengths = [6, 3, 1, 5]
    ids = np.zeros((4, 6), np.int64)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, 20, n)
    model = tf.models.Sequential([layers.Input(shape=(6,), dtype="int64"),
                                  layers.Embedding(20, 4, mask_zero=True, dtype="float64"),
                                  layers.LSTM(3, return_sequences=True, dtype="float64")])
    y = model(ids)
    assert np.array_equal(y._keras_mask.numpy(), ids != 0)
    table, W, U, b = model.get_weights()
    m, params = torch_module("lstm", 4, 3, W, U, b)
    load(m, params(""))
    ref, _ = unpadded_torch(m, table[ids], lengths)
    close(y.numpy(), ref)


def test_masking_layer():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]])
    masked = layers.Masking(0.0, dtype="float64")(x)
    assert np.array_equal(masked._keras_mask.numpy(), [[True, False, True]])
    layer = layers.SimpleRNN(2, dtype="float64")
    close(layer(masked).numpy(), layer(x[:, [0, 2]]).numpy())  # the masked step is skipped


def test_functional_encoder_decoder_states():
    enc_in, dec_in = layers.Input(shape=(5, 3)), layers.Input(shape=(4, 2))
    _, h, c = layers.LSTM(6, return_state=True)(enc_in)
    dec = layers.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
    out = layers.TimeDistributed(layers.Dense(2))(dec)
    model = tf.models.Model([enc_in, dec_in], out)
    assert model.compute_output_shape(None) == (None, 4, 2)
    rng = np.random.default_rng(0)
    xe, xd, yd = rng.normal(size=(8, 5, 3)), rng.normal(size=(8, 4, 2)), rng.normal(size=(8, 4, 2))
    model.compile("adam", "mse")
    hist = model.fit([xe, xd], yd, epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_layer_dropout_trains_and_is_inactive_in_inference():
    layer = layers.GRU(4, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype(np.float32)
    inference = layer(x).numpy()
    assert np.array_equal(layer(x, training=False).numpy(), inference)
    assert not np.allclose(layer(x, training=True).numpy(), inference)


# --- real data ----------------------------------------------------------------------------------

def pad_pre(seqs, maxlen):
    """The last `maxlen` ids of each review (Keras' truncating="pre"), zero-padded at the end."""
    out = np.zeros((len(seqs), maxlen), np.int32)
    for i, s in enumerate(seqs):
        s = s[-maxlen:]
        out[i, :len(s)] = s
    return out


class MaskedMeanOverTime(layers.Layer):
    """Mean of the unmasked timesteps, written with ops."""

    def call(self, inputs, mask=None):
        m = tf.expand_dims(tf.cast(mask, inputs.dtype), -1)
        return tf.reduce_sum(inputs * m, axis=1) / tf.maximum(tf.reduce_sum(m, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def test_movie_reviews_embedding_beats_75_percent():
    """Pang & Lee movie reviews (1,600 train / 400 test): Embedding(mask_zero)
    and a masked mean over time; padded ids must not count."""
    try:
        (xtr, ytr), (xte, yte) = tf.datasets.imdb.load_data(num_words=10000)
    except RuntimeError as e:
        pytest.skip(f"movie-review data not available: {e}")
    xtr, xte = pad_pre(xtr, 500), pad_pre(xte, 500)
    tf.utils.set_random_seed(0)
    model = tf.models.Sequential([layers.Input(shape=(500,), dtype="int32"),
                                  layers.Embedding(10000, 32, mask_zero=True), MaskedMeanOverTime(),
                                  layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.optimizers.Adam(5e-3), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(xtr, ytr, batch_size=32, epochs=6, verbose=0)
    accuracy = model.evaluate(xte, yte, verbose=0)[1]
    assert accuracy > 0.75, accuracy


def test_stateful_carries_states_between_calls():
    x = np.random.default_rng(0).normal(size=(2, 6, 3))
    full = layers.LSTM(4, return_sequences=True, dtype="float64")
    stateful = layers.LSTM(4, return_sequences=True, stateful=True, dtype="float64")
    ref = full(x).numpy()
    stateful(x[:, :1])
    stateful.set_weights(full.get_weights())
    stateful.reset_states()
    close(np.concatenate([stateful(x[:, :4]).numpy(), stateful(x[:, 4:]).numpy()], 1), ref)
    stateful.reset_states()
    close(stateful(x[:, :4]).numpy(), ref[:, :4])
    with pytest.raises(ValueError, match="stateful"):
        stateful(x[:1])


def test_configs_round_trip():
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    for layer in (layers.GRU(3, reset_after=False, go_backwards=True, return_sequences=True),
                  layers.RNN(layers.LSTMCell(2), return_state=True),
                  layers.Bidirectional(layers.SimpleRNN(2, activation="relu"), merge_mode="ave"),
                  layers.TimeDistributed(layers.Dense(5)), layers.Embedding(7, 2, mask_zero=True),
                  layers.Masking(0.5)):
        inputs = np.abs(x).astype(np.int64) if isinstance(layer, layers.Embedding) else x
        out = layer(inputs)
        twin = type(layer).from_config(layer.get_config())
        twin(inputs)
        twin.set_weights(layer.get_weights())
        again = twin(inputs)
        for a, b in zip(out if isinstance(out, list) else [out], again if isinstance(again, list) else [again]):
            assert np.array_equal(a.numpy(), b.numpy()), type(layer).__name__


def test_regularizers_and_constraints_reach_the_cell():
    layer = layers.GRU(3, kernel_regularizer="l2", recurrent_regularizer="l1", bias_constraint="non_neg",
                       dtype="float64")
    layer(np.ones((2, 4, 5)))
    k, rk, _ = layer.get_weights()
    assert len(layer.losses) == 2
    close(sum(float(l) for l in layer.losses), 0.01 * np.sum(k ** 2) + 0.01 * np.sum(np.abs(rk)))
    assert layer.cell.bias.constraint is not None and layer.bias_constraint is layer.cell.bias_constraint
