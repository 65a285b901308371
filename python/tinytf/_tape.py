"""``GradientTape``: records the ops run on watched tensors, then replays
them backwards (reverse recording order is a topological order) calling
each op's backward function and summing gradients of tensors used twice.

Ops call ``record(inputs, output, backward)`` after computing their output;
``backward(dy, needs)`` returns one gradient (or None) per input, where
``needs[i]`` says whether input i needs one. Backward functions are written
with tinytf ops, so an outer tape records them: that gives higher-order
gradients for free."""
import threading

from ._tensor import Tensor, Variable


class _State(threading.local):
    def __init__(self):
        self.tapes = []  # tapes entered in this thread, innermost last


_state = _State()


def active():
    """The tapes of this thread (a falsy empty list when none): ops check it first."""
    return _state.tapes


def recording():
    """True when some tape of this thread is recording: backward functions then
    build their result from ops (differentiable again) instead of a fused kernel."""
    return any(t._recording for t in _state.tapes)


def record(inputs, output, backward):
    """Records an op on every recording tape that watches one of its inputs.
    `output` is a Tensor, or a tuple of Tensors for multi-output ops (then
    `backward` gets a tuple of gradients, None where an output has none)."""
    for tape in _state.tapes:
        if tape._recording and tape._connected(inputs):
            tape._nodes.append((inputs, output, backward))
            if type(output) is tuple:
                tape._watched.update(id(o) for o in output)
            else:
                tape._watched.add(id(output))


def _flatten(x):
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in _flatten(x[k])]
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flatten(item)]
    return [x]


def _pack_like(structure, flat):
    it = iter(flat)

    def build(s):
        if isinstance(s, dict):
            return {k: build(s[k]) for k in sorted(s)}
        if isinstance(s, (list, tuple)):
            items = [build(v) for v in s]
            return type(s)(items) if not hasattr(s, "_fields") else type(s)(*items)
        return next(it)

    return build(structure)


class UnconnectedGradients:
    NONE = "none"
    ZERO = "zero"


class GradientTape:
    """Records operations for automatic differentiation, as ``tf.GradientTape``.

    Trainable Variables used inside the ``with`` block are watched
    automatically; other tensors need ``tape.watch(t)``."""

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = persistent
        self._watch_variables = watch_accessed_variables
        self._nodes = []
        self._watched = set()  # ids of watched tensors and of recorded outputs
        self._keep = []  # watched tensors, kept alive so their ids stay unique
        self._variables = []
        self._recording = False
        self._used = False

    def __enter__(self):
        _state.tapes.append(self)
        self._recording = True
        return self

    def __exit__(self, *exc):
        self._recording = False
        _state.tapes.remove(self)
        return False

    def _connected(self, inputs):
        hit = False
        for x in inputs:
            if id(x) in self._watched:
                hit = True
            elif self._watch_variables and isinstance(x, Variable) and x.trainable:
                self._watch_one(x)
                hit = True
        return hit

    def _watch_one(self, t):
        if not isinstance(t, Tensor):
            raise TypeError(f"GradientTape.watch expects tensors or variables, got {type(t).__name__}")
        if id(t) not in self._watched:
            self._watched.add(id(t))
            self._keep.append(t)
            if isinstance(t, Variable):
                self._variables.append(t)

    def watch(self, tensor):
        """Marks tensors (or a nested structure of them) to be differentiated against."""
        for t in _flatten(tensor):
            self._watch_one(t)

    def watched_variables(self):
        return tuple(self._variables)

    def stop_recording(self):
        """Context manager: ops inside it are not recorded on this tape."""
        tape = self

        class _Pause:
            def __enter__(self):
                self.was = tape._recording
                tape._recording = False

            def __exit__(self, *exc):
                tape._recording = self.was
                return False

        return _Pause()

    def reset(self):
        self._nodes.clear()
        self._watched.clear()
        self._keep.clear()
        self._variables.clear()

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients=UnconnectedGradients.NONE):
        """Gradients of `target` (a tensor or a structure, summed) with respect
        to `sources` (a tensor, variable or nested structure of them), in the
        structure of `sources`. Unconnected sources give None (or zeros)."""
        from . import ops  # the op layer imports this module

        if self._used and not self._persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of gradients "
                "(or jacobians); use GradientTape(persistent=True) for more"
            )
        if unconnected_gradients not in (UnconnectedGradients.NONE, UnconnectedGradients.ZERO):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        # A list of tensors (every training step's trainable weights) is its own
        # flat form and result structure.
        flat = type(sources) is list and all([isinstance(s, Tensor) for s in sources])
        flat_sources = sources if flat else _flatten(sources)
        for s in () if flat else flat_sources:
            if not isinstance(s, Tensor):
                raise TypeError(f"GradientTape.gradient: sources must be tensors or variables, got {type(s).__name__}")
        targets = _flatten(target)
        seeds = _flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
        if len(seeds) != len(targets):
            raise ValueError(f"output_gradients has {len(seeds)} entries for {len(targets)} targets")

        grads = {}

        def accumulate(t, g):
            if g is None:
                return
            key = id(t)
            prev = grads.get(key)
            grads[key] = g if prev is None else ops.add(prev, g)

        was_recording = self._recording
        self._recording = False  # backward ops go to outer tapes only
        try:
            for t, g in zip(targets, seeds):
                if not isinstance(t, Tensor):
                    raise TypeError(f"GradientTape.gradient: target must be a tensor, got {type(t).__name__}")
                accumulate(t, ops.ones_like(t) if g is None else ops.convert_to_tensor(g, dtype=t.dtype))
            # Which recorded tensors depend on a watched source: only those need gradients.
            needed = {id(s) for s in flat_sources if id(s) in self._watched}
            masks = []
            for inputs, output, _ in self._nodes:
                mask = tuple([id(x) in needed for x in inputs])
                if True in mask:
                    if type(output) is tuple:
                        needed.update([id(o) for o in output])
                    else:
                        needed.add(id(output))
                masks.append(mask)
            for (inputs, output, backward), mask in zip(reversed(self._nodes), reversed(masks)):
                if True not in mask:
                    continue
                if type(output) is tuple:
                    dy = tuple(grads.get(id(o)) for o in output)
                    if all(g is None for g in dy):
                        continue
                    dy = tuple(ops.zeros_like(o) if g is None else g for o, g in zip(output, dy))
                else:
                    dy = grads.get(id(output))
                    if dy is None:
                        continue
                for x, need, g in zip(inputs, mask, backward(dy, mask)):
                    if need:
                        accumulate(x, g)
        finally:
            self._recording = was_recording
        self._used = True
        if not self._persistent:
            self._nodes = []

        result = []
        for s in flat_sources:
            g = grads.get(id(s))
            if g is None and unconnected_gradients == UnconnectedGradients.ZERO:
                g = ops.zeros_like(s)
            result.append(g)
        if isinstance(sources, Tensor):
            return result[0]
        return result if flat else _pack_like(sources, result)


