"""The managers' measures of the journeys a worker owns, as a Prometheus collector.

The numbers come from :mod:`services.journeys.domain.measures` (pure): each journey's
contribution on the monitor's date, kept per partition and summed. They are gauges of
current journey state, not counters of events, so at-least-once delivery and replays never
double count, and with several workers each exports the partitions it owns: the sums over
workers are the authority's figures.

Keeping them current costs little: a journey is recomputed when the worker evaluates it
after a change — from that evaluation's clocks and views (``domain.assess``), not computing
them again — and when the date reaches its contribution's ``next_change`` (a band edge,
a 12-month window passing, a clock opening) — found through an index by that date, so a
date change touches only the journeys whose figures move. After a restart or rebalance the
partition's journeys are recomputed a slice per tick (``casewatch_measures_pending`` says
how many are left), so adoption never holds up the flags.

Memory: one slotted entry per owned journey, its counts and observations interned tuples
(most journeys add the same few label sets) and its dates shared — ~120 bytes per journey
besides the key (bench/bench_evaluate.py --memory).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from services.journeys.codec import decode_header, decode_stored
from services.journeys.domain.assess import Assessment
from services.journeys.domain.assess import contribution as assessed_contribution
from services.journeys.domain.journey import Journey
from services.journeys.domain.measures import (
    MEASURES,
    Contribution,
    HistogramTotal,
    Key,
    Totals,
    contribution,
)
from services.journeys.domain.pack import RulePack
from services.journeys.domain.state import JourneyState
from services.journeys.processor import partition_of

TRACKED = "casewatch_measures_journeys"
PENDING = "casewatch_measures_pending"
ReadStored = Callable[[bytes, int], bytes | None]  # (key, partition) -> stored journey


class Changed(Protocol):
    """A journey the worker has just evaluated (``processor.JourneyChange``)."""

    @property
    def key(self) -> bytes: ...
    @property
    def partition(self) -> int: ...
    @property
    def after(self) -> JourneyState: ...

    # and optionally ``assessed: Assessment | None``, the evaluation that produced ``after``


Counts = tuple[tuple[Key, int], ...]  # a contribution's counts, compact
Observations = tuple[tuple[Key, float], ...]


class _Entry:
    """One journey's contribution, computed on ``as_of``. A worker holds one per journey it
    owns (a million, for a large authority), so it is slotted and its parts are shared:
    ``counts`` and ``observations`` are interned tuples (most journeys add the same few
    label sets; days waited are whole numbers) and dates are one object per day."""

    __slots__ = ("as_of", "counts", "next_change", "observations")

    def __init__(
        self, counts: Counts, observations: Observations, as_of: date, next_change: date | None
    ) -> None:
        self.counts = counts
        self.observations = observations
        self.as_of = as_of
        self.next_change = next_change

    def contribution(self) -> Contribution:
        return Contribution(dict(self.counts), self.observations)


@dataclass
class _Partition:
    entries: dict[bytes, _Entry] = field(default_factory=dict)
    totals: Totals = field(default_factory=Totals)
    by_change: dict[date, set[bytes]] = field(default_factory=dict)  # next_change -> keys
    pending: set[bytes] = field(default_factory=set)  # adopted, not yet computed
    as_of: date | None = None


class JourneyMeasures(Collector):
    """Keeps every owned journey's contribution per partition and exports the sums.

    Usage::

        registry = CollectorRegistry()
        measures = JourneyMeasures(pack, registry)  # registers itself on ``registry``
        measures.adopt({0, 1}, table_items)          # a partition was assigned: compute later
        # on each clock tick of a partition, after the journeys were evaluated:
        measures.refresh(partition, as_of, evaluated_changes, read_stored)
        measures.forget({1})                          # the partition was revoked

    ``observe`` recomputes one journey; ``stale`` says whether a journey's contribution may
    have moved since it was computed. Series once exported stay, at zero, when nothing counts
    in them any more, rather than vanishing from dashboards.
    """

    max_shared = 1_000_000  # distinct parts kept shared (thousands expected)

    def __init__(
        self,
        pack: RulePack,
        registry: CollectorRegistry | None = None,
        *,
        partitions: int = 1,
        budget: float = 0.05,
        team_label: Callable[[str], str] | None = None,
    ) -> None:
        self.pack = pack
        # the exported ``team`` label: a roster team, or other (``Roster.team_label``)
        self.team_label = team_label
        self.partitions = partitions  # the topics' partition count (journeys stored headerless)
        self.budget = budget  # seconds per tick for adopted and date-moved journeys
        self._partitions: dict[int, _Partition] = {}
        self._seen_counts: set[Key] = set()
        self._seen_histograms: dict[Key, int] = {}
        # Shared parts of the per-journey entries: counts, observations, dates.
        self._shared: dict[Any, Any] = {}
        self._dates: dict[date, date] = {}
        self._lock = threading.Lock()  # scrapes run on the metrics server's thread
        if registry is not None:
            registry.register(self)

    def _partition(self, partition: int) -> _Partition:
        found = self._partitions.get(partition)
        if found is None:
            found = self._partitions[partition] = _Partition()
        return found

    # --- keeping contributions current ----------------------------------------------------

    def stale(self, partition: int, key: bytes, as_of: date) -> bool:
        """Must the journey be observed again for ``as_of``?"""
        part = self._partitions.get(partition)
        entry = part.entries.get(key) if part is not None else None
        if entry is None:
            return True
        if entry.as_of == as_of:
            return False
        next_change = entry.next_change
        return as_of < entry.as_of or (next_change is not None and next_change <= as_of)

    def observe(
        self,
        partition: int,
        key: bytes,
        journey: Journey,
        as_of: date,
        assessed: Assessment | None = None,
    ) -> None:
        """Replace the journey's contribution with the one on ``as_of``. ``assessed``: the
        worker's evaluation of this journey on ``as_of``, whose clocks are used instead of
        computing them again."""
        if assessed is not None and assessed.as_of == as_of and assessed.state.journey is journey:
            new = assessed_contribution(assessed, self.pack)  # its clocks, computed once
        else:
            new = contribution(journey, as_of, self.pack)
        with self._lock:
            part = self._partition(partition)
            old = part.entries.get(key)
            if old is not None:
                part.totals.subtract(old.contribution())
                self._unindex(part, key, old)
            part.totals.add(new)
            counts, observations = self._compact(new)
            when = None if new.next_change is None else self._date(new.next_change)
            part.entries[key] = _Entry(counts, observations, self._date(as_of), when)
            if part.pending:
                part.pending.discard(key)
                if not part.pending:
                    part.pending = set()  # a set keeps its size when emptied: let it go
            if when is not None:
                part.by_change.setdefault(when, set()).add(key)
            for k, _ in observations:
                self._seen_histograms[k] = len(part.totals.histograms[k].buckets)
            self._seen_counts.update(k for k, _ in counts)

    def _compact(self, c: Contribution) -> tuple[Counts, Observations]:
        """The contribution's counts and observations as shared tuples."""
        shared = self._shared
        if len(shared) > self.max_shared:
            shared.clear()  # still correct, only less shared; never expected
        counts = tuple(shared.setdefault(item, item) for item in sorted(c.counts.items()))
        observations = tuple(shared.setdefault(item, item) for item in c.observations)
        return shared.setdefault(counts, counts), shared.setdefault(observations, observations)

    def _date(self, d: date) -> date:
        return self._dates.setdefault(d, d)

    @staticmethod
    def _unindex(part: _Partition, key: bytes, entry: _Entry) -> None:
        when = entry.next_change
        keys = part.by_change.get(when) if when is not None else None
        if keys is not None:
            keys.discard(key)
            if not keys:
                del part.by_change[when]  # type: ignore[arg-type]

    def due(self, partition: int, as_of: date) -> list[bytes]:
        """The partition's journeys whose contribution may differ on ``as_of``: adopted and
        not computed yet, or reached by their next change (all of them if the clock went
        back)."""
        with self._lock:
            part = self._partitions.get(partition)
            if part is None:
                return []
            if part.as_of is not None and as_of < part.as_of:
                return sorted(part.pending | part.entries.keys())
            moved = [k for d, keys in part.by_change.items() if d <= as_of for k in keys]
            return sorted(part.pending | set(moved))

    def refresh(
        self,
        partition: int,
        as_of: date,
        evaluated: Iterable[Changed],
        read: ReadStored,
        *,
        recompute: bool = True,
    ) -> int:
        """After a sweep: take the journeys just evaluated, then — on a clock tick
        (``recompute``) — recompute within the time budget those adopted or moved by the
        date. Returns how many were recomputed."""
        n = 0
        for change in evaluated:
            assessed = getattr(change, "assessed", None)
            self.observe(change.partition, change.key, change.after.journey, as_of, assessed)
            n += 1
        started = time.perf_counter()
        for key in self.due(partition, as_of) if recompute else ():
            if time.perf_counter() - started > self.budget:
                break
            raw = read(key, partition)
            if raw is None:
                self.discard(partition, key)
                continue
            self.observe(partition, key, _decode(raw).journey, as_of)
            n += 1
        with self._lock:
            part = self._partition(partition)
            part.as_of = as_of if part.as_of is None else max(part.as_of, as_of)
        return n

    def adopt(self, partitions: set[int], stored: Iterable[tuple[bytes, bytes]]) -> int:
        """Partitions assigned to this worker: remember their journeys, computed by later
        ``refresh`` calls a slice at a time. ``stored`` is the table's (key, value) pairs."""
        found = 0
        with self._lock:
            for key, raw in stored:
                p = decode_header(raw).partition
                p = p if p >= 0 else partition_of(key, self.partitions)
                if p in partitions and key not in self._partition(p).entries:
                    self._partition(p).pending.add(key)
                    found += 1
        return found

    def adopt_keys(self, partition: int, keys: Iterable[bytes]) -> int:
        """As ``adopt``, for one partition whose keys the caller has already read (the
        deadline index's, ``EvaluationSchedule.keys``): no second pass over the table, and
        the key objects are shared with the index rather than copied (~100 bytes each)."""
        found = 0
        with self._lock:
            part = self._partition(partition)
            for key in keys:
                if key not in part.entries:
                    part.pending.add(key)
                    found += 1
        return found

    def discard(self, partition: int, key: bytes) -> None:
        with self._lock:
            part = self._partitions.get(partition)
            if part is None:
                return
            old = part.entries.pop(key, None)
            if old is not None:
                part.totals.subtract(old.contribution())
                self._unindex(part, key, old)
            part.pending.discard(key)

    def replace(
        self, partition: int, journeys: Iterable[tuple[bytes, Journey]], as_of: date
    ) -> None:
        """Recompute a whole partition from its journeys."""
        self.forget({partition})
        for key, journey in journeys:
            self.observe(partition, key, journey, as_of)

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions revoked from this worker: their next owner exports them."""
        with self._lock:
            for partition in partitions:
                self._partitions.pop(partition, None)

    # --- exporting ------------------------------------------------------------------------

    def totals(self) -> Totals:
        """The sum over this worker's partitions."""
        with self._lock:
            result = Totals()
            for part in self._partitions.values():
                result.merge(part.totals)
            for key in self._seen_counts:
                result.counts.setdefault(key, 0)
            for key, size in self._seen_histograms.items():
                result.histograms.setdefault(key, HistogramTotal([0] * size))
            return result

    def describe(self) -> Iterable[Metric]:
        return []  # describing would mean collecting: the families depend on what was seen

    def collect(self) -> Iterable[Metric]:
        t = self.totals()
        with self._lock:
            tracked = sum(len(p.entries) for p in self._partitions.values())
            pending = sum(len(p.pending) for p in self._partitions.values())
        yield from _families(_by_team_label(t, self.team_label) if self.team_label else t)
        yield GaugeMetricFamily(TRACKED, "Journeys whose measures this worker holds", tracked)
        yield GaugeMetricFamily(
            PENDING, "Journeys adopted by this worker whose measures are not computed yet", pending
        )


