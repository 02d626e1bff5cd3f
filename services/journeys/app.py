"""The journeys worker: a faust app whose one agent folds batches of events and runs the clock.

Topics: consumes ``casewatch.events`` (key = person key) and ``casewatch.clock``; produces
``casewatch.flags`` (key = flag id), ``casewatch.journeys`` (snapshots, key = person key) and
``casewatch.events.dlq``. State: table ``journeys`` (person key -> header + JourneyState, see
``codec``), changelogged by faust, co-partitioned with the events.

One agent consumes both topics, in batches (``take_events``): nothing else touches the table,
so reading a journey, evaluating it, publishing its flags and writing it back never
interleave with a fold. The leader's timer sends one tick per partition to
``casewatch.clock``; whichever worker owns that partition receives it — after its table
recovery, since faust delivers nothing before — and evaluates the partition's settled,
due and to-be-verified journeys (``scheduling``). Flags are acknowledged by the broker before
the state that records them is written: a crash in between republishes them (flag ids are
deterministic, so the alerts service sees no change) instead of losing them; and journeys
reach the changelog before the local store (see ``table``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence, Set
from datetime import UTC, date, datetime
from typing import Any, NoReturn, cast

import faust
from faust.types import TP
from prometheus_client import CollectorRegistry

from services.journeys.admission import Check, admit
from services.journeys.batches import Stream
from services.journeys.codec import MESSAGE_LIMIT, letter_key
from services.journeys.config import WorkerTuning
from services.journeys.domain.pack import RulePack
from services.journeys.measures import JourneyMeasures
from services.journeys.metrics import WorkerMetrics
from services.journeys.processor import JourneyProcessor, Record, Swept
from services.journeys.scheduling import EvaluationSchedule
from services.journeys.table import PartitionedTable
from services.journeys.transport import FAUST_FETCH_MAX_WAIT_MS, SCHEME
from services.journeys.transport import Consumer as CasewatchConsumer
from services.runtime.clock import Clock
from services.runtime.logs import without_text
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

APP_ID = "casewatch-journeys"
IDLE_SWEEP_SHARE = 3.0  # of the time between sweeps, for settled changes when idle
Wall = Callable[[], datetime]
EXIT_BATCH_FAILED = 70  # EX_SOFTWARE: a batch failed; its events will be read again
WATCH_SECONDS, STUCK_SECONDS = 10.0, 30.0  # how often, and after how long, to report a stall


def _wall() -> datetime:
    return datetime.now(UTC)


def faust_settings(settings: Settings, tuning: WorkerTuning) -> dict[str, Any]:
    """Client settings: bigger fetches and producer batches than faust's defaults (the
    worker is throughput-bound in a replay), and short group timeouts against Tansu."""
    conf: dict[str, Any] = dict(
        consumer_max_fetch_size=tuning.fetch_max_bytes,
        stream_buffer_maxsize=tuning.stream_buffer,
        producer_linger_ms=5,  # flags and changelog records leave in batches
        producer_max_batch_size=256 * 1024,
        table_key_index_size=10_000,  # RocksDB: reads here always name their partition
    )
    if settings.short_timeouts:  # Tansu and tests; see docs/architecture.md
        conf |= dict(
            broker_session_timeout=8,
            broker_heartbeat_interval=1,
            broker_rebalance_timeout=8,
            broker_request_timeout=30,
            # Tansu reports a partition's end offset as its last *batch's* base offset + 1,
            # so a RocksDB store that saw the whole batch is "ahead" and faust refuses it.
            recovery_consistency_check=False,
        )
    return conf


def rocksdb_options(tuning: WorkerTuning) -> dict[str, int]:
    """Per partition database. faust's defaults (64 MiB x 3 write buffers, a 2 GiB block
    cache) let a worker's memory grow with its table to gigabytes."""
    return dict(
        write_buffer_size=tuning.rocksdb_write_buffer,
        max_write_buffer_number=2,
        block_cache_size=tuning.rocksdb_block_cache,
    )


class JourneysApp(faust.App):
    casewatch_fetch_max_wait_ms: int = FAUST_FETCH_MAX_WAIT_MS  # read by the transport


