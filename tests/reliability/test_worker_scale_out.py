"""Three workers share the partitions of one consumer group; one is SIGKILLed. Every partition
is still processed (the journeys equal a clean replay) and alerts keep arriving for children
in every partition, including those the dead worker owned.

Lean: ~300 children in two waves (before and after the kill), so the time goes to the group
joining and to the dead member's session expiring (~1-1.5 minutes in all).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.harness import metrics
from bench.workload import child_events
from services.journeys.processor import partition_of
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

pytestmark = pytest.mark.integration

PARTITIONS = 4


def test_a_killed_worker_leaves_no_partition_behind(
    broker: EmbeddedBroker, tmp_path: Path, processes: list[Process]
) -> None:
    rng = random.Random(21)
    before = [e for i in range(150) for e in child_events(i, rng)]
    after = [e for i in range(150, 300) for e in child_events(i, rng)]
    shared = env_for(broker, tmp_path / "alerts")
    processes.append(Process(["serve", "alerts"], shared, tmp_path / "alerts.log").start())
    workers = []
    for n in range(3):  # own data dir (RocksDB) and metrics port each; one group
        env = env_for(broker, tmp_path / f"w{n}", CASEWATCH_WORKER_TIMER_SECONDS="3600")
        workers.append(Process(["worker"], env, tmp_path / f"worker-{n}.log").start())
    processes.extend(workers)

    produce(broker.bootstrap, encoded(before))
    converge(clean_replay(before), broker.bootstrap, timeout=120)
    port = workers[1].env["CASEWATCH_WORKER_WEB_PORT"]
    assert metrics(port).get("casewatch_events_total", 0) > 0, "the victim owned no partition"
    workers[1].kill()
    produce(broker.bootstrap, encoded(after))
    expected = clean_replay(before + after)
    converge(expected, broker.bootstrap, timeout=120)

    late = {k: e for k, e in expected.items() if k in {ev.person_key for ev in after}}
    assert {partition_of(k.encode(), PARTITIONS) for k in late} == set(range(PARTITIONS))
    want = set().union(*(e.open_flags for e in late.values()))
    assert want, "the second wave must raise flags"
    db = tmp_path / "alerts" / "alerts.db"
    wait_until(
        lambda: want <= {f for f, status, _ in alert_rows(db) if status != "resolved"},
        timeout=60,
        what="alerts for the children published after the kill",
    )
