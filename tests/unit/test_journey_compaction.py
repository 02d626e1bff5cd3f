"""Bounded journeys: the longest history the rules allow fits one message, and compacting
settled history changes no flag, clock, deadline or measure."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    Event,
    PersonRegistered,
    PersonUpdated,
    PlacementRecorded,
    PlanIssued,
    ReferralClosed,
    ReferralFirstContact,
    ReferralReceived,
    RequestDecided,
    ReviewDecided,
    ReviewMeetingHeld,
)
from services.journeys.codec import (
    BODY_BYTES_MAX,
    JourneyHeader,
    decode_stored,
    encode_snapshot,
    encode_state,
    encode_stored,
)
from services.journeys.domain.compact import HORIZON_DAYS, compact, cutoff_of
from services.journeys.domain.journey import Journey, apply, fold
from services.journeys.domain.measures import contribution
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import clocks, evaluate, next_deadline
from services.journeys.domain.state import JourneyState
from tests.longest import (
    MESSAGE_MAX,
    PERSON_KEY,
    SERVICES,
    History,
    longest_journey,
    many_settled_referrals,
)


def same_evaluation(before: Journey, after: Journey, on: date) -> None:
    pack = DEFAULT_PACK
    assert evaluate(after, on, pack) == evaluate(before, on, pack)
    assert sorted(map(repr, clocks(after, on, pack))) == sorted(map(repr, clocks(before, on, pack)))
    assert next_deadline(after, on, pack) == next_deadline(before, on, pack)
    assert contribution(after, on, pack) == contribution(before, on, pack)


def evaluation_dates(journey: Journey) -> list[date]:
    """From the day before the latest record (the worker's earliest possible clock) on."""
    latest = max(f.recorded_at.date() for f in journey.facts.values())
    first = latest - timedelta(days=1)
    return [first, *(first + timedelta(days=d) for d in (1, 30, 200, 365, 366, 800, 4000))]


def test_the_longest_journey_over_25_years_fits_one_message_unchanged() -> None:
    events = longest_journey()
    journey = fold(PERSON_KEY, events)
    assert len(journey.facts) > 600  # every fact of 25 full years
    state = JourneyState(journey=journey)
    raw = encode_stored(JourneyHeader(11, 2**40, True, date(2100, 1, 1), "x" * 40), state)
    assert len(raw) < MESSAGE_MAX
    _, stored = decode_stored(raw)
    for on in evaluation_dates(journey):
        same_evaluation(journey, stored.journey, on)
    compacted = compact(journey)
    assert len(compacted.facts) < len(journey.facts)  # there is settled history
    for on in evaluation_dates(journey):
        same_evaluation(journey, compacted, on)


def test_a_journey_beyond_one_message_is_compacted_and_still_says_the_same() -> None:
    """Eight requests and six referrals a year for 25 years: more than a message holds even
    compressed (hex identifiers at their longest); stored compacted, nothing changes."""
    events = [*longest_journey(), *many_settled_referrals()]
    journey = fold(PERSON_KEY, events)
    state = JourneyState(journey=journey)
    assert len(encode_state(state)) > 3 * BODY_BYTES_MAX
    now = datetime(2026, 1, 1, tzinfo=UTC)
    view = encode_snapshot(state, as_of=now.date(), pack=DEFAULT_PACK, now=now)
    assert len(view) < MESSAGE_MAX  # the snapshot's timeline and clocks are capped too
    raw = encode_stored(JourneyHeader(0, 1, True), state)
    assert len(raw) < MESSAGE_MAX
    _, stored = decode_stored(raw)
    assert len(stored.journey.facts) < len(journey.facts) and stored.journey.settled
    for on in evaluation_dates(journey):
        same_evaluation(journey, stored.journey, on)
    # redelivered or re-published, the settled facts change nothing
    again = fold(PERSON_KEY, events, stored.journey)
    assert again == stored.journey


# --- hypothesis: any journey, compacted, says the same from its latest record on ----------

Maker = Callable[[History, int, date], None]


def referral(h: History, n: int, on: date, stop: int | None, closed: bool) -> None:
    ref = f"H{n}"
    h.add(ReferralReceived(referral_id=ref, service=SERVICES[n % 6], received_on=on), on)
    if stop is not None:
        kind = (
            ReferralClosed(referral_id=ref, closed_on=on + timedelta(stop))
            if closed
            else (ReferralFirstContact(referral_id=ref, contact_on=on + timedelta(stop)))
        )
        h.add(kind, on + timedelta(stop))


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    h = History()
    rng = random.Random(draw(st.integers(0, 2**32)))
    first = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2020, 1, 1)))
    span = draw(st.integers(30, 25 * 365))
    born = first - timedelta(days=rng.randint(0, 15 * 365))
    h.add(PersonRegistered(child_ref="C1", date_of_birth=born), first)
    plans: list[str] = []
    for n in range(draw(st.integers(0, 40))):
        on = first + timedelta(days=rng.randint(0, span))
        kind = rng.choice(("referral", "request", "placement", "plan", "review"))
        lag = rng.choice((0, 1, 5, 400))
        if kind == "referral":
            stop = rng.choice((None, rng.randint(0, 800)))
            referral(h, n, on, stop, rng.random() < 0.5)
        elif kind == "request":
            rid = f"R{n}"
            h.add(AssessmentRequested(request_id=rid, received_on=on), on, lag)
            if rng.random() < 0.8:
                outcome = rng.choice(("Y", "N", "W", "A", "H"))
                decided = on + timedelta(rng.randint(0, 200))
                h.add(RequestDecided(request_id=rid, outcome=outcome, decided_on=decided), decided)
            if rng.random() < 0.5:
                done = on + timedelta(rng.randint(0, 400))
                outcome = rng.choice(("Y", "N", "A", "W"))
                h.add(AssessmentCompleted(request_id=rid, outcome=outcome, outcome_on=done), done)
            if rng.random() < 0.3:
                pid = f"P{n}"
                issued = on + timedelta(rng.randint(50, 400))
                h.add(PlanIssued(plan_id=pid, request_id=rid, issued_on=issued), issued)
                plans.append(pid)
        elif kind == "placement":
            leaving = on + timedelta(rng.randint(0, 900)) if rng.random() < 0.6 else None
            h.add(
                PlacementRecorded(
                    placement_id=f"L{n}", setting="100001", entry_on=on, leaving_on=leaving
                ),
                on,
            )
        elif kind == "plan":
            pid = f"P{n}"
            h.add(PlanIssued(plan_id=pid, issued_on=on), on, lag)
            plans.append(pid)
        elif plans:
            pid = rng.choice(plans)
            h.add(ReviewMeetingHeld(plan_id=pid, meeting_on=on), on)
            h.add(ReviewDecided(plan_id=pid, decided_on=on + timedelta(20)), on + timedelta(20))
    return h.events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=histories(), later=st.integers(0, 3000), seed=st.integers(0, 2**16))
