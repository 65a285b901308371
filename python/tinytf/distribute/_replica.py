"""One rank's part of ``fit`` and ``evaluate`` under MirroredStrategy.

Every rank holds the whole model and the whole data set. Each step, rank r
takes its contiguous block of the global batch (``shard_bounds``), runs
forward and backward on it, and then a single allreduce over one contiguous
buffer (``_StepBuffer``) carries everything the ranks must agree on:

- the gradients, and the increments of the state the forward pass updates
  (BatchNormalization's moving statistics), each weighted by the rank's row
  count and divided by the global count afterwards: the result is the
  gradient of the mean loss over the global batch, as on one process, also
  for a smaller last batch or a rank with no rows;
- the increments of the loss tracker's and the metrics' state (sums over
  samples), so every rank holds the global values and logs the same numbers.

Rank 0's weights and optimizer state are broadcast at the start of fit, so
the ranks start equal and, applying equal updates, stay equal.
"""
import zlib

import numpy as np

from .._tensor import constant
from ..metrics import _read_state, _write_state
from ..models.data import ArrayData, _flat, _rebuild
from ._comm import ConfigurationError


def shard_bounds(start, stop, rank, size):
    """Rank `rank`'s rows [lo, hi) of the global batch [start, stop): contiguous
    blocks in rank order, the first (stop - start) % size ranks one row longer."""
    base, extra = divmod(stop - start, size)
    lo = start + rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


class Replica:
    """This process's replica: its rank, and the collectives fit and evaluate run."""

    def __init__(self, comm):
        self.comm, self.rank, self.size = comm, comm.rank, comm.size
        self.is_chief = self.rank == 0
        self._train = self._test = None  # step buffers, made at the first step of a fit / evaluate

    def shard(self, start, stop):
        return shard_bounds(start, stop, self.rank, self.size)

    # --- the start of fit and evaluate -----------------------------------------------------------------
    def prepare_fit(self, model, data, val, seed, settings):
        """Agree on data, arguments and model; take rank 0's weights, optimizer state and
        shuffle seed; shard the data. Returns the seed."""
        self._agree("fit", data=_describe(data), validation=_describe(val), arguments=settings)
        if isinstance(data, ArrayData):
            if data.batch_size % self.size:
                raise ConfigurationError(f"fit: the global batch size {data.batch_size} does not divide by the "
                                         f"{self.size} replicas; pass a batch_size that is a multiple of {self.size}")
            _check_rows("fit", data, self.size)
        _check_rows("validation", val, self.size)
        if not model.built:
            _build(model, data)
        self._agree("fit", model=_signature(model))
        model.set_weights(self.comm.broadcast_arrays(model.get_weights(), "the broadcast of rank 0's weights"))
        if model.optimizer.built:
            state = self.comm.broadcast_arrays(model.optimizer.get_weights(), "the broadcast of the optimizer state")
            model.optimizer.set_weights(state)
        dtypes = {v.dtype for v in model.trainable_weights}
        if len(dtypes) > 1:
            raise ConfigurationError(f"fit: MirroredStrategy needs all trainable weights in one dtype, got "
                                     f"{sorted(d.name for d in dtypes)}")
        # State the forward pass updates in place (BatchNormalization's moving statistics): the
        # non-trainable weights their layer declared so, in the gradients' dtype.
        self._state_vars = [v for v in model.non_trainable_weights if not v.trainable and v.dtype in dtypes]
        self._train = self._test = None
        for part in (data, val):
            if part is not None:
                part.shard = self.shard
        return self.comm.broadcast_object(seed, "the broadcast of the shuffle seed")

    def prepare_evaluate(self, model, data):
        self._agree("evaluate", data=_describe(data), model=_signature(model))
        _check_rows("evaluate", data, self.size)
        self._test = None
        data.shard = self.shard

    def _agree(self, what, **fields):
        """Raises the same ConfigurationError on every rank when the ranks' fields differ."""
        gathered = self.comm.allgather_object(fields, f"the check that all ranks call {what} alike")
        for key, ours in gathered[0].items():
            for rank, theirs in enumerate(gathered):
                if theirs[key] != ours:
                    raise ConfigurationError(
                        f"{what}: the ranks disagree on the {key}: {_difference(ours, theirs[key], rank)}. Every "
                        "rank must build the same model and pass the same data and arguments (each rank takes "
                        "its shard of every global batch).")

    # --- steps --------------------------------------------------------------------------------------------
    def train_step(self, model, data):
        before = _metrics_state(model)
        state_before = [v.numpy() for v in self._state_vars]
        rows = _rows(data)
        grads = None
        if rows:
            grads, outputs = model._gradients(data)
            model._update_metrics(*outputs)
            self._has_grad = [g is not None for g in grads]
        metrics = _metrics(model)
        increment = _read_state(metrics) - (0.0 if before is None else before)
        if self._train is None:
            _check_reducible(metrics)
            variables = model._train_vars
            self._train = _StepBuffer([v.shape for v in variables + self._state_vars], increment.size,
                                      variables[0].dtype.dtype)
            self._grads = [constant(view) for view in self._train.weighted[:len(variables)]]  # views: no copies
            if grads is None:  # no rows on the first step: assume every weight gets a gradient
                self._has_grad = [True] * len(variables)
        weighted = [None if g is None else np.asarray(g) for g in grads or [None] * len(self._grads)]
        weighted += [v.numpy() - b for v, b in zip(self._state_vars, state_before)]
        buffer = self._train
        buffer.allreduce(self.comm, weighted, increment, rows, "the allreduce of the gradients")
        _write_state(metrics, buffer.summed if before is None else before + buffer.summed)
        for v, b, mean_increment in zip(self._state_vars, state_before, buffer.weighted[len(self._grads):]):
            np.add(b, mean_increment, out=np.asarray(v))  # in place on the variable
        model.optimizer.apply_gradients(
            (g if has else None, v) for g, has, v in zip(self._grads, self._has_grad, model._train_vars))
        return model._logs

    def test_step(self, model, data):
        before = _metrics_state(model)
        rows = _rows(data)
        if rows:
            model.test_step(data)
        metrics = _metrics(model)
        increment = _read_state(metrics) - (0.0 if before is None else before)
        if self._test is None:
            _check_reducible(metrics)
            self._test = _StepBuffer([], increment.size, np.float64)
        self._test.allreduce(self.comm, [], increment, rows, "the allreduce of the evaluation metrics")
        _write_state(metrics, self._test.summed if before is None else before + self._test.summed)
        return model._logs


