"""The worker's measures collector: per-partition sums on an injected registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from schemas.events import (
    AssessmentRequested,
    PersonRegistered,
    PlanIssued,
    ReferralFirstContact,
    ReferralReceived,
    ReviewDecided,
)
from services.journeys.codec import JourneyHeader, encode_stored
from services.journeys.domain.journey import Journey, fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.state import JourneyState
from services.journeys.measures import JourneyMeasures
from tests.factories import ev

ON = date(2025, 6, 2)


def child(key: str, *payloads: object, team: str = "north") -> Journey:
    person = PersonRegistered(child_ref=f"ref-{key}", date_of_birth=date(2015, 1, 1), team=team)
    return fold(
        key,
        [
            ev(person, person_key=key, on=date(2010, 1, 1)),
            *(ev(p, person_key=key) for p in payloads),
        ],
    )


def lapsed(key: str, team: str = "north") -> Journey:
    return child(key, PlanIssued(plan_id="P", issued_on=date(2024, 1, 10)), team=team)


def reviewed(key: str, team: str = "north") -> Journey:
    return child(
        key,
        PlanIssued(plan_id="P", issued_on=date(2024, 1, 10)),
        ReviewDecided(plan_id="P", decided_on=date(2025, 1, 5)),
        team=team,
    )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    total = 0.0
    for family in registry.collect():
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def test_measures_are_exported_on_the_registry_handed_in() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry)
    measures.observe(0, b"a", lapsed("pk-a-0000000000000001"), ON)
    measures.observe(1, b"b", lapsed("pk-b-0000000000000001", team="south"), ON)
    measures.observe(1, b"c", reviewed("pk-c-0000000000000001"), ON)
    assert sample(registry, "casewatch_reviews_overdue") == 2
    assert sample(registry, "casewatch_reviews_overdue", team="south", band="12-26w") == 1
    assert sample(registry, "casewatch_plans_in_force") == 3
    assert sample(registry, "casewatch_measures_journeys") == 3


def test_a_changed_journey_replaces_its_contribution_and_redelivery_does_not_double() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry)
    for _ in range(3):  # the same journey observed again: at-least-once, no double count
        measures.observe(0, b"a", lapsed("pk-a-0000000000000001"), ON)
    assert sample(registry, "casewatch_reviews_overdue") == 1
    measures.observe(0, b"a", reviewed("pk-a-0000000000000001"), ON)  # the review was done
    assert sample(registry, "casewatch_reviews_overdue") == 0
    # the series stays, at zero, rather than vanishing from dashboards
    text = generate_latest(registry).decode()
    assert 'casewatch_reviews_overdue{band="12-26w",rule="R-AR-DUE",team="north"} 0.0' in text


def test_several_workers_each_export_their_partitions_and_the_sums_hold() -> None:
    journeys = {
        bytes([i]): (lapsed if i % 3 else reviewed)(f"pk-{i:03d}-000000000000001")
        for i in range(12)
    }
    one = CollectorRegistry()
    alone = JourneyMeasures(DEFAULT_PACK, one)
    workers = [CollectorRegistry(), CollectorRegistry()]
    shares = [JourneyMeasures(DEFAULT_PACK, r) for r in workers]
    for key, j in journeys.items():
        partition = key[0] % 4
        alone.observe(partition, key, j, ON)
        shares[partition % 2].observe(partition, key, j, ON)
    for name in ("casewatch_reviews_overdue", "casewatch_plans_in_force", "casewatch_flags_open"):
        assert sample(one, name) == sum(sample(r, name) for r in workers) > 0


def test_a_revoked_partition_leaves_the_sums() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry)
    measures.observe(0, b"a", lapsed("pk-a-0000000000000001"), ON)
    measures.observe(1, b"b", lapsed("pk-b-0000000000000001"), ON)
    measures.forget({1})
    assert sample(registry, "casewatch_reviews_overdue") == 1
    assert measures.stale(1, b"b", ON)  # the next owner observes it afresh


def test_stale_only_when_the_date_reaches_the_next_change() -> None:
    measures = JourneyMeasures(DEFAULT_PACK)
    j = lapsed("pk-a-0000000000000001")  # review due 2025-01-10: band edges at +29, +85, …
    measures.observe(0, b"a", j, date(2025, 1, 11))
    assert not measures.stale(0, b"a", date(2025, 1, 11))
    assert not measures.stale(0, b"a", date(2025, 2, 7))  # still 0-4 weeks overdue
    assert measures.stale(0, b"a", date(2025, 2, 8))  # 29 days: the 4-12 week band
    assert measures.stale(0, b"a", date(2025, 1, 1))  # the clock went back
    assert measures.due(0, date(2025, 2, 8)) == [b"a"]


def test_replace_recomputes_a_partition() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry)
    measures.observe(0, b"gone", lapsed("pk-g-0000000000000001"), ON)
    measures.replace(0, [(b"a", reviewed("pk-a-0000000000000001"))], ON)
    assert sample(registry, "casewatch_reviews_overdue") == 0
    assert sample(registry, "casewatch_measures_journeys") == 1


def test_wait_histogram_is_cumulative_with_sum_and_count() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry)
    received = ON - timedelta(days=100)
    for i, days in enumerate((10, 30, 200)):
        j = child(
            f"pk-w{i}-000000000000001",
            ReferralReceived(referral_id="F", service="salt", received_on=received),
            ReferralFirstContact(referral_id="F", contact_on=received + timedelta(days=days)),
        )
        measures.observe(0, bytes([i]), j, received + timedelta(days=250))
    name = "casewatch_wait_completed_days"
    assert sample(registry, f"{name}_bucket", service="salt", le="14.0") == 1
    assert sample(registry, f"{name}_bucket", service="salt", le="42.0") == 2
    assert sample(registry, f"{name}_bucket", service="salt", le="+Inf") == 3
    assert sample(registry, f"{name}_count", service="salt") == 3
    assert sample(registry, f"{name}_sum", service="salt") == 240
    assert (
        sample(registry, "casewatch_waits_completed_12m", service="salt", within_standard="true")
        == 2
    )


def test_exposition_names_no_child() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry)
    key = "pk-secret-000000000000001"
    measures.observe(
        0,
        key.encode(),
        child(key, AssessmentRequested(request_id="R1", received_on=ON - timedelta(days=150))),
        ON,
    )
    text = generate_latest(registry).decode()
    assert "casewatch_ehc_assessments_open" in text
    for value in (key, "ref-", "2015-01-01", "R1"):
        assert value not in text


def stored(j: Journey, partition: int) -> bytes:
    return encode_stored(JourneyHeader(partition, 0, False), JourneyState(journey=j))


def test_adopted_partitions_are_computed_by_later_ticks_within_the_budget() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry, partitions=2)
    table = {
        f"k{i}".encode(): stored(lapsed(f"pk-{i:02d}-00000000000001"), i % 2) for i in range(6)
    }
    assert measures.adopt({0}, table.items()) == 3  # partition 1 belongs to another worker
    assert sample(registry, "casewatch_measures_pending") == 3
    read = lambda key, partition: table.get(key)  # noqa: E731
    measures.refresh(0, ON, [], read)
    assert sample(registry, "casewatch_measures_pending") == 0
    assert sample(registry, "casewatch_reviews_overdue") == 3


def test_refresh_takes_evaluated_journeys_and_those_the_date_moved() -> None:
    registry = CollectorRegistry()
    measures = JourneyMeasures(DEFAULT_PACK, registry)
    j = lapsed("pk-a-0000000000000001")  # review due 2025-01-10
    table = {b"a": stored(j, 0)}

    @dataclass
    class Change:
        key: bytes
        partition: int
        after: JourneyState

    first = date(2025, 1, 11)
    assert measures.refresh(0, first, [Change(b"a", 0, JourneyState(journey=j))], table.get) == 1
    assert sample(registry, "casewatch_reviews_overdue", band="0-4w") == 1
    assert measures.due(0, date(2025, 2, 7)) == []  # nothing moves until day 29
    read = lambda key, partition: table.get(key)  # noqa: E731
    assert measures.refresh(0, date(2025, 2, 8), [], read) == 1
    assert sample(registry, "casewatch_reviews_overdue", band="0-4w") == 0
    assert sample(registry, "casewatch_reviews_overdue", band="4-12w") == 1


def test_partitions_adopted_by_key_share_the_index_keys_and_compute_the_same() -> None:
    from services.journeys.scheduling import EvaluationSchedule

    table = {f"k{i}".encode(): stored(lapsed(f"pk-{i:02d}-00000000000001"), 0) for i in range(4)}
    schedule = EvaluationSchedule(
        settle=1.0, verify_every=1e9, tick_seconds=1.0, pack_version=DEFAULT_PACK.version
    )
    from services.journeys.codec import decode_header

    schedule.adopt(0, [(bytes(bytearray(k)), decode_header(v)) for k, v in table.items()], 0.0)
    by_key = JourneyMeasures(DEFAULT_PACK, CollectorRegistry())
    assert by_key.adopt_keys(0, schedule.keys(0)) == 4
    by_table = JourneyMeasures(DEFAULT_PACK, CollectorRegistry())
    by_table.adopt({0}, table.items())
    read = lambda key, partition: table.get(key)  # noqa: E731
    by_key.refresh(0, ON, [], read)
    by_table.refresh(0, ON, [], read)
    assert by_key.totals() == by_table.totals()
    indexed = {id(k) for k in schedule.keys(0)}
    assert {id(k) for k in by_key._partitions[0].entries} <= indexed
