"""Data-parallel training on MNIST with tinytf.distribute.MirroredStrategy: the
usual Keras script, with the model built and compiled in the strategy's scope.

One machine, 4 processes (one replica each, 1 OpenMP thread each):

    OMP_NUM_THREADS=1 mpiexec -n 4 python examples/distributed_mnist.py

Several machines (the hosts listed in a hostfile, e.g. "node1:8" per line):

    mpiexec -f hostfile -n 16 -genv OMP_NUM_THREADS 1 python examples/distributed_mnist.py

The batch size is the global one: each of the N ranks computes on batch_size / N
samples per step. Only rank 0 prints and saves. It reports the training
throughput (samples/s) of each epoch after the first.

    [--model convnet|mlp] [--epochs 3] [--batch-size 128] [--samples 60000] [--out .]
"""
import argparse
import os
import time
from pathlib import Path

# Use the repository's shared data folder as the dataset cache when it is there.
shared = Path(__file__).resolve().parents[2] / "shared" / "data"
if shared.is_dir():
    os.environ.setdefault("TINYTF_DATA_DIR", str(shared))

import tinytf  # noqa: E402
from tinytf.callbacks import Callback  # noqa: E402
from tinytf.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D  # noqa: E402
from tinytf.models import Sequential  # noqa: E402
from tinytf.utils import to_categorical  # noqa: E402


def build(kind):
    if kind == "mlp":  # the README's main job
        return Sequential([Input((784,)), Dense(64, activation="relu"), Dense(10, activation="softmax")])
    return Sequential([Input((28, 28, 1)),  # Keras' "Simple MNIST convnet" example
                       Conv2D(32, kernel_size=(3, 3), activation="relu"), MaxPooling2D(pool_size=(2, 2)),
                       Conv2D(64, kernel_size=(3, 3), activation="relu"), MaxPooling2D(pool_size=(2, 2)),
                       Flatten(), Dropout(0.5), Dense(10, activation="softmax")])


class Throughput(Callback):
    """Samples per second of each epoch (the same number on every rank: they step together)."""

    def __init__(self, samples):
        super().__init__()
        self.samples, self.rates = samples, []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(self.samples / (time.perf_counter() - self.start))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["convnet", "mlp"], default="convnet")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128, help="the global batch size")
    parser.add_argument("--samples", type=int, default=60000, help="train on the first N training images")
    parser.add_argument("--out", default=".", help="folder for distributed_mnist.keras")
    args = parser.parse_args()

    strategy = tinytf.distribute.MirroredStrategy()
    say = print if strategy.is_chief else (lambda *a, **k: None)
    say(f"{strategy.num_replicas_in_sync} replica(s)")

    (x_train, y_train), (x_test, y_test) = tinytf.datasets.mnist.load_data()
    shape = (-1, 784) if args.model == "mlp" else (-1, 28, 28, 1)
    x_train = x_train[:args.samples].reshape(shape).astype("float32") / 255
    x_test = x_test.reshape(shape).astype("float32") / 255
    y_train, y_test = to_categorical(y_train[:args.samples], 10), to_categorical(y_test, 10)

    tinytf.utils.set_random_seed(0)  # rank 0's initial weights are broadcast anyway
    with strategy.scope():
        model = build(args.model)
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    throughput = Throughput(len(x_train))
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, callbacks=[throughput], verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)  # sharded over the ranks
    say(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    if len(throughput.rates) > 1:
        rates = sorted(throughput.rates[1:])
        say(f"throughput: {rates[len(rates) // 2]:.0f} samples/s (median of epochs 2-{args.epochs}; "
            f"{strategy.num_replicas_in_sync} ranks, global batch {args.batch_size})")
    model.save(os.path.join(args.out, "distributed_mnist.keras"))  # written by rank 0 only


if __name__ == "__main__":
    main()
