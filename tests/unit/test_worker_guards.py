"""Whatever bytes arrive, one event ends applied or dead-lettered, never as an exception;
a dead letter always fits on its topic; a journey that would not fit is never written."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
from datetime import UTC, date, datetime
from typing import Any

import pytest
from faust.types import TP
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Event, PersonRegistered, PlanIssued
from services.journeys import processor as processor_module
from services.journeys.codec import (
    LETTER_ORIGINAL_MAX,
    MESSAGE_LIMIT,
    DeadLetter,
    decode_event,
    decode_stored,
    letter_key,
)
from services.journeys.config import WorkerTuning
from services.journeys.domain.journey import fold as fold_journey
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.processor import JourneyProcessor, Record
from services.journeys.scheduling import EvaluationSchedule
from services.runtime.logs import NoData
from tests.factories import PERSON, ev

KEY = PERSON.encode()
WALL = datetime(2025, 3, 1, 12, tzinfo=UTC)
PLAN = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 1)))
GOOD = json.loads(PLAN.model_dump_json())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.binary(max_size=2_000), st.none() | st.binary(max_size=80))
def test_any_bytes_decode_to_an_event_or_a_dead_letter(value: bytes, key: bytes | None) -> None:
    assert isinstance(decode_event(key, value), Event | DeadLetter)


@settings(max_examples=300)
@given(st.sampled_from(sorted(GOOD) + sorted(f"payload.{k}" for k in GOOD["payload"])), json_values)
def test_any_field_replaced_by_any_json_decodes_or_is_dead_lettered(
    field: str, replacement: object
) -> None:
    body = json.loads(json.dumps(GOOD))
    target = body["payload"] if field.startswith("payload.") else body
    target[field.removeprefix("payload.")] = replacement
    result = decode_event(KEY, json.dumps(body).encode())
    assert isinstance(result, Event | DeadLetter)


def test_deep_and_unhashable_inputs_are_dead_letters_not_exceptions() -> None:
    for value in (
        b"[" * 100_000 + b"]" * 100_000,
        b'{"payload":' * 20_000 + b"1" + b"}" * 20_000,
        json.dumps({**GOOD, "payload": {**GOOD["payload"], "type": ["a", {"b": 1}]}}).encode(),
        json.dumps({**GOOD, "event_type": "x" * 100_000}).encode(),
    ):
        letter = decode_event(KEY, value)
        assert isinstance(letter, DeadLetter)
        assert len(letter.encode("t", 0, 0)) < MESSAGE_LIMIT // 2
        assert "x" * 100 not in letter.detail  # values stay out of the detail


def test_a_large_original_is_kept_as_size_digest_and_prefix() -> None:
    big = b"\x00not json" * 400_000  # 3.6 MB: whole, its letter could not be sent
    letter = decode_event(KEY, big)
    assert isinstance(letter, DeadLetter)
    record = json.loads(letter.encode("casewatch.events", 1, 7))
    assert len(letter.encode("casewatch.events", 1, 7)) < MESSAGE_LIMIT // 2
    assert record["truncated"] and "original_b64" not in record
    assert record["size"] == len(big) and record["sha256"] == hashlib.sha256(big).hexdigest()
    assert big.startswith(base64.b64decode(record["original_prefix_b64"]))
    small = json.loads(DeadLetter("undecodable", "x", b"abc").encode("t", 0, 0))
    assert base64.b64decode(small["original_b64"]) == b"abc" and not small["truncated"]
    assert len(big) > LETTER_ORIGINAL_MAX
    assert letter_key(b"k" * 5_000) == hashlib.sha256(b"k" * 5_000).hexdigest().encode()
    assert letter_key(KEY) == KEY and letter_key(None) is None


class Table(dict[bytes, bytes]):
    def read(self, key: bytes, partition: int) -> bytes | None:
        return self.get(key)


def processor(table: Table, **kwargs: object) -> JourneyProcessor:
    schedule = EvaluationSchedule(
        settle=1.0, verify_every=1e9, tick_seconds=1.0, pack_version=DEFAULT_PACK.version
    )
    schedule.adopt(0, [], now=0.0)
    return JourneyProcessor(
        table.read,
        pack=DEFAULT_PACK,
        tuning=WorkerTuning(),
        schedule=schedule,
        partitions=4,
        **kwargs,  # type: ignore[arg-type]
    )


def record(event: Event, offset: int) -> Record:
    return Record(KEY, event.model_dump_json().encode(), 0, offset)


def oversized_person() -> PersonRegistered:
    """A person over the message limit even compressed: the schema bounds child_ref (so no
    such event is ever decoded), but the processor must fail safe on whatever it folds."""
    noise = base64.b64encode(random.Random(0).randbytes(MESSAGE_LIMIT + 10)).decode()
    return PersonRegistered.model_construct(child_ref=noise)


def decoded_as_is(monkeypatch: pytest.MonkeyPatch, *events: Event) -> None:
    """Let the processor decode ``events`` past the schema's bounds (as an event of an
    older contract, or a bug upstream, would arrive): the write path is tested alone."""
    by_bytes = {e.model_dump_json().encode(): e for e in events}
    original = processor_module.decode_event

    def decode(key: bytes | None, value: bytes | None, **kw: object) -> object:
        return by_bytes.get(value or b"") or original(key, value, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(processor_module, "decode_event", decode)


def test_a_journey_that_would_exceed_the_limit_keeps_what_fits_and_dead_letters_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = Table()
    p = processor(table)
    who = ev(PersonRegistered(child_ref="C1"), on=date(2024, 1, 1))
    huge = ev(oversized_person(), on=date(2024, 2, 1))
    decoded_as_is(monkeypatch, huge)
    folded = p.fold([record(PLAN, 0), record(who, 1), record(huge, 2)], wall=WALL, mono=0.0)
    assert [(r.offset, letter.reason) for r, letter in folded.dead] == [(2, "journey_too_large")]
    (change,) = folded.changes
    assert len(change.value) < MESSAGE_LIMIT
    header, state = decode_stored(change.value)
    assert header.offset == 1 and len(state.journey.facts) == 2  # the plan and the person
    table[KEY] = change.value
    alone = p.fold([record(huge, 3)], wall=WALL, mono=0.0)  # the stored journey is kept
    assert not alone.changes and [letter.reason for _, letter in alone.dead] == [
        "journey_too_large"
    ]


def test_an_event_hidden_by_a_correction_too_large_is_folded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The correction arrives first and hides the statement it corrects; when it cannot be
    stored, the journey must still hold that statement (found by the hostile-mix test)."""
    who = ev(PersonRegistered(child_ref="C1"), on=date(2024, 1, 1))
    huge = ev(oversized_person(), on=date(2024, 2, 1))
    decoded_as_is(monkeypatch, huge)
    folded = processor(Table()).fold([record(huge, 0), record(who, 1)], wall=WALL, mono=0.0)
    assert [(r.offset, letter.reason) for r, letter in folded.dead] == [(0, "journey_too_large")]
    (change,) = folded.changes
    assert change.after.journey == fold_journey(PERSON, [who])


