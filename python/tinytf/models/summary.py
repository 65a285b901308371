"""``model.summary()``: the Keras table of layers, output shapes and parameter counts."""
import numpy as np


def _fmt_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _fmt_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024


def print_summary(model, line_length=None, print_fn=None, show_trainable=False):
    if not model.built:
        raise ValueError(f"Model '{model.name}' has not been built yet: call it on a batch, call build(input_shape), "
                         "or give the first layer an input shape")
    print_fn = print_fn or print
    widths = [33, 26, 15] + ([9] if show_trainable else [])
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Trainable"] if show_trainable else [])

    def row(cells, left="│", mid="│", right="│"):
        out = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            out.append(" " + (c.rjust(w - 2) if i == 2 else c.ljust(w - 2)) + " ")
        return left + mid.join(out) + right

    def rule(l, m, r, ch="─"):
        return l + m.join(ch * w for w in widths) + r

    lines = [f'Model: "{model.name}"', rule("┏", "┳", "┓", "━"), row(headers, "┃", "┃", "┃"), rule("┡", "╇", "┩", "━")]
    body = []
    for layer, shape in model._layer_output_shapes():
        params = sum(int(np.prod(w.shape, dtype=np.int64)) for w in layer.weights) if layer.built else 0
        cells = [f"{layer.name} ({type(layer).__name__})", _fmt_shape(shape), f"{params:,}"]
        if show_trainable:
            cells.append("Y" if layer.trainable else "N")
        body.append(row(cells))
    lines += [x for i, r in enumerate(body) for x in ([r] if i == 0 else [rule("├", "┼", "┤"), r])]
    lines.append(rule("└", "┴", "┘"))
    trainable = sum(int(np.prod(w.shape, dtype=np.int64)) for w in model.trainable_weights)
    total = sum(int(np.prod(w.shape, dtype=np.int64)) for w in model.weights)
    nbytes = lambda ws: sum(np.asarray(w).nbytes for w in ws)  # noqa: E731
    lines += [f" Total params: {total:,} ({_fmt_bytes(nbytes(model.weights))})",
              f" Trainable params: {trainable:,} ({_fmt_bytes(nbytes(model.trainable_weights))})",
              f" Non-trainable params: {total - trainable:,} ({_fmt_bytes(nbytes(model.non_trainable_weights))})"]
    for line in lines:
        print_fn(line)
