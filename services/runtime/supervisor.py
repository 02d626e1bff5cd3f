"""Keeping ``casewatch up``'s child processes running.

A child that exits while the stack is up is started again after a backoff (1 s, doubling
with each recent crash, at most 30 s), and each exit and restart is logged (on the console
and in ``up.log``).  More than ``max_crashes`` exits of one child within ``window`` seconds
is not a passing fault: supervision then ends, with the reason, and ``up`` stops.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("casewatch.up")

Spawn = Callable[[list[str], Path], "subprocess.Popen[bytes]"]


def exit_text(code: int) -> str:
    """How a process ended, in words: ``exit code 3`` or ``killed by SIGKILL``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Child:
    """One supervised service: how to start it, its process, and its recent exits."""

    name: str
    args: list[str]
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    exits: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    restarts: int = 0

    @property
    def pid_file(self) -> Path:
        return self.log_file.with_suffix(".pid")


class Supervisor:
    """Starts children with ``spawn`` and, called every second through :meth:`check`, restarts
    those that exited.  :meth:`check` returns why supervision must end, or ``None``."""

    def __init__(
        self,
        spawn: Spawn,
        *,
        max_crashes: int = 5,
        window: float = 300.0,
        first_backoff: float = 1.0,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spawn, self.clock = spawn, clock
        self.max_crashes, self.window = max_crashes, window
        self.first_backoff, self.max_backoff = first_backoff, max_backoff
        self.children: list[Child] = []

    def start(self, name: str, args: list[str], log_file: Path) -> Child:
        child = Child(name, args, log_file)
        self.children.append(child)
        self._run(child)
        return child

    def _run(self, child: Child) -> None:
        child.process = self.spawn(child.args, child.log_file)
        child.restart_at = None
        child.pid_file.write_text(f"{child.process.pid}\n", encoding="utf-8")

    def check(self) -> str | None:
        """Notice exits, restart children whose backoff has passed; the reason to stop, if any."""
        now = self.clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._run(child)
                    assert child.process is not None
                    log.warning(
                        "%s restarted (pid %s, restart %s)",
                        child.name,
                        child.process.pid,
                        child.restarts,
                    )
                continue
            assert child.process is not None
            code = child.process.poll()
            if code is None:
                continue
            child.exits.append(now)
            while child.exits and child.exits[0] < now - self.window:
                child.exits.popleft()
            recent = len(child.exits)
            how = exit_text(code)
            if recent > self.max_crashes:
                return (
                    f"the {child.name} stopped {recent} times in the last {self.window:.0f} s "
                    f"(last: {how}); not restarting it again. See {child.log_file}"
                )
            delay = min(self.max_backoff, self.first_backoff * 2 ** (recent - 1))
            child.restart_at = now + delay
            log.warning(
                "%s stopped (%s); restarting in %.0f s (%s of %s stops allowed in %.0f s); see %s",
                child.name,
                how,
                delay,
                recent,
                self.max_crashes,
                self.window,
                child.log_file,
            )
        return None

    def stop_all(self, grace: float = 15.0) -> None:
        """SIGTERM every running child, then SIGKILL those still running after ``grace``."""
        running = [
            c.process for c in self.children if c.process is not None and c.process.poll() is None
        ]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for child in self.children:
            child.pid_file.unlink(missing_ok=True)
