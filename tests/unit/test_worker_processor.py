"""The worker's decisions without faust: a dict stands in for the journey table."""

from datetime import UTC, date, datetime, timedelta

from schemas.events import (
    Event,
    PersonRegistered,
    PlanIssued,
    ReferralClosed,
    ReferralFirstContact,
    ReferralReceived,
    ReviewDecided,
)
from services.journeys.codec import decode_header, decode_stored, encode_stored
from services.journeys.config import WorkerTuning
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.processor import JourneyProcessor, Record
from services.journeys.scheduling import EvaluationSchedule
from tests.factories import PERSON, ev

AS_OF = date(2025, 3, 1)
WALL = datetime(2025, 3, 1, 12, tzinfo=UTC)
KEY = PERSON.encode()
PLAN = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 1)))  # review due 1 Jan 2025
WHO = ev(PersonRegistered(child_ref="C1", caseworker_id="cw-1"), on=date(2024, 1, 1))
REVIEW = ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 2, 1)))


class Table(dict[bytes, bytes]):
    def read(self, key: bytes, partition: int) -> bytes | None:
        return self.get(key)


def worker(table: Table, cache: int = 100) -> JourneyProcessor:
    schedule = EvaluationSchedule(
        settle=1.0, verify_every=1e9, tick_seconds=1.0, pack_version=DEFAULT_PACK.version
    )
    schedule.adopt(0, [], now=0.0)
    tuning = WorkerTuning(cache_journeys=cache)
    return JourneyProcessor(
        table.read, pack=DEFAULT_PACK, tuning=tuning, schedule=schedule, partitions=4
    )


def records(*events: object, start: int = 0) -> list[Record]:
    return [
        Record(KEY, e.model_dump_json().encode(), 0, start + n)  # type: ignore[attr-defined]
        for n, e in enumerate(events)
    ]


def fold(p: JourneyProcessor, table: Table, batch: list[Record], mono: float = 0.0) -> int:
    folded = p.fold(batch, wall=WALL, mono=mono)
    for change in folded.changes:
        table[change.key] = change.value
    return len(folded.changes)


def test_a_batch_writes_each_changed_journey_once() -> None:
    table = Table()
    p = worker(table)
    assert fold(p, table, records(PLAN, WHO, PLAN)) == 1
    header, state = decode_stored(table[KEY])
    assert (header.partition, header.offset, header.pending) == (0, 1, True)
    assert len(state.journey.facts) == 2


def test_redelivered_events_change_nothing_and_are_not_even_decoded() -> None:
    table = Table()
    p = worker(table)
    fold(p, table, records(PLAN, WHO))
    again = p.fold(records(PLAN, WHO), wall=WALL, mono=0.0)
    assert again.redelivered == 2 and not again.changes and not again.dead
    garbage = [Record(KEY, b"not even json", 0, 1)]  # at or below the applied position
    assert p.fold(garbage, wall=WALL, mono=0.0).redelivered == 1
    republished = p.fold(records(PLAN, start=10), wall=WALL, mono=0.0)  # same id, new offset
    assert not republished.changes and len(republished.events) == 1


def test_poison_is_dead_lettered_and_good_events_around_it_folded() -> None:
    table = Table()
    p = worker(table)
    future = ev(PlanIssued(plan_id="P9", issued_on=date(2024, 1, 1)), on=date(2030, 1, 1))
    batch = [
        *records(PLAN),
        Record(KEY, b"\xff", 0, 1),
        Record(None, PLAN.model_dump_json().encode(), 0, 2),
        *records(future, WHO, start=3),
    ]
    folded = p.fold(batch, wall=WALL, mono=0.0)
    assert [letter.reason for _, letter in folded.dead] == [
        "undecodable",
        "key_mismatch",
        "future_dated",
    ]
    assert len(folded.changes) == 1 and len(folded.changes[0].after.journey.facts) == 2


def test_a_settled_journey_is_evaluated_once_then_only_on_its_deadline() -> None:
    table = Table()
    p = worker(table)
    fold(p, table, records(PLAN, WHO), mono=0.0)
    early = date(2024, 6, 1)  # before R-AR-WARN opens (review due 1 Jan 2025 - 84 days)
    assert not p.tick(0, as_of=early, wall=WALL, mono=0.5, budget=1.0).evaluated
    swept = p.tick(0, as_of=early, wall=WALL, mono=1.5, budget=1.0)
    assert swept.evaluated == {"changed": 1} and not swept.flags
    assert [k for k, _ in swept.snapshots] == [KEY]
    (change,) = swept.changes
    table[change.key] = change.value
    header = decode_header(table[KEY])
    assert not header.pending and header.due == date(2024, 10, 9)
    assert not p.tick(0, as_of=early, wall=WALL, mono=2.5, budget=1.0).evaluated
    on_deadline = p.tick(0, as_of=header.due, wall=WALL, mono=3.5, budget=1.0)
    assert on_deadline.evaluated == {"due": 1}
    assert [(r.rule_id, r.status) for _, _, r in on_deadline.flags] == [("R-AR-WARN", "raised")]


