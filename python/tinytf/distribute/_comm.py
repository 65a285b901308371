"""The MPI side of a distributed run (mpi4py): who we are, the few collectives
training needs, and what turns a failure on one rank into an error on all of
them instead of a hang.

- Uncaught exceptions: the traceback is printed, then ``MPI_Abort`` ends every
  rank (errors raised identically on every rank, ``ConfigurationError``, let
  each rank exit normally instead, so that each prints its message).
- MPI errors are returned to Python (``ERRORS_RETURN``) and become exceptions.
- A rank that dies is detected by the launcher (mpiexec), which ends the others.
- A rank that stops taking part (stuck, or gone somewhere else in its program)
  is caught by a watchdog thread: a collective that has not completed after
  ``timeout`` seconds aborts the job with a message saying which one.
"""
import os
import sys
import threading
import time
import warnings

import numpy as np

DEFAULT_TIMEOUT = 300.0
# Variables that MPI launchers (MPICH/Hydra, Open MPI, Slurm/PMIx) set in every process they start.
_LAUNCH_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


class ConfigurationError(ValueError):
    """A bad launch configuration (mismatched models or data, a global batch that
    does not divide by the number of replicas): raised identically on every rank."""

    __module__ = "tinytf.distribute"


def connect(timeout=None):
    """The world communicator, or None when this process runs alone (one rank, or no mpi4py)."""
    try:
        from mpi4py import MPI
    except ImportError:
        launched = [os.environ[v] for v in _LAUNCH_SIZE_VARS if v in os.environ]
        if launched and launched[0] not in ("", "1"):
            warnings.warn(f"tinytf.distribute: this process was started by an MPI launcher with {launched[0]} "
                          "processes, but mpi4py is not installed, so each process trains alone. Install it with "
                          "`pip install tinytf[distributed]`.", stacklevel=3)
        return None
    if MPI.COMM_WORLD.Get_size() == 1:
        return None
    global _world
    if _world is None:
        _world = Communicator(MPI)
    if timeout is not None:
        _world.timeout = float(timeout)
    return _world


_world = None  # one Communicator (one watchdog, one excepthook) per process


class Communicator:
    """MPI_COMM_WORLD with a watchdog on every collective."""

    def __init__(self, MPI):
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.comm.Set_errhandler(MPI.ERRORS_RETURN)
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = float(os.environ.get("TINYTF_DISTRIBUTE_TIMEOUT", DEFAULT_TIMEOUT))  # <= 0: no limit
        self._current = None  # (what, since) while inside a collective
        threading.Thread(target=self._watch, name="tinytf-distribute-watchdog", daemon=True).start()
        _install_excepthook(self)

    # --- collectives -------------------------------------------------------------------------------
    def allreduce_(self, buffer, what):
        """Sums a contiguous numpy buffer over all ranks, in place."""
        self._enter(what)
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        self._current = None

    def broadcast_arrays(self, arrays, what):
        """Rank 0's values of `arrays` (same shapes and dtypes on every rank), sent as one block of bytes."""
        blob = np.concatenate([np.ascontiguousarray(a).reshape(-1).view(np.uint8) for a in arrays]) \
            if arrays else np.zeros(0, np.uint8)
        self._enter(what)
        self.comm.Bcast(blob, root=0)
        self._current = None
        out, offset = [], 0
        for a in arrays:
            out.append(blob[offset:offset + a.nbytes].view(a.dtype).reshape(a.shape))
            offset += a.nbytes
        return out

    def broadcast_object(self, obj, what):
        self._enter(what)
        obj = self.comm.bcast(obj, root=0)
        self._current = None
        return obj

    def allgather_object(self, obj, what):
        self._enter(what)
        objs = self.comm.allgather(obj)
        self._current = None
        return objs

    # --- faults --------------------------------------------------------------------------------------
    def _enter(self, what):
        self._current = (what, time.monotonic())

    def _watch(self):
        while True:
            time.sleep(1.0 if self.timeout <= 0 else min(1.0, self.timeout / 4))
            current = self._current
            if current is not None and 0 < self.timeout < time.monotonic() - current[1]:
                self.abort(f"rank {self.rank} waited more than {self.timeout:g} s in {current[0]}: another rank "
                           "has stopped taking part (it died, raised, hangs, or skipped this call). Every rank must "
                           "call fit/evaluate the same way. (MirroredStrategy(timeout=...) or "
                           "TINYTF_DISTRIBUTE_TIMEOUT sets the limit.)")

    def abort(self, message):
        sys.stderr.write(f"tinytf.distribute: {message} Aborting all {self.size} ranks.\n")
        sys.stderr.flush()
        # MPI_Abort kills the launcher's output forwarding too: give it a
        # moment to pass on this rank's last lines (the test suite once lost
        # the end of a traceback and this message).
        time.sleep(0.5)
        self.comm.Abort(1)


def _install_excepthook(communicator):
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        if not isinstance(value, ConfigurationError):
            communicator.abort(f"rank {communicator.rank} stopped on an unhandled {kind.__name__}.")

    sys.excepthook = hook
