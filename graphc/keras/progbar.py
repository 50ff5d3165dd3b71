"""A Keras-style progress bar.

On a terminal one line is redrawn in place::

    12/469 ━━━━━━━━━━━━━━━━━━━━ 2s 5ms/step - accuracy: 0.8512 - loss: 0.4978

When output is not a terminal (a log file, a pipe, CI) it degrades to plain
lines: no bar, no carriage returns, a line at most every ``interval``
seconds and always one at the end. ``verbose=2`` prints only the final line.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _can_encode(stream, text) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def format_value(value) -> str:
    if np.ndim(value):  # a vector result (a metric per class): its values, as Keras prints them
        return "[" + " ".join(format_value(v) for v in np.ravel(value)) + "]"
    value = float(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4e}"


def format_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(round(seconds))}s"


def format_per_step(seconds: float, unit: str = "step") -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    def __init__(self, target, width=20, verbose=1, interval=0.05, unit_name="step", stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.unit_name = unit_name
        self.stream = stream or sys.stdout
        self.dynamic = _is_terminal(self.stream)
        self.interval = interval if self.dynamic else max(interval, 10.0)
        self.fancy = self.dynamic and _can_encode(self.stream, "━")
        self.start = time.time()
        # plain lines: the first one after ``interval``, not at step 1
        self.last_update = 0.0 if self.dynamic else self.start
        self.previous_width = 0
        self.values: dict = {}

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for key, value in (values or []):
            self.values[key] = value
        if self.verbose == 0:
            return
        now = time.time()
        if self.verbose == 2 and not finalize:
            return
        if not finalize and now - self.last_update < self.interval:
            return
        self.last_update = now
        elapsed = now - self.start
        per_step = elapsed / current if current else 0.0
        if self.target is not None:
            digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
            counter = f"{current:>{digits}}/{self.target}"
        else:
            counter = f"{current}/Unknown"
        parts = [counter]
        if self.dynamic and self.target:
            filled = int(self.width * min(current, self.target) / self.target)
            if self.fancy:
                bar = "\x1b[32m" + "━" * filled + "\x1b[0m" + "\x1b[37m" + "━" * (self.width - filled) + "\x1b[0m"
            else:
                bar = "[" + "=" * filled + "." * (self.width - filled) + "]"
            parts.append(bar)
        if finalize or self.target is None:
            timing = f"{format_time(elapsed)} {format_per_step(per_step, self.unit_name)}"
        else:
            timing = f"{format_time(per_step * (self.target - current))} {format_per_step(per_step, self.unit_name)}"
        metrics = " - ".join(f"{k}: {format_value(v)}" for k, v in sorted(self.values.items()))
        if self.dynamic:
            line = " ".join(parts) + " " + timing + (f" - {metrics}" if metrics else "")
            pad = max(0, self.previous_width - len(line))
            self.stream.write("\r" + line + " " * pad + ("\n" if finalize else ""))
            self.previous_width = len(line)
        else:
            line = " - ".join([parts[0], timing.replace(" ", " - ", 1)] + ([metrics] if metrics else []))
            self.stream.write(line + "\n")
        self.stream.flush()
