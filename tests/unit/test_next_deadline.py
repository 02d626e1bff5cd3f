"""The contract of every rule (rules/__init__.py): clocks depend on ``as_of`` only through
the facts known on it, so the open flags cannot change before ``next_deadline``.

Random journeys are built from every payload the rules read; the dates are drawn from a few
years so that facts, transfers, Year 9, age 25 and waits meet each other.
"""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    DraftPlanIssued,
    PersonLeft,
    PersonRegistered,
    PersonUpdated,
    PhaseTransfer,
    PlacementRecorded,
    PlanAmended,
    PlanCeased,
    PlanIssued,
    PlanTransferredIn,
    ReferralClosed,
    ReferralFirstContact,
    ReferralReceived,
    RequestDecided,
    ReviewDecided,
    ReviewDraftIssued,
    ReviewMeetingHeld,
    ReviewMeetingScheduled,
)
from services.journeys.domain.calendar import birthday_in
from services.journeys.domain.journey import Journey, fact_dates_after, fold, person, referrals
from services.journeys.domain.pack import DEFAULT_PACK, RulePack, TransitionClocks
from services.journeys.domain.rules import RULES, clocks, evaluate, next_deadline
from tests.factories import PERSON, ev

day = st.dates(min_value=date(2019, 1, 1), max_value=date(2028, 12, 31))
maybe_day = st.one_of(st.none(), day)
birth = st.dates(min_value=date(1999, 1, 1), max_value=date(2023, 12, 31))
plan_id = st.sampled_from(["P1", "P2"])
request_id = st.sampled_from(["Q1", "Q2"])
referral_id = st.sampled_from(["R1", "R2"])
outcome = st.sampled_from(["Y", "N", "A", "W", "H"])

PACKS = (
    DEFAULT_PACK,
    DEFAULT_PACK.model_copy(
        update={
            "version": "test-lead",
            "transition": TransitionClocks(upcoming_lead_months=4, infant_junior=True),
        }
    ),
)

person_payloads = st.one_of(
    st.builds(
        PersonRegistered,
        child_ref=st.just("C1"),
        date_of_birth=st.one_of(st.none(), birth),
        recorded_year_group=st.one_of(st.none(), st.integers(min_value=-3, max_value=14)),
        year_group_recorded_on=maybe_day,
    ),
    st.builds(PersonUpdated, child_ref=st.just("C1"), date_of_birth=birth),
    st.builds(PersonLeft, left_on=day),
)
assessment_payloads = st.one_of(
    st.builds(AssessmentRequested, request_id=request_id, received_on=day),
    st.builds(RequestDecided, request_id=request_id, outcome=outcome, decided_on=maybe_day),
    st.builds(
        AssessmentCompleted,
        request_id=request_id,
        outcome=outcome,
        outcome_on=maybe_day,
        exception=st.booleans(),
    ),
    st.builds(DraftPlanIssued, request_id=request_id, drafted_on=day),
)
plan_payloads = st.one_of(
    st.builds(
        PlanIssued, plan_id=plan_id, issued_on=day, request_id=st.one_of(st.none(), request_id)
    ),
    st.builds(PlanCeased, plan_id=plan_id, ceased_on=day),
    st.builds(
        PlanTransferredIn,
        plan_id=st.sampled_from(["P2", "P3"]),
        transferred_on=day,
        anchor_on=day,
    ),
    st.builds(
        PlanAmended,
        plan_id=plan_id,
        amended_on=day,
        tribunal_ordered=st.booleans(),
        names_next_setting=st.booleans(),
    ),
)
review_payloads = st.one_of(
    st.builds(
        ReviewMeetingHeld,
        plan_id=plan_id,
        meeting_on=day,
        pfa_focus=st.one_of(st.none(), st.booleans()),
        notice_sent_on=maybe_day,
        advice_circulated_on=maybe_day,
        report_sent_on=maybe_day,
    ),
    st.builds(
        ReviewDecided,
        plan_id=plan_id,
        decided_on=day,
        outcome=st.sampled_from([None, "M", "A", "C"]),
    ),
    st.builds(ReviewMeetingScheduled, plan_id=plan_id, meeting_on=day),
    st.builds(ReviewDraftIssued, plan_id=plan_id, drafted_on=day),
)
transition_payloads = st.one_of(
    st.builds(
        PhaseTransfer,
        plan_id=st.one_of(st.none(), plan_id),
        transfer_due_on=maybe_day,
        final_on=maybe_day,
    ),
    st.builds(
        PlacementRecorded,
        placement_id=st.just("S1"),
        setting=st.just("100001"),
        entry_on=maybe_day,
    ),
)
referral_payloads = st.one_of(
    st.builds(
        ReferralReceived,
        referral_id=referral_id,
        service=st.sampled_from([*sorted(DEFAULT_PACK.waits), "dentistry"]),
        received_on=day,
    ),
    st.builds(ReferralFirstContact, referral_id=referral_id, contact_on=day),
    st.builds(ReferralClosed, referral_id=referral_id, closed_on=day),
)
payloads = st.one_of(
    person_payloads,
    assessment_payloads,
    plan_payloads,
    review_payloads,
    transition_payloads,
    referral_payloads,
)