def create_app(
    settings: Settings,
    *,
    clock: Clock,
    pack: RulePack,
    registry: CollectorRegistry,
    tuning: WorkerTuning | None = None,
    wall: Wall = _wall,
    check: Check = admit,
) -> faust.App:
    tuning = tuning or WorkerTuning()
    app = JourneysApp(
        APP_ID,
        # casewatch:// is faust's aiokafka transport with a leaner fetcher (see transport)
        broker=";".join(f"{SCHEME}://{h}" for h in settings.kafka_bootstrap.split(",")),
        store=settings.worker_store,
        datadir=str(settings.data_dir / "worker"),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        Stream=Stream,  # a batch is acknowledged only once handled (see batches)
        **faust_settings(settings, tuning),
    )
    app.casewatch_fetch_max_wait_ms = tuning.fetch_max_wait_ms
    raw: dict[str, Any] = dict(key_type=bytes, value_type=bytes, partitions=settings.partitions)
    inputs = app.topic(settings.topic_events, settings.topic_clock, **raw)
    clock_topic = app.topic(settings.topic_clock, **raw)
    worker = JourneysWorker(
        app,
        settings,
        tuning,
        clock=clock,
        pack=pack,
        metrics=WorkerMetrics(registry),
        wall=wall,
        table=PartitionedTable(app.Table("journeys", options=rocksdb_options(tuning), **raw)),
        measures=JourneyMeasures(
            pack,
            registry,
            partitions=settings.partitions,
            team_label=settings.load_roster().team_label,
        ),
        check=check,
    )

    @app.agent(inputs)
    async def journeys(stream: Any) -> None:  # a batches.Stream (the app's Stream class)
        """Fold each batch of events; run the clock for each partition ticked in it.

        Nothing a message holds makes ``handle`` raise (every step of one event is guarded
        and ends applied or dead-lettered). If it raises all the same (the broker refused a
        write, a bug), the batch is never acknowledged and the process ends: carrying on
        would apply later events of the same journeys, and a redelivery of the failed ones
        would then be skipped as already applied (``processor``'s position check)."""
        stream.window_by(worker.window)  # long while behind, short when live (batches)
        async for batch in stream.take_events(tuning.batch_max, within=tuning.batch_within):
            try:
                await worker.handle(batch)
            except BaseException as exc:
                stream.withhold()  # cancelled or failed: this batch was not processed
                if isinstance(exc, Exception):
                    worker.abandon(batch, exc)
                raise

    @app.timer(WATCH_SECONDS)  # type: ignore[untyped-decorator]
    async def watch() -> None:
        """Say so when a batch has been in hand for long, or a partition stopped delivering
        (offsets and stages only)."""
        consumer = cast(CasewatchConsumer, app.consumer)
        busy = time.monotonic() - worker.since
        if worker.stage != "idle" and busy > STUCK_SECONDS:
            standing = consumer.standing()
            log.warning("a batch has been at %r for %.0fs; %s", worker.stage, busy, standing)
        elif consumer.flow_active and consumer.lagging(STUCK_SECONDS):
            log.warning("partitions not delivering: %s", consumer.standing())

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked: set[Any] = args[0] if args else kwargs.get("revoked", set())
        worker.revoked({tp.partition for tp in revoked})

    @app.timer(settings.worker_tick_seconds, on_leader=True)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        value = clock().isoformat().encode()
        for partition in range(settings.partitions):
            await clock_topic.send(key=b"tick", value=value, partition=partition)

    return app


