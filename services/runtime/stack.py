"""``casewatch up``: the whole embedded stack on one machine, with a synthetic authority.

Broker (Tansu, in memory) → topics → journeys worker and alerts service as child processes →
demo export written and ingested → inbox URL printed.  Ctrl-C stops everything.  Because the
embedded broker keeps nothing on disk, each ``up`` starts from empty state.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
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
from services.runtime.roster import write_roster
from services.runtime.settings import Settings


def _port_free(port: int) -> bool:
    try:
        wait_for_port("127.0.0.1", port, timeout=0)
    except TimeoutError:
        return True
    return False


def _spawn(args: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    out = open(log_file, "ab")  # noqa: SIM115 - handed to the child, closed when it exits
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches `up` only, which stops children in order
    )


def _open_alerts(url: str, token: str) -> int | None:
    request = urllib.request.Request(f"{url}/alerts", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return len(json.load(response))
    except OSError:
        return None


def run_stack(settings: Settings, *, children: int, seed: int, port: int) -> int:
    home = settings.data_dir.resolve() / "up"
    shutil.rmtree(home, ignore_errors=True)  # the in-memory broker starts empty, so must we
    home.mkdir(parents=True)
    port = port if _port_free(port) else free_port()

    broker = EmbeddedBroker(log_path=home / "broker.log").start()
    procs: list[subprocess.Popen[bytes]] = []
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
        procs.append(_spawn(["worker"], env, home / "worker.log"))
        procs.append(_spawn(["serve", "alerts"], env, home / "alerts.log"))
        wait_for_port("127.0.0.1", port, timeout=60)

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
        print(f"  others: CASEWATCH_DATA_DIR={home} casewatch token --help\n")
        token = service_token(home)
        counts: list[int | None] | None = []
        while not stopping:
            if any(p.poll() is not None for p in procs):
                print(f"a service stopped unexpectedly; see {home}/*.log", file=sys.stderr)
                return 1
            if counts is not None:  # announce once the count has been steady for 3 s
                counts = [*counts[-2:], _open_alerts(url, token)]
                if len(counts) == 3 and counts[0] and len(set(counts)) == 1:
                    print(f"{counts[0]} open alerts in the inbox")
                    counts = None
            time.sleep(1)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C must not abandon the children: shutdown is bounded by the timeouts.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("stopping casewatch …")
        _stop_all(procs)
        broker.stop()


def _stop_all(procs: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