def test_the_admission_check_runs_before_the_fold_and_its_failure_is_a_dead_letter() -> None:
    def refuse_plans(event: Event) -> str | None:
        return "source_not_authoritative" if event.event_type == "plan.issued" else None

    who = ev(PersonRegistered(child_ref="C1"), on=date(2024, 1, 1))
    folded = processor(Table(), check=refuse_plans).fold(
        [record(PLAN, 0), record(who, 1)], wall=WALL, mono=0.0
    )
    assert [letter.reason for _, letter in folded.dead] == ["source_not_authoritative"]
    assert len(folded.changes) == 1 and len(folded.changes[0].after.journey.facts) == 1

    def broken(event: Event) -> str | None:
        raise RuntimeError("a bug")

    folded = processor(Table(), check=broken).fold([record(PLAN, 0)], wall=WALL, mono=0.0)
    assert [letter.reason for _, letter in folded.dead] == ["check_failed"] and not folded.changes


def test_logs_at_info_and_above_carry_no_exception_text_or_bytes() -> None:
    try:
        PersonRegistered.model_validate_json(b'{"child_ref": 12345678}')
    except ValueError as exc:
        caught = exc
    secret = "12345678"
    assert secret in str(caught)  # pydantic quotes the input
    rec = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "failed: %r %s", (caught, b"\x01" * 9), None
    )
    rec.exc_info = (type(caught), caught, caught.__traceback__)
    assert NoData().filter(rec)
    text = logging.Formatter().format(rec)
    assert secret not in text and "input_value" not in text
    assert "ValidationError" in text and "<9 bytes>" in text
    debug = logging.LogRecord("x", logging.DEBUG, __file__, 1, "%r", (caught,), None)
    NoData().filter(debug)
    assert secret in debug.getMessage()  # DEBUG is left alone


def commits(committed: int | None, acked: list[int], origin: int | None = None) -> int | None:
    """What the casewatch consumer would commit for one partition (its bookkeeping only)."""
    from collections import defaultdict

    from services.journeys.transport import Consumer

    consumer = object.__new__(Consumer)  # the commit rule alone: no app, no broker
    tp = ("casewatch.events", 0)
    consumer._acked = defaultdict(list, {tp: list(acked)})
    consumer._acked_index = defaultdict(set, {tp: set(acked)})
    consumer._committed_offset = defaultdict(lambda: None, {tp: committed})
    consumer._origin = {} if origin is None else {tp: origin}
    return consumer._new_offset(tp)


def test_an_unacknowledged_event_holds_its_partitions_commit() -> None:
    assert commits(10, [10, 11, 12]) == 13
    assert commits(10, [12, 11, 10, 14]) == 13  # up to the first hole
    assert commits(10, [11, 12, 13]) is None  # faust commits 14 past the unacknowledged 10
    assert commits(None, [5, 6, 7], origin=3) is None  # faust commits 8 past 3 and 4
    assert commits(None, [3, 4], origin=3) == 5
    assert commits(None, [3, 4]) is None  # nothing delivered since the seek: nothing known


