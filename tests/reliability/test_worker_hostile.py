"""Hostile messages among valid events, and the worker SIGKILLed at random points (issue 13).

Hypothesis draws a mix of hostile messages — JSON nested thousands deep, megabytes of
non-JSON, invalid UTF-8, wrong types, unknown event types, valid events carrying megabyte
strings, empty values, null keys — and interleaves them with the valid events of a few dozen
children across the partitions, with kills of the worker between chunks. Each example runs
on its own broker. Afterwards:

- the journeys in the table's changelog equal a clean replay of the valid events alone;
- every hostile message is in the DLQ with a reason (its source partition and offset), no
  valid event is, and a letter for a message too large to carry whole has its size, digest
  and prefix;
- the last worker is alive and no worker logged a failed batch;
- no worker log holds a fragment of a hostile message or pydantic's ``input_value``.

``make test`` runs three examples with one or two kills each (~1 minute); ``make soak`` runs
five of 100 children with up to four kills.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bench.workload import child_events
from schemas.events import Event, PersonRegistered, make_event
from services.cli import all_topics
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings
from tests.reliability.conftest import Process, clean_replay, converge, env_for, read_topic

pytestmark = pytest.mark.integration

DLQ = "casewatch.events.dlq"
KINDS = (
    "deep_json",
    "megabytes",
    "invalid_utf8",
    "wrong_types",
    "unknown_type",
    "huge_string",
    "empty_value",
    "null_key",
)
# Reasons a hostile message of each kind may be dead-lettered with. A huge string is refused
# by the schema once strings have maximum lengths, or else the journey would be too large.
REASONS = {
    "deep_json": {"undecodable"},
    "megabytes": {"undecodable"},
    "invalid_utf8": {"undecodable"},
    "wrong_types": {"schema_invalid"},
    "unknown_type": {"unknown_type"},
    "huge_string": {"schema_invalid", "journey_too_large"},
    "empty_value": {"undecodable"},
    "null_key": {"key_mismatch"},
}


@dataclass(frozen=True)
class Hostile:
    kind: str
    key: bytes | None
    value: bytes
    canary: str  # a fragment of the message that must never reach a log


def hostile(kind: str, n: int, victim: list[Event], size: int) -> Hostile:
    """The ``n``th hostile message of a mix, of ``kind``, about the child ``victim``."""
    canary = f"CANARY{n:04d}X{random.Random(n).getrandbits(40):x}"
    first = victim[0]
    key = first.person_key.encode()
    body = json.loads(first.model_dump_json())
    if kind == "deep_json":
        depth = 3_000 + size
        value = f'{{"c":"{canary}","x":'.encode() + b"[" * depth + b"]" * depth + b"}"
    elif kind == "megabytes":
        value = canary.encode() + b"\x00\xfe not json " * (90_000 + size * 8)  # 1-3 MB
    elif kind == "invalid_utf8":
        body["source_record_key"] = canary
        value = json.dumps(body).encode().replace(canary.encode(), canary.encode() + b"\xff\xc3")
    elif kind == "wrong_types":
        field = ("occurred_at", "payload", "person_key", "event_id")[size % 4]
        body[field] = [canary, size]
        value = json.dumps(body).encode()
    elif kind == "unknown_type":
        body["event_type"] = body["payload"]["type"] = f"plan.{canary}"
        value = json.dumps(body).encode()
    elif kind == "huge_string":  # a later statement of the child, with a 1.1 MB reference
        registered = next(e for e in victim if isinstance(e.payload, PersonRegistered))
        assert isinstance(registered.payload, PersonRegistered)
        payload = registered.payload.model_copy(
            update={"child_ref": canary + "r" * (1_100_000 + size)}
        )
        event = make_event(
            source_system=first.source_system,
            source_record_key=registered.source_record_key,
            person_key=first.person_key,
            occurred_at=registered.occurred_at,
            recorded_at=registered.recorded_at + timedelta(days=1),
            payload=payload,
        )
        value = event.model_dump_json().encode()
    elif kind == "empty_value":
        value, canary = b"", ""
    elif kind == "null_key":
        body["source_record_key"] = canary
        key, value = None, json.dumps(body).encode()
    else:  # pragma: no cover
        raise AssertionError(kind)
    return Hostile(kind, key, value, canary)


@dataclass(frozen=True)
class Mix:
    children: int
    hostile: list[tuple[str, int, int]]  # kind, which child it is about, a size parameter
    seed: int
    kills: list[int]  # after which chunk of the stream to SIGKILL the worker


def mixes(*, children: int, most: int, kills: int) -> st.SearchStrategy[Mix]:
    one = st.tuples(st.sampled_from(KINDS), st.integers(0, children - 1), st.integers(0, 20_000))
    return st.builds(
        Mix,
        children=st.just(children),
        hostile=st.lists(one, min_size=len(KINDS), max_size=most).map(
            lambda drawn: (
                [(k, c, s) for k, (_, c, s) in zip(KINDS, drawn, strict=False)]
                + drawn[len(KINDS) :]
            )
        ),
        seed=st.integers(0, 2**32 - 1),
        kills=st.lists(st.integers(0, 5), min_size=1, max_size=kills),
    )


async def _publish(
    bootstrap: str, records: list[tuple[bytes | None, bytes]]
) -> list[tuple[int, int]]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=16 * 1024 * 1024
    )
    await producer.start()
    try:
        sent = [await producer.send("casewatch.events", key=k, value=v) for k, v in records]
        return [(m.partition, m.offset) for m in await asyncio.gather(*sent)]
    finally:
        await producer.stop()


def publish(bootstrap: str, records: list[tuple[bytes | None, bytes]]) -> list[tuple[int, int]]:
    """Publish in order; each record's (partition, offset)."""
    return asyncio.run(_publish(bootstrap, records))


