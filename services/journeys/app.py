"""The journeys worker: a faust app whose agents decode, call the domain, and encode.

Topics: consumes ``casewatch.events`` (key = person key) and ``casewatch.clock``; produces
``casewatch.flags`` (key = flag id) and ``casewatch.events.dlq``.  State: table ``journeys``
(person key -> JourneyState JSON), changelogged by faust, co-partitioned with the events.

The clock: the leader's timer sends one tick per partition to ``casewatch.clock`` every
``worker_tick_seconds``.  Each tick is consumed by whichever worker owns that partition, after
its table recovery, and evaluates that partition's settled changed journeys, or all of them
(see ``scheduling``) — so evaluation never runs on a partition this worker does not own,
never before recovery, and writes inside a stream event as faust's RocksDB store requires.
Events are folded as they arrive; rules are evaluated once a child's journey has settled.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import faust
from kafka.partitioner.default import murmur2
from prometheus_client import CollectorRegistry

from schemas.events import Event
from schemas.flags import FlagRecord
from services.journeys.codec import (
    DeadLetter,
    decode_event,
    decode_state,
    encode_flag_records,
    encode_snapshot,
    encode_state,
)
from services.journeys.domain.journey import apply
from services.journeys.domain.pack import RulePack
from services.journeys.domain.state import JourneyState, step
from services.journeys.metrics import WorkerMetrics
from services.journeys.scheduling import EvaluationSchedule
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
    schedule = EvaluationSchedule(
        settle=settings.worker_settle_seconds, full_every=settings.worker_timer_seconds
    )
    raw: dict[str, Any] = dict(key_type=bytes, value_type=bytes, partitions=settings.partitions)
    events_topic = app.topic(settings.topic_events, **raw)
    clock_topic = app.topic(settings.topic_clock, **raw)
    flags_topic = app.topic(settings.topic_flags, **raw)
    dlq_topic = app.topic(settings.topic_dlq, **raw)
    journeys_topic = app.topic(settings.topic_journeys, **raw)
    journeys = app.Table("journeys", **raw)

    @app.agent(events_topic)
    async def fold_events(stream: Any) -> None:
        """Decode, fold into the child's journey, mark it for evaluation. Poison → DLQ."""
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
            folded = fold_only(state, decoded)
            if folded is not state:
                journeys[message.key] = encode_state(folded)
                schedule.changed(message.partition, message.key, time.monotonic())

    @app.agent(clock_topic)
    async def sweep(stream: Any) -> None:
        """Evaluate the rules for this tick's partition: its changed journeys, or all of them."""
        async for event in stream.events():
            partition = event.message.partition
            as_of = clock()
            plan = schedule.plan(partition, time.monotonic(), as_of)
            if plan.full:
                keys = [k for k in journeys if partition_of(k, settings.partitions) == partition]
            else:
                keys = list(plan.keys)
            # No await between reading a journey and writing it back: fold_events cannot
            # interleave, so no event is lost. Flags are sent after the loop.
            now = datetime.now(UTC)
            settled = set(plan.keys)
            outgoing: list[tuple[bytes, bytes, FlagRecord]] = []
            snapshots: list[tuple[bytes, bytes]] = []
            for key in keys:
                value = journeys.get(key)
                if value is None or key in plan.settling:
                    continue
                state = decode_state(value)
                new_state, changes = step(state, [], as_of, pack)
                if changes:
                    journeys[key] = encode_state(new_state)
                    outgoing.extend(
                        encode_flag_records(new_state, changes, as_of=as_of, pack=pack, now=now)
                    )
                if changes or key in settled:  # a changed journey or changed flags: new view
                    view = encode_snapshot(new_state, as_of=as_of, pack=pack, now=now)
                    snapshots.append((key, view))
            metrics.swept(len(keys))
            for key, value, record in outgoing:
                await flags_topic.send(key=key, value=value)
                metrics.flag_changed(record.rule_id, record.status)
            for key, view in snapshots:
                await journeys_topic.send(key=key, value=view)
            if plan.full or outgoing:
                log.info(
                    "evaluated partition %s as of %s (%s): %s journeys, %s flag changes",
                    partition,
                    as_of,
                    "full" if plan.full else "changed",
                    len(keys),
                    len(outgoing),
                )

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked: set[Any] = args[0] if args else kwargs.get("revoked", set())
        for tp in revoked:
            if tp.topic == settings.topic_clock:
                schedule.forget(tp.partition)

    @app.timer(settings.worker_tick_seconds, on_leader=True)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        value = clock().isoformat().encode()
        for partition in range(settings.partitions):
            await clock_topic.send(key=b"tick", value=value, partition=partition)

    return app


def fold_only(state: JourneyState, event: Event) -> JourneyState:
    """Fold without evaluating: flags wait until the journey has settled (see scheduling)."""
    journey = apply(state.journey, event)
    return state if journey is state.journey else state.model_copy(update={"journey": journey})
