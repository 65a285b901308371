"""The README's main job: the DESIGN.md example (Dense 64 relu -> Dense 10
softmax, Adam, batch 32) trained on real MNIST, evaluated, and saved
(``mnist_mlp.keras`` and a training-curve PNG, ``mnist_mlp_history.png``).

Offline with no MNIST cached, it trains on the handwritten digits shipped
inside tinytf (UCI optical digits, 8x8) instead, and says so.

    python examples/mnist_mlp.py [--epochs 10] [--data auto|mnist|digits] [--out .]
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
from tinytf.layers import Dense  # noqa: E402
from tinytf.models import Sequential  # noqa: E402
from tinytf.utils import to_categorical  # noqa: E402


def load(which):
    """(name, (x_train, y_train), (x_test, y_test)) with images flattened and scaled to [0, 1]."""
    if which in ("auto", "mnist"):
        try:
            name, (train, test) = "MNIST (28x28, 60,000 + 10,000 images)", tinytf.datasets.mnist.load_data()
            scale = 255.0
        except (RuntimeError, OSError) as e:
            if which == "mnist":
                raise
            print(f"MNIST is not available ({e}).\nUsing the handwritten digits shipped with tinytf instead.")
            which = "digits"
    if which == "digits":
        name, (train, test) = "UCI optical digits (8x8, 1,797 images, shipped with tinytf)", \
            tinytf.datasets.digits.load_data()
        scale = 16.0

    def prepare(x):
        return x.reshape(len(x), -1).astype("float32") / scale

    return name, (prepare(train[0]), train[1]), (prepare(test[0]), test[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data", choices=["auto", "mnist", "digits"], default="auto")
    parser.add_argument("--out", default=".", help="folder for mnist_mlp.keras and mnist_mlp_history.png")
    args = parser.parse_args()

    name, (x_train, y_train), (x_test, y_test) = load(args.data)
    print(f"Data: {name}")
    n_val = len(x_train) // 6  # MNIST: the last 10,000 training images validate
    x_train, x_val, y_train, y_val = x_train[:-n_val], x_train[-n_val:], y_train[:-n_val], y_train[-n_val:]

    tinytf.utils.set_random_seed(0)
    model = Sequential()
    model.add(Dense(64, input_dim=x_train.shape[1], activation="relu"))
    model.add(Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()

    start = time.perf_counter()
    history = model.fit(x_train, to_categorical(y_train, 10), epochs=args.epochs, batch_size=32,
                        validation_data=(x_val, to_categorical(y_val, 10)))
    print(f"trained in {time.perf_counter() - start:.1f} s")
    loss, accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    print(f"test loss {loss:.4f} - test accuracy {accuracy:.4f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "mnist_mlp.keras")
    print(f"saved the model to {out / 'mnist_mlp.keras'} (tinytf.models.load_model reads it back, and so does Keras)")
    try:
        tinytf.utils.plot_history(history, out / "mnist_mlp_history.png", title=name)
        print(f"saved the training curves to {out / 'mnist_mlp_history.png'}")
    except ImportError as e:
        print(f"no training-curve PNG: {e}")


if __name__ == "__main__":
    main()
