"""The UCI optical digits: 1,797 8x8 grayscale images of handwritten digits
(pixel values 0-16), labels 0-9. Small enough to ship inside tinytf
(``data/digits.csv.gz``, CC BY 4.0, see ``data/README.md``), so it needs no
download: the offline stand-in for MNIST."""
import gzip
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parent / "data" / "digits.csv.gz"


def load_data(test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (n, 8, 8)
    and uint8 labels, split after a shuffle that depends only on `seed`."""
    if not 0 < test_split < 1:
        raise ValueError(f"digits.load_data: test_split must be in (0, 1), got {test_split}")
    with gzip.open(PATH, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.float64)
    x = rows[:, :64].astype(np.uint8).reshape(-1, 8, 8)
    y = rows[:, 64].astype(np.uint8)
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = int(round(len(x) * test_split))
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])
