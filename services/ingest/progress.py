"""A progress bar on standard error, drawn only when it is a terminal (never in logs or CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """``bar(done, total)`` redraws at most ten times a second; ``close`` ends the line."""

    def __init__(self, label: str, stream: TextIO | None = None, *, force: bool = False) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self._drawn = 0.0
        self._started = time.monotonic()
        self._open = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._drawn < 0.1 and done < total):
            return
        self._drawn = now
        share = done / total if total else 1.0
        filled = int(WIDTH * min(share, 1.0))
        rate = done / max(now - self._started, 1e-9)
        bar = "#" * filled + "-" * (WIDTH - filled)
        self.stream.write(f"\r{self.label:<10} [{bar}] {done}/{total} ({rate:,.0f}/s)")
        self.stream.flush()
        self._open = True

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
