"""``tinytf.distribute``: data-parallel training over MPI with tf.distribute's API.

    strategy = tinytf.distribute.MirroredStrategy()
    with strategy.scope():
        model = ...
        model.compile(...)
    model.fit(x, y, batch_size=256)   # 256 is the global batch, split over the ranks

launched with ``mpiexec -n N python train.py`` (needs mpi4py: ``pip install
tinytf[distributed]``). fit and evaluate shard every global batch over the
ranks and sum gradients and metrics with MPI; predict runs whole on every rank;
only rank 0 prints progress and writes files.
"""
from ._comm import ConfigurationError
from .mirrored_strategy import MirroredStrategy, Strategy, get_strategy, has_strategy

__all__ = ["ConfigurationError", "MirroredStrategy", "Strategy", "get_strategy", "has_strategy"]


def _on_chief(model):
    """False on the ranks other than 0 of a distributed run: they neither print progress nor write files."""
    replica = getattr(model, "_replica", None)
    return replica is None or replica.is_chief
