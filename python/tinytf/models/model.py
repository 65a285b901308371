"""``Model``: a graph of layers (Functional API) or a subclass with its own
``call``. Training (compile/fit/evaluate/predict) comes from ``Trainer``;
configs and saving follow Keras 3 (``tinytf.saving``)."""
import json

from .._tensor import Tensor
from ..layers.base import InputLayer, KerasTensor, Layer, _flatten, _map, cast_for
from ..layers.pooling import ConvMaxPool
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
        seen, first_met = set(), {}  # first_met: layer -> when a walk from the outputs first meets it

        def visit(t):
            node = t.node
            if id(node) in seen:
                return
            first_met.setdefault(id(node.layer), len(first_met))
            if node.inputs is not None:
                for parent in _flatten(node.inputs):
                    visit(parent)
            elif all(t is not i for i in flat_in):
                raise ValueError(f"Model: the graph uses the input '{t.name}', which is not in the model's inputs")
            seen.add(id(node))
            self._nodes.append(node)

        for t in flat_out:
            visit(t)
        for t in flat_in:  # inputs the outputs do not use are still part of the model, as in Keras
            if id(t.node) not in seen:
                seen.add(id(t.node))
                first_met[id(t.node.layer)] = -1
                self._nodes.insert(0, t.node)
        self._layers = _layers_by_depth(self._nodes, first_met)
        self._fusion = None  # made on the first call: see _conv_pools
        self.built = True

    def _conv_pools(self):
        """{id(conv node): (ConvMaxPool, pool node)} for each Conv2D whose output
        only a MaxPooling2D reads (not a model output), both plain layers (no
        masks, activity penalties or own __call__): _run_graph runs such a
        pair as one op, as Sequential does."""
        readers = {}
        for node in self._nodes:
            for kt in _flatten(node.inputs) if node.inputs is not None else []:
                readers.setdefault(id(kt), []).append(node)
        outputs = {id(kt) for kt in _flatten(self._outputs)}
        fusion = {}
        for node in self._nodes:
            out = node.outputs
            if node.inputs is None or not isinstance(out, KerasTensor) or id(out) in outputs:
                continue
            pool = readers.get(id(out), [])
            if len(pool) != 1 or pool[0].inputs is not out or node.kwargs or pool[0].kwargs:
                continue
            step = ConvMaxPool.of(node.layer, pool[0].layer)
            if step and node.layer._plain() and pool[0].layer._plain():
                fusion[id(node)] = (step, pool[0])
        return fusion

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
        if self._fusion is None:
            self._fusion = self._conv_pools()
        done = set()  # pool nodes already run with their convolution
        for node in self._nodes:
            if node.inputs is None or id(node) in done:
                continue
            args = _map(lambda kt: values[id(kt)], node.inputs)
            pair = self._fusion.get(id(node))
            if pair is not None and type(args) is Tensor and getattr(args, "_keras_mask", None) is None:
                step, pool = pair
                values[id(pool.outputs)] = step.call(cast_for(step, args))
                done.add(id(pool))
                continue
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

    # --- config and saving (Keras 3 formats, see tinytf.saving) ------------------------------
    def get_config(self):
        if not self._functional:
            raise NotImplementedError(f"Model '{self.name}' is a subclassed model: implement get_config() (and "
                                      "from_config() if needed) to save its architecture, or use save_weights()")
        return _functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=True):
        if "layers" in config and "input_layers" in config:
            return _functional_from_config(cls, config, custom_objects, safe_mode)
        return cls(**config)

    def get_build_config(self):
        return {"input_shape": None}

    def get_compile_config(self):
        """compile()'s arguments as Keras writes them, or None before compile."""
        if not self.compiled:
            return None
        from ..saving import serialize_keras_object

        return {"optimizer": serialize_keras_object(self.optimizer), "loss": serialize_keras_object(self._loss_spec),
                "loss_weights": serialize_keras_object(self._loss_weights),
                "metrics": serialize_keras_object(self._metric_spec),
                "weighted_metrics": serialize_keras_object(self._weighted_metric_spec), "run_eagerly": False,
                "steps_per_execution": 1, "jit_compile": False}

    def to_json(self, **kwargs):
        from ..saving import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def save(self, filepath, overwrite=True, **kwargs):
        """Saves architecture, weights, compile config and optimizer state to a Keras 3 ``.keras`` file."""
        from ..saving import save_model

        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Saves the weights (and optimizer state) to a Keras 3 ``.weights.h5`` file."""
        from ..saving import saving_lib

        saving_lib.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Loads weights from a ``.weights.h5`` or ``.keras`` file (tinytf's or Keras')."""
        from ..saving import saving_lib

        saving_lib.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def _layer_output_shapes(self):
        """(layer, output shape) rows for summary()."""
        rows = []
        for node in self._nodes:
            if node.inputs is None:
                rows.append((node.layer, node.layer.batch_shape))
            else:
                rows.append((node.layer, _map(lambda kt: kt.shape, node.outputs)))
        return rows


