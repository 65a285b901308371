"""tinytf.distribute: MirroredStrategy over MPI.

The multi-process tests launch tests/distributed/worker.py with ``mpiexec -n 2``
and ``-n 4`` on this machine and compare what every rank saw with a run of the
same script in one process. They need mpi4py and an ``mpiexec`` (``pip install
mpich mpi4py``; .ci/run installs them) and are skipped otherwise. The tests
above them run in this process without MPI."""
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinytf
from tinytf import metrics
from tinytf.distribute import ConfigurationError, MirroredStrategy, get_strategy, has_strategy
from tinytf.distribute._replica import shard_bounds
from tinytf.layers import Dense
from tinytf.models import Sequential

WORKER = Path(__file__).parent / "distributed" / "worker.py"
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(not (HAVE_MPI4PY and MPIEXEC),
                               reason="needs mpi4py and mpiexec (pip install mpich mpi4py)")
BOUND_S = 60  # a failing rank must end the whole job within this


# --- in this process, without MPI --------------------------------------------------------------
@pytest.fixture
def no_mpi4py(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py raises ImportError
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(var, raising=False)


def small_fit(strategy=None):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = x @ rng.standard_normal((5, 1)).astype(np.float32)
    tinytf.random.set_seed(3)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = Sequential([Dense(4, input_dim=5, activation="relu"), Dense(1)])
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return model, history


def test_without_mpi_it_is_plain_training(no_mpi4py):
    strategy = MirroredStrategy()
    assert strategy.num_replicas_in_sync == 1 and strategy.rank == 0 and strategy.is_chief
    model, history = small_fit(strategy)
    assert model._replica is None
    plain_model, plain_history = small_fit()
    for a, b in zip(model.get_weights(), plain_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history.history == plain_history.history


def test_launched_by_mpiexec_without_mpi4py_warns(no_mpi4py, monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "4")
    with pytest.warns(UserWarning, match="mpi4py is not installed"):
        assert MirroredStrategy().num_replicas_in_sync == 1


def test_scopes(no_mpi4py):
    default = get_strategy()
    assert not has_strategy() and default.num_replicas_in_sync == 1
    outer, inner = MirroredStrategy(), MirroredStrategy()
    with outer.scope() as s:
        assert s is outer and get_strategy() is outer and has_strategy()
        with inner.scope():
            assert get_strategy() is inner
        assert get_strategy() is outer
    assert get_strategy() is default and not has_strategy()


def test_shards_are_disjoint_contiguous_and_cover_the_batch():
    for size in (1, 2, 3, 4, 8):
        for start, stop in ((0, 32), (32, 45), (7, 8), (10, 10)):
            bounds = [shard_bounds(start, stop, r, size) for r in range(size)]
            assert bounds[0][0] == start and bounds[-1][1] == stop
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            lengths = [hi - lo for lo, hi in bounds]
            assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


@pytest.mark.parametrize("make", [
    lambda: metrics.Mean(), lambda: metrics.CategoricalAccuracy(), lambda: metrics.MeanSquaredError(),
    lambda: metrics.RootMeanSquaredError(), lambda: metrics.AUC(num_thresholds=17), lambda: metrics.Precision(),
    lambda: metrics.Recall(thresholds=[0.2, 0.7]), lambda: metrics.AUC(multi_label=True, curve="PR"),
    lambda: metrics.TruePositives()], ids=lambda make: type(make()).__name__)
def test_metric_state_adds_up_over_shards(make):
    """What replicas rely on: the state of a metric updated on the whole batch is
    the sum of its states updated on the parts, and _write_state restores it."""
    rng = np.random.default_rng(1)
    y_true = (rng.uniform(size=(30, 3)) > 0.5).astype(np.float32)
    y_pred = rng.uniform(size=(30, 3)).astype(np.float32)
    w = rng.uniform(size=30).astype(np.float32)

    def updated(part):
        m = make()
        if type(m) is metrics.Mean:
            m.update_state(y_pred[part], sample_weight=w[part])
        else:
            m.update_state(y_true[part], y_pred[part], sample_weight=w[part])
        return m

    whole, parts = updated(slice(0, 30)), [updated(slice(0, 13)), updated(slice(13, 30))]
    total = sum(metrics._read_state([p]) for p in parts)
    np.testing.assert_allclose(total, metrics._read_state([whole]), rtol=1e-12, atol=1e-12)
    merged = make()
    if isinstance(merged, metrics.AUC) and merged.multi_label:
        merged = parts[0]  # its state shape is known once it has seen a batch
    metrics._write_state([merged], total)
    np.testing.assert_allclose(merged.result(), whole.result(), rtol=1e-12)


def test_a_metric_without_declared_state_is_refused():
    from tinytf.distribute._replica import _check_reducible

    class Custom(metrics.Metric):
        def result(self):
            return 0.0

    with pytest.raises(ConfigurationError, match="_state_attrs"):
        _check_reducible([metrics.Mean(), Custom(name="custom")])


# --- several processes: mpiexec -----------------------------------------------------------------------
def launch(n, scenario, out, timeout=180):
    """Runs the worker on n ranks (n=0: plain python, no mpiexec); returns (process, seconds)."""
    out.mkdir(parents=True, exist_ok=True)
    package_root = str(Path(tinytf.__file__).resolve().parents[1])
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
               # Open MPI refuses to start as root (containers) unless told twice; MPICH ignores these.
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [sys.executable, str(WORKER), scenario, str(out)]
    if n:
        cmd = [MPIEXEC, "-n", str(n)] + cmd
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return proc, time.monotonic() - start


def results(out, rank):
    with open(out / f"rank{rank}.json") as f:
        info = json.load(f)
    with np.load(out / f"rank{rank}.npz") as arrays:
        info["weights"] = [arrays[f"arr_{i}"] for i in range(len(arrays.files) - 1)]
        info["predict"] = arrays["predict"]
    return info


@pytest.fixture(scope="module")
def single_process(tmp_path_factory):
    if not (HAVE_MPI4PY and MPIEXEC):
        pytest.skip("needs mpi4py and mpiexec (pip install mpich mpi4py)")
    out = tmp_path_factory.mktemp("single")
    proc, _ = launch(0, "train", out)
    assert proc.returncode == 0, proc.stderr
    return results(out, 0)


@needs_mpi
@pytest.mark.parametrize("ranks", [2, 4])
def test_training_on_ranks_matches_one_process(ranks, single_process, tmp_path):
    """Adam, 3 epochs of 7 steps of global batch 32 over 193 samples (the last batch has
    one sample), sample weights, shuffling, validation, accuracy and AUC; then one more
    epoch after the ranks other than 0 spoiled their weights and optimizer state."""
    proc, _ = launch(ranks, "train", tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = [results(tmp_path, r) for r in range(ranks)]
    assert single_process["replicas"] == 1 and all(s["replicas"] == ranks for s in seen)
    for s in seen:  # every rank holds bitwise the same weights and logged the same numbers
        for a, b in zip(s["weights"], seen[0]["weights"]):
            np.testing.assert_array_equal(a, b)
        assert s["history"] == seen[0]["history"] and s["evaluate"] == seen[0]["evaluate"]
        np.testing.assert_array_equal(s["predict"], seen[0]["predict"])
    # ... and the same as one process, up to the order of float sums
    for a, b in zip(seen[0]["weights"], single_process["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for fit in ("history", "history2"):  # the second fit starts from rank 0's weights and optimizer state
        assert seen[0][fit].keys() == single_process[fit].keys()
        for key, values in single_process[fit].items():
            np.testing.assert_allclose(seen[0][fit][key], values, rtol=1e-5, err_msg=f"{fit}: {key}")
    for key in ("evaluate", "evaluate_sequence"):
        np.testing.assert_allclose(seen[0][key], single_process[key], rtol=1e-5)
    np.testing.assert_allclose(seen[0]["predict"], single_process["predict"], rtol=1e-5, atol=1e-6)
    # only rank 0 wrote files (each rank was given its own file names)
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("rank"))
    assert written == ["ckpt_rank0_1.weights.h5", "ckpt_rank0_2.weights.h5", "ckpt_rank0_3.weights.h5",
                       "log_rank0.csv", "model_rank0.keras"]
    # only rank 0 printed progress: one line per epoch
    assert proc.stdout.count("Epoch 1/3") == 1 and proc.stdout.count("val_auc") == 3


@needs_mpi
def test_batchnorm_statistics_stay_mirrored(tmp_path):
    proc, _ = launch(4, "batchnorm", tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = [results(tmp_path, r) for r in range(4)]
    for s in seen[1:]:
        for a, b in zip(s["weights"], seen[0]["weights"]):
            np.testing.assert_array_equal(a, b)
    moving_mean = seen[0]["weights"][4]
    assert np.all(moving_mean != 0)  # updated from the batches


@needs_mpi
@pytest.mark.parametrize("scenario, ranks, message", [
    ("batch", 4, "fit: the global batch size 30 does not divide by the 4 replicas"),
    ("mismatch", 2, "fit: the ranks disagree on the model: trainable weights: entry 0: rank 0 has ((12, 16), "
                    "'float32'), rank 1 has ((12, 17), 'float32')")])
def test_bad_launch_configuration_fails_on_every_rank(scenario, ranks, message, tmp_path):
    proc, seconds = launch(ranks, scenario, tmp_path)
    assert proc.returncode != 0 and seconds < BOUND_S
    assert "ConfigurationError" in proc.stderr, proc.stderr
    for r in range(ranks):
        assert f"ConfigurationError: {message}" in (tmp_path / f"error_rank{r}.txt").read_text(), proc.stderr


@needs_mpi
@pytest.mark.parametrize("scenario, message", [
    ("kill", ""),  # mpiexec sees rank 1 die and ends the others (its message depends on the MPI)
    ("raise", "tinytf.distribute: rank 1 stopped on an unhandled RuntimeError. Aborting all 4 ranks."),
    ("hang", "waited more than 10 s in the allreduce of the gradients")])  # the watchdog of a waiting rank
def test_a_failing_rank_ends_the_job(scenario, message, tmp_path):
    proc, seconds = launch(4, scenario, tmp_path)
    assert proc.returncode != 0
    assert seconds < BOUND_S
    assert message in proc.stderr, proc.stdout + proc.stderr
