"""What each rank runs in tests/test_distribute.py: ``mpiexec -n N python worker.py
SCENARIO OUT``. Every rank writes what it saw to OUT/rank<r>.json and .npz, so the
test can compare ranks with each other and with a single-process run (the same
script started without mpiexec)."""
import json
import os
import signal
import sys
import time

import numpy as np

import tinytf
from tinytf import callbacks
from tinytf.layers import BatchNormalization, Dense
from tinytf.models import Sequential

BATCH = 32  # the global batch: 193 samples leave a last batch of one sample (the other ranks get none)


def data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 12)).astype(np.float32)
    labels = (x[:, :3].sum(1) > 0).astype(int) + (x[:, 3] > 0.5)
    return x, np.eye(3, dtype=np.float32)[labels], rng.uniform(0.5, 1.5, n).astype(np.float32)


class Batches(tinytf.utils.Sequence):
    """Global batches from a Sequence: each rank takes its rows of every one."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]


def mlp(hidden=16, batchnorm=False):
    tinytf.random.set_seed(1)
    layers = [Dense(hidden, input_dim=12, activation="relu")]
    layers += [BatchNormalization()] if batchnorm else []
    return Sequential(layers + [Dense(3, activation="softmax")])


def main(scenario, out):
    strategy = tinytf.distribute.MirroredStrategy(timeout=10 if scenario == "hang" else None)
    rank = strategy.rank
    x, y, w = data(193, 0)
    x_val, y_val, _ = data(50, 1)
    with strategy.scope():
        model = mlp(hidden=17 if scenario == "mismatch" and rank == 1 else 16, batchnorm=scenario == "batchnorm")
        model.compile(optimizer=tinytf.optimizers.Adam(0.01), loss="categorical_crossentropy",
                      metrics=["accuracy", tinytf.metrics.AUC(num_thresholds=20)])
    cbs = [callbacks.ModelCheckpoint(os.path.join(out, f"ckpt_rank{rank}_{{epoch}}.weights.h5"),
                                     save_weights_only=True),
           callbacks.CSVLogger(os.path.join(out, f"log_rank{rank}.csv"))]
    if scenario in ("kill", "raise", "hang"):
        def fail(batch, logs):
            if rank == 1 and batch == 2:
                if scenario == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                if scenario == "raise":
                    raise RuntimeError("rank 1 fails on purpose")
                time.sleep(600)
        cbs.append(callbacks.LambdaCallback(on_train_batch_end=fail))
    try:
        history = model.fit(x, y, sample_weight=w, batch_size=30 if scenario == "batch" else BATCH, epochs=3,
                            validation_data=(x_val, y_val), callbacks=cbs, verbose=2)
    except tinytf.distribute.ConfigurationError as e:  # the ranks' stderr interleave: say it in a file too
        with open(os.path.join(out, f"error_rank{rank}.txt"), "w") as f:
            f.write(f"ConfigurationError: {e}")
        raise
    if rank > 0:  # spoil the other ranks' weights and optimizer: fit starts from rank 0's
        model.set_weights([v + 1 for v in model.get_weights()])
        model.optimizer.set_weights([v * 2 for v in model.optimizer.get_weights()])
    history2 = model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    results = {"replicas": strategy.num_replicas_in_sync, "history": history.history, "history2": history2.history,
               # 50 samples in batches of 16: the last batch of 2 leaves ranks 2 and 3 of 4 without rows
               "evaluate": model.evaluate(x_val, y_val, batch_size=16, verbose=0),
               "evaluate_sequence": model.evaluate(Batches(x_val, y_val, 20), verbose=0)}
    model.save(os.path.join(out, f"model_rank{rank}.keras"))
    np.savez(os.path.join(out, f"rank{rank}.npz"), *model.get_weights(),
             predict=model.predict(x_val, verbose=0))
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
