"""Shared test setup: the real data sets in ../shared/data are the dataset cache."""
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if SHARED_DATA.is_dir() and "TINYTF_DATA_DIR" not in os.environ:
    os.environ["TINYTF_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture
def restore_threads():
    yield
    import tinytf

    tinytf.config.threading.set_intra_op_parallelism_threads(0)
