"""A one-line progress bar on stderr for the benchmarks, shown only on a terminal."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["Progress"]

_WIDTH = 30


class Progress:
    """``[######........] 1,200/2,000 articles  134/s  ETA 6 s``, redrawn at most five
    times a second. Thread-safe. Silent unless ``enabled`` (callers pass whether
    stderr is a terminal and the output is not JSON)."""

    def __init__(self, total: int, unit: str, *, enabled: bool, out: TextIO | None = None) -> None:
        self.total = max(1, total)
        self.unit = unit
        self.enabled = enabled
        self.out = out or sys.stderr
        self.done = 0
        self._started = time.perf_counter()
        self._drawn = 0.0
        self._lock = threading.Lock()

    def line(self) -> str:
        elapsed = max(1e-9, time.perf_counter() - self._started)
        rate = self.done / elapsed
        filled = int(_WIDTH * min(1.0, self.done / self.total))
        eta = (self.total - self.done) / rate if rate else 0.0
        return (
            f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {self.done:,}/{self.total:,} "
            f"{self.unit}  {rate:,.0f}/s  ETA {eta:,.0f} s"
        )

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            now = time.perf_counter()
            if self.enabled and (now - self._drawn >= 0.2 or self.done >= self.total):
                self._drawn = now
                self.out.write("\r" + self.line())
                self.out.flush()

    def close(self) -> None:
        if self.enabled:
            self.out.write("\r" + self.line() + "\n")
            self.out.flush()
