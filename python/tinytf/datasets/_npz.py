import numpy as np


def load_split(path):
    """((x_train, y_train), (x_test, y_test)) from a Keras-layout .npz."""
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