def run_mix(mix: Mix, tmp: Path) -> None:
    rng = random.Random(mix.seed)
    children = [child_events(i, rng) for i in range(mix.children)]
    valid = [e for events in children for e in events]
    bad = [hostile(kind, n, children[c], size) for n, (kind, c, size) in enumerate(mix.hostile)]
    stream: list[tuple[bytes | None, bytes, Hostile | None]] = [
        (e.person_key.encode(), e.model_dump_json().encode(), None) for e in valid
    ]
    for h in bad:  # each hostile message somewhere in the stream, valid events kept in order
        stream.insert(rng.randrange(len(stream) + 1), (h.key, h.value, h))
    chunks = 6
    size = -(-len(stream) // chunks)

    with EmbeddedBroker(log_path=tmp / "broker.log") as broker:
        names, compacted = all_topics(Settings(kafka_bootstrap=broker.bootstrap))
        ensure_topics(broker.bootstrap, 4, names, compacted)
        env = env_for(broker, tmp / "data", CASEWATCH_WORKER_TIMER_SECONDS="3600")
        workers = [Process(["worker"], env, tmp / "worker-0.log").start()]
        try:
            placed: list[tuple[int, int]] = []
            for chunk in range(chunks):
                part = stream[chunk * size : (chunk + 1) * size]
                placed += publish(broker.bootstrap, [(k, v) for k, v, _ in part])
                for _ in range(mix.kills.count(chunk)):
                    workers[-1].kill()
                    log = tmp / f"worker-{len(workers)}.log"
                    workers.append(Process(["worker"], env, log).start())

            converge(clean_replay(valid), broker.bootstrap, timeout=180)
            check_dead_letters(broker.bootstrap, stream, placed)
            last = workers[-1].proc
            assert last is not None and last.poll() is None, "the worker died"
        finally:
            for w in workers:
                w.stop()
    logs = "\n".join(
        (tmp / f"worker-{n}.log").read_text(errors="replace") for n in range(len(workers))
    )
    assert "a batch of" not in logs, "a batch failed"
    assert "input_value" not in logs
    leaked = [h.kind for h in bad if h.canary and h.canary in logs]
    assert leaked == [], f"message contents in the worker's log: {leaked}"


def check_dead_letters(
    bootstrap: str,
    stream: list[tuple[bytes | None, bytes, Hostile | None]],
    placed: list[tuple[int, int]],
) -> None:
    letters: dict[tuple[int, int], dict[str, object]] = {}
    for _, _, _, value in read_topic(bootstrap, DLQ):
        letter = json.loads(value or b"")
        source = letter["source"]
        assert source["topic"] == "casewatch.events"
        letters[(source["partition"], source["offset"])] = letter  # a redelivery: once more
    wanted = {at: h for at, (_, _, h) in zip(placed, stream, strict=True) if h is not None}
    assert set(letters) == set(wanted), (
        f"{len(set(wanted) - set(letters))} hostile messages not dead-lettered, "
        f"{len(set(letters) - set(wanted))} valid events dead-lettered"
    )
    for at, h in wanted.items():
        letter = letters[at]
        assert letter["reason"] in REASONS[h.kind], (h.kind, letter["reason"])
        assert letter["size"] == len(h.value)
        assert letter["sha256"] == hashlib.sha256(h.value).hexdigest()
        if letter["truncated"]:
            prefix = base64.b64decode(str(letter["original_prefix_b64"]))
            assert prefix and h.value.startswith(prefix)
        else:
            assert base64.b64decode(str(letter["original_b64"])) == h.value


SETTINGS = dict(
    deadline=None,
    derandomize=False,
    database=None,
    phases=[Phase.generate],  # an example costs a broker and workers: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(max_examples=3, **SETTINGS)  # type: ignore[arg-type]
@given(mix=mixes(children=24, most=12, kills=2))
def test_hostile_messages_and_kills_lose_nothing(
    mix: Mix, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_mix(mix, tmp_path_factory.mktemp("mix"))


@pytest.mark.soak
@settings(max_examples=5, **SETTINGS)  # type: ignore[arg-type]
@given(mix=mixes(children=100, most=40, kills=4))
def test_hostile_messages_and_kills_lose_nothing_at_length(
    mix: Mix, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_mix(mix, tmp_path_factory.mktemp("mix"))