@st.composite
def journeys(draw: st.DrawFn) -> Journey:
    items = draw(st.lists(st.tuples(payloads, day), min_size=1, max_size=14))
    # most journeys have a child with a date of birth and a plan, so the transition rules run
    if draw(st.booleans()):
        items.append((PersonRegistered(child_ref="C1", date_of_birth=draw(birth)), draw(day)))
        items.append((PlanIssued(plan_id="P1", issued_on=draw(day)), draw(day)))
        meetings = st.builds(
            ReviewMeetingHeld,
            plan_id=st.just("P1"),
            meeting_on=day,
            pfa_focus=st.one_of(st.none(), st.booleans()),
        )
        items += [(m, draw(day)) for m in draw(st.lists(meetings, max_size=3))]
    return fold(PERSON, [ev(p, on=d, record=f"r{i}") for i, (p, d) in enumerate(items)])


def days_before(as_of: date, deadline: date | None, fractions: list[float]) -> set[date]:
    """Sample days of [as_of, deadline): its ends and a few points inside."""
    end = deadline or as_of + timedelta(days=4000)
    span = (end - as_of).days
    picks = {0, span - 1, *(int(f * span) for f in fractions)}
    return {as_of + timedelta(days=n) for n in picks if 0 <= n < span}


@settings(max_examples=600, deadline=None)
@given(
    journeys(),
    day,
    st.sampled_from(PACKS),
    st.lists(st.floats(min_value=0, max_value=1), max_size=4),
)
def test_open_flags_only_change_on_the_next_deadline(
    journey: Journey, as_of: date, pack: RulePack, fractions: list[float]
) -> None:
    now = evaluate(journey, as_of, pack)
    deadline = next_deadline(journey, as_of, pack)
    assert deadline is None or deadline > as_of
    for d in sorted(days_before(as_of, deadline, fractions)):
        assert evaluate(journey, d, pack) == now, (as_of, d, deadline)


TRANSITION_AND_WAITS = ("R-PHASE-UPCOMING", "R-PHASE-MISSED", "R-PFA-Y9", "R-AGE-25", "R-WAIT")


@settings(max_examples=300, deadline=None)
@given(journeys(), day, st.sampled_from(PACKS), st.integers(min_value=1, max_value=4000))
def test_every_rules_clocks_are_fixed_until_a_new_fact_is_known(
    journey: Journey, as_of: date, pack: RulePack, offset: int
) -> None:
    # the contract itself, stronger than the open flags: the clocks, not only the flags,
    # stay the same until the next fact date
    known_until = min(fact_dates_after(journey, as_of), default=date.max) - timedelta(days=1)
    later = min(as_of + timedelta(days=offset), known_until)
    for rule in RULES:
        if rule.clocks is not None:
            assert set(rule.clocks(journey, later, pack)) == set(
                rule.clocks(journey, as_of, pack)
            ), rule.rule_id


@settings(max_examples=300, deadline=None)
@given(journeys(), day, st.sampled_from(PACKS))
def test_transition_and_wait_due_dates_never_before_their_anchor(
    journey: Journey, as_of: date, pack: RulePack
) -> None:
    who = person(journey)
    dob = who.date_of_birth if who is not None else None
    cohort_by_formula = who is not None and who.recorded_year_group is None
    received = {r.referral_id: r.received_on for r in referrals(journey)}
    for c in clocks(journey, as_of, pack):
        if c.rule_id not in TRANSITION_AND_WAITS:
            continue
        assert c.closes_on is None or c.opens_on < c.closes_on, c
        if c.rule_id == "R-WAIT":
            assert c.due_on > received[c.subject.split(":")[1]], c
        if c.rule_id == "R-AGE-25":
            assert dob is not None
            assert birthday_in(dob.year + 25, dob) <= c.due_on < birthday_in(dob.year + 26, dob)
        if c.rule_id.startswith("R-PHASE") and dob is not None and cohort_by_formula:
            assert c.due_on > dob, c
