"""Poison events go to the DLQ with their reason, source offset and original bytes; the good
events on either side of them are folded. One worker, one broker, a few dozen events."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.workload import child_events, person_key
from services.journeys.processor import partition_of
from services.runtime.broker import EmbeddedBroker
from tests.reliability.conftest import (
    Process,
    clean_replay,
    converge,
    encoded,
    env_for,
    produce,
    read_topic,
)

pytestmark = pytest.mark.integration
DLQ = "casewatch.events.dlq"


def poison(key: bytes, good: bytes) -> dict[str, tuple[bytes, bytes]]:
    body = json.loads(good)
    unknown = {**body, "event_type": "plan.teleported"}
    unknown["payload"] = {**body["payload"], "type": "plan.teleported"}
    invalid = {**body, "payload": {**body["payload"], "type": body["payload"]["type"]}}
    invalid["occurred_at"] = "yesterday-ish"
    future = {**body, "event_id": "f" * 32, "recorded_at": _iso(timedelta(days=30))}
    return {
        "undecodable": (key, b"\xff\xfe not json"),
        "unknown_type": (key, json.dumps(unknown).encode()),
        "schema_invalid": (key, json.dumps(invalid).encode()),
        "future_dated": (key, json.dumps(future).encode()),
        "key_mismatch": (person_key(999).encode(), good),
    }


def _iso(ahead: timedelta) -> str:
    return (datetime.now(UTC) + ahead).isoformat()


def test_poison_events_are_dead_lettered_and_the_rest_folded(
    broker: EmbeddedBroker, tmp_path: Path, processes: list[Process]
) -> None:
    import random

    rng = random.Random(5)
    ada, ben = child_events(1, rng), child_events(2, rng)
    good_before, good_after = encoded(ada), encoded(ben)
    bad = poison(*good_before[0])
    records = good_before + list(bad.values()) + good_after
    env = env_for(broker, tmp_path / "data")
    processes.append(Process(["worker"], env, tmp_path / "worker.log").start())
    offsets = produce(broker.bootstrap, records)

    converge(clean_replay(ada + ben), broker.bootstrap, timeout=90)
    dlq = read_topic(broker.bootstrap, "casewatch.events.dlq")
    letters = [json.loads(v or b"") for _, _, _, v in dlq]
    by_reason = {letter["reason"]: letter for letter in letters}
    assert sorted(by_reason) == sorted(bad) and len(letters) == len(bad)
    first_bad = len(good_before)
    for n, (reason, (_, value)) in enumerate(bad.items()):
        letter = by_reason[reason]
        assert base64.b64decode(letter["original_b64"]) == value
        assert letter["source"]["topic"] == "casewatch.events"
        assert letter["source"]["offset"] == offsets[first_bad + n]


def test_a_poison_message_loses_nothing_on_other_partitions(
    broker: EmbeddedBroker, tmp_path: Path, processes: list[Process]
) -> None:
    """Issue 13: JSON nested 5,000 deep made the worker crash, and the valid events of
    another partition in the same batch were committed unprocessed. And a 3 MB message that
    is not JSON: its dead letter (4 MB with the original whole) could not be sent."""
    import random

    rng = random.Random(8)
    children = [child_events(i, rng) for i in range(40)]
    first = children[0]
    poisoned = partition_of(first[0].person_key.encode(), 4)
    others = [c for c in children[1:] if partition_of(c[0].person_key.encode(), 4) != poisoned]
    valid = others[0] + others[1]
    key = first[0].person_key.encode()
    deep, big = b"[" * 5000 + b"]" * 5000, b"\x00not json" * 300_000
    env = env_for(broker, tmp_path / "data")
    worker = Process(["worker"], env, tmp_path / "worker.log").start()
    processes.append(worker)
    offsets = produce(broker.bootstrap, [(key, deep), (key, big), *encoded(valid)])

    converge(clean_replay(valid), broker.bootstrap, timeout=90)
    letters = [json.loads(v or b"") for _, _, _, v in read_topic(broker.bootstrap, DLQ)]
    assert sorted((x["source"]["offset"], x["reason"]) for x in letters) == [
        (offsets[0], "undecodable"),
        (offsets[1], "undecodable"),
    ]
    whole, cut = sorted(letters, key=lambda x: x["size"])
    assert base64.b64decode(whole["original_b64"]) == deep and not whole["truncated"]
    assert cut["truncated"] and cut["size"] == len(big)
    assert cut["sha256"] == hashlib.sha256(big).hexdigest()
    assert big.startswith(base64.b64decode(cut["original_prefix_b64"]))
    assert worker.proc is not None and worker.proc.poll() is None, "the worker died"
