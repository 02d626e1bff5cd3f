"""``casewatch up`` heals itself: a SIGKILLed worker or alerts service is restarted, the
in-memory broker (and with it every event) is kept, and the inbox still holds every alert.

The real stack runs: ``casewatch up`` as a process, with its Tansu broker, faust worker and
alerts service; alerts are read through the JSON API, as an integrator would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.alerts.commands import service_token
from services.runtime.broker import free_port
from tests.integration.conftest import TEST_PERSON_KEY_SECRET, poll_until
from tests.unit.test_ssd_adapter import clean_export, write_export

SECRET = TEST_PERSON_KEY_SECRET  # `up` and the integrator key children with one secret


def without_data_dir() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CASEWATCH_DATA_DIR"}
    return {**env, "CASEWATCH_PERSON_KEY_SECRET": SECRET}


class Up:
    """A running ``casewatch up`` and what it printed."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.cwd = tmp_path  # run as in a fresh clone: the data directory is ./var
        self.home = tmp_path / "var" / "up"
        self.output = tmp_path / "up.out"
        command = ["up", "--children", "30", "--port", str(self.port)]
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", *command],
                env=without_data_dir(),
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def printed(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def pid(self, service: str) -> int | None:
        try:
            return int((self.home / f"{service}.pid").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def token(self) -> str:
        """An admin token from ``casewatch token`` run beside the stack, as a newcomer would."""
        minted = subprocess.run(
            [sys.executable, "-m", "services.cli", "token", "--role", "admin", "--sub", "t"],
            env=without_data_dir(),
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert minted.returncode == 0, minted.stderr
        assert f"signed for the casewatch up running in {self.home}" in minted.stderr
        return minted.stdout.strip()

    def alerts(self, token: str | None = None) -> dict[str, str] | None:
        """flag id → status of every live alert (every page of the JSON API), or None while
        the service does not answer."""
        found: dict[str, str] = {}
        page, pages = 1, 1
        while page <= pages:
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/alerts?per_page=200&page={page}",
                headers={"Authorization": f"Bearer {token or service_token(self.home)}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    body: Any = json.load(response)
                    pages = int(response.headers.get("X-Total-Pages", "1"))
            except OSError:
                return None
            found |= {a["flag_id"]: a["status"] for a in body}
            page += 1
        return found

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            for service in ("worker", "alerts"):  # its children run in their own sessions
                if (pid := self.pid(service)) is not None:
                    os.kill(pid, signal.SIGKILL)
            raise


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    stack = Up(tmp_path)
    try:
        yield stack
    finally:
        if stack.process.poll() is None:
            stack.stop()


def restarted(up: Up, service: str, old_pid: int) -> bool:
    pid = up.pid(service)
    if pid is None or pid == old_pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_worker_and_alerts_service_are_restarted_and_nothing_is_lost(
    up: Up, tmp_path: Path
) -> None:
    poll_until(
        lambda: "open alerts in the inbox" in up.printed(),
        timeout=240,
        what="casewatch up to announce its alerts (once their count is steady for 3 s)",
    )
    before = poll_until(up.alerts, timeout=30, what="the alerts")
    assert up.alerts(up.token()) == before  # `casewatch token` signs with the stack's key
    broker = re.search(r"casewatch is up: broker (\S+),", up.printed())
    assert broker is not None

    worker = up.pid("worker")
    assert worker is not None
    os.kill(worker, signal.SIGKILL)
    poll_until(lambda: restarted(up, "worker", worker), timeout=60, what="a new worker")
    said = up.printed()
    assert "worker stopped (killed by SIGKILL); restarting in 1 s" in said
    assert "worker restarted" in said
    assert "worker stopped" in (up.home / "up.log").read_text(encoding="utf-8")
    assert up.process.poll() is None, "up must keep running"

    # the restarted worker works on the same broker: a new child's alerts arrive, and every
    # alert of before is still there, as it was
    export = write_export(tmp_path, clean_export())
    ingest = subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", "ssd", str(export)],
        env={
            **os.environ,
            "CASEWATCH_KAFKA_BOOTSTRAP": broker.group(1),
            "CASEWATCH_DATA_DIR": str(tmp_path / "another-integrator"),
            "CASEWATCH_PERSON_KEY_SECRET": SECRET,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr

    def grown() -> dict[str, str] | None:
        now = up.alerts()
        return now if now and len(now) > len(before) else None

    after = poll_until(grown, timeout=120, what="the new child's alerts after the restart")
    assert {k: after[k] for k in before} == before

    alerts_pid = up.pid("alerts")
    assert alerts_pid is not None
    os.kill(alerts_pid, signal.SIGKILL)
    poll_until(lambda: restarted(up, "alerts", alerts_pid), timeout=60, what="a new alerts service")
    again = poll_until(up.alerts, timeout=60, what="the restarted alerts service")
    assert again == after
    assert "alerts service stopped (killed by SIGKILL)" in up.printed()

    assert up.stop() == 0
    assert "stopping casewatch: SIGTERM received" in up.printed()
    assert up.pid("worker") is None  # the pid files go with the stack
