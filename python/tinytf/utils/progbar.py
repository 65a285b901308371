"""Keras-style progress bar. On a terminal it redraws one line in place; when
stdout is not a terminal (CI logs, files) it prints only whole lines, so logs
never fill with control characters."""
import sys
import time


def _fmt_value(v):
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


def _fmt_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(round(seconds))}s"


def _fmt_per_step(seconds, unit):
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """progbar.update(current, values) with values a list of (name, float)."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step",
                 stream=None):
        self.target, self.width, self.verbose, self.interval, self.unit = target, width, verbose, interval, unit_name
        self.stream = stream or sys.stdout
        self.dynamic = self.stream.isatty() if hasattr(self.stream, "isatty") else False
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.values = []
        self.drawn_width = 0

    def _bar(self, current):
        if self.target is None:
            return f"{current}/Unknown"
        digits = len(str(self.target))
        done = int(self.width * current / self.target) if self.target else self.width
        return f"{current:>{digits}}/{self.target} " + "━" * done + " " * (self.width - done) if self.dynamic else \
            f"{current:>{digits}}/{self.target}"

    def update(self, current, values=None, finalize=None):
        if values is not None:
            self.values = list(values)
        if self.verbose == 0:
            return
        finalize = finalize if finalize is not None else (self.target is not None and current >= self.target)
        now = time.perf_counter()
        if not finalize and (not self.dynamic or self.verbose != 1 or now - self.last_draw < self.interval):
            return
        self.last_draw = now
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        metrics = "".join(f" - {k}: {_fmt_value(float(v))}" for k, v in self.values)
        if finalize:
            timing = f"{_fmt_time(elapsed)} {_fmt_per_step(per_step, self.unit)}"
            if self.verbose == 2 or not self.dynamic:
                line = f"{self._bar(current)} - {timing}{metrics}"
            else:
                line = f"{self._bar(current)} {timing}{metrics}"
        else:
            eta = per_step * (self.target - current) if self.target else 0.0
            line = f"{self._bar(current)} {_fmt_time(eta)} {_fmt_per_step(per_step, self.unit)}{metrics}"
        if self.dynamic and self.verbose == 1:
            pad = max(self.drawn_width - len(line), 0)
            self.stream.write("\r" + line + " " * pad + ("\n" if finalize else ""))
            self.drawn_width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def add(self, n, values=None):
        self.update((self._current if hasattr(self, "_current") else 0) + n, values)
