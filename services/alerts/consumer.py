"""Consume ``casewatch.flags`` into the alert store, a batch per transaction, at least once.

Offsets are committed only after a batch is stored, so a crash re-delivers the batch; the
store's transitions are idempotent, so a re-delivered record changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from schemas.flags import FLAG_ADAPTER, FlagRecord
from services.alerts.metrics import AlertMetrics
from services.alerts.store import AlertStore, Transition
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

GROUP_ID = "casewatch-alerts"
BATCH_MAX_RECORDS = 500
POLL_TIMEOUT_MS = 500  # how often the loop looks at ``stop``
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0

Batch = Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]


async def consume_flags(
    settings: Settings,
    store: AlertStore,
    *,
    stop: asyncio.Event,
    metrics: AlertMetrics | None = None,
) -> None:
    """Apply flag records to ``store`` until ``stop`` is set; wait for the broker if needed."""
    consumer = await _started_consumer(settings, stop)
    if consumer is None:
        return
    try:
        while not stop.is_set():
            batch = await consumer.getmany(
                timeout_ms=POLL_TIMEOUT_MS, max_records=BATCH_MAX_RECORDS
            )
            if not batch:
                continue
            records = _decode(batch, metrics)
            if records and not await _store(store, records, metrics, stop):
                return  # stopped before the batch was stored: it stays uncommitted
            await _commit(consumer, batch)
    finally:
        await consumer.stop()


def _consumer_for(settings: Settings) -> AIOKafkaConsumer:
    timeouts: dict[str, Any] = {}
    if settings.short_timeouts:  # Tansu and tests: a fresh group joins in seconds
        timeouts = {
            "session_timeout_ms": 8000,
            "heartbeat_interval_ms": 1000,
            "rebalance_timeout_ms": 8000,
        }
    return AIOKafkaConsumer(
        settings.topic_flags,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=GROUP_ID,
        client_id=GROUP_ID,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **timeouts,
    )


async def _started_consumer(settings: Settings, stop: asyncio.Event) -> AIOKafkaConsumer | None:
    backoff = FIRST_BACKOFF_S
    while not stop.is_set():
        consumer = _consumer_for(settings)
        try:
            await consumer.start()
        except KafkaError as exc:
            await consumer.stop()
            log.warning(
                "broker %s not reachable (%s); retrying in %.1fs",
                settings.kafka_bootstrap,
                type(exc).__name__,
                backoff,
            )
            if await _stopped_within(stop, backoff):
                return None
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            continue
        log.info("consuming %s as group %s", settings.topic_flags, GROUP_ID)
        return consumer
    return None


def _decode(batch: Batch, metrics: AlertMetrics | None) -> list[FlagRecord]:
    records = []
    for messages in batch.values():
        for message in messages:
            try:
                if message.value is None:
                    raise ValueError("tombstone")
                records.append(FLAG_ADAPTER.validate_json(message.value))
            except (ValidationError, ValueError):
                # Position only: the content (and pydantic's message) may hold personal data.
                log.warning(
                    "skipped undecodable flag record at %s[%d] offset %d",
                    message.topic,
                    message.partition,
                    message.offset,
                )
                if metrics:
                    metrics.count_undecodable()
    return records


async def _store(
    store: AlertStore,
    records: list[FlagRecord],
    metrics: AlertMetrics | None,
    stop: asyncio.Event,
) -> bool:
    """Apply ``records`` in one transaction, retrying while the database is away."""
    backoff = FIRST_BACKOFF_S
    while True:
        try:
            transitions = await asyncio.to_thread(store.apply_many, records)
            break
        except SQLAlchemyError as exc:
            # The type only: a database error may quote the row, person key included.
            log.error(
                "could not store %d flag records (%s); retrying in %.1fs",
                len(records),
                type(exc).__name__,
                backoff,
            )
            if await _stopped_within(stop, backoff):
                return False
            backoff = min(backoff * 2, MAX_BACKOFF_S)
    _log_transitions(transitions)
    if metrics:
        metrics.count_transitions(records, transitions)
        metrics.set_open(await asyncio.to_thread(store.counts_by_rule_and_severity))
    return True


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


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
