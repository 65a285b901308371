"""Shared test setup: the real data sets in ../shared/data are the dataset cache."""
import os
from pathlib import Path

import pytest

from tinytf import _core

_ALL_ISAS = ("scalar", "avx2", "avx512")
ISAS = _ALL_ISAS[: _ALL_ISAS.index(_core.cpu_best_isa()) + 1]  # every kernel build this CPU can run

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if SHARED_DATA.is_dir() and "TINYTF_DATA_DIR" not in os.environ:
    os.environ["TINYTF_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture
def restore_threads():
    yield
    import tinytf

    tinytf.config.threading.set_intra_op_parallelism_threads(0)


@pytest.fixture(params=ISAS)
def isa(request):
    """Runs the test once per kernel build the CPU can run (TINYTF_ISA's choices)."""
    saved = _core.isa()
    _core.set_isa(request.param)
    yield request.param
    _core.set_isa(saved)