def _layers_by_depth(nodes, first_met):
    """A Functional model's layers in Keras' order, which also fixes the order of
    weights and of paths in saved files: farthest from the outputs first (a node's
    depth is 1 + the largest depth of the nodes that read it; a layer's is that
    of its deepest call), ties in the order a walk from the outputs met them."""
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(nodes):  # outputs first: every reader before the node it reads
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)], layers[id(node.layer)] = depth, node.layer
        for kt in _flatten(node.inputs) if node.inputs is not None else []:
            node_depth[id(kt.node)] = max(node_depth.get(id(kt.node), 0), depth + 1)
    return sorted(layers.values(), key=lambda layer: (-layer_depth[id(layer)], first_met[id(layer)]))


def _check_input(model, kt, x):
    want, got = kt.shape, tuple(x.shape)
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
        raise ValueError(f"Input '{kt.name}' of model '{model.name}' is incompatible: expected shape "
                         f"{want}, got {got}")


# --- the Functional graph as Keras serializes it ------------------------------------------------------------
# Each layer entry lists its calls ("inbound_nodes"); a call's arguments refer to
# the tensors they use by [layer name, node index, tensor index]. Node indices
# count only the calls that belong to this model; a Functional model used as a
# layer counts one extra node first, as in Keras.
def _node_offset(layer):
    return 1 if isinstance(layer, Model) and layer._functional else 0


def _functional_config(model):
    from ..saving import serialize_keras_object

    own = {id(node) for node in model._nodes}
    calls = {id(layer): [n for n in layer._inbound_nodes if id(n) in own] for layer in model.layers}

    def node_index(node):
        if node.inputs is None:  # an Input
            return 0
        return _node_offset(node.layer) + next(i for i, n in enumerate(calls[id(node.layer)]) if n is node)

    def ref(kt):
        return [kt.node.layer.name, node_index(kt.node), kt.index]

    def tensor_arg(kt):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(kt.shape), "dtype": kt.dtype.name, "keras_history": ref(kt)}}

    layers = []
    for layer in model.layers:
        entry = serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [{"args": [_map(tensor_arg, node.inputs)],
                                   "kwargs": serialize_keras_object(node.kwargs)} for node in calls[id(layer)]]
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _map(ref, model._inputs), "output_layers": _map(ref, model._outputs)}


class _NotYet(Exception):
    """A call's input comes from a call not yet replayed."""


def _functional_from_config(cls, config, custom_objects, safe_mode):
    from ..saving import deserialize_keras_object

    layers, pending, outputs = {}, {}, {}  # name -> layer, name -> calls to replay, (name, node) -> tensors
    for i, entry in enumerate(config["layers"]):
        where = f"layers[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"{where}: a Functional layer entry needs a 'name'")
        layer = deserialize_keras_object(entry, custom_objects, safe_mode, where)
        if not isinstance(layer, Layer):
            raise ValueError(f"{where}: expected a layer, got {type(layer).__name__}")
        layers[entry["name"]] = layer
        if isinstance(layer, InputLayer):
            outputs[(entry["name"], 0)] = [layer.output]
        pending[entry["name"]] = list(entry.get("inbound_nodes") or [])

    def tensor(ref, where):
        if (not isinstance(ref, list) or len(ref) != 3 or ref[0] not in layers or
                not all(isinstance(i, int) for i in ref[1:])):
            raise ValueError(f"{where}: invalid tensor reference {ref!r}")
        if (ref[0], ref[1]) not in outputs:
            raise _NotYet
        produced = outputs[(ref[0], ref[1])]
        if not 0 <= ref[2] < len(produced):
            raise ValueError(f"{where}: tensor index {ref[2]} is out of range for layer '{ref[0]}'")
        return produced[ref[2]]

    def arg(value, where):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return tensor(value.get("config", {}).get("keras_history"), where)
        if isinstance(value, list):
            return [arg(v, where) for v in value]
        return deserialize_keras_object(value, custom_objects, safe_mode, where)

    while any(pending.values()):
        progress = False
        for name, calls in pending.items():
            while calls:
                index = _node_offset(layers[name]) + sum(1 for key in outputs if key[0] == name)
                where = f"layer '{name}', inbound node {index}"
                call = calls[0]
                if not isinstance(call, dict) or not isinstance(call.get("args"), list):
                    raise ValueError(f"{where}: unsupported node format (expected {{'args': [...], 'kwargs': {{}}}})")
                try:
                    args = [arg(a, where) for a in call["args"]]
                    kwargs = {k: arg(v, where) for k, v in (call.get("kwargs") or {}).items()}
                except _NotYet:
                    break
                outputs[(name, index)] = _flatten(layers[name](*args, **kwargs))
                calls.pop(0)
                progress = True
        if not progress:
            raise ValueError(f"the Functional graph has a cycle or uses a missing layer call: "
                             f"{ {n: len(c) for n, c in pending.items() if c} }")

    def tensors(refs, where):
        if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
            try:
                return tensor(refs, where)
            except _NotYet:
                raise ValueError(f"{where}: {refs!r} names a layer call that is not in the graph") from None
        if isinstance(refs, list):
            return [tensors(r, where) for r in refs]
        if isinstance(refs, dict):
            return {k: tensors(r, where) for k, r in refs.items()}
        raise ValueError(f"{where}: invalid tensor reference {refs!r}")

    return cls(inputs=tensors(config["input_layers"], "input_layers"),
               outputs=tensors(config["output_layers"], "output_layers"),
               name=config.get("name"), trainable=config.get("trainable", True))