# --- rebalances: a fetched message is never dropped after its offset is recorded ----------


class _Message:
    def __init__(self, tp: Any, offset: int, generation_id: int) -> None:
        self.tp, self.offset, self.generation_id = tp, offset, generation_id


def _consumer(generation: int = 2) -> Any:
    """The casewatch consumer's delivery path alone: a fake app and broker, faust's real
    bookkeeping (read offsets, seeks) and mode's real wait_first."""
    import asyncio
    from collections import defaultdict
    from types import SimpleNamespace

    from services.journeys.transport import Consumer

    class Bare(Consumer):
        def __init__(self) -> None:  # no faust service start: only what delivery reads
            self.app = SimpleNamespace(
                rebalancing=False,
                consumer_generation_id=generation,
                topics=SimpleNamespace(acks_enabled_for=lambda topic: topic == "events"),
            )
            self.delivered: list[tuple[int, int]] = []
            self.sought: list[tuple[int, int]] = []
            self.warned: list[str] = []
            self._read_offset = defaultdict(lambda: None)
            self._commit_every = None
            self._n_acked = 0
            self._delivered, self._origin, self._restart, self._last_delivery = {}, {}, {}, {}
            self._stopped, self._crashed = asyncio.Event(), asyncio.Event()
            self.suspend_flow = asyncio.Event()
            self.log = SimpleNamespace(
                warning=lambda *a: self.warned.append(a[0] % a[1:]), dev=lambda *a: None
            )

        @property
        def loop(self) -> Any:
            return asyncio.get_running_loop()

        async def callback(self, message: Any) -> None:
            self.delivered.append((message.tp.partition, message.offset))

        async def _seek(self, tp: Any, offset: int) -> None:
            self.sought.append((tp.partition, offset))

        def assignment(self) -> set[Any]:
            return {TP("events", 0), TP("events", 1)}

    return Bare()


def _fetch(*messages: _Message) -> Any:
    async def fetched() -> Any:
        for message in messages:
            yield message.tp, message

    return fetched()


def test_a_message_fetched_during_a_rebalance_waits_for_its_end() -> None:
    """faust empties the streams' queues at the end of a rebalance (flow_control.resume):
    a message handed over before then was lost, its read offset already recorded."""
    import asyncio

    async def scenario() -> list[tuple[int, int]]:
        consumer = _consumer()
        consumer.app.rebalancing = True
        p0 = TP("events", 0)
        delivery = asyncio.ensure_future(
            consumer._deliver_runs(_fetch(_Message(p0, 0, 2), _Message(p0, 1, 2)))
        )
        await asyncio.sleep(0.05)
        assert consumer.delivered == [] and consumer._read_offset[p0] is None
        consumer.app.rebalancing = False
        await asyncio.wait_for(delivery, 1)
        assert consumer._read_offset[p0] == 1
        return consumer.delivered

    assert asyncio.run(scenario()) == [(0, 0), (0, 1)]


def test_a_message_of_an_earlier_generation_is_read_again_not_dropped() -> None:
    """A stream skips an event fetched in an earlier generation; here it is not handed over,
    and every partition with an undelivered message of that fetch is sought back to it."""
    import asyncio

    async def scenario() -> Any:
        consumer = _consumer(generation=3)
        p0, p1 = TP("events", 0), TP("events", 1)
        consumer._restart.update({p0: 10, p1: 20})  # where the rebalance's seek put them
        fetched = _fetch(_Message(p0, 10, 2), _Message(p1, 20, 2), _Message(p0, 11, 2))
        await consumer._deliver_runs(fetched)
        return consumer

    consumer = asyncio.run(scenario())
    assert consumer.delivered == []
    assert sorted(consumer.sought) == [(0, 10), (1, 20)]


def test_a_gap_seeks_back_every_partition_the_fetch_left_undelivered() -> None:
    """A gap stops delivery; the rest of the fetch is read again even for a partition whose
    next message may never come (a quiet partition would otherwise wait for one)."""
    import asyncio

    async def scenario() -> Any:
        consumer = _consumer()
        p0, p1 = TP("events", 0), TP("events", 1)
        consumer._restart.update({p0: 5, p1: 7})
        fetched = _fetch(
            _Message(p1, 7, 2), _Message(p0, 6, 2), _Message(p1, 8, 2), _Message(p1, 9, 2)
        )
        await consumer._deliver_runs(fetched)
        return consumer

    consumer = asyncio.run(scenario())
    assert consumer.delivered == [(1, 7)]
    assert sorted(consumer.sought) == [(0, 5), (1, 8)]
    assert consumer._origin == {TP("events", 1): 7}  # offset 7's acknowledgement still counts
    assert consumer.warned == [
        "offset gap in TP(topic='events', partition=0): 5 expected, 6 fetched; seeking back"
    ]
