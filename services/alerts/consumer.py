"""Consume ``casewatch.flags`` and ``casewatch.journeys`` into the alert store, a batch per
transaction, at least once.

Offsets are committed only after a batch is stored, so a crash re-delivers the batch; the
store's changes are idempotent (flags by ``changed_at``, journeys by ``updated_at``), so a
re-delivered record changes nothing. Each topic has its own consumer group: a large journeys
topic being read from the start never holds up new flags.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from schemas.flags import FLAG_ADAPTER, FlagRecord
from schemas.journeys import SNAPSHOT_ADAPTER, JourneySnapshot
from services.alerts.metrics import AlertMetrics
from services.alerts.store.store import AlertStore, Transition
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

GROUP_ID = "casewatch-alerts"
JOURNEYS_GROUP_ID = "casewatch-alerts-journeys"
BATCH_MAX_RECORDS = 500
POLL_TIMEOUT_MS = 500  # how often the loop looks at ``stop``
# Longest the broker may hold a fetch. aiokafka's 500 ms cost up to ~250 ms a flag on the
# embedded Tansu, which answers a steadily fed fetch after about half the wait (Kafka answers
# at the first record); an idle consumer then asks ten times a second.
FETCH_MAX_WAIT_MS = 100
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0

# Journey snapshots are stored this many to a transaction (each costs ~1-2 ms of SQLite):
# a flag waits for at most one such transaction, not for a whole batch of snapshots.
JOURNEY_CHUNK = 50

Batch = Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]
BatchHandler = Callable[[Batch], Awaitable[bool]]  # False: stopped before it was stored
T = TypeVar("T")


class FlagsFirst:
    """Flags before journey snapshots at the store's one writer.

    Both consumers write the same database, and SQLite has one writer at a time: at 500
    events/s a batch of a few hundred snapshots held the write lock for 150-500 ms while a
    flag — what a caseworker waits for — queued behind it (bench/RESULTS.md, 2026-12-05).
    The journeys consumer stores its batch ``JOURNEY_CHUNK`` snapshots to a transaction and
    waits, before each, until no flag batch is waiting or being stored."""

    def __init__(self) -> None:
        self._flags = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @contextlib.asynccontextmanager
    async def flags(self) -> AsyncIterator[None]:
        self._flags += 1
        self._clear.clear()
        try:
            yield
        finally:
            self._flags -= 1
            if not self._flags:
                self._clear.set()

    async def journeys_turn(self) -> None:
        await self._clear.wait()


async def consume_flags(
    settings: Settings,
    store: AlertStore,
    *,
    stop: asyncio.Event,
    metrics: AlertMetrics | None = None,
    gate: FlagsFirst | None = None,
) -> None:
    """Apply flag records to ``store`` until ``stop`` is set; wait for the broker if needed."""
    gate = gate or FlagsFirst()

    async def handle(batch: Batch) -> bool:
        records = _decode_flags(batch, metrics)
        if not records:
            return True
        async with gate.flags():
            transitions = await _stored(lambda: store.apply_many(records), len(records), stop)
        if transitions is None:
            return False
        _log_transitions(transitions)
        if metrics:
            metrics.count_transitions(records, transitions)
            metrics.set_open(await asyncio.to_thread(store.counts_by_rule_and_severity))
        return True

    await _consume(settings, settings.topic_flags, GROUP_ID, handle, stop)


async def consume_journeys(
    settings: Settings,
    store: AlertStore,
    *,
    stop: asyncio.Event,
    metrics: AlertMetrics | None = None,
    gate: FlagsFirst | None = None,
) -> None:
    """Store journey snapshots (routing and the inbox's timelines) until ``stop`` is set,
    giving way to flags (``FlagsFirst``). A batch's offsets are committed once all of its
    chunks are stored; a crash in between re-delivers it, and storing is idempotent."""
    gate = gate or FlagsFirst()

    async def handle(batch: Batch) -> bool:
        records = _decode_journeys(batch, metrics)
        for start in range(0, len(records), JOURNEY_CHUNK):
            chunk = records[start : start + JOURNEY_CHUNK]
            await gate.journeys_turn()
            changes = await _stored(partial(store.apply_journeys, chunk), len(chunk), stop)
            if changes is None:
                return False
            level = logging.INFO if changes.rerouted or changes.forgotten else logging.DEBUG
            log.log(level, "applied %d journey records: %s", len(chunk), changes)
            if metrics:
                metrics.count_journeys(changes)
        return True

    await _consume(settings, settings.topic_journeys, JOURNEYS_GROUP_ID, handle, stop)


async def _consume(
    settings: Settings, topic: str, group: str, handle: BatchHandler, stop: asyncio.Event
) -> None:
    consumer = await _started_consumer(settings, topic, group, stop)
    if consumer is None:
        return
    try:
        while not stop.is_set():
            batch = await consumer.getmany(
                timeout_ms=POLL_TIMEOUT_MS, max_records=BATCH_MAX_RECORDS
            )
            if not batch:
                continue
            if not await handle(batch):
                return  # stopped before the batch was stored: it stays uncommitted
            await _commit(consumer, batch)
    finally:
        await consumer.stop()


def _consumer_for(settings: Settings, topic: str, group: str) -> AIOKafkaConsumer:
    timeouts: dict[str, Any] = {}
    if settings.short_timeouts:  # Tansu and tests: a fresh group joins in seconds
        timeouts = {
            "session_timeout_ms": 8000,
            "heartbeat_interval_ms": 1000,
            "rebalance_timeout_ms": 8000,
        }
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        client_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        **timeouts,
    )


async def _started_consumer(
    settings: Settings, topic: str, group: str, stop: asyncio.Event
) -> AIOKafkaConsumer | None:
    backoff = _Backoff(stop)
    while not stop.is_set():
        consumer = _consumer_for(settings, topic, group)
        try:
            if not await _started_unless_stopped(consumer, stop):
                await consumer.stop()
                return None
        except KafkaError as exc:
            await consumer.stop()
            log.warning(
                "broker %s not reachable (%s); retrying in %.1fs",
                settings.kafka_bootstrap,
                type(exc).__name__,
                backoff.seconds,
            )
            if await backoff.stopped():
                return None
            continue
        log.info("consuming %s as group %s", topic, group)
        return consumer
    return None


async def _started_unless_stopped(consumer: AIOKafkaConsumer, stop: asyncio.Event) -> bool:
    """Start ``consumer``, or give up as soon as ``stop`` is set: joining a group can take
    a rebalance timeout, and a service asked to stop should not wait for it."""
    starting = asyncio.ensure_future(consumer.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if starting.done():
        starting.result()  # raises what stopped the start
        return True
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError, KafkaError):
        await starting
    return False


def _decode_flags(batch: Batch, metrics: AlertMetrics | None) -> list[FlagRecord]:
    records = []
    for message in _messages(batch):
        try:
            if message.value is None:
                raise ValueError("tombstone")
            records.append(FLAG_ADAPTER.validate_json(message.value))
        except (ValidationError, ValueError):
            _skipped(message, "flag")
            if metrics:
                metrics.count_undecodable()
    return records


def _decode_journeys(
    batch: Batch, metrics: AlertMetrics | None
) -> list[tuple[str, JourneySnapshot | None]]:
    """(person key, snapshot) per record; a tombstone (no value) erases the child's journey."""
    records: list[tuple[str, JourneySnapshot | None]] = []
    for message in _messages(batch):
        try:
            if message.value is None:
                if not message.key:
                    raise ValueError("tombstone without a key")
                records.append((message.key.decode(), None))
                continue
            snapshot = SNAPSHOT_ADAPTER.validate_json(message.value)
            records.append((snapshot.person_key, snapshot))
        except (ValidationError, ValueError):
            _skipped(message, "journey")
            if metrics:
                metrics.count_undecodable_journey()
    return records


def _messages(batch: Batch) -> list[ConsumerRecord[bytes, bytes]]:
    return [message for messages in batch.values() for message in messages]


def _skipped(message: ConsumerRecord[bytes, bytes], what: str) -> None:
    # Position only: the content (and pydantic's message) may hold personal data.
    log.warning(
        "skipped undecodable %s record at %s[%d] offset %d",
        what,
        message.topic,
        message.partition,
        message.offset,
    )


async def _stored(work: Callable[[], T], count: int, stop: asyncio.Event) -> T | None:
    """Run ``work`` (one store transaction), retrying while the database is away; None if
    ``stop`` was set first."""
    backoff = _Backoff(stop)
    while True:
        try:
            return await asyncio.to_thread(work)
        except SQLAlchemyError as exc:
            # The type only: a database error may quote the row, person key included.
            log.error(
                "could not store %d records (%s); retrying in %.1fs",
                count,
                type(exc).__name__,
                backoff.seconds,
            )
            if await backoff.stopped():
                return None


async def _commit(consumer: AIOKafkaConsumer, batch: Batch) -> None:
    offsets = {tp: messages[-1].offset + 1 for tp, messages in batch.items() if messages}
    try:
        await consumer.commit(offsets)
    except KafkaError as exc:
        # A rebalance took the partitions away: the new owner re-applies, idempotently.
        log.warning("offsets not committed (%s); the batch will be re-delivered", exc)


def _log_transitions(transitions: Sequence[Transition]) -> None:
    tally = Counter(transitions)
    changed = {name: n for name, n in tally.items() if name != "unchanged"}
    level = logging.INFO if changed else logging.DEBUG
    log.log(level, "applied %d flag records: %s", len(transitions), dict(sorted(tally.items())))


class _Backoff:
    """Exponential waits between retries, cut short by ``stop``."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.seconds = FIRST_BACKOFF_S

    async def stopped(self) -> bool:
        """Wait ``seconds`` (then double them, up to the cap); True if ``stop`` came first."""
        try:
            await asyncio.wait_for(self.stop.wait(), self.seconds)
        except TimeoutError:
            self.seconds = min(self.seconds * 2, MAX_BACKOFF_S)
            return False
        return True
