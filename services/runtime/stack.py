"""``casewatch up``: the whole embedded stack on one machine, with a synthetic authority.

Broker (Tansu, in memory) → topics → journeys worker and alerts service as child processes →
demo export written and ingested → inbox URL printed.  Ctrl-C stops everything.  Because the
embedded broker keeps nothing on disk, each ``up`` starts from empty state.

A worker or alerts service that stops is restarted (``supervisor``): the broker, which holds
every event in memory, is never stopped for a child's sake.  ``up`` stops on Ctrl-C or
SIGTERM, when a child keeps stopping (more than 5 times in 5 minutes), or when the broker
itself dies (then every event is gone, and it says so).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import FrameType

from services.alerts.commands import (
    DEMO_TEAM_MANAGERS,
    demo_roster,
    demo_sign_in_links,
    service_token,
)
from services.runtime.broker import EmbeddedBroker, ensure_topics, free_port, wait_for_port
from services.runtime.files import private_dir
from services.runtime.roster import write_roster
from services.runtime.settings import Settings
from services.runtime.supervisor import Supervisor, exit_text

log = logging.getLogger("casewatch.up")


def _port_free(port: int) -> bool:
    try:
        wait_for_port("127.0.0.1", port, timeout=0)
    except TimeoutError:
        return True
    return False


def _spawn(args: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    with open(log_file, "ab") as out:  # the child holds its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches `up` only, which stops children in order
        )


def _log_to(path: Path) -> logging.Handler:
    """``up``'s own log lines (restarts, stops) go to ``path`` as well as the console."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    return handler


STACK_FILE = "stack.json"


@dataclass(frozen=True)
class RunningStack:
    """A ``casewatch up`` running now: its data directory, process and inbox."""

    home: Path
    pid: int
    alerts_port: int
    broker: str


def stack_home(data_dir: Path) -> Path:
    """Where ``casewatch up`` keeps its state, given ``CASEWATCH_DATA_DIR``."""
    return data_dir.resolve() / "up"


def running_stack(data_dir: Path) -> RunningStack | None:
    """The ``casewatch up`` started with ``data_dir``, if it is running."""
    home = stack_home(data_dir)
    try:
        found = json.loads((home / STACK_FILE).read_text(encoding="utf-8"))
        stack = RunningStack(home, int(found["pid"]), int(found["alerts_port"]), found["broker"])
        os.kill(stack.pid, 0)  # raises when no such process
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if _port_free(stack.alerts_port) else stack  # not a stale file


def _announce(home: Path, alerts_port: int, broker: str) -> None:
    """Say where this stack is, for ``casewatch token`` run beside it."""
    body = {"pid": os.getpid(), "alerts_port": alerts_port, "broker": broker}
    (home / STACK_FILE).write_text(json.dumps(body) + "\n", encoding="utf-8")


def cli_command() -> str:
    """How to run ``casewatch`` from here: the name when it is on PATH, else its path."""
    installed = Path(sys.executable).parent / "casewatch"
    if shutil.which("casewatch") == str(installed):
        return "casewatch"
    try:
        return str(installed.relative_to(Path.cwd()))
    except ValueError:
        return str(installed)


