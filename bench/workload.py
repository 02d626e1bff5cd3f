"""Synthetic children with long SEND histories, as events: the benchmarks' workload.

The issue's national case is 640,000 plans with ~30 events each; the demo authority has ~5
events per child. Each child here has a request, assessment and plan, then three review
events (booked, held, decided) per year of the plan, placements and a health referral, so
~30 events per child on average. About one plan in seven has its latest review missing
(R-AR-DUE raised), and some referrals wait too long (R-WAIT), so the worker raises flags.
Deterministic for a seed; events are shuffled as a replay of many exports would mix them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from schemas.authority import sources_for
from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    DraftPlanIssued,
    Event,
    PersonRegistered,
    PlacementRecorded,
    PlanIssued,
    ReferralFirstContact,
    ReferralReceived,
    RequestDecided,
    ReviewDecided,
    ReviewMeetingHeld,
    ReviewMeetingScheduled,
    make_event,
)
from services.journeys.domain.calendar import add_months

TODAY = date(2026, 11, 23)


def person_key(i: int) -> str:
    """64 hex characters, like the HMAC person keys ingest makes (key size drives memory)."""
    return hashlib.sha256(f"bench-child-{i}".encode()).hexdigest()


def _at(d: date) -> datetime:
    return datetime.combine(d, time(9), tzinfo=UTC)


def child_events(i: int, rng: random.Random, today: date = TODAY) -> list[Event]:
    pk, n = person_key(i), 0
    events: list[Event] = []

    def add(payload: object, on: date) -> None:
        nonlocal n
        n += 1
        events.append(
            make_event(
                source_system=sources_for(payload.type)[0],  # type: ignore[attr-defined]
                source_record_key=f"c{i}:{n}",
                person_key=pk,
                occurred_at=_at(on),
                recorded_at=_at(on),
                payload=payload,
            )
        )

    born = today - timedelta(days=rng.randint(4 * 365, 18 * 365))
    received = born + timedelta(days=rng.randint(3 * 365, (today - born).days - 200))
    add(
        PersonRegistered(
            child_ref=f"C{i}",
            date_of_birth=born,
            caseworker_id=f"cw-{i % 40:02d}",
            team=("north", "south", "east", "west")[i % 4],
        ),
        received,
    )
    add(AssessmentRequested(request_id=f"R{i}", received_on=received), received)
    add(
        RequestDecided(request_id=f"R{i}", outcome="Y", decided_on=received + timedelta(35)),
        received + timedelta(35),
    )
    issued = received + timedelta(days=rng.randint(110, 150))
    add(
        DraftPlanIssued(request_id=f"R{i}", drafted_on=issued - timedelta(20)),
        issued - timedelta(20),
    )
    add(AssessmentCompleted(request_id=f"R{i}", outcome="Y", outcome_on=issued), issued)
    add(PlanIssued(plan_id=f"P{i}", request_id=f"R{i}", issued_on=issued), issued)
    anchor, lapsed = issued, rng.random() < 0.15
    while add_months(anchor, 12) < today - timedelta(days=30):
        due = add_months(anchor, 12)
        if lapsed and add_months(due, 12) >= today - timedelta(days=30):
            break  # this child's latest review never happened
        meeting = due - timedelta(days=rng.randint(30, 60))
        add(ReviewMeetingScheduled(plan_id=f"P{i}", meeting_on=meeting), meeting - timedelta(40))
        add(ReviewMeetingHeld(plan_id=f"P{i}", meeting_on=meeting), meeting)
        anchor = meeting + timedelta(days=rng.randint(5, 20))
        add(
            ReviewDecided(plan_id=f"P{i}", decided_on=anchor, outcome="M", meeting_on=meeting),
            anchor,
        )
    for k, entry in enumerate((issued, add_months(issued, 36), add_months(issued, 84))):
        if entry < today:
            add(
                PlacementRecorded(
                    placement_id=f"S{i}:{k}", setting=f"{100000 + i % 999}", entry_on=entry
                ),
                entry,
            )
    referred = today - timedelta(days=rng.randint(30, 700))
    add(
        ReferralReceived(referral_id=f"H{i}", service="paediatrics", received_on=referred), referred
    )
    if rng.random() < 0.7:
        contact = referred + timedelta(days=rng.randint(20, 150))
        if contact < today:
            add(ReferralFirstContact(referral_id=f"H{i}", contact_on=contact), contact)
    return events


def events_for(total: int, seed: int = 7) -> Iterator[Event]:
    """At least ``total`` events, whole children only, shuffled."""
    rng = random.Random(seed)
    out: list[Event] = []
    i = 0
    while len(out) < total:
        out.extend(child_events(i, rng))
        i += 1
    rng.shuffle(out)
    yield from out[:total]


def encoded(total: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """(key, value) as ingest publishes them."""
    return [(e.person_key.encode(), e.model_dump_json().encode()) for e in events_for(total, seed)]
