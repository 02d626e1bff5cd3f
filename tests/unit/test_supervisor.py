"""The supervisor of ``casewatch up``: restarts with backoff, gives up on repeated stops.

Real child processes (a Python that exits at once, or sleeps); the clock is injected, so the
backoff is checked without waiting for it.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from services.runtime.supervisor import Spawn, Supervisor, exit_text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spawner(code: str) -> Spawn:
    def spawn(args: list[str], log_file: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", code])

    return spawn


def wait_exit(supervisor: Supervisor) -> None:
    for child in supervisor.children:
        assert child.process is not None
        child.process.wait(timeout=30)


def test_exit_text_names_the_signal() -> None:
    assert exit_text(-9) == "killed by SIGKILL"
    assert exit_text(3) == "exit code 3"


def test_a_stopped_child_is_restarted_after_a_doubling_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    supervisor = Supervisor(
        spawner("raise SystemExit(3)"),
        max_crashes=3,
        window=300,
        clock=clock,
    )
    child = supervisor.start("worker", ["worker"], tmp_path / "worker.log")
    first_pid = child.process.pid if child.process else None
    assert (tmp_path / "worker.pid").read_text(encoding="utf-8").strip() == str(first_pid)
    with caplog.at_level(logging.WARNING, logger="casewatch.up"):
        delays = []
        for _ in range(3):
            wait_exit(supervisor)
            assert supervisor.check() is None
            assert child.restart_at is not None
            delays.append(child.restart_at - clock.now)
            clock.now = child.restart_at - 0.1
            assert supervisor.check() is None and child.restart_at is not None  # not yet
            clock.now = child.restart_at
            assert supervisor.check() is None
            assert child.restart_at is None  # started again
        assert delays == [1.0, 2.0, 4.0]
        assert child.restarts == 3
        assert child.process is not None and child.process.pid != first_pid
        assert "worker stopped (exit code 3); restarting in 1 s" in caplog.text
        assert "worker restarted" in caplog.text
        wait_exit(supervisor)
        reason = supervisor.check()
    assert reason is not None
    assert "the worker stopped 4 times in the last 300 s (last: exit code 3)" in reason
    supervisor.stop_all()
    assert not (tmp_path / "worker.pid").exists()


def test_stops_outside_the_window_are_forgotten(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(
        spawner("raise SystemExit(1)"),
        max_crashes=1,
        window=60,
        clock=clock,
    )
    child = supervisor.start("alerts service", ["serve", "alerts"], tmp_path / "alerts.log")
    for _ in range(4):  # one stop a long while after the last is never "repeated"
        wait_exit(supervisor)
        assert supervisor.check() is None
        assert child.restart_at == clock.now + 1.0
        clock.now += 61
        assert supervisor.check() is None  # restarted
    supervisor.stop_all()


def test_stop_all_ends_running_children(tmp_path: Path) -> None:
    supervisor = Supervisor(spawner("import time; time.sleep(60)"))
    child = supervisor.start("worker", ["worker"], tmp_path / "worker.log")
    assert supervisor.check() is None  # running: nothing to do
    supervisor.stop_all(grace=10)
    assert child.process is not None and child.process.returncode is not None
