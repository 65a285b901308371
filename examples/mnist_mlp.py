"""The README's main job: the DESIGN.md example (Dense 64 relu -> Dense 10
softmax, Adam, batch 32) trained on real MNIST, then evaluated."""
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

(x_train, y_train), (x_test, y_test) = tinytf.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
x_train, x_val, y_train, y_val = x_train[:50000], x_train[50000:], y_train[:50000], y_train[50000:]

tinytf.utils.set_random_seed(0)
model = Sequential()
model.add(Dense(64, input_dim=784, activation="relu"))
model.add(Dense(10, activation="softmax"))
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()

start = time.perf_counter()
history = model.fit(x_train, to_categorical(y_train, 10), epochs=10, batch_size=32,
                    validation_data=(x_val, to_categorical(y_val, 10)))
print(f"trained in {time.perf_counter() - start:.1f} s")
loss, accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
print(f"test loss {loss:.4f} - test accuracy {accuracy:.4f}")