def test_compaction_changes_nothing_from_the_latest_record_on(
    events: list[Event], later: int, seed: int
) -> None:
    journey = fold(PERSON_KEY, events)
    compacted = compact(journey)
    cutoff = cutoff_of(journey)
    assert cutoff is not None
    for on in (*evaluation_dates(journey), cutoff + timedelta(days=HORIZON_DAYS + later)):
        same_evaluation(journey, compacted, on)
    random.Random(seed).shuffle(events)
    assert fold(PERSON_KEY, events, compacted) == compacted  # redelivery changes nothing
    assert compact(compacted) == compacted  # settled once and for all
    if compacted is not journey:
        assert apply(compacted, events[0]) is compacted


def test_compaction_keeps_what_the_clocks_still_need() -> None:
    h = History()
    h.add(PersonRegistered(child_ref="C1", date_of_birth=date(2005, 1, 1)), date(2006, 1, 1))
    referral(h, 1, date(2010, 1, 1), 30, closed=False)  # settled
    referral(h, 2, date(2010, 1, 1), None, closed=False)  # still waiting: R-WAIT open
    h.add(AssessmentRequested(request_id="R1", received_on=date(2010, 2, 1)), date(2010, 2, 1))
    h.add(AssessmentRequested(request_id="R2", received_on=date(2010, 2, 1)), date(2010, 2, 1))
    h.add(
        RequestDecided(request_id="R2", outcome="N", decided_on=date(2010, 3, 1)),
        date(2010, 3, 1),
    )
    h.add(PersonUpdated(child_ref="C1", date_of_birth=date(2005, 1, 1)), date(2020, 1, 1))
    journey = fold(PERSON_KEY, h.events)
    compacted = compact(journey)
    assert sorted(set(journey.facts) - set(compacted.facts)) == [
        "referral-contact:H1",
        "referral:H1",
        "request-decision:R2",
        "request:R2",
    ]
    assert len(compacted.settled) == 2
    same_evaluation(journey, compacted, date(2020, 1, 2))
    assert evaluate(compacted, date(2020, 1, 2), DEFAULT_PACK)  # R1 and H2 still flagged
