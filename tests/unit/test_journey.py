"""The fold: idempotent, order independent, and the flag lifecycle of ``step``."""

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import AssessmentRequested, PersonRegistered, PlanIssued, ReviewDecided
from services.journeys.domain.journey import fold, person, plans, requests
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules.review import review_due
from services.journeys.domain.state import JourneyState, step
from tests.factories import PERSON, ev


def test_duplicate_event_changes_nothing() -> None:
    e = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 1)))
    once = fold(PERSON, [e])
    assert fold(PERSON, [e, e, e]) == once
    from services.journeys.domain.journey import apply

    assert apply(once, e) is once


def test_later_version_of_a_fact_wins_whatever_the_order() -> None:
    old = ev(PersonRegistered(child_ref="C1", caseworker_id="cw-a"), on=date(2025, 1, 1))
    new = ev(PersonRegistered(child_ref="C1", caseworker_id="cw-b"), on=date(2025, 6, 1))
    for order in ([old, new], [new, old]):
        p = person(fold(PERSON, order))
        assert p is not None and p.caseworker_id == "cw-b"


day = st.dates(min_value=date(2018, 1, 1), max_value=date(2026, 12, 31))
payloads = st.one_of(
    st.builds(
        PlanIssued,
        plan_id=st.sampled_from(["P1", "P2"]),
        issued_on=day,
        request_id=st.sampled_from([None, "R1"]),
    ),
    st.builds(
        ReviewDecided,
        plan_id=st.sampled_from(["P1", "P2"]),
        decided_on=day,
        outcome=st.sampled_from([None, "M", "A", "C"]),
    ),
    st.builds(AssessmentRequested, request_id=st.sampled_from(["R1", "R2"]), received_on=day),
    st.builds(
        PersonRegistered, child_ref=st.just("C1"), caseworker_id=st.sampled_from(["cw-a", "cw-b"])
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(payloads, day), min_size=1, max_size=12), st.randoms(), day)
def test_fold_is_order_independent_and_ignores_duplicates(items, rnd, as_of) -> None:
    events = [ev(p, on=d) for p, d in items]
    shuffled = events + events[: len(events) // 2]
    rnd.shuffle(shuffled)
    a, b = fold(PERSON, events), fold(PERSON, shuffled)
    assert a == b
    assert JourneyState(journey=a).model_dump() == JourneyState(journey=b).model_dump()
    from services.journeys.domain.rules import evaluate

    assert evaluate(a, as_of, DEFAULT_PACK) == evaluate(b, as_of, DEFAULT_PACK)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(payloads, day), min_size=1, max_size=12), day)
def test_review_due_is_never_before_its_anchor(items, as_of) -> None:
    journey = fold(PERSON, [ev(p, on=d) for p, d in items])
    for plan in plans(journey):
        due = review_due(plan, as_of, DEFAULT_PACK)
        assert due > plan.issued_on
        assert all(due > d.decided_on for d in plan.review_decisions if d.decided_on <= as_of)


def test_step_raises_once_then_resolves_when_review_is_held() -> None:
    state = JourneyState.new(PERSON)
    issued = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 3, 1)))
    state, changes = step(state, [issued], date(2025, 4, 1), DEFAULT_PACK)
    assert [f.rule_id for f in changes.raised] == ["R-AR-DUE"] and not changes.resolved
    raised = changes.raised[0]

    again, nothing = step(state, [], date(2025, 4, 2), DEFAULT_PACK)
    assert not nothing and again is state  # unchanged journey, same flag: nothing new

    review = ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 4, 10), outcome="M"))
    state, changes = step(state, [review], date(2025, 4, 11), DEFAULT_PACK)
    assert changes.resolved == (raised,) and not changes.raised
    assert state.open_flags == {}


def test_state_round_trips_through_json() -> None:
    state = JourneyState.new(PERSON)
    events = [
        ev(PlanIssued(plan_id="P1", issued_on=date(2024, 3, 1))),
        ev(PersonRegistered(child_ref="C1", date_of_birth=date(2015, 2, 1))),
    ]
    state, _ = step(state, events, date(2025, 4, 1), DEFAULT_PACK)
    assert JourneyState.model_validate_json(state.model_dump_json()) == state


def test_a_correction_that_moves_a_date_earlier_replaces_the_old_fact() -> None:
    # export of 1 May says received 10 March; the export of 1 June corrects it to 3 March
    first = ev(
        AssessmentRequested(request_id="R1", received_on=date(2025, 3, 10)), on=date(2025, 5, 1)
    )
    corrected = ev(
        AssessmentRequested(request_id="R1", received_on=date(2025, 3, 3)), on=date(2025, 6, 1)
    )
    for order in ([first, corrected], [corrected, first]):
        (request,) = requests(fold(PERSON, order))
        assert request.received_on == date(2025, 3, 3)


def test_restating_a_fact_later_bumps_its_version_not_its_value() -> None:
    x1 = ev(PersonRegistered(child_ref="C1", caseworker_id="cw-a"), on=date(2025, 1, 1))
    y = ev(PersonRegistered(child_ref="C1", caseworker_id="cw-b"), on=date(2025, 2, 1))
    x3 = ev(PersonRegistered(child_ref="C1", caseworker_id="cw-a"), on=date(2025, 3, 1))
    assert x1.event_id == x3.event_id  # same content, same id
    for order in ([x1, y, x3], [x1, x3, y], [x3, y, x1], [y, x3, x1]):
        p = person(fold(PERSON, order))
        assert p is not None and p.caseworker_id == "cw-a", order


def test_person_updated_replaces_the_registration() -> None:
    from schemas.events import PersonUpdated

    registered = ev(PersonRegistered(child_ref="C1", caseworker_id="cw-a"), on=date(2025, 1, 1))
    updated = ev(
        PersonUpdated(child_ref="C1", caseworker_id="cw-b", team="south"), on=date(2025, 2, 1)
    )
    p = person(fold(PERSON, [updated, registered]))
    assert p is not None and (p.caseworker_id, p.team) == ("cw-b", "south")
