"""Which journeys a sweep evaluates (after every batch and on every clock tick). Plain
Python, so it is tested without faust.

Three reasons to evaluate a journey, in this order of urgency:

- **settled**: it changed (an event was folded) and has been quiet for ``settle`` seconds. A
  council export states one child's facts as several events (person, request, plan,
  review …); evaluating after each raised flags that the next event resolved — on the demo
  authority, 93 alerts instead of 48. How long to wait depends on the load: ingest reads an
  export a table at a time, so one child's events are spread over the time it takes to read
  the export (a 3,000-child export, read in 1.4 s, left 784 transient flags with 0.3 s of
  quiet and none with 1 s); a live event (a daily diff, one child posted through the API)
  comes with its child's other events in one batch. So a partition taking a bulk load —
  at least ``bulk_changes`` journeys changed in a second — waits ``settle_bulk``; otherwise
  ``settle`` (short: it is most of what a live event waits before its alert). Settled
  journeys are handed out **oldest pending first** (by when they first changed since their
  last evaluation), so when a sweep's budget evaluates fewer than settle, the rest wait only
  for those pending before them: a journey waits at most about (journeys pending ahead of
  it) / (evaluated per sweep) sweeps, however many changes keep arriving. (In key order, as
  before, a key that sorts late waited for every later arrival that sorted before it:
  without bound under sustained load.)
- **due**: its next deadline (``rules.next_deadline``) has come — found in the partition's
  ``DeadlineIndex``, never by scanning.
- **verify**: a slow rolling re-evaluation of every journey, one slice per tick, so that
  each is checked again about every ``verify_every`` seconds when the tick budget allows. It
  should find nothing; it is the safety net under the index.

While a partition has a backlog of unread events (a replay, or catching up after a restart)
nothing of it is evaluated: its journeys are half-folded, so evaluating them would raise flags
the backlog resolves, and would evaluate each child again and again as its events trickle in.
A backlog that lasts longer than ``max_wait`` seconds (a worker that cannot keep up) no
longer holds evaluation back.

A partition's index is built (``adopt``) from the stored journeys' headers the first time the
partition is ticked in this process — after table recovery, because faust delivers no tick
before that — and dropped (``forget``) when the partition leaves this worker.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from services.journeys.codec import JourneyHeader
from services.journeys.deadlines import DeadlineIndex


@dataclass(frozen=True)
class TickPlan:
    settled: tuple[bytes, ...]  # changed journeys quiet for ``settle`` seconds
    due: tuple[bytes, ...]  # deadline on or before the clock date
    verify: tuple[bytes, ...]  # the rolling re-evaluation's next slice


@dataclass
class PartitionClock:
    index: DeadlineIndex = field(default_factory=DeadlineIndex)
    # key -> time of its last change; in the order the keys became pending (a dict keeps a
    # key's place when it changes again), which is the order settled keys are served in
    changed: dict[bytes, float] = field(default_factory=dict)
    second: int = 0  # the (monotonic) second being counted …
    changes_now: int = 0  # … its changes so far …
    changes_before: int = 0  # … and the second before's
    to_verify: list[bytes] = field(default_factory=list)  # this round's keys …
    verified: int = 0  # … and how many of them were handed out
    round_started: float = float("-inf")
    backlog_since: float | None = None


@dataclass
class EvaluationSchedule:
    settle: float
    verify_every: float
    tick_seconds: float
    pack_version: str
    max_wait: float = 60.0
    settle_bulk: float | None = None  # under a bulk load; None: ``settle`` always
    bulk_changes: int = 500  # journeys changed in a second that make a partition's load bulk
    _partitions: dict[int, PartitionClock] = field(default_factory=dict)

    def ready(self, partition: int) -> bool:
        return partition in self._partitions

    def adopt(
        self, partition: int, stored: Iterable[tuple[bytes, JourneyHeader]], now: float
    ) -> int:
        """Index a partition from its stored journeys' headers; returns how many there are.
        Journeys changed but never evaluated (a crash came first), and those evaluated under
        another rule pack, settle again before they are evaluated."""
        clock = self._partitions[partition] = PartitionClock()
        for key, header in stored:
            if header.pending or header.pack != self.pack_version:
                clock.changed[key] = now
                clock.index.set(key, None)
            else:
                clock.index.set(key, header.due)
        clock.to_verify, clock.round_started = clock.index.keys(), now
        return len(clock.index)

    def forget(self, partition: int) -> None:
        """The partition left this worker: its next owner rebuilds the index."""
        self._partitions.pop(partition, None)

    def changed(self, partition: int, key: bytes, now: float) -> None:
        clock = self._partitions.get(partition)
        if clock is not None:  # before adoption the stored header says ``pending``
            clock.changed[key] = now
            second = math.floor(now)
            if second != clock.second:
                before = clock.changes_now if second == clock.second + 1 else 0
                clock.second, clock.changes_now, clock.changes_before = second, 0, before
            clock.changes_now += 1

    def bulk(self, partition: int, now: float) -> bool:
        """Whether ``partition`` is taking a bulk load: this second or the one before it saw
        ``bulk_changes`` changes (never, without a ``settle_bulk``)."""
        clock = self._partitions.get(partition)
        if self.settle_bulk is None or clock is None:
            return False
        second = math.floor(now)
        recent = 0
        if second == clock.second:
            recent = max(clock.changes_now, clock.changes_before)
        elif second == clock.second + 1:
            recent = clock.changes_now
        return recent >= self.bulk_changes

    def settle_for(self, partition: int, now: float) -> float:
        """The quiet time a changed journey of ``partition`` waits for now: ``settle_bulk``
        under a bulk load, ``settle`` otherwise."""
        if self.settle_bulk is not None and self.bulk(partition, now):
            return self.settle_bulk
        return self.settle

    def evaluated(self, partition: int, key: bytes, due: date | None) -> None:
        clock = self._partitions.get(partition)
        if clock is not None:
            if clock.changed.pop(key, None) is not None and not clock.changed:
                clock.changed = {}  # a dict keeps its size when emptied (a replay: 1M keys)
            clock.index.set(key, due)

    def plan(
        self,
        partition: int,
        now: float,
        as_of: date,
        limit: int,
        *,
        backlog: bool = False,
        settled_only: bool = False,
    ) -> TickPlan:
        """At most ``limit`` keys for each reason; evaluated ones are reported back with
        ``evaluated``, the rest stay for the next tick. Settled keys come oldest pending
        first (see the module's docstring), never in key order. ``settled_only``: a sweep
        after a batch of events, not a clock tick — no deadlines, no verification (the
        clock's work keeps the tick's pace however often batches come)."""
        clock = self._partitions[partition]
        if not backlog:
            clock.backlog_since = None
        elif clock.backlog_since is None:
            clock.backlog_since = now
        if backlog and now - (clock.backlog_since or now) < self.max_wait:
            return TickPlan((), (), ())
        settle = self.settle_for(partition, now)
        settled = self._settled(clock, now, limit, settle)
        if settled_only:
            return TickPlan(tuple(settled), (), ())
        settling = {k for k, t in clock.changed.items() if now - t < settle}
        # A journey still taking events waits, even when due: no flags from half an export.
        due = [k for k in clock.index.due(as_of, limit + len(settling)) if k not in settling]
        verify = [k for k in self._verify_slice(clock, now, limit) if k not in settling]
        return TickPlan(tuple(settled), tuple(due[:limit]), tuple(verify))

    def _settled(self, clock: PartitionClock, now: float, limit: int, settle: float) -> list[bytes]:
        """The first ``limit`` settled keys in pending order: it stops there, so a sweep after
        every batch costs what it hands out (and the keys still settling), not the backlog
        of changes a replay leaves."""
        found: list[bytes] = []
        if limit <= 0:
            return found
        for key, last in clock.changed.items():
            if now - last >= settle:
                found.append(key)
                if len(found) >= limit:
                    break
        return found

    def _verify_slice(self, clock: PartitionClock, now: float, limit: int) -> list[bytes]:
        if clock.verified >= len(clock.to_verify):
            if now - clock.round_started < self.verify_every:
                return []  # this round is done; listing a million keys waits for the next
            clock.to_verify, clock.verified, clock.round_started = clock.index.keys(), 0, now
        share = math.ceil(len(clock.index) * self.tick_seconds / self.verify_every)
        start = clock.verified
        clock.verified = min(start + min(share, limit), len(clock.to_verify))
        return clock.to_verify[start : clock.verified]

    def keys(self, partition: int) -> list[bytes]:
        """Every indexed key of the partition (the index's own key objects)."""
        clock = self._partitions.get(partition)
        return clock.index.keys() if clock else []

    def size(self, partition: int) -> int:
        clock = self._partitions.get(partition)
        return len(clock.index) if clock else 0