class JourneysWorker:
    """The agent's body: processor decisions, carried out in a safe order."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        tuning: WorkerTuning,
        *,
        clock: Clock,
        pack: RulePack,
        metrics: WorkerMetrics,
        wall: Wall,
        table: PartitionedTable,
        measures: JourneyMeasures,
        check: Check = admit,
    ) -> None:
        self.app, self.settings, self.tuning = app, settings, tuning
        self.measures = measures  # managers' measures of the owned partitions (issue 7)
        self.clock, self.metrics, self.wall, self.table = clock, metrics, wall, table
        schedule = EvaluationSchedule(
            settle=settings.worker_settle_seconds,
            settle_bulk=settings.worker_settle_bulk_seconds,
            bulk_changes=settings.worker_bulk_changes,
            verify_every=settings.worker_timer_seconds,
            tick_seconds=settings.worker_tick_seconds,
            pack_version=pack.version,
        )
        self.processor = JourneyProcessor(
            table.read,
            pack=pack,
            tuning=tuning,
            schedule=schedule,
            partitions=settings.partitions,
            check=check,
            message_limit=int(app.conf.producer_max_request_size or MESSAGE_LIMIT),
        )
        raw: dict[str, Any] = dict(key_type=bytes, value_type=bytes)
        self.flags = app.topic(settings.topic_flags, **raw)
        self.snapshots = app.topic(settings.topic_journeys, **raw)
        self.dlq = app.topic(settings.topic_dlq, **raw)
        self.read_up_to: dict[int, int] = {}  # partition -> next offset after the last folded
        self.stage, self.since = "idle", time.monotonic()  # where the batch in hand is

    def at(self, stage: str) -> None:
        self.stage, self.since = stage, time.monotonic()

    def revoked(self, partitions: set[int]) -> None:
        self.processor.forget(partitions)
        self.measures.forget(partitions)
        for partition in partitions:
            self.read_up_to.pop(partition, None)
            self.metrics.forget_partition(partition)

    async def handle(self, batch: Sequence[Any]) -> None:
        name = self.settings.topic_events
        events = [e for e in batch if e.message.topic == name]
        ticked = {e.message.partition for e in batch if e.message.topic != name}
        folded = {e.message.partition for e in events}
        self.table.bind(batch)
        self.at("fold")
        try:
            if events:
                await self.fold(events)
            # A live partition of the batch is swept: its settled changes are evaluated
            # right after the batch that finds them settled, not on the next tick. Under a
            # bulk load they wait for the tick, as they did: fewer evaluations of children
            # whose events are still arriving (bench/RESULTS.md, 2026-12-05).
            now, schedule = time.monotonic(), self.processor.schedule
            live = {p for p in folded if not schedule.bulk(p, now)}
            await self.sweep(sorted(ticked | live), ticked=ticked, idle=not events)
        finally:
            self.table.release()
            self.at("idle")

    async def fold(self, events: Sequence[Any]) -> None:
        records = [
            Record(e.message.key, e.value, e.message.partition, e.message.offset) for e in events
        ]
        for record in records:
            self.read_up_to[record.partition] = record.offset + 1
        folded = self.processor.fold(records, wall=self.wall(), mono=time.monotonic())
        # Dead letters first, acknowledged: once a journey is written with the position of
        # a later event, a redelivery of the dead one would be skipped unread.
        topic, sent = self.settings.topic_events, []
        for record, letter in folded.dead:
            value = letter.encode(topic, record.partition, record.offset)
            sent.append(await self.dlq.send(key=letter_key(record.key), value=value))
            log.warning(
                "dead-lettered %s/%s@%s: %s", topic, record.partition, record.offset, letter.reason
            )
        if sent:
            self.at("fold: dead letters")
            await asyncio.gather(*sent)
        self.at("fold: changelog")
        await self.table.write_all([(c.key, c.value, c.partition) for c in folded.changes])
        self.metrics.folded(folded)

    def abandon(self, batch: Sequence[Any], exc: BaseException) -> NoReturn:
        """End the process without acknowledging ``batch`` (see ``create_app.journeys``):
        its events are read again by whichever worker next owns their partitions. The log
        names topics, partitions and offsets, and the exception's type and frames only."""
        spans: dict[str, list[int]] = defaultdict(lambda: [2**63, -1])
        for event in batch:
            m = event.message
            span = spans[f"{m.topic}/{m.partition}"]
            span[0], span[1] = min(span[0], m.offset), max(span[1], m.offset)
        log.critical(
            "a batch of %s messages failed (%s); stopping without acknowledging it, so that "
            "it is read again: %s\n%s",
            len(batch),
            type(exc).__name__,
            {tp: f"{first}-{last}" for tp, (first, last) in sorted(spans.items())},
            without_text(exc),
        )
        logging.shutdown()
        os._exit(EXIT_BATCH_FAILED)

    async def sweep(
        self, partitions: Sequence[int], *, ticked: Set[int], idle: bool = False
    ) -> None:
        """Evaluate each partition's settled changes — and, where a clock tick came, its due
        and to-be-verified journeys — then publish all of it at once: three broker round
        trips a batch, not three a partition."""
        swept = [(p, *self.evaluate(p, clock=p in ticked, idle=idle)) for p in partitions]
        every = Swept()
        for _, _, one in swept:
            every.flags += one.flags
            every.changes += one.changes
            every.snapshots += one.snapshots
        self.at(f"sweep {list(partitions)}: publish")
        await self.publish(every)
        for partition, as_of, one in swept:
            self.at(f"sweep {partition}: measures")
            self.account(partition, as_of, one, clock=partition in ticked)

    def evaluate(self, partition: int, *, clock: bool, idle: bool) -> tuple[date, Swept]:
        if not self.processor.schedule.ready(partition):
            self.at(f"sweep {partition}: adopt")
            self.adopt(partition)
        self.at(f"sweep {partition}: evaluate")
        as_of = self.clock()
        swept = self.processor.tick(
            partition,
            as_of=as_of,
            wall=self.wall(),
            mono=time.monotonic(),
            budget=self.tuning.tick_budget_seconds,
            changed_budget=self.changed_budget(idle),
            backlog=self.backlog(partition),
            settled_only=not clock,
        )
        return as_of, swept

    def account(self, partition: int, as_of: date, swept: Swept, *, clock: bool) -> None:
        """Measures, metrics and a log line for one partition's published sweep."""
        self.measures.refresh(partition, as_of, swept.changes, self.table.read, recompute=clock)
        self.metrics.swept(swept, self.processor.schedule.size(partition), partition)
        if swept.flags:
            log.log(
                logging.INFO if clock else logging.DEBUG,  # INFO: a line a partition a tick
                "partition %s as of %s: evaluated %s, %s flag changes",
                partition,
                as_of,
                dict(swept.evaluated),
                len(swept.flags),
            )
        if swept.failed or swept.oversized:
            log.warning(
                "partition %s: journeys left as stored %s, records over the limit %s",
                partition,
                dict(swept.failed),
                dict(swept.oversized),
            )

    def changed_budget(self, idle: bool = False) -> float:
        """For settled changes, shared by the owned partitions: half of the time between
        sweeps (a sweep follows every batch, so the batch window in force) — or, when no
        event came with the ticks, three times the longest time between sweeps (a tick, or
        the long batch window): a replay has ended, nothing else waits, and each sweep
        follows a batch window spent waiting (at 0.9 of it, evaluating 1M journeys kept the
        worker idle half the time). A new event then waits up to ~3 s."""
        owned = len(self.read_up_to) or self.settings.partitions
        if idle:
            interval = max(self.settings.worker_tick_seconds, self.tuning.batch_within)
            share = IDLE_SWEEP_SHARE * interval / owned
        else:
            share = 0.5 * self.window() / owned
        return max(self.tuning.tick_budget_seconds, share)

    def window(self) -> float:
        """The batch window in force: ``batch_within`` while an owned partition is behind by
        more than a batch (a replay: the longer the window, the fewer writes per journey),
        ``batch_within_live`` otherwise (what a live event waits before it is folded)."""
        events = self.settings.topic_events
        owned = [tp.partition for tp in self.app.consumer.assignment() if tp.topic == events]
        if any(self.backlog(partition) for partition in owned):
            return self.tuning.batch_within
        return self.tuning.batch_within_live

    def backlog(self, partition: int) -> bool:
        """More unread events in the partition than one batch: evaluation waits for them."""
        tp = TP(self.settings.topic_events, partition)
        if tp not in self.app.consumer.assignment():
            return False
        consumer = cast(CasewatchConsumer, self.app.consumer)
        highwater = consumer.highwater(tp) or 0
        read = self.read_up_to.get(partition)
        if read is None:  # nothing read since the assignment: where reading (re)starts
            read = consumer.reading(tp) or 0
        return highwater - read > self.tuning.batch_max

    def adopt(self, partition: int) -> None:
        """Index every owned partition not indexed yet, in one pass over the table."""
        events = self.settings.topic_events
        owned = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == events}
        wanted = {p for p in owned | {partition} if not self.processor.schedule.ready(p)}
        started = time.perf_counter()
        n = self.processor.adopt(wanted, self.table.items(), time.monotonic())
        # The index is long-lived and large: keep it out of the cyclic collector's full
        # passes, which otherwise stall a tick for hundreds of ms at 1M journeys.
        gc.freeze()
        for p in wanted:  # computed a slice per tick; the index's keys, not a second scan
            self.measures.adopt_keys(p, self.processor.schedule.keys(p))
        log.info(
            "indexed partitions %s: %s journeys in %.2fs",
            sorted(wanted),
            n,
            time.perf_counter() - started,
        )

    async def publish(self, swept: Swept) -> None:
        """Flags first, acknowledged; then the state that records them; then snapshots."""
        sent = [await self.flags.send(key=key, value=value) for key, value, _ in swept.flags]
        if sent:
            await asyncio.gather(*sent)
        self.at(self.stage + ", changelog")
        await self.table.write_all([(c.key, c.value, c.partition) for c in swept.changes])
        for _, _, record in swept.flags:
            self.metrics.flag_changed(record.rule_id, record.status)
        snapshots = [await self.snapshots.send(key=k, value=v) for k, v in swept.snapshots]
        if snapshots:
            self.at(self.stage + ", snapshots")
            await asyncio.gather(*snapshots)
