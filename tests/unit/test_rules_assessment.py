"""R-DECIDE-6W, R-NOT-ISSUE-16W, R-DRAFT-WARN (and R-ISSUE-20W's neighbours), rules.md §2."""

from datetime import date

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    DraftPlanIssued,
    PersonLeft,
    RequestDecided,
)
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate, next_deadline
from tests.factories import PERSON, ev

RECEIVED = date(2025, 1, 6)  # +42 = 17 Feb, +112 = 28 Apr, +140 = 26 May 2025
REQUEST = ev(AssessmentRequested(request_id="R1", received_on=RECEIVED))


def flags(events, as_of, rule):
    found = evaluate(fold(PERSON, events), as_of, DEFAULT_PACK).values()
    return sorted((f.due_on, f.severity, f.statutory) for f in found if f.rule_id == rule)


def test_decision_to_assess_due_received_plus_42_days() -> None:
    assert flags([REQUEST], date(2025, 2, 17), "R-DECIDE-6W") == []
    assert flags([REQUEST], date(2025, 2, 18), "R-DECIDE-6W") == [
        (date(2025, 2, 17), "breach", True)
    ]


def test_decision_on_the_due_date_is_on_time_and_a_late_one_resolves() -> None:
    on_time = ev(RequestDecided(request_id="R1", outcome="Y", decided_on=date(2025, 2, 17)))
    assert flags([REQUEST, on_time], date(2025, 3, 1), "R-DECIDE-6W") == []
    late = ev(RequestDecided(request_id="R1", outcome="N", decided_on=date(2025, 3, 3)))
    assert flags([REQUEST, late], date(2025, 3, 2), "R-DECIDE-6W") != []
    assert flags([REQUEST, late], date(2025, 3, 3), "R-DECIDE-6W") == []


def test_decision_yet_to_be_made_keeps_the_6_week_clock() -> None:
    pending = ev(RequestDecided(request_id="R1", outcome="A"))
    assert flags([REQUEST, pending], date(2025, 3, 1), "R-DECIDE-6W") == [
        (date(2025, 2, 17), "breach", True)
    ]


def test_not_issue_16w_raised_after_week_16_without_draft_or_decision() -> None:
    assess = ev(RequestDecided(request_id="R1", outcome="Y", decided_on=date(2025, 2, 10)))
    assert flags([REQUEST, assess], date(2025, 4, 28), "R-NOT-ISSUE-16W") == []
    assert flags([REQUEST, assess], date(2025, 4, 29), "R-NOT-ISSUE-16W") == [
        (date(2025, 4, 28), "warning", True)
    ]
    # the 20-week clock takes over at its own due date
    assert flags([REQUEST, assess], date(2025, 5, 27), "R-NOT-ISSUE-16W") == []
    draft = ev(DraftPlanIssued(request_id="R1", drafted_on=date(2025, 4, 20)))
    assert flags([REQUEST, assess, draft], date(2025, 4, 29), "R-NOT-ISSUE-16W") == []


def test_decision_not_to_issue_stops_the_clocks() -> None:
    assess = ev(RequestDecided(request_id="R1", outcome="Y", decided_on=date(2025, 2, 10)))
    refuse = ev(AssessmentCompleted(request_id="R1", outcome="N", outcome_on=date(2025, 4, 25)))
    on = date(2025, 6, 1)
    for rule in ("R-NOT-ISSUE-16W", "R-ISSUE-20W", "R-DRAFT-WARN"):
        assert flags([REQUEST, assess, refuse], on, rule) == [], rule


def test_draft_warn_is_advisory_from_week_16_until_a_draft() -> None:
    assess = ev(RequestDecided(request_id="R1", outcome="Y", decided_on=date(2025, 2, 10)))
    assert flags([REQUEST, assess], date(2025, 4, 27), "R-DRAFT-WARN") == []
    assert flags([REQUEST, assess], date(2025, 4, 28), "R-DRAFT-WARN") == [
        (date(2025, 4, 28), "advisory", False)
    ]
    draft = ev(DraftPlanIssued(request_id="R1", drafted_on=date(2025, 5, 2)))
    assert flags([REQUEST, assess, draft], date(2025, 5, 2), "R-DRAFT-WARN") == []


def test_withdrawn_request_stops_every_assessment_clock() -> None:
    withdrawn = ev(RequestDecided(request_id="R1", outcome="W", decided_on=date(2025, 1, 20)))
    found = evaluate(fold(PERSON, [REQUEST, withdrawn]), date(2025, 9, 1), DEFAULT_PACK)
    assert found == {}


def test_child_leaving_the_area_stops_every_clock() -> None:
    left = ev(PersonLeft(left_on=date(2025, 3, 1), reason="moved LA"))
    journey = fold(PERSON, [REQUEST, left])
    assert evaluate(journey, date(2025, 2, 28), DEFAULT_PACK) != {}
    assert evaluate(journey, date(2025, 3, 1), DEFAULT_PACK) == {}


def test_next_deadline_walks_the_assessment_clocks() -> None:
    journey = fold(PERSON, [REQUEST])
    seen, on = [], RECEIVED
    while (nxt := next_deadline(journey, on, DEFAULT_PACK)) is not None:
        seen.append(nxt)
        on = nxt
    # 6-week breach opens; week 16 (warning + advisory); 20-week breach opens, 16W closes
    assert seen == [date(2025, 2, 18), date(2025, 4, 28), date(2025, 4, 29), date(2025, 5, 27)]


def test_historical_outcome_dated_later_is_not_known_yet() -> None:
    # found by review of the next_deadline contract: H dated after as_of must not close early
    h = ev(AssessmentCompleted(request_id="R1", outcome="H", outcome_on=date(2025, 9, 1)))
    assert flags([REQUEST, h], date(2025, 6, 1), "R-ISSUE-20W") == [
        (date(2025, 5, 26), "breach", True)
    ]
    assert flags([REQUEST, h], date(2025, 9, 1), "R-ISSUE-20W") == []