def _decode(raw: bytes) -> JourneyState:
    return decode_stored(raw)[1]


def _by_team_label(t: Totals, team_label: Callable[[str], str]) -> Totals:
    """``t`` with every ``team`` label value passed through ``team_label``: teams not on the
    roster add up under one label (``other``), so ingested text never becomes a label."""
    at = {m.name: m.labels.index("team") for m in MEASURES if "team" in m.labels}
    labels: dict[str, str] = {}

    def relabelled(key: Key) -> Key:
        name, values = key
        i = at.get(name)
        if i is None:
            return key
        team = values[i]
        label = labels.get(team)
        if label is None:
            label = labels[team] = team_label(team)
        return name, (*values[:i], label, *values[i + 1 :])

    out = Totals()
    for key, n in t.counts.items():
        k = relabelled(key)
        out.counts[k] = out.counts.get(k, 0) + n
    for key, h in t.histograms.items():
        k = relabelled(key)
        mine = out.histograms.setdefault(k, HistogramTotal([0] * len(h.buckets)))
        mine.buckets = [a + b for a, b in zip(mine.buckets, h.buckets, strict=True)]
        mine.total += h.total
        mine.count += h.count
    return out


def _families(t: Totals) -> Iterable[Metric]:
    for m in MEASURES:
        if m.buckets:
            hist = HistogramMetricFamily(m.name, m.help, labels=list(m.labels))
            for (name, labels), h in sorted(t.histograms.items()):
                if name != m.name:
                    continue
                cumulative, running = [], 0
                for bound, n in zip([*map(_le, m.buckets), "+Inf"], h.buckets, strict=True):
                    running += n
                    cumulative.append((bound, float(running)))
                hist.add_metric(list(labels), cumulative, sum_value=h.total)
            yield hist
        else:
            gauge = GaugeMetricFamily(m.name, m.help, labels=list(m.labels))
            for (name, labels), n in sorted(t.counts.items()):
                if name == m.name:
                    gauge.add_metric(list(labels), float(n))
            yield gauge


def _le(bound: float) -> str:
    return repr(float(bound))  # as client_python writes a finite ``le``: 7.0
