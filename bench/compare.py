"""tinytf against Keras 3 (TensorFlow CPU) and PyTorch CPU, same data, same
threads, each framework in its own process. Writes bench/RESULTS.md, a PNG
chart (when matplotlib is installed) and optionally JSON.

  python bench/compare.py                 # full run (several minutes)
  python bench/compare.py --quick         # under two minutes, for regressions
  python bench/compare.py --threads 1 --json out.json --only mlp32,convnet
  python bench/compare.py --rounds 2      # frameworks in turn twice: fairer on a noisy machine

Training workloads report the median epoch time after a warm-up epoch, the
first epoch separately, test accuracy after the timed epochs, and the ratio
peer / tinytf (above 1 means tinytf is faster). A peer that is not installed
is reported as such; the run never fails because of it."""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRAMEWORKS = ("tinytf", "keras", "torch")
TRAINING = ("mlp32", "mlp128", "convnet", "lstm")


def run_worker(fw, workload, args):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONUNBUFFERED="1")
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    if args.quick:
        env["BENCH_SAMPLES"] = "4000"
    cmd = [sys.executable, str(HERE / "workloads.py"), fw, workload, "--threads", str(args.threads),
           "--epochs", str(args.epochs)] + (["--quick"] if args.quick else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def import_time(fw, runs=5):
    """Median wall time of the import in fresh processes, after a first import
    that leaves the bytecode cache pip writes at install time: with
    PYTHONDONTWRITEBYTECODE set, a source tree on PYTHONPATH would otherwise be
    compiled again at every import (~25 ms for tinytf here)."""
    module = {"tinytf": "tinytf", "keras": "keras", "torch": "torch"}[fw]
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, check=True, env=env)
        return statistics.median(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                      check=True, env=env).stdout) for _ in range(runs))
    except subprocess.CalledProcessError:
        return None


def installed_mb(dist_name, with_requirements=True):
    """Size on disk of a distribution and (by default) everything it requires, recursively."""
    from importlib import metadata
    import re

    seen, total, todo = set(), 0, [dist_name]
    while todo:
        name = re.split(r"[ ;<>=!~\[(]", todo.pop())[0].lower().replace("_", "-")
        if not name or name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for f in dist.files or []:
            try:
                total += f.locate().stat().st_size
            except OSError:
                pass
        if with_requirements:
            todo += [r for r in (dist.requires or []) if "extra ==" not in r]
    return total / 2**20 if seen else None


def measure(fw, workload, args):
    """One framework's result for one workload (a training run, inference, or the footprint)."""
    if workload != "footprint":
        return run_worker(fw, workload, args)
    dist = {"tinytf": "tinytf", "keras": "tensorflow-cpu", "torch": "torch"}[fw]
    r = {"import_s": import_time(fw, 1 if args.quick else 5), "installed_mb": installed_mb(dist),
         "package_mb": installed_mb(dist, with_requirements=False)}
    if fw == "keras" and r["installed_mb"] is not None:
        r["installed_mb"] += installed_mb("keras") or 0
    return r


def versions():
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("tinytf", "numpy", "tensorflow-cpu", "keras", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
            if name == "tinytf":  # a source tree on PYTHONPATH
                try:
                    import tinytf
                    out[name] = tinytf.__version__ + " (source tree)"
                except ImportError:
                    pass
    return out


def cpu_info():
    model, flags = platform.processor(), ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name"))
        flags = next(l.split(":", 1)[1] for l in text.splitlines() if l.startswith("flags")).split()
        flags = " ".join(f for f in flags if f.startswith(("avx", "fma", "amx")))
    except (OSError, StopIteration):
        pass
    return model, flags, os.cpu_count()


def summarize_training(runs):
    """One result from a framework's rounds: the first epoch of the first round,
    the median over every round's epochs after its warm-up, the last round's
    accuracy and the largest peak RSS."""
    ok = [r for r in runs if r.get("epoch_s")]
    if not ok:
        return runs[-1]
    timed = [t for r in ok for t in (r["epoch_s"][1:] or r["epoch_s"])]
    out = {**ok[-1], "first_epoch_s": ok[0]["epoch_s"][0], "median_epoch_s": statistics.median(timed)}
    if len(ok) > 1:
        out["epoch_s"] = [r["epoch_s"] for r in ok]
        out["peak_rss_mb"] = max(r.get("peak_rss_mb", 0) for r in ok)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4, help="epochs per training workload (the first is warm-up)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the frameworks' training processes this many times in turn (tinytf, Keras, PyTorch, "
                         "tinytf, ...) and take the median over all rounds, so a slow spell of a shared machine "
                         "does not land on one framework only")
    ap.add_argument("--quick", action="store_true", help="2 epochs on 4,000 samples, fewer repeats (under two minutes)")
    ap.add_argument("--only", default="", help="comma-separated workloads (mlp32,mlp128,convnet,lstm,predict,latency,footprint)")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument("--json", default=None, help="also write the raw results here")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = ap.parse_args()
    if args.quick:
        args.epochs = 2
    workloads = args.only.split(",") if args.only else list(TRAINING) + ["predict", "latency", "footprint"]
    frameworks = args.frameworks.split(",")
    started = time.time()
    results = {"meta": {"date": datetime.datetime.now().isoformat(timespec="seconds"), "threads": args.threads,
                        "command": " ".join([Path(sys.executable).name] + sys.argv), "versions": versions(),
                        "cpu": cpu_info(), "quick": args.quick, "rounds": args.rounds}, "workloads": {}}
    for w in workloads:
        runs = {fw: [] for fw in frameworks}
        for _ in range(max(args.rounds, 1) if w in TRAINING else 1):
            for fw in frameworks:
                runs[fw].append(measure(fw, w, args))
                print(f"{w:9} {fw:7} {json.dumps(runs[fw][-1])[:160]}", flush=True)
        results["workloads"][w] = {fw: summarize_training(r) if w in TRAINING else r[0] for fw, r in runs.items()}
    results["meta"]["wall_s"] = time.time() - started
    report = render(results)
    print("\n" + report)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if not args.no_write:
        (HERE / "RESULTS.md").write_text(report)
        chart(results, HERE / "results.png")


