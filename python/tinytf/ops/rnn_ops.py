"""The recurrent op behind SimpleRNN, LSTM and GRU: a whole sequence in one C++
kernel, forward and backward through time (see csrc/kernels/rnn.h), with
Keras' weight layouts and masking rules."""
from ._base import _core, _wrap, active, as_tensor, float_only, record
from .nn_ops import _ACTS

KINDS = ("simple", "lstm", "gru")


def rnn(kind, inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None, activation="tanh",
        recurrent_activation="sigmoid", reset_after=True, go_backwards=False, return_sequences=False,
        zero_output_for_mask=False, recurrent_dropout_mask=None):
    """Runs a recurrent layer over `inputs` (batch, timesteps, features).

    kind: "simple", "lstm" or "gru"; kernel (features, G*units), recurrent_kernel
    (units, G*units) and bias (G*units,) (GRU with reset_after: (2, 3*units)) in
    Keras' gate order. initial_state: [h] or, for an LSTM, [h, c] (None: zeros).
    mask: bool (batch, timesteps). recurrent_dropout_mask: a constant (batch,
    units) scale for the state where it feeds recurrent_kernel.
    Activations are names the kernel fuses: linear, relu, relu6, sigmoid, tanh.

    Returns [output, h] (LSTM: [output, h, c]); output is (batch, timesteps,
    units) with return_sequences, else the last output (batch, units)."""
    if kind not in KINDS:
        raise ValueError(f"rnn: kind must be one of {list(KINDS)}, got {kind!r}")
    x = as_tensor(inputs)
    float_only(x, kind)
    for name in (activation, recurrent_activation):
        if name not in _ACTS:
            raise ValueError(f"{kind}: activation {name!r} is not supported by the recurrent kernel; use one of "
                             f"{sorted(k for k in _ACTS if k)}")
    states = list(initial_state) if initial_state is not None else []
    if len(states) not in (0, 1 + (kind == "lstm")):
        raise ValueError(f"{kind}: initial_state must be a list of {1 + (kind == 'lstm')} tensors (h" +
                         (", c" if kind == "lstm" else "") + f"), got {len(states)}")
    states = [as_tensor(s, dtype=x.dtype) for s in states]
    if mask is not None:
        mask = as_tensor(mask)
        if mask.dtype.name != "bool":
            mask = _wrap(mask._t.to(_core.DType.bool))
    h0, c0 = (states + [None, None])[:2]
    y, h, c, tape = _core.rnn_forward(
        kind, x._t, kernel._t, recurrent_kernel._t, None if bias is None else bias._t,
        None if h0 is None else h0._t, None if c0 is None else c0._t, None if mask is None else mask._t,
        None if recurrent_dropout_mask is None else as_tensor(recurrent_dropout_mask, dtype=x.dtype)._t,
        _ACTS[activation], _ACTS[recurrent_activation], bool(reset_after), bool(go_backwards),
        bool(return_sequences), bool(zero_output_for_mask), bool(active()))
    outputs = (_wrap(y), _wrap(h)) + ((_wrap(c),) if c is not None else ())
    if tape is not None:
        inputs_ = [x, kernel, recurrent_kernel] + [t for t in (bias, h0, c0) if t is not None]

        def backward(grads, needs):
            grads = [None if g is None else g._t for g in grads] + [None]
            dx, dk, drk, db, dh0, dc0 = _core.rnn_backward(tape, grads[0], grads[1], grads[2], bool(needs[0]))
            out = [dx, dk, drk] + [g for t, g in ((bias, db), (h0, dh0), (c0, dc0)) if t is not None]
            return tuple(None if g is None else _wrap(g) for g in out)

        record(tuple(inputs_), outputs, backward)
    return list(outputs)
