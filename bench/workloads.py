"""One benchmark worker: runs a workload for one framework and prints a JSON
line. compare.py starts one process per (framework, workload) so frameworks
never share a process (or an OpenMP runtime).

  python bench/workloads.py FRAMEWORK WORKLOAD --threads N --epochs E [--quick]

Frameworks: tinytf, keras (Keras 3 on TensorFlow), torch.
Workloads: mlp32, mlp128, convnet, lstm, predict, latency."""
import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("TINYTF_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


SAMPLES = int(os.environ.get("BENCH_SAMPLES", "0")) or None  # --quick trains on a subset


DATA_MB = 0.0  # the arrays the workload loaded (x and y, train and test)
PEAK_LOADING_MB = 0.0  # peak RSS up to the end of data loading


def _peak_rss_mb():
    """The kernel's peak-RSS count (VmHWM, which clear_refs can restart)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _data_ready(*arrays):
    """Record the data size and restart the peak-RSS count, so the training
    peak excludes the loader's transient copies (uint8 and float32 side by
    side, the npz buffers), which are the same for every framework."""
    global DATA_MB, PEAK_LOADING_MB
    DATA_MB = sum(a.nbytes for a in arrays) / 2**20
    PEAK_LOADING_MB = _peak_rss_mb()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # Linux: restarts VmHWM (and ru_maxrss) from the current RSS
    except OSError:
        pass
    return arrays


def mnist(flat):
    with np.load(DATA / "mnist.npz") as f:
        xtr, ytr, xte, yte = f["x_train"][:SAMPLES], f["y_train"][:SAMPLES], f["x_test"], f["y_test"]
    shape = (-1, 784) if flat else (-1, 28, 28, 1)
    xtr, xte = xtr.reshape(shape).astype(np.float32), xte.reshape(shape).astype(np.float32)
    xtr /= 255  # in place: the peak RSS should hold one float32 copy of the data, not two
    xte /= 255
    return _data_ready(xtr, ytr.astype(np.int64), xte, yte.astype(np.int64))


def text(n=SAMPLES or 25000, length=80, vocab=20000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, (n, length)).astype(np.int32)
    y = (rng.random(n) < 0.5).astype(np.float32)
    _data_ready(x, y)
    return x, y, x[:2000], y[:2000]


def onehot(y, n=10):
    out = np.zeros((len(y), n), np.float32)
    out[np.arange(len(y)), y] = 1
    return out


SPECS = {  # workload -> (data, batch size)
    "mlp32": ("mlp", 32), "mlp128": ("mlp", 128), "convnet": ("convnet", 128), "lstm": ("lstm", 64),
}


# --- tinytf and Keras share the Keras code path ----------------------------------------

def keras_like(fw, workload, epochs, threads):
    if fw == "keras":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras
        import tensorflow as tf_
        tf_.config.threading.set_intra_op_parallelism_threads(threads)
        tf_.config.threading.set_inter_op_parallelism_threads(1)
        K, L = keras, keras.layers
    else:
        import tinytf as K
        K.config.threading.set_intra_op_parallelism_threads(threads)
        L = K.layers
    K.utils.set_random_seed(0)
    kind, batch = SPECS[workload]
    if kind == "mlp":
        xtr, ytr, xte, yte = mnist(True)
        model = K.Sequential([K.Input(shape=(784,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
        loss, ytr, yte = "categorical_crossentropy", onehot(ytr), onehot(yte)
    elif kind == "convnet":
        xtr, ytr, xte, yte = mnist(False)
        model = K.Sequential([K.Input(shape=(28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                              L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                              L.Dense(10, activation="softmax")])
        loss, ytr, yte = "categorical_crossentropy", onehot(ytr), onehot(yte)
    else:
        if not hasattr(L, "LSTM"):
            raise NotImplementedError(f"{fw} has no LSTM layer yet")
        xtr, ytr, xte, yte = text()
        model = K.Sequential([K.Input(shape=(80,), dtype="int32"), L.Embedding(20000, 128), L.LSTM(64),
                              L.Dense(1, activation="sigmoid")])
        loss = "binary_crossentropy"
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    times = []

    class Timer(K.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(xtr, ytr, batch_size=batch, epochs=epochs, verbose=0, callbacks=[Timer()])
    acc = float(model.evaluate(xte, yte, batch_size=1024, verbose=0)[1])
    return {"epoch_s": times, "test_accuracy": acc}


# --- PyTorch: an idiomatic eager loop ------------------------------------------------------

def torch_train(workload, epochs, threads):
    import torch
    import torch.nn as nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    kind, batch = SPECS[workload]
    if kind == "mlp":
        xtr, ytr, xte, yte = mnist(True)
        model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
        loss_fn = nn.CrossEntropyLoss()
    elif kind == "convnet":
        xtr, ytr, xte, yte = mnist(False)
        xtr, xte = xtr.transpose(0, 3, 1, 2).copy(), xte.transpose(0, 3, 1, 2).copy()
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
        loss_fn = nn.CrossEntropyLoss()
    else:
        xtr, ytr, xte, yte = text()

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb, self.lstm, self.out = nn.Embedding(20000, 128), nn.LSTM(128, 64, batch_first=True), nn.Linear(64, 1)

            def forward(self, x):
                return self.out(self.lstm(self.emb(x))[0][:, -1]).squeeze(1)

        model, loss_fn = Net(), nn.BCEWithLogitsLoss()
        xtr, xte = xtr.astype(np.int64), xte.astype(np.int64)
    X, Y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        model.train()
        for idx in torch.randperm(len(X)).split(batch):
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(xte))
        pred = (out > 0).long().numpy() if kind == "lstm" else out.argmax(1).numpy()
    return {"epoch_s": times, "test_accuracy": float((pred == yte).mean())}


# --- inference -------------------------------------------------------------------------------

def predict(fw, threads, quick):
    """Predict throughput (samples/s) at batch 1024 over 10,000 samples, MLP and convnet."""
    xte_flat, xte_img = mnist(True)[2], mnist(False)[2]
    out = {}
    if fw == "torch":
        import torch
        import torch.nn as nn
        torch.set_num_threads(threads)
        mlp = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10), nn.Softmax(-1)).eval()
        cnn = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10), nn.Softmax(-1)).eval()
        for name, model, x in (("mlp", mlp, torch.from_numpy(xte_flat)),
                               ("convnet", cnn, torch.from_numpy(xte_img.transpose(0, 3, 1, 2).copy()))):
            def run():
                with torch.no_grad():
                    return [model(b) for b in x.split(1024)]
            out[name] = _throughput(run, len(x), quick)
        return out
    if fw == "keras":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras
        import tensorflow as tf_
        tf_.config.threading.set_intra_op_parallelism_threads(threads)
        K = keras
    else:
        import tinytf as K
        K.config.threading.set_intra_op_parallelism_threads(threads)
    L = K.layers
    mlp = K.Sequential([K.Input(shape=(784,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    cnn = K.Sequential([K.Input(shape=(28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                        L.Dense(10, activation="softmax")])
    for name, model, x in (("mlp", mlp, xte_flat), ("convnet", cnn, xte_img)):
        out[name] = _throughput(lambda: model.predict(x, batch_size=1024, verbose=0), len(x), quick)
    return out


def _throughput(fn, n, quick):
    fn()
    runs = []
    for _ in range(3 if quick else 7):
        t = time.perf_counter()
        fn()
        runs.append(n / (time.perf_counter() - t))
    return float(np.median(runs))


def latency(fw, threads, quick):
    """Single-sample MLP latency through model(x) and model.predict(x), microseconds."""
    x = mnist(True)[2][:1]
    reps = 200 if quick else 2000
    out = {}
    if fw == "torch":
        import torch
        import torch.nn as nn
        torch.set_num_threads(threads)
        m = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10), nn.Softmax(-1)).eval()
        xt = torch.from_numpy(x)

        def call():
            with torch.no_grad():
                return m(xt)
        out["call_us"] = _median_us(call, reps)
        return out
    if fw == "keras":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras
        import tensorflow as tf_
        tf_.config.threading.set_intra_op_parallelism_threads(threads)
        K = keras
        reps = max(reps // 10, 20)
    else:
        import tinytf as K
        K.config.threading.set_intra_op_parallelism_threads(threads)
    L = K.layers
    m = K.Sequential([K.Input(shape=(784,)), L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
    out["call_us"] = _median_us(lambda: m(x), reps)
    out["predict_us"] = _median_us(lambda: m.predict(x, verbose=0), max(reps // 10, 4 if quick else 20))
    return out


def _median_us(fn, reps):
    for _ in range(min(reps, 50)):
        fn()
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        runs.append((time.perf_counter() - t) / reps * 1e6)
    return float(np.median(runs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("framework", choices=["tinytf", "keras", "torch"])
    ap.add_argument("workload", choices=list(SPECS) + ["predict", "latency"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.workload == "predict":
        result = predict(args.framework, args.threads, args.quick)
    elif args.workload == "latency":
        result = latency(args.framework, args.threads, args.quick)
    elif args.framework == "torch":
        result = torch_train(args.workload, args.epochs, args.threads)
    else:
        result = keras_like(args.framework, args.workload, args.epochs, args.threads)
    result["peak_rss_mb"] = max(_peak_rss_mb(), PEAK_LOADING_MB)
    if DATA_MB:
        result["data_mb"] = DATA_MB
        result["peak_rss_after_data_mb"] = _peak_rss_mb()
    result["wall_s"] = time.perf_counter() - t0
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