def ratio(peer, base):
    return f"{peer / base:.2f}x" if peer and base else "-"


def table_row(label, values, fmt):
    """A markdown row: label, then each framework's value (n/a when missing or zero)."""
    return f"| {label} | " + " | ".join(fmt.format(values[fw]) if values.get(fw) else "n/a" for fw in FRAMEWORKS) + " |"


def render(res):
    m = res["meta"]
    model, flags, ncpu = m["cpu"]
    lines = ["# tinytf benchmark results", "",
             f"- date: {m['date']}; command: `{m['command']}`; wall time {m.get('wall_s', 0):.0f} s",
             f"- machine: {model}, {ncpu} logical CPUs; flags: {flags}",
             f"- threads: {m['threads']} for every framework; versions: " +
             ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
             "- ratios are peer / tinytf: above 1 means tinytf is faster (or smaller)", ""]
    w = res["workloads"]
    train = [k for k in TRAINING if k in w]
    if train:
        rounds = m.get("rounds", 1)
        over = f", over {rounds} rounds of the frameworks in turn" if rounds > 1 else ""
        lines += [f"## Training (seconds per epoch, median after a warm-up epoch{over})", "",
                  "| workload | tinytf | Keras/TF | PyTorch | Keras/tinytf | PyTorch/tinytf | first epoch (tinytf / Keras / PyTorch) | test accuracy (tinytf / Keras / PyTorch) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for k in train:
            row = w[k]
            get = lambda fw, key: row.get(fw, {}).get(key)  # noqa: E731
            cell = lambda v, f="{:.3f}": f.format(v) if isinstance(v, (int, float)) else "n/a"  # noqa: E731
            base = get("tinytf", "median_epoch_s")
            lines.append(f"| {k} | {cell(base)} | {cell(get('keras', 'median_epoch_s'))} | "
                         f"{cell(get('torch', 'median_epoch_s'))} | {ratio(get('keras', 'median_epoch_s'), base)} | "
                         f"{ratio(get('torch', 'median_epoch_s'), base)} | "
                         f"{' / '.join(cell(get(fw, 'first_epoch_s'), '{:.2f}') for fw in FRAMEWORKS)} | "
                         f"{' / '.join(cell(get(fw, 'test_accuracy'), '{:.4f}') for fw in FRAMEWORKS)} |")
        errors = [f"- {k} / {fw}: {r['error']}" for k in train for fw, r in w[k].items() if "error" in r]
        lines += [""] + (["Not measured:"] + errors + [""] if errors else [])
    if "predict" in w:
        p = w["predict"]
        lines += ["## Inference", "", "| predict, 10,000 samples at batch 1024 | tinytf | Keras/TF | PyTorch |",
                  "| --- | --- | --- | --- |"]
        for k in ("mlp", "convnet"):
            lines.append(table_row(f"{k} samples/s", {fw: p.get(fw, {}).get(k) for fw in FRAMEWORKS}, "{:,.0f}"))
    if "latency" in w:
        lat = w["latency"]
        lines += ["", "| MLP, one sample | tinytf | Keras/TF | PyTorch |", "| --- | --- | --- | --- |"]
        for k, label in (("call_us", "`model(x)` us"), ("predict_us", "`model.predict(x)` us")):
            lines.append(table_row(label, {fw: lat.get(fw, {}).get(k) for fw in FRAMEWORKS}, "{:,.1f}"))
    if "footprint" in w:
        f, mlp = w["footprint"], w.get("mlp32", {})

        def column(source, key):
            return {fw: source.get(fw, {}).get(key) for fw in FRAMEWORKS}

        rss_after = column(mlp, "peak_rss_after_data_mb")
        data_mb = next((r["data_mb"] for r in mlp.values() if r.get("data_mb")), None)
        above = {fw: v - data_mb for fw, v in rss_after.items() if v and data_mb}
        lines += ["", "## Footprint", "", "| | tinytf | Keras/TF | PyTorch |", "| --- | --- | --- | --- |",
                  table_row("`import` wall time, s", column(f, "import_s"), "{:.3f}"),
                  table_row("installed size with dependencies, MiB", column(f, "installed_mb"), "{:.1f}"),
                  table_row("installed size of the package alone, MiB", column(f, "package_mb"), "{:.2f}"),
                  table_row("peak RSS of the MLP batch-32 training run, MiB", column(mlp, "peak_rss_mb"), "{:.0f}"),
                  table_row("the same from the end of data loading (model, training, evaluation), MiB", rss_after,
                            "{:.0f}"),
                  table_row("... above the loaded data (train and test arrays, "
                            + (f"{data_mb:.0f} MiB" if data_mb else "n/a") + "), MiB", above, "{:.0f}")]
    return "\n".join(lines) + "\n"


def chart(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart written (pip install matplotlib)")
        return
    w = res["workloads"]
    names = [k for k in TRAINING if k in w and w[k].get("tinytf", {}).get("median_epoch_s")]
    if not names:
        return
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.27
    for i, fw in enumerate(FRAMEWORKS):
        vals = [w[k].get(fw, {}).get("median_epoch_s") or 0 for k in names]
        ax.bar([j + (i - 1) * width for j in range(len(names))], vals, width, label=fw)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("seconds per epoch (lower is better)")
    ax.set_title(f"threads={res['meta']['threads']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
