"""Pictures of training and of models: ``plot_history`` (loss and metric curves
per epoch, a PNG) and ``plot_model`` (the layer graph, as a text diagram or a
PNG). PNGs need matplotlib (``pip install tinytf[plot]``)."""
import os

from ..layers.base import InputLayer, _flatten, _map


def _matplotlib_figure(what, **kwargs):
    """A matplotlib Figure drawn without pyplot (no global state, no window)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"{what} needs matplotlib to write a PNG: pip install matplotlib (or tinytf[plot])") \
            from None
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


# --- plot_history ----------------------------------------------------------------------------------------------
def plot_history(history, path="history.png", metrics=None, title=None):
    """Writes a PNG of the per-epoch curves in `history` (a History or its
    ``.history`` dict): one panel per quantity, its ``val_`` twin drawn with it.
    `metrics` picks quantities (default: all of them). Returns the path."""
    logs = history.history if hasattr(history, "history") else history
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history: expected a History (from fit) or a non-empty dict of per-epoch lists")
    names = [k for k in logs if not k.startswith("val_")] + [k[4:] for k in logs if k.startswith("val_")
                                                              and k[4:] not in logs]
    names = list(dict.fromkeys(names if metrics is None else metrics))
    missing = [n for n in names if n not in logs and "val_" + n not in logs]
    if missing:
        raise ValueError(f"plot_history: {missing} not in the history, which has {sorted(logs)}")
    fig = _matplotlib_figure("plot_history", figsize=(5 * len(names), 3.6), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        for key, label in ((name, "training"), ("val_" + name, "validation")):
            if key in logs:
                values = list(logs[key])
                ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.savefig(os.fspath(path), dpi=100)
    return path


# --- plot_model ------------------------------------------------------------------------------------------------
def _shape_text(shape):
    if shape is None:
        return "?"
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _graph(model):
    """(layer, parent layers, input shape, output shape) per call, in execution order."""
    from ..models import Sequential

    if isinstance(model, Sequential):
        rows, shape = [], model._batch_input_shape()
        previous = None
        if model._input_layer is not None or shape is not None:
            previous = model._input_layer or InputLayer(batch_shape=shape, name="input_layer")
            rows.append((previous, [], None, shape))
        for layer, out in model._layer_output_shapes():
            rows.append((layer, [previous] if previous is not None else [], shape, out))
            previous, shape = layer, out
        return rows
    if getattr(model, "_functional", False):
        rows = []
        for node in model._nodes:
            if node.inputs is None:
                rows.append((node.layer, [], None, node.layer.batch_shape))
            else:
                rows.append((node.layer, [kt.node.layer for kt in _flatten(node.inputs)],
                             _map(lambda kt: kt.shape, node.inputs), _map(lambda kt: kt.shape, node.outputs)))
        return rows
    return [(layer, [], None, None) for layer in model.layers]  # subclassed: the calls are not recorded


def _label(layer, in_shape, out_shape, show_shapes, show_dtype, show_layer_names, show_layer_activations,
           show_trainable):
    kind = type(layer).__name__
    head = f"{layer.name} ({kind})" if show_layer_names else kind
    parts = [head]
    activation = getattr(layer, "activation", None)
    if show_layer_activations and callable(activation):
        parts.append(f"activation: {getattr(activation, '__name__', activation)}")
    if show_shapes:
        parts.append(f"output: {_shape_text(out_shape)}" if in_shape is None else
                     f"{_shape_text(in_shape)} -> {_shape_text(out_shape)}")
    if show_dtype:
        parts.append(f"dtype: {layer.dtype.name}")
    if show_trainable:
        parts.append("trainable" if layer.trainable else "frozen")
    return parts


def model_to_text(model, show_shapes=False, show_dtype=False, show_layer_names=True, show_layer_activations=False,
                  show_trainable=False):
    """The layer graph as lines of text: one box per layer call, joined by
    arrows; a call whose inputs are not the line above says where they come from."""
    rows = _graph(model)
    lines = [f'Model: "{model.name}"', ""]
    for i, (layer, parents, in_shape, out_shape) in enumerate(rows):
        parts = _label(layer, in_shape, out_shape, show_shapes, show_dtype, show_layer_names,
                       show_layer_activations, show_trainable)
        width = max(len(p) for p in parts) + 2
        if i and parents:
            chained = len(parents) == 1 and parents[0] is rows[i - 1][0]
            lines += ["   │", "   ▼" if chained else "   ▼  from: " + ", ".join(p.name for p in parents)]
        elif i:
            lines.append("")
        lines.append("┌" + "─" * width + "┐")
        lines += [f"│ {p.ljust(width - 2)} │" for p in parts]
        lines.append("└" + "─" * width + "┘")
    return "\n".join(lines) + "\n"


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draws the model's layer graph, as Keras' plot_model (without graphviz):
    a text diagram when `to_file` ends in ``.txt``, else a PNG drawn with
    matplotlib, boxes ranked top to bottom (``rankdir="TB"``) or left to right
    ("LR"). Returns `to_file`."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}")
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    path = os.fspath(to_file)
    if path.endswith(".txt"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(model_to_text(model, **options))
        return to_file
    _draw(model, path, rankdir, dpi, options)
    return to_file


def _draw(model, path, rankdir, dpi, options):
    rows = _graph(model)
    # rank = longest chain of calls from an input; boxes of one rank side by side
    rank, position = {}, {}
    for i, (layer, parents, _, _) in enumerate(rows):
        rank[i] = 1 + max((rank[j] for j, row in enumerate(rows[:i]) if row[0] in parents), default=-1)
    columns = {}
    for i in range(len(rows)):
        position[i] = (columns.setdefault(rank[i], 0), rank[i])
        columns[rank[i]] += 1
    depth, width = max(rank.values()) + 1, max(columns.values())
    labels = {i: "\n".join(_label(row[0], row[2], row[3], **options)) for i, row in enumerate(rows)}
    # box sizes in inches for 8-point monospace text
    box_w = 0.4 + 0.075 * max(len(line) for label in labels.values() for line in label.split("\n"))
    box_h = 0.45 + 0.22 * max(label.count("\n") for label in labels.values())
    tb = rankdir == "TB"
    shrink = 72 * (box_h if tb else box_w) / 2  # arrows start and end at the box edges (in points)
    along, across = (box_h + 0.55, box_w + 0.5) if tb else (box_w + 0.5, box_h + 0.55)  # one rank, one column
    levels, cols = depth * along, width * across
    size = (cols, levels) if tb else (levels, cols)
    fig = _matplotlib_figure("plot_model", figsize=size)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, size[0])
    ax.set_ylim(0, size[1])
    ax.axis("off")

    def center(i):
        column, level = position[i]
        c = ((width - columns[level]) / 2 + column + 0.5) * across  # each rank centred
        r = (level + 0.5) * along
        return (c, levels - r) if tb else (r, cols - c)

    for i, (layer, parents, _, _) in enumerate(rows):
        x, y = center(i)
        ax.text(x, y, labels[i], ha="center", va="center", fontsize=8, family="monospace",
                bbox=dict(boxstyle="round,pad=0.4", facecolor="#e8f0fe", edgecolor="#4a6fa5"))
        for j in range(i):
            if rows[j][0] in parents:
                ax.annotate("", xy=(x, y), xytext=center(j),
                            arrowprops=dict(arrowstyle="->", color="#555555", shrinkA=shrink, shrinkB=shrink))
    fig.savefig(path, dpi=dpi)
