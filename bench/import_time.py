"""Footprint: median wall time of `import tinytf` in fresh processes (warm file cache)."""
import statistics
import subprocess
import sys

CODE = "import time; t = time.perf_counter(); import tinytf; print(time.perf_counter() - t)"


def main(runs=11):
    subprocess.run([sys.executable, "-c", "import tinytf"], check=True)  # warm the file cache
    times = [float(subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout)
             for _ in range(runs)]
    base = [float(subprocess.run([sys.executable, "-c", CODE.replace("tinytf", "numpy")], capture_output=True,
                                 text=True, check=True).stdout) for _ in range(runs)]
    print(f"import tinytf: median {statistics.median(times) * 1e3:.1f} ms over {runs} runs "
          f"(import numpy alone: {statistics.median(base) * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