def test_a_new_event_resolves_the_flag_after_settling() -> None:
    table = Table()
    p = worker(table, cache=0)  # every read from the table, as after a restart
    fold(p, table, records(PLAN, WHO), mono=0.0)
    for change in p.tick(0, as_of=AS_OF, wall=WALL, mono=1.5, budget=1.0).changes:
        table[change.key] = change.value
    fold(p, table, records(REVIEW, start=2), mono=2.0)
    swept = p.tick(0, as_of=AS_OF, wall=WALL + timedelta(seconds=5), mono=3.5, budget=1.0)
    assert [(r.rule_id, r.status) for _, _, r in swept.flags] == [("R-AR-DUE", "resolved")]


def test_a_crash_before_evaluation_is_found_again_when_the_partition_is_adopted() -> None:
    table = Table()
    fold(worker(table), table, records(PLAN, WHO), mono=0.0)
    restarted = worker(table)
    restarted.schedule.forget(0)
    assert restarted.adopt({0}, table.items(), mono=100.0) == 1
    swept = restarted.tick(0, as_of=AS_OF, wall=WALL, mono=101.5, budget=1.0)
    assert swept.evaluated == {"changed": 1} and len(swept.flags) == 1


def test_every_write_is_the_full_encoding_of_header_and_state_cached_or_not() -> None:
    """Evaluations that only move the header re-use the stored JSON of the state; what they
    write must still be exactly what encoding the header and the state gives."""
    for cache in (0, 100):
        table = Table()
        p = worker(table, cache=cache)
        fold(p, table, records(PLAN, WHO), mono=0.0)
        writes = []
        for mono, as_of in ((1.5, date(2024, 6, 1)), (2.5, date(2024, 10, 9)), (3.5, AS_OF)):
            swept = p.tick(0, as_of=as_of, wall=WALL, mono=mono, budget=1.0)
            for change in swept.changes:
                header = decode_header(change.value)
                assert change.value == encode_stored(header, change.after)
                assert decode_stored(change.value) == (header, change.after)
                table[change.key] = change.value
                writes.append((header.due, len(change.after.open_flags)))
        # Header only (warning not open yet); R-AR-WARN opens, the breach is next on 2 Jan
        # (review due 1 Jan); R-AR-DUE replaces the warning and nothing else is due.
        assert writes == [(date(2024, 10, 9), 0), (date(2025, 1, 2), 1), (None, 1)]


def test_a_health_source_speaks_only_for_its_own_service_s_referrals() -> None:
    """health-salt may not record a first contact for, close, or restate a camhs referral
    (the referral's service is the journey's); health-camhs and a trust-wide health may."""
    received = ReferralReceived(referral_id="H1", service="camhs", received_on=date(2025, 1, 10))

    def by(source: str, payload: object) -> Event:
        return ev(payload).model_copy(update={"source_system": source})

    contact = ReferralFirstContact(referral_id="H1", contact_on=date(2025, 2, 1))
    closed = ReferralClosed(referral_id="H1", closed_on=date(2025, 2, 20))
    moved = ReferralReceived(referral_id="H1", service="salt", received_on=date(2025, 1, 10))
    table = Table()
    p = worker(table)
    fold(p, table, records(by("health-camhs", received)))
    intruders = [by("health-salt", contact), by("health-salt", closed), by("health-salt", moved)]
    folded = p.fold(records(*intruders, start=1), wall=WALL, mono=0.0)
    assert [letter.reason for _, letter in folded.dead] == ["not_entitled"] * 3
    assert all(
        "'health-salt'" in letter.detail and "'camhs'" in letter.detail for _, letter in folded.dead
    )
    assert not folded.changes  # the camhs referral is as health-camhs stated it
    owners = [by("health-camhs-north", contact), by("health", closed)]
    folded = p.fold(records(*owners, start=4), wall=WALL, mono=0.0)
    assert not folded.dead and len(folded.changes) == 1
    assert len(folded.changes[0].after.journey.facts) == 3


def test_a_sweep_after_a_batch_evaluates_settled_changes_and_leaves_deadlines_to_the_tick() -> None:
    table = Table()
    p = worker(table)
    fold(p, table, records(PLAN, WHO), mono=0.0)
    for change in p.tick(0, as_of=AS_OF, wall=WALL, mono=1.5, budget=1.0).changes:
        table[change.key] = change.value  # evaluated once: R-AR-DUE raised, due by the index
    later = date(2026, 1, 1)
    assert not p.tick(0, as_of=later, wall=WALL, mono=2.0, budget=1.0, settled_only=True).flags
    fold(p, table, records(REVIEW, start=2), mono=2.0)
    assert not p.tick(0, as_of=AS_OF, wall=WALL, mono=2.5, budget=1.0, settled_only=True).flags
    swept = p.tick(0, as_of=AS_OF, wall=WALL, mono=3.0, budget=1.0, settled_only=True)
    assert swept.evaluated == {"changed": 1}
    assert [(r.rule_id, r.status) for _, _, r in swept.flags] == [("R-AR-DUE", "resolved")]
