"""Strategies with tf.distribute's names: the default one (this process alone)
and MirroredStrategy (one replica per MPI rank)."""
import contextlib
import threading

from . import _comm


class Strategy:
    """The default strategy, in effect outside any ``scope()``: one replica, this process."""

    _replica = None  # the engine of a multi-rank run; None: plain training

    @property
    def num_replicas_in_sync(self):
        return 1 if self._replica is None else self._replica.size

    @property
    def rank(self):
        """This process's rank (replica id): 0 on one process. (tinytf extension)"""
        return 0 if self._replica is None else self._replica.rank

    @property
    def is_chief(self):
        """True on rank 0, the rank that prints progress and writes files. (tinytf extension)"""
        return self.rank == 0

    @contextlib.contextmanager
    def scope(self):
        """Models created or compiled inside train under this strategy."""
        _stack.scopes = _scopes() + [self]
        try:
            yield self
        finally:
            _stack.scopes = _scopes()[:-1]

    def __repr__(self):
        return f"<{type(self).__name__} num_replicas_in_sync={self.num_replicas_in_sync}>"


class MirroredStrategy(Strategy):
    """Synchronous data-parallel training over MPI, one replica per process:
    ``mpiexec -n 4 python train.py``. Each rank trains on its shard of every
    global batch and the gradients are summed over the ranks, so the weights stay
    identical everywhere (see the README's "Distributed training" section).

    Without mpi4py, or in a process started alone, it has one replica and
    training runs exactly as without it.

    timeout: seconds a rank may wait in a collective operation before the job is
    aborted as hung (default: $TINYTF_DISTRIBUTE_TIMEOUT or 300; 0 waits forever).
    """

    def __init__(self, timeout=None):
        comm = _comm.connect(timeout)
        if comm is not None:
            from ._replica import Replica  # the training side, only for a multi-rank run

            self._replica = Replica(comm)


_stack = threading.local()
_DEFAULT = Strategy()


def _scopes():
    return getattr(_stack, "scopes", [])


def get_strategy():
    """The strategy of the innermost ``scope()``, or the default (single-process) strategy."""
    scopes = _scopes()
    return scopes[-1] if scopes else _DEFAULT


def has_strategy():
    """Whether some strategy's ``scope()`` is active."""
    return bool(_scopes())
