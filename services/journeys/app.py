"""The journeys worker: a faust app whose agents decode, call the domain, and encode.

Topics: consumes ``casewatch.events`` (key = person key) and ``casewatch.clock``; produces
``casewatch.flags`` (key = flag id) and ``casewatch.events.dlq``.  State: table ``journeys``
(person key -> JourneyState JSON), changelogged by faust, co-partitioned with the events.

The clock: the leader's timer sends one tick per partition to ``casewatch.clock``.  Each tick
is consumed by whichever worker owns that partition, after its table recovery, and sweeps
only that partition's journeys — so a sweep never runs on a partition this worker does not
own, never runs before recovery, and writes its changes inside a stream event as faust's
RocksDB store requires.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import faust
from kafka.partitioner.default import murmur2
from prometheus_client import CollectorRegistry

from services.journeys.codec import (
    DeadLetter,
    decode_event,
    decode_state,
    encode_flag_records,
    encode_state,
)
from services.journeys.domain.pack import RulePack
from services.journeys.domain.state import JourneyState, step
from services.journeys.metrics import WorkerMetrics
from services.runtime.clock import Clock
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

APP_ID = "casewatch-journeys"


def partition_of(key: bytes, partitions: int) -> int:
    """The partition a key lands on with Kafka's default (murmur2) partitioner."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def create_app(
    settings: Settings, *, clock: Clock, pack: RulePack, registry: CollectorRegistry
) -> faust.App:
    timeouts: dict[str, Any] = {}
    if settings.short_timeouts:  # Tansu and tests; see docs/architecture.md
        timeouts = dict(
            broker_session_timeout=8,
            broker_heartbeat_interval=1,
            broker_rebalance_timeout=8,
            broker_request_timeout=30,
        )
    app = faust.App(
        APP_ID,
        broker=";".join(f"kafka://{h}" for h in settings.kafka_bootstrap.split(",")),
        store=settings.worker_store,
        datadir=str(settings.data_dir / "worker"),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        **timeouts,
    )
    metrics = WorkerMetrics(registry)
    raw: dict[str, Any] = dict(key_type=bytes, value_type=bytes, partitions=settings.partitions)
    events_topic = app.topic(settings.topic_events, **raw)
    clock_topic = app.topic("casewatch.clock", **raw)
    flags_topic = app.topic(settings.topic_flags, **raw)
    dlq_topic = app.topic(settings.topic_dlq, **raw)
    journeys = app.Table("journeys", **raw)

    async def publish_changes(state: JourneyState, changes: Any) -> None:
        for key, value, record in encode_flag_records(
            state, changes, as_of=clock(), pack=pack, now=datetime.now(UTC)
        ):
            await flags_topic.send(key=key, value=value)
            metrics.flag_changed(record.rule_id, record.status)

    @app.agent(events_topic)
    async def fold_events(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            decoded = decode_event(message.key, event.value)
            if isinstance(decoded, DeadLetter):
                metrics.dead_lettered(decoded.reason)
                await dlq_topic.send(
                    key=message.key,
                    value=decoded.encode(message.topic, message.partition, message.offset),
                )
                continue
            metrics.event_in(decoded.source_system, decoded.event_type)
            previous = journeys.get(message.key)
            state = decode_state(previous) if previous else JourneyState.new(decoded.person_key)
            new_state, changes = step(state, [decoded], clock(), pack)
            if new_state is not state:
                journeys[message.key] = encode_state(new_state)
            if changes:
                await publish_changes(new_state, changes)

    @app.agent(clock_topic)
    async def sweep(stream: Any) -> None:
        async for event in stream.events():
            partition = event.message.partition
            as_of = clock()
            swept = changed = 0
            for key, value in list(journeys.items()):
                if partition_of(key, settings.partitions) != partition:
                    continue
                swept += 1
                state = decode_state(value)
                new_state, changes = step(state, [], as_of, pack)
                if changes:
                    changed += 1
                    journeys[key] = encode_state(new_state)
                    await publish_changes(new_state, changes)
            metrics.swept(swept)
            log.info(
                "clock sweep partition %s as of %s: %s journeys, %s changed",
                partition,
                as_of,
                swept,
                changed,
            )

    @app.timer(settings.worker_timer_seconds, on_leader=True)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        value = clock().isoformat().encode()
        for partition in range(settings.partitions):
            await clock_topic.send(key=b"tick", value=value, partition=partition)

    return app
