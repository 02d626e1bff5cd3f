"""SIGKILL the journeys worker ten times at random points while 50,000 events stream in.

After the last restart the journeys in the table's changelog must equal a clean replay of the
same events (facts and open flags), and the alerts service must never have been handed a
flag id twice as a *new* alert: every alert it stores was raised once (``times_raised`` 1),
and the open ones are exactly the clean replay's open flags.

Lean on purpose (it is most of the reliability suite's time): each restart after a SIGKILL
waits ~10-17 s for the dead member's session to expire (``CASEWATCH_SHORT_TIMEOUTS``), so the
test spends ~3-4 minutes, and the 50,000 events (~2,500 children of bench/workload.py) are
published across the first kills at ~600 events/s so that kills land mid-stream.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from bench.harness import metrics
from bench.workload import events_for
from services.runtime.broker import EmbeddedBroker
from tests.reliability.conftest import (
    Process,
    alert_rows,
    clean_replay,
    converge,
    encoded,
    env_for,
    produce,
    wait_until,
)

# A soak test: ~6 minutes on 2 vCPUs, so `make test` leaves it out; `make soak` runs it.
pytestmark = [pytest.mark.integration, pytest.mark.soak]

EVENTS = 50_000
KILLS = 10
CHUNK, PAUSE = 1_000, 1.5  # ~600 events/s: the stream outlasts the first kills


def activity(port: str) -> float:
    """Anything this worker process has done: folded, skipped as redelivered, evaluated."""
    sample = metrics(port)
    return sum(
        sample.get(name, 0.0)
        for name in (
            "casewatch_events_total",
            "casewatch_events_redelivered_total",
            "casewatch_sweep_journeys_total",
        )
    )


def test_ten_kills_change_nothing(
    broker: EmbeddedBroker, tmp_path: Path, processes: list[Process]
) -> None:
    rng = random.Random(11)
    events = list(events_for(EVENTS, seed=3))
    records = encoded(events)
    data = tmp_path / "data"
    env = env_for(broker, data, CASEWATCH_WORKER_TIMER_SECONDS="3600")
    alerts = Process(["serve", "alerts"], env, tmp_path / "alerts.log").start()
    processes.append(alerts)

    def stream() -> None:
        for start in range(0, len(records), CHUNK):
            produce(broker.bootstrap, records[start : start + CHUNK])
            time.sleep(PAUSE)

    streamer = threading.Thread(target=stream, daemon=True)
    streamer.start()
    for kill in range(KILLS):
        worker = Process(["worker"], env, tmp_path / f"worker-{kill}.log").start()
        processes.append(worker)
        port = env["CASEWATCH_WORKER_WEB_PORT"]
        wait_until(lambda p=port: activity(p) > 0, timeout=90, what=f"worker {kill} working")
        time.sleep(rng.uniform(0.2, 3.0))
        worker.kill()
    streamer.join(timeout=120)
    assert not streamer.is_alive()

    processes.append(Process(["worker"], env, tmp_path / "worker-last.log").start())
    expected = clean_replay(events)
    converge(expected, broker.bootstrap, timeout=180)

    want_open = set().union(*(e.open_flags for e in expected.values()))
    db = data / "alerts.db"
    wait_until(
        lambda: {f for f, status, _ in alert_rows(db) if status != "resolved"} == want_open,
        timeout=60,
        what="the alerts service to hold exactly the replay's open flags",
    )
    raised_twice = [f for f, _, times in alert_rows(db) if times > 1]
    assert raised_twice == [], f"{len(raised_twice)} flags delivered twice as new alerts"
