"""Test accuracy of Keras' MNIST convnet after a few epochs, for several seeds,
in tinytf and in Keras on the same data: the evidence for issue 5's
">= 98.5% after 2 epochs" criterion (a property of the model, not of tinytf?).

  python bench/convnet_accuracy.py --epochs 2 --seeds 0,1,2,3,4

Each framework runs in its own process (2 threads); batch 128, Adam,
categorical cross-entropy, all 60,000 training images, no validation split."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(fw, epochs, seeds):
    sys.path.insert(0, HERE)
    from workloads import mnist, onehot

    if fw == "keras":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras as K
        import tensorflow as tf_
        tf_.config.threading.set_intra_op_parallelism_threads(2)
    else:
        import tinytf as K
        K.config.threading.set_intra_op_parallelism_threads(2)
    xtr, ytr, xte, yte = mnist(False)
    ytr, yte = onehot(ytr), onehot(yte)
    L = K.layers
    out = []
    for seed in seeds:
        K.utils.set_random_seed(seed)
        m = K.Sequential([K.Input(shape=(28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                          L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                          L.Dense(10, activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        m.fit(xtr, ytr, batch_size=128, epochs=epochs, verbose=0)
        out.append(round(float(m.evaluate(xte, yte, batch_size=1024, verbose=0)[1]), 4))
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--frameworks", default="tinytf,keras")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.worker:
        return worker(args.worker, args.epochs, seeds)
    for fw in args.frameworks.split(","):
        proc = subprocess.run([sys.executable, __file__, "--worker", fw, "--epochs", str(args.epochs), "--seeds",
                               args.seeds], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="2"))
        if proc.returncode != 0:
            print(f"{fw:7} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1][:200]}")
            continue
        accs = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{fw:7} test accuracy after {args.epochs} epochs, seeds {args.seeds}: {accs} "
              f"(mean {sum(accs) / len(accs):.4f}, max {max(accs):.4f})")


if __name__ == "__main__":
    main()
