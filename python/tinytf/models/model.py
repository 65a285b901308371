"""``Model``: a graph of layers (Functional API) or a subclass with its own
``call``. Training (compile/fit/evaluate/predict) comes from ``Trainer``."""
from .._tensor import Tensor
from ..layers.base import InputLayer, KerasTensor, Layer, _flatten, _map
from .summary import print_summary
from .training import Trainer


def _structure_of(x):
    return x if isinstance(x, (list, tuple, dict)) else x


class Model(Trainer, Layer):
    """``Model(inputs, outputs)`` for a Functional graph; subclass and define
    ``call`` for anything else."""

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if len(args) > 0 else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        Layer.__init__(self, **kwargs)
        Trainer.__init__(self)
        self._functional = inputs is not None
        if self._functional:
            if outputs is None:
                raise ValueError("Model: both inputs and outputs must be given for a Functional model")
            self._init_graph(inputs, outputs)

    # --- Functional graph ---------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        self._inputs, self._outputs = inputs, outputs
        flat_in, flat_out = _flatten(inputs), _flatten(outputs)
        for t in flat_in + flat_out:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model: inputs and outputs must be symbolic tensors from tinytf.Input and layer "
                                f"calls, got {type(t).__name__}")
        for t in flat_in:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError("Model: every input must come from tinytf.Input(...)")
        self._nodes = []  # execution order
        seen = set()

        def visit(t):
            node = t.node
            if id(node) in seen:
                return
            if node.inputs is not None:
                for parent in _flatten(node.inputs):
                    visit(parent)
            elif all(t is not i for i in flat_in):
                raise ValueError(f"Model: the graph uses the input '{t.name}', which is not in the model's inputs")
            seen.add(id(node))
            self._nodes.append(node)

        for t in flat_out:
            visit(t)
        self._layers = []
        for node in self._nodes:
            if all(node.layer is not l for l in self._layers):
                self._layers.append(node.layer)
        self.built = True

    def _run_graph(self, inputs, training):
        flat_in = _flatten(inputs)
        if len(flat_in) != len(_flatten(self._inputs)):
            raise ValueError(f"Model '{self.name}' expects {len(_flatten(self._inputs))} input(s), "
                             f"but it received {len(flat_in)}")
        values = {}
        for kt, x in zip(_flatten(self._inputs), flat_in):
            x = self._convert_input(x) if kt.dtype.is_floating else x
            if not isinstance(x, Tensor):
                from .._tensor import constant

                x = constant(x, dtype=kt.dtype)
            _check_input(self, kt, x)
            values[id(kt)] = x
        for node in self._nodes:
            if node.inputs is None:
                continue
            args = _map(lambda kt: values[id(kt)], node.inputs)
            out = node.layer(args, training=training, **node.kwargs)
            for kt, v in zip(_flatten(node.outputs), _flatten(out)):
                values[id(kt)] = v
        return _map(lambda kt: values[id(kt)], self._outputs)

    def call(self, inputs, training=None):
        if not self._functional:
            raise NotImplementedError(f"Model '{self.name}': subclasses of Model must implement call()")
        return self._run_graph(inputs, training)

    def __call__(self, inputs, *args, **kwargs):
        if self._functional and not any(isinstance(t, KerasTensor) for t in _flatten(inputs)):
            return self._run_graph(inputs, kwargs.get("training"))
        return Layer.__call__(self, inputs, *args, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._functional:
            return _map(lambda kt: kt.shape, self._outputs)
        return Layer.compute_output_shape(self, input_shape)

    @property
    def layers(self):
        return list(self._layers)

    @property
    def inputs(self):
        return _flatten(self._inputs) if self._functional else None

    @property
    def outputs(self):
        return _flatten(self._outputs) if self._functional else None

    def get_layer(self, name=None, index=None):
        if index is not None:
            if name is not None:
                raise ValueError("get_layer: give either name or index, not both")
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index} is out of range for {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in self.layers]}")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        print_summary(self, line_length=line_length, print_fn=print_fn, show_trainable=show_trainable)

    def _layer_output_shapes(self):
        """(layer, output shape) rows for summary()."""
        rows = []
        for node in self._nodes:
            if node.inputs is None:
                rows.append((node.layer, node.layer.batch_shape))
            else:
                rows.append((node.layer, _map(lambda kt: kt.shape, node.outputs)))
        return rows


def _check_input(model, kt, x):
    want, got = kt.shape, tuple(x.shape)
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
        raise ValueError(f"Input '{kt.name}' of model '{model.name}' is incompatible: expected shape "
                         f"{want}, got {got}")