class _StepBuffer:
    """[weighted arrays | summed values | row count] in one contiguous buffer,
    summed over the ranks by one allreduce. The weighted arrays go in times this
    rank's row count and come out divided by the global count (so they average
    over the samples of the global batch); the summed values are plain sums."""

    def __init__(self, shapes, n_summed, dtype):
        sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
        offsets = np.cumsum([0] + sizes)
        self.end = int(offsets[-1])
        self.flat = np.zeros(self.end + n_summed + 1, dtype)
        self.weighted = [self.flat[o:o + n].reshape(s) for o, n, s in zip(offsets, sizes, shapes)]
        self.summed = self.flat[self.end:-1]

    def allreduce(self, comm, weighted, summed, rows, what):
        for view, a in zip(self.weighted, weighted):
            if a is None:
                view.fill(0)
            else:
                np.multiply(a, rows, out=view)
        self.summed[:] = summed
        self.flat[-1] = rows
        comm.allreduce_(self.flat, what)
        self.flat[:self.end] /= self.flat[-1]


def _metrics(model):
    return [model._loss_tracker] + [m for _, m, _ in model._metrics or []]


def _metrics_state(model):
    """The metric state before a step; None before the first step after compile
    (the metrics are made then, from the shapes of the first batch, all zero)."""
    return None if model._metrics is None else _read_state(_metrics(model))


def _check_reducible(metrics):
    for m in metrics:
        if not type(m)._state_attrs:
            raise ConfigurationError(f"metric '{m.name}' ({type(m).__name__}) does not list its state in "
                                     "_state_attrs, so MirroredStrategy cannot sum it over the replicas: set "
                                     "_state_attrs to the names of its attributes that add up over batches")


def _rows(data):
    return len(_flat(data[0])[0])


def _build(model, data):
    if not isinstance(data, ArrayData):
        raise ConfigurationError(f"fit: model '{model.name}' is not built; give it an input shape (or call it "
                                 "once) before fitting it on a generator under MirroredStrategy")
    model(_rebuild(data.x_struct, [a[:1] for a in data.xs]), training=False)


def _check_rows(what, data, size):
    if isinstance(data, ArrayData) and min(data.n, data.batch_size) < size:
        raise ConfigurationError(f"{what}: a first batch of {min(data.n, data.batch_size)} samples cannot give "
                                 f"each of the {size} replicas a sample")


def _describe(data):
    """What must be equal on every rank about a data set: for arrays, the sample count,
    batch size, per-sample shapes and dtypes, and a checksum of a few samples."""
    if data is None:
        return None
    if not isinstance(data, ArrayData):
        return {"generator steps": data.steps()}
    arrays = data.xs + data.ys + ([] if data.w is None else [data.w])
    probe = sorted({0, data.n // 2, data.n - 1}) if data.n else []
    return {"samples": data.n, "batch_size": data.batch_size, "shuffle": bool(data.shuffle),
            "arrays": [(a.shape[1:], a.dtype.str) for a in arrays],
            "checksum": zlib.crc32(b"".join(np.ascontiguousarray(a[probe]).tobytes() for a in arrays))}


def _signature(model):
    opt = getattr(model, "optimizer", None)
    return {"trainable weights": [(tuple(v.shape), v.dtype.name) for v in model.trainable_weights],
            "non-trainable weights": [(tuple(v.shape), v.dtype.name) for v in model.non_trainable_weights],
            "optimizer state": [a.shape for a in opt.get_weights()] if opt is not None and opt.built else None}


def _difference(ours, theirs, rank):
    if isinstance(ours, dict) and isinstance(theirs, dict):
        key = next(k for k in {**ours, **theirs} if ours.get(k) != theirs.get(k))
        return f"{key}: {_difference(ours[key], theirs.get(key), rank)}"
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        i = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
        return f"entry {i}: rank 0 has {ours[i]}, rank {rank} has {theirs[i]}"
    return f"rank 0 has {ours}, rank {rank} has {theirs}"
