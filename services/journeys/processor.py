"""What the journeys worker does with a batch of events and with a clock tick, without faust.

``JourneyProcessor`` reads stored journeys through a function it is given, and returns what
should be written and published; ``app`` does the writing and publishing in the order that
keeps effects safe (flags acknowledged by the broker before the state that records them).

Idempotence: the fold keeps, per fact, the event id and version that stated it, so an event
delivered again changes nothing; and each stored journey carries the position of the last
event applied, so a redelivery after a crash is skipped before it is even decoded.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from kafka.partitioner.default import murmur2

from schemas.events import Event
from schemas.flags import FlagRecord
from services.journeys.admission import Check, admit
from services.journeys.codec import (
    MESSAGE_LIMIT,
    DeadLetter,
    FactFragments,
    JourneyHeader,
    decode_event,
    decode_header,
    decode_stored,
    encode_body,
    encode_flag_records,
    encode_snapshot,
    fits,
    latest_believable,
    stored_body,
    stored_value,
)
from services.journeys.config import WorkerTuning
from services.journeys.domain.assess import Assessment, assess
from services.journeys.domain.journey import Journey, apply, owner_refusal
from services.journeys.domain.pack import RulePack
from services.journeys.domain.state import JourneyState
from services.journeys.scheduling import EvaluationSchedule

ReadStored = Callable[[bytes, int], bytes | None]  # (key, partition) -> stored value
VERIFY_SHARE = 0.25  # of a tick's budget: the safety net must not starve real work


_Held = tuple[JourneyHeader, JourneyState, bytes | None]  # header, state, the state's JSON


@dataclass(frozen=True, slots=True)
class Record:
    """One message from the events topic, as much of it as the processor needs."""

    key: bytes | None
    value: bytes | None
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class JourneyChange:
    """A journey written back: ``before`` is None for a child seen for the first time."""

    key: bytes
    partition: int
    before: JourneyState | None
    after: JourneyState
    value: bytes  # what to store
    assessed: Assessment | None = None  # the evaluation that gave ``after``, if one did


@dataclass
class Folded:
    changes: list[JourneyChange] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # decoded, folded or not
    dead: list[tuple[Record, DeadLetter]] = field(default_factory=list)
    redelivered: int = 0  # skipped by position, never decoded


@dataclass
class Swept:
    changes: list[JourneyChange] = field(default_factory=list)
    flags: list[tuple[bytes, bytes, FlagRecord]] = field(default_factory=list)
    snapshots: list[tuple[bytes, bytes]] = field(default_factory=list)
    evaluated: Counter[str] = field(default_factory=Counter)  # by reason
    failed: Counter[str] = field(default_factory=Counter)  # journeys, by exception class
    oversized: Counter[str] = field(default_factory=Counter)  # records left unsent, by kind


@dataclass
class _Open:
    """A journey being worked on within one batch."""

    partition: int
    header: JourneyHeader | None
    before: JourneyState | None
    journey: Journey | None  # folded so far; the state is rebuilt once, at the batch's end
    offset: int = -1
    applied: list[tuple[Record, Event]] = field(default_factory=list)  # folded into it


@dataclass(frozen=True, slots=True)
class _Encoded:
    journey_change: JourneyChange
    header: JourneyHeader
    body: bytes

    @property
    def value(self) -> bytes:
        return self.journey_change.value

    @property
    def after(self) -> JourneyState:
        return self.journey_change.after


def partition_of(key: bytes, partitions: int) -> int:
    """The partition a key lands on with Kafka's default (murmur2) partitioner."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class JourneyProcessor:
    def __init__(
        self,
        read: ReadStored,
        *,
        pack: RulePack,
        tuning: WorkerTuning,
        schedule: EvaluationSchedule,
        partitions: int,
        check: Check = admit,
        message_limit: int = MESSAGE_LIMIT,
    ) -> None:
        self._read = read
        self.check = check  # the admission check (services.journeys.admission)
        self.message_limit = message_limit
        self.partitions = partitions
        self.pack = pack
        self.tuning = tuning
        self.schedule = schedule
        self._fragments = FactFragments(size=10 * max(tuning.cache_journeys, 1_000))
        # Decoding a stored journey costs ~30 µs; a replay touches each child many times.
        # With each, the stored JSON of its state when known: an evaluation that changes
        # only the header (most do) writes it again instead of re-encoding the journey.
        self._cache: OrderedDict[bytes, _Held] = OrderedDict()

    # --- events -------------------------------------------------------------------------

    def fold(self, records: Sequence[Record], *, wall: datetime, mono: float) -> Folded:
        """Fold a batch: one write per changed journey, whatever its number of events."""
        out = Folded()
        not_after = latest_believable(wall, self.tuning.future_tolerance_seconds)
        work: dict[bytes, _Open] = {}
        for record in records:
            self._fold_one(record, work, out, not_after)
        for key, item in work.items():
            if item.journey is not None and (
                item.before is None or item.journey is not item.before.journey
            ):
                change = self._changed(key, item, out)
                if change is not None:
                    out.changes.append(change)
                    self.schedule.changed(item.partition, key, mono)
        return out

    def _fold_one(
        self, record: Record, work: dict[bytes, _Open], out: Folded, not_after: datetime
    ) -> None:
        key = record.key
        if key is None:
            out.dead.append(
                (record, DeadLetter("key_mismatch", "message has no key", record.value))
            )
            return
        item = work.get(key) or work.setdefault(key, self._open(key, record.partition))
        header = item.header
        if header and header.partition == record.partition and record.offset <= header.offset:
            out.redelivered += 1
            return
        decoded = decode_event(key, record.value, not_after=not_after)
        if isinstance(decoded, DeadLetter):
            out.dead.append((record, decoded))
            return
        refused = self._admit(decoded, record)
        if refused is not None:
            out.dead.append((record, refused))
            return
        journey = item.journey or Journey(person_key=decoded.person_key)
        try:
            if (not_theirs := owner_refusal(journey, decoded)) is not None:
                out.dead.append((record, DeadLetter("not_entitled", not_theirs, record.value)))
                return
            folded = apply(journey, decoded)
        except Exception as exc:  # a bug met by one event stops only that event
            detail = f"the fold failed: {type(exc).__name__}"
            out.dead.append((record, DeadLetter("fold_failed", detail, record.value)))
            return
        out.events.append(decoded)
        # Every folded event, changing or not: one hidden by a later one that ``_fit`` then
        # leaves out (a correction too large to store) must be folded again.
        item.applied.append((record, decoded))
        if folded is not journey:
            item.journey = folded
            item.offset = record.offset

    def _admit(self, event: Event, record: Record) -> DeadLetter | None:
        """The admission check, before the fold: its reason, or None to fold the event."""
        try:
            reason = self.check(event)
        except Exception as exc:
            return DeadLetter(
                "check_failed", f"the check failed: {type(exc).__name__}", record.value
            )
        if reason is None:
            return None
        return DeadLetter(reason, f"refused by the admission check: {reason}", record.value)

    def _changed(self, key: bytes, item: _Open, out: Folded) -> JourneyChange | None:
        """The journey written back, or — when it cannot be encoded or would exceed the
        message limit — as much of the batch as fits, the rest dead-lettered (``_fit``)."""
        assert item.journey is not None
        try:
            change = self._change(key, item, item.journey, item.offset)
        except Exception as exc:
            return self._fit(key, item, out, f"unencodable: {type(exc).__name__}")
        if not fits(key, change.value, self.message_limit):
            return self._fit(key, item, out, "journey_too_large")
        self._remember(key, change.header, change.after, change.body)
        return change.journey_change

    def _change(self, key: bytes, item: _Open, journey: Journey, offset: int) -> _Encoded:
        before = item.before
        if before is None:
            state = JourneyState(journey=journey)
        else:
            state = before.model_copy(update={"journey": journey})
        old = item.header
        due, pack = (old.due, old.pack) if old else (None, None)
        header = JourneyHeader(item.partition, offset, True, due, pack)
        body = encode_body(state, self._fragments)
        value = stored_value(header, body)
        return _Encoded(JourneyChange(key, item.partition, before, state, value), header, body)

    def _fit(self, key: bytes, item: _Open, out: Folded, why: str) -> JourneyChange | None:
        """Fold the batch's events of one journey again, one at a time, keeping each only
        if the journey still encodes within the limit; the others are dead-lettered with
        ``why`` (the journey stays as it was before them). A rare path: it encodes the
        journey once per event."""
        reason = why.partition(":")[0]
        journey = item.before.journey if item.before else None
        kept: _Encoded | None = None
        for record, event in item.applied:
            base = journey or Journey(person_key=event.person_key)
            candidate = apply(base, event)
            if candidate is base and kept is not None:
                continue  # nothing to encode again
            try:
                encoded = self._change(key, item, candidate, record.offset)
                ok = fits(key, encoded.value, self.message_limit)
            except Exception:
                ok = False
            if ok:
                journey, kept = candidate, encoded
            else:
                detail = f"the journey would not be stored ({why})"
                out.dead.append((record, DeadLetter(reason, detail, record.value)))
        if kept is None:
            return None
        self._remember(key, kept.header, kept.after, kept.body)
        return kept.journey_change

    # --- clock --------------------------------------------------------------------------

    def adopt(
        self, partitions: set[int], stored: Iterable[tuple[bytes, bytes]], mono: float
    ) -> int:
        """Build the deadline index of ``partitions`` in one pass over the stored journeys."""
        found: dict[int, list[tuple[bytes, JourneyHeader]]] = {p: [] for p in partitions}
        for key, raw in stored:
            header = decode_header(raw)
            partition = header.partition
            if partition < 0:  # stored before headers existed
                partition = partition_of(key, self.partitions)
            if partition in found:
                found[partition].append((key, header))
        return sum(self.schedule.adopt(p, found[p], mono) for p in sorted(partitions))

    def tick(
        self,
        partition: int,
        *,
        as_of: date,
        wall: datetime,
        mono: float,
        budget: float,
        changed_budget: float | None = None,
        backlog: bool = False,
        settled_only: bool = False,
    ) -> Swept:
        """Evaluate what is settled, due or next to verify: the clock's work (due, verify)
        within ``budget`` seconds, settled changes within ``changed_budget`` (default the
        same) — after a replay there are many, and nothing else is waiting. With
        ``settled_only`` (after a batch of events, between ticks) only settled changes."""
        out = Swept()
        plan = self.schedule.plan(
            partition, mono, as_of, limit=10_000, backlog=backlog, settled_only=settled_only
        )
        seen: set[bytes] = set()
        for reason, keys, allowed in (
            ("changed", plan.settled, changed_budget or budget),
            ("due", plan.due, budget),
            ("verify", plan.verify, budget * VERIFY_SHARE),
        ):
            started = time.perf_counter()
            for key in keys:
                if time.perf_counter() - started > allowed:
                    break
                if key not in seen:
                    seen.add(key)
                    self._evaluate(key, partition, reason, as_of, wall, out)
        return out

    def _evaluate(
        self, key: bytes, partition: int, reason: str, as_of: date, wall: datetime, out: Swept
    ) -> None:
        """Evaluate one journey; all of its effects or none. A journey that cannot be
        evaluated or encoded within the message limit is counted in ``out.failed`` and
        left as stored (its flags unpublished, so none is lost): the rolling
        re-evaluation tries it again."""
        try:
            done = self._assess(key, partition, reason, as_of, wall, out)
        except Exception as exc:  # one journey never stops the clock
            done = type(exc).__name__
        if done is not None:
            out.failed[done] += 1
            self.schedule.evaluated(partition, key, None)
            self._cache.pop(key, None)

    def _assess(
        self, key: bytes, partition: int, reason: str, as_of: date, wall: datetime, out: Swept
    ) -> str | None:
        loaded = self._load(key, partition)
        if loaded is None:  # gone from the table (never expected): stop tracking it
            self.schedule.evaluated(partition, key, None)
            return None
        header, state, body = loaded
        assessed = assess(state, as_of, self.pack)
        due, pack = assessed.next_due, self.pack.version
        flags = []
        if assessed.changes:
            flags = list(
                encode_flag_records(
                    assessed.state, assessed.changes, as_of=as_of, pack=self.pack, now=wall
                )
            )
            if not all(fits(k, v, self.message_limit) for k, v, _ in flags):
                return "flag_too_large"
        view = None
        if assessed.changes or reason == "changed":
            view = encode_snapshot(
                assessed.state, as_of=as_of, pack=self.pack, now=wall, assessed=assessed
            )
            if not fits(key, view, self.message_limit):
                out.oversized["snapshot"] += 1
                view = None
        new = JourneyHeader(header.partition, header.offset, False, due, pack)
        change = None
        if new != header or assessed.changes:
            if body is None or assessed.state is not state:
                body = encode_body(assessed.state, self._fragments)
            value = stored_value(new, body)
            if not fits(key, value, self.message_limit):
                return "journey_too_large"
            self._remember(key, new, assessed.state, body)
            change = JourneyChange(key, partition, state, assessed.state, value, assessed)
        out.evaluated[reason] += 1
        self.schedule.evaluated(partition, key, due)
        out.flags.extend(flags)
        if view is not None:
            out.snapshots.append((key, view))
        if change is not None:
            out.changes.append(change)
        return None

    # --- stored journeys ----------------------------------------------------------------

    def _open(self, key: bytes, partition: int) -> _Open:
        loaded = self._load(key, partition)
        if loaded is None:
            return _Open(partition, None, None, None)
        header, state, _ = loaded
        return _Open(partition, header, state, state.journey, header.offset)

    def _load(self, key: bytes, partition: int) -> _Held | None:
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        raw = self._read(key, partition)
        if raw is None:
            return None
        header, state = decode_stored(raw)
        body = stored_body(raw)
        self._remember(key, header, state, body)
        return header, state, body

    def _remember(
        self, key: bytes, header: JourneyHeader, state: JourneyState, body: bytes | None
    ) -> None:
        if self.tuning.cache_journeys <= 0:
            return
        self._cache[key] = (header, state, body)
        self._cache.move_to_end(key)
        while len(self._cache) > self.tuning.cache_journeys:
            self._cache.popitem(last=False)

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions left this worker: their next owner is the only writer now."""
        for partition in partitions:
            self.schedule.forget(partition)
        self._cache.clear()  # cheap to refill; never serve a journey another worker changed