def _open_alerts(url: str, token: str) -> int | None:
    """The inbox's count of open alerts (the JSON API pages: its total is a header)."""
    request = urllib.request.Request(
        f"{url}/alerts?per_page=1", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            total = response.headers.get("X-Total-Count")
            return int(total) if total is not None else len(json.load(response))
    except (OSError, ValueError):
        return None


def run_stack(settings: Settings, *, children: int, seed: int, port: int) -> int:
    home = stack_home(settings.data_dir)
    shutil.rmtree(home, ignore_errors=True)  # the in-memory broker starts empty, so must we
    private_dir(home)
    port = port if _port_free(port) else free_port()

    handler = _log_to(home / "up.log")
    broker = EmbeddedBroker(log_path=home / "broker.log").start()
    supervisor: Supervisor | None = None
    stopping = False

    def stop(signum: int | None = None, frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        from services.cli import all_topics

        names, compacted = all_topics(settings)
        ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
        env = dict(
            os.environ,
            CASEWATCH_KAFKA_BOOTSTRAP=broker.bootstrap,
            CASEWATCH_SHORT_TIMEOUTS="1",
            CASEWATCH_DATA_DIR=str(home),
            # its own secret: the demo is the demo's, and nothing here is kept past `up`
            CASEWATCH_PERSON_KEY_SECRET=os.environ.get(
                "CASEWATCH_PERSON_KEY_SECRET", secrets.token_hex(32)
            ),
            CASEWATCH_ALERTS_PORT=str(port),
            CASEWATCH_WORKER_WEB_PORT=str(free_port()),
            CASEWATCH_WORKER_TIMER_SECONDS=os.environ.get("CASEWATCH_WORKER_TIMER_SECONDS", "30"),
            CASEWATCH_ALERTS_TEAM_MANAGERS=os.environ.get(
                "CASEWATCH_ALERTS_TEAM_MANAGERS", json.dumps(DEMO_TEAM_MANAGERS)
            ),
            # the demo comes with its roster: routing, digests and labels take only its people
            CASEWATCH_ROSTER_FILE=os.environ.get("CASEWATCH_ROSTER_FILE")
            or str(write_roster(home / "roster.csv", demo_roster())),
        )
        supervisor = Supervisor(lambda args, log_file: _spawn(args, env, log_file))
        supervisor.start("worker", ["worker"], home / "worker.log")
        supervisor.start("alerts service", ["serve", "alerts"], home / "alerts.log")
        deadline = time.monotonic() + 120
        while _port_free(port):  # the inbox is not up yet: keep its service running meanwhile
            if reason := supervisor.check():
                log.error("stopping casewatch: %s", reason)
                return 1
            if time.monotonic() > deadline:
                log.error("stopping casewatch: no inbox on port %s after 120 s; see %s", port, home)
                return 1
            time.sleep(0.2)
        _announce(home, port, broker.bootstrap)

        export = home / "demo-export"
        from services.ingest.demo.authority import write_demo_export

        summary = write_demo_export(export, children=children, seed=seed, today=date.today())
        ingest = subprocess.run(
            [sys.executable, "-m", "services.cli", "ingest", "export", str(export)], env=env
        )
        url = f"http://127.0.0.1:{port}"
        print(f"\ncasewatch is up: broker {broker.bootstrap}, logs in {home}")
        print(
            f"demo authority: {summary.children} children, {summary.lapsed_reviews} lapsed "
            f"reviews, {summary.open_20w_breaches} open 20-week breaches (ingest exit "
            f"{ingest.returncode})"
        )
        print(f"inbox: {url}/   (Ctrl-C stops everything)")
        for who, link in demo_sign_in_links(home, url):
            print(f"  sign in as {who}: {link}")
        command = cli_command()
        print(f"  anyone else: {command} token --role caseworker --sub cw-02 --team north --link")
        if command != "casewatch":
            print(f"  the CLI is {command} (or run: source {Path(command).parent}/activate)")
        print(flush=True)
        token = service_token(home)
        counts: list[int | None] | None = []
        while not stopping:
            assert broker.process is not None
            if (code := broker.process.poll()) is not None:
                log.error(
                    "THE BROKER STOPPED (%s): it held every event in memory, so all of them "
                    "are gone. Stopping casewatch; run it again to start afresh. See %s",
                    exit_text(code),
                    home / "broker.log",
                )
                return 1
            if reason := supervisor.check():
                log.error("stopping casewatch: %s", reason)
                return 1
            if counts is not None:  # announce once the count has been steady for 3 s
                counts = [*counts[-2:], _open_alerts(url, token)]
                if len(counts) == 3 and counts[0] and len(set(counts)) == 1:
                    print(f"{counts[0]} open alerts in the inbox", flush=True)
                    counts = None
            time.sleep(1)
        log.warning("stopping casewatch: SIGTERM received")
        return 0
    except KeyboardInterrupt:
        log.warning("stopping casewatch: Ctrl-C")
        return 0
    finally:
        # A second Ctrl-C must not abandon the children: shutdown is bounded by the timeouts.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("stopping casewatch …", flush=True)
        (home / STACK_FILE).unlink(missing_ok=True)
        if supervisor is not None:
            supervisor.stop_all()
        broker.stop()
        log.removeHandler(handler)
        handler.close()
