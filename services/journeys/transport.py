"""faust's Kafka transport with a leaner hand-off from the fetcher to the streams.

faust's ``Consumer._drain_messages`` hands each fetched message to the streams inside
``wait_first(callback(message), suspend_flow.wait())``: four futures and an ``asyncio.wait``
per message, so that a rebalance can cancel a delivery stuck on a full stream buffer. On the
bench machine that alone held a worker to ~6k messages/s (bench/RESULTS.md). Here the same
race is run once per *run of messages* from one fetch: a rebalance still cancels the
delivery in progress, and every message delivered before it keeps its read offset, exactly
as faust's loop does message by message.

Rebalances: faust resumes fetching a newly assigned partition before it seeks it and before
``flow_control.resume()`` empties the streams' queues, and a stream drops an event fetched in
an earlier generation; either way faust had already recorded the read offset, so the event
was never processed, committed or read again. A stream's message is handed over only once the
rebalance has ended and only if it was fetched in the current generation; otherwise the
partitions with undelivered messages of that fetch are sought back to them.

Gaps: faust records a jump in a partition's offsets as acknowledged (right for compacted
topics) and so commits past it. casewatch's topics never skip an offset, so a gap means
messages were fetched and never delivered (e.g. a fetch from before a seek delivered after
it); here it seeks back to the missing offset instead. (A kill test once lost 744 consecutive
events of one partition, committed unprocessed; this is the path in faust that allows it.)

Commits: faust commits the first run of consecutive acknowledged offsets of a partition
wherever it starts — from anywhere when nothing was committed yet, and across a hole of one
offset right after the last commit (``min(acked) - committed > 1``). Here an offset is
committed only when every offset from the last commit (or, before any commit, from the first
offset delivered since the partition was assigned or sought) was acknowledged: an event that
was neither applied nor dead-lettered holds its partition's commit, whatever happens around it.

Table writes reach the changelog through faust's producer buffer; past ``max_messages``
(100) pending records faust stalls the streams and drains the buffer one record at a time
(``wait_until_ebb``), which held a batch of journey writes to ~1.4k records/s. A batch writes
up to ``batch_max`` journeys at once, so the buffer is allowed that many.

Fetch wait: faust asks the broker to hold a fetch up to 1,500 ms (``fetch_max_wait_ms``)
until records come. Kafka answers as soon as one record is there; the embedded Tansu, fed 500
events/s, answered the worker's fetches every ~750 ms (half the wait), so every event waited
~0.4 s on average before the worker saw it (bench/RESULTS.md, 2026-12-05). The wait is
``WorkerTuning.fetch_max_wait_ms`` (100 ms) instead: fetches then come back every ~55 ms under
load, and an idle worker asks ten times a second — a small request each.

Registered as the ``casewatch://`` broker scheme; everything else is faust's aiokafka
transport (faust-streaming 0.15).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, cast

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "casewatch"
RUN = 256  # messages delivered per wait_first: its cost shared, rebalances still prompt
BUFFERED_WRITES = 20_000  # changelog records pending before faust holds the streams back
FAUST_FETCH_MAX_WAIT_MS = 1_500  # what faust's aiokafka driver asks for
HOLD_POLL = 0.01  # seconds between looks at app.rebalancing while a message waits


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms(self.app)  # read by start()
        return consumer


def fetch_max_wait_ms(app: Any) -> int:
    """The worker's fetch wait: the app's ``casewatch_fetch_max_wait_ms``, else faust's."""
    return int(getattr(app, "casewatch_fetch_max_wait_ms", FAUST_FETCH_MAX_WAIT_MS))


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._delivered: dict[Any, int] = {}  # offsets delivered since faust last moved one
        self._origin: dict[Any, int] = {}  # first offset delivered since a seek, per partition
        self._restart: dict[Any, int] = {}  # where the last seek put each partition
        self._last_delivery: dict[Any, float] = {}  # monotonic time, per partition

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - needs a broker
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag("CONSUMER_FETCHING")
                ait = cast(AsyncIterator[Any], self.getmany(timeout=1.0))
                await self.sleep(0)
                if not self.should_stop:
                    await self._deliver_runs(ait)
                self.diag.unset_flag("CONSUMER_FETCHING")
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        finally:
            self.diag.unset_flag("CONSUMER_FETCHING")

    async def _deliver_runs(self, ait: AsyncIterator[Any]) -> None:
        run: list[Any] = []
        async for tp, message in ait:
            run.append((tp, message))
            if len(run) >= RUN:
                if not await self._deliver_run(run, ait):
                    return  # stopped, or the rest of this fetch is to be read again
                run = []
        if run:
            await self._deliver_run(run, ait)

    async def _deliver_run(self, run: list[Any], ait: AsyncIterator[Any]) -> bool:
        """Deliver one run; if it stopped at a message (a gap, a stale fetch), seek every
        partition with an undelivered message of this fetch back to it: the fetch moved their
        positions past messages nobody processed, and no later message may come to show it."""
        deliver = self._deliver(run)
        done = await self.wait_first(deliver, self.suspend_flow.wait())
        if done.stopped or deliver not in done.done:
            return False  # stopped, or the flow suspended for a rebalance (which seeks)
        stopped_at: int = done.results[done.done.index(deliver)]
        if stopped_at == len(run):
            return True
        pending = {tp for tp, _ in run[stopped_at:]}
        async for tp, _ in ait:
            pending.add(tp)
        assigned = self.assignment()
        for tp in pending:
            expected = self._expected(tp)
            if expected is not None and tp in assigned:
                await self._reread(tp, expected)
        return False

    async def _deliver(self, run: list[Any]) -> int:
        """faust's per-message steps (skip what was read already, commit when due, hand the
        message to the streams, remember the read offset), except for gaps and rebalances
        (see the module's text): the index of the first message not delivered, ``len(run)``
        when all were."""
        callback, read, app = self.callback, self._read_offset, self.app
        acking = app.topics.acks_enabled_for
        for n, (tp, message) in enumerate(run):
            offset = message.offset
            if acking(tp.topic):  # a stream's topic; table changelogs are never held
                while app.rebalancing:
                    await asyncio.sleep(HOLD_POLL)  # the caller's wait_first cancels on suspend
                if message.generation_id != app.consumer_generation_id:
                    return n
            expected = self._expected(tp)
            if expected is not None and offset < expected:
                continue  # delivered already
            if expected is not None and offset > expected:
                self.log.warning(
                    "offset gap in %s: %s expected, %s fetched; seeking back", tp, expected, offset
                )
                return n
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
            self._origin.setdefault(tp, offset)
            await callback(message)
            self._last_delivery[tp] = time.monotonic()
            read[tp] = offset
            self._delivered[tp] = offset
        return len(run)

    def _new_offset(self, tp: Any) -> int | None:
        """The offset to commit: one past the run of acknowledged offsets that starts at the
        last commit (see the module's text), or None while that offset is unacknowledged."""
        acked = self._acked[tp]
        if not acked:
            return None
        acked.sort()
        start = self._committed_offset[tp]
        if start is None:
            start = self._origin.get(tp)
        if start is None or acked[0] != start:
            return None
        end = 0
        while end + 1 < len(acked) and acked[end + 1] == acked[end] + 1:
            end += 1
        done = acked[: end + 1]
        del acked[: end + 1]
        self._acked_index[tp].difference_update(done)
        return done[-1] + 1

    def reading(self, tp: Any) -> int | None:
        """The next offset of ``tp`` to deliver, from this consumer's own bookkeeping: unlike
        ``position()`` it never waits on the consumer thread (which, in a rebalance, waits
        for the agent: an agent awaiting it there would never be answered)."""
        expected = self._expected(tp)
        return expected if expected is not None else self._committed_offset.get(tp)

    def _expected(self, tp: Any) -> int | None:
        """The next offset this partition must deliver. faust's read offset means the last
        offset delivered, or — right after a seek — the next one to read."""
        read = self._read_offset[tp]
        if read is None:  # faust's "nothing read" — also what a seek to offset 0 leaves
            return self._restart.get(tp)
        return read + 1 if self._delivered.get(tp) == read else read

    async def _reread(self, tp: Any, expected: int) -> None:
        """Seek ``tp`` back to the next offset it must deliver. Our topics never skip an
        offset (no compaction, no transactions), so a gap is a fetch from before a seek: faust
        would record it as acknowledged and commit past messages nobody processed. The
        partition's commit origin is kept: the offsets delivered before still count."""
        origin = self._origin.get(tp)
        await self.seek(tp, expected)
        if origin is not None:
            self._origin[tp] = origin

    async def perform_seek(self) -> None:
        self._delivered.clear()
        self._origin.clear()
        self._restart.clear()
        await super().perform_seek()
        await self._rewind_uncommitted()

    async def _rewind_uncommitted(self) -> None:
        """Seek every assigned partition without a committed offset to its beginning.

        faust seeks to the committed offset and, where there is none, leaves the position
        where it is. After a rebalance that position may be past records fetched while the
        partition was paused for recovery and dropped by faust's ``getmany`` (it yields
        only active partitions' records, and the fetch had already moved the position):
        the survivor of a killed worker then sat at the end of the dead worker's partition
        with nothing read, nothing committed and nothing more to fetch — the scale-out
        stall of issue 13. Reading from the beginning is what ``auto_offset_reset =
        earliest`` promises anyway."""
        acking = self.app.topics.acks_enabled_for
        tps = [tp for tp in self.assignment() if acking(tp.topic)]
        uncommitted = [tp for tp in tps if self._committed_offset.get(tp) is None]
        if not uncommitted:
            return
        earliest = await self.earliest_offsets(*uncommitted)
        for tp in uncommitted:
            await self.seek(tp, earliest.get(tp) or 0)

    async def seek(self, partition: Any, offset: int) -> None:
        self._delivered.pop(partition, None)
        self._origin.pop(partition, None)
        await super().seek(partition, offset)
        self._restart[partition] = offset

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        for tp in revoked:
            self._delivered.pop(tp, None)
            self._origin.pop(tp, None)
            self._restart.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    def standing(self) -> dict[str, str]:
        """Each acknowledged partition's read, committed and high-water offsets and flow
        state: what a stall report needs, and nothing a message holds."""
        out = {}
        for tp in sorted(self.assignment()):
            if not self.app.topics.acks_enabled_for(tp.topic):
                continue
            flags = [
                name
                for name, on in (
                    ("paused", tp in self._paused_partitions),
                    ("buffered", tp in self._buffered_partitions),
                    ("inactive", tp not in (self._active_partitions or ())),
                )
                if on
            ]
            out[f"{tp.topic}/{tp.partition}"] = (
                f"next={self.reading(tp)} committed={self._committed_offset.get(tp)} "
                f"high={self.highwater(tp)} acked={len(self._acked.get(tp, ()))}"
                + "".join(f" {f}" for f in flags)
            )
        return out

    def lagging(self, seconds: float) -> bool:
        """Whether an acknowledged partition has unread records and has delivered none for
        ``seconds``."""
        now = time.monotonic()
        for tp in self.assignment():
            if not self.app.topics.acks_enabled_for(tp.topic):
                continue
            behind = (self.highwater(tp) or 0) > (self.reading(tp) or 0)
            if behind and now - self._last_delivery.get(tp, now) > seconds:
                return True
            if behind:
                self._last_delivery.setdefault(tp, now)
        return False


class Producer(faust_aiokafka.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer.max_messages = BUFFERED_WRITES


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer
    Producer = Producer


TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")
