"""Real processes on the embedded broker, killed by their own PID; state read back from topics.

The journeys a worker holds are read from its table's changelog (what any worker recovers
from) and compared with a clean fold of the same events through the domain. Alerts are read
from the alerts service's own SQLite store. Everything is on loopback and every wait has a
deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas.events import Event
from services.cli import all_topics
from services.journeys.codec import decode_stored
from services.journeys.domain.journey import Journey, fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate
from services.journeys.domain.state import JourneyState
from services.journeys.processor import partition_of
from services.runtime.broker import EmbeddedBroker, ensure_topics, free_port
from services.runtime.settings import Settings
from tests.integration.conftest import read_records

AS_OF = date(2026, 11, 23)  # the workers' fixed clock, and bench.workload's "today"
CHANGELOG = "casewatch-journeys-journeys-changelog"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as b:
        settings = Settings(kafka_bootstrap=b.bootstrap)
        names, compacted = all_topics(settings)
        ensure_topics(b.bootstrap, settings.partitions, names, compacted)
        yield b


def env_for(broker: EmbeddedBroker, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CASEWATCH_KAFKA_BOOTSTRAP": broker.bootstrap,
        "CASEWATCH_SHORT_TIMEOUTS": "1",
        "CASEWATCH_DATA_DIR": str(data_dir),
        "CASEWATCH_CLOCK_DATE": AS_OF.isoformat(),
        "CASEWATCH_WORKER_WEB_PORT": str(free_port()),
        "CASEWATCH_ALERTS_PORT": str(free_port()),
        **extra,
    }


@dataclass
class Process:
    """``casewatch ARGS`` as a child process that the test starts, kills and stops by PID."""

    args: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no commit."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Every process a test starts; all stopped at the end, whatever happened."""
    started: list[Process] = []
    yield started
    for p in started:
        p.stop()


def encoded(events: Iterable[Event]) -> list[tuple[bytes, bytes]]:
    return [(e.person_key.encode(), e.model_dump_json().encode()) for e in events]


async def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> list[int]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=16 * 1024 * 1024
    )
    await producer.start()
    try:
        sent = [await producer.send(topic, key=k, value=v) for k, v in records]
        return [m.offset for m in await asyncio.gather(*sent)]
    finally:
        await producer.stop()


def produce(bootstrap: str, records: list[tuple[bytes, bytes]], topic: str = "") -> list[int]:
    """Publish and return each record's offset (in its own partition)."""
    return asyncio.run(_produce(bootstrap, topic or "casewatch.events", records))


def read_topic(bootstrap: str, topic: str) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """(partition, offset, key, value) of every record now in ``topic``, read until nothing
    new comes for a second. Not up to the end offsets: Tansu's count record *batches*, not
    records (docs/architecture.md), so a reader that stops at them stops early — the more
    records a batch holds, the earlier. That made the scale-out test report children
    "missing" from the changelog once the worker published a whole batch's changes at once."""
    records = read_records(bootstrap, topic, quiet=1.0)
    return [(r.partition, r.offset, r.key, r.value) for r in records]


def stored_journeys(bootstrap: str) -> dict[str, JourneyState]:
    """The latest state of every journey in the table's changelog."""
    latest: dict[bytes, bytes | None] = {}
    for _, _, key, value in read_topic(bootstrap, CHANGELOG):
        assert key is not None
        latest[key] = value
    return {k.decode(): decode_stored(v)[1] for k, v in latest.items() if v is not None}


@dataclass(frozen=True)
class Expected:
    journey: Journey
    open_flags: frozenset[str]


def clean_replay(events: Iterable[Event]) -> dict[str, Expected]:
    """Each child's journey folded from scratch, and its open flags on ``AS_OF``."""
    by_person: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_person[e.person_key].append(e)
    expected = {}
    for key, evs in by_person.items():
        journey = fold(key, evs)
        expected[key] = Expected(journey, frozenset(evaluate(journey, AS_OF, DEFAULT_PACK)))
    return expected


def differences(expected: dict[str, Expected], stored: dict[str, JourneyState]) -> list[str]:
    """Children whose stored journey or open flags differ from the clean replay (their
    positions and partitions only: person keys stay out of test output as they stay out of
    logs). The partition says whether a loss is one worker's (one partition) or everyone's."""
    partitions = Settings().partitions
    wrong = []
    for n, (key, want) in enumerate(sorted(expected.items())):
        got = stored.get(key)
        where = f"child #{n} (partition {partition_of(key.encode(), partitions)})"
        if got is None:
            wrong.append(f"{where}: missing")
        elif got.journey != want.journey:
            stale = sum(1 for k, f in want.journey.facts.items() if got.journey.facts.get(k) != f)
            wrong.append(f"{where}: {stale} of {len(want.journey.facts)} facts differ")
        elif frozenset(got.open_flags) != want.open_flags:
            wrong.append(f"{where}: open flags differ")
    extra = set(stored) - set(expected)
    return wrong + [f"{len(extra)} journeys nobody sent"] * bool(extra)


def converge(expected: dict[str, Expected], bootstrap: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    wrong: list[str] = []
    while time.monotonic() < deadline:
        wrong = differences(expected, stored_journeys(bootstrap))
        if not wrong:
            return
        time.sleep(2)
    raise AssertionError(f"journeys differ from a clean replay after {timeout}s: {wrong[:10]}")


def alert_rows(db: Path) -> list[tuple[str, str, int]]:
    """(flag id, status, times raised) of every alert the alerts service stored."""
    with sqlite3.connect(db) as conn:
        return list(conn.execute("select flag_id, status, times_raised from alerts"))


def wait_until(probe: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
