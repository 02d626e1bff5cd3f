"""R-AR-DUE and R-ISSUE-20W against the worked examples of rules.md and hand-built edges."""

from datetime import date

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    PlanCeased,
    PlanIssued,
    RequestDecided,
    ReviewDecided,
    ReviewMeetingHeld,
)
from services.journeys.domain.clocks import flag_id_for
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK, AssessmentClocks
from services.journeys.domain.rules import evaluate
from tests.factories import PERSON, ev


def open_rules(events, as_of, rules=("R-AR-DUE", "R-ISSUE-20W")):
    """The open flags of the named rules (the others have their own tests)."""
    flags = evaluate(fold(PERSON, events), as_of, DEFAULT_PACK).values()
    return sorted((f.rule_id, f.subject, f.due_on) for f in flags if f.rule_id in rules)


# --- R-AR-DUE ---------------------------------------------------------------------------


def test_plan_issued_29_feb_is_due_28_feb_next_year() -> None:
    events = [ev(PlanIssued(plan_id="P1", issued_on=date(2024, 2, 29)))]
    assert open_rules(events, date(2025, 2, 28)) == []  # due today: not yet overdue
    assert open_rules(events, date(2025, 3, 1)) == [("R-AR-DUE", "plan:P1", date(2025, 2, 28))]


def test_anchor_is_the_review_decision_not_the_meeting() -> None:
    # meeting 10 Jan 2025, LA decision letter 5 Feb 2025: next review due 5 Feb 2026
    events = [
        ev(PlanIssued(plan_id="P1", issued_on=date(2023, 11, 20))),
        ev(ReviewMeetingHeld(plan_id="P1", meeting_on=date(2025, 1, 10))),
        ev(
            ReviewDecided(
                plan_id="P1", decided_on=date(2025, 2, 5), outcome="M", meeting_on=date(2025, 1, 10)
            )
        ),
    ]
    assert open_rules(events, date(2026, 1, 20)) == []  # the meeting anniversary has passed
    assert open_rules(events, date(2026, 2, 5)) == []
    assert open_rules(events, date(2026, 2, 6)) == [("R-AR-DUE", "plan:P1", date(2026, 2, 5))]


def test_meeting_without_decision_does_not_move_the_anchor() -> None:
    events = [
        ev(PlanIssued(plan_id="P1", issued_on=date(2024, 3, 1))),
        ev(ReviewMeetingHeld(plan_id="P1", meeting_on=date(2025, 2, 20))),
    ]
    assert open_rules(events, date(2025, 3, 2)) == [("R-AR-DUE", "plan:P1", date(2025, 3, 1))]


def test_latest_review_decision_anchors() -> None:
    events = [
        ev(PlanIssued(plan_id="P1", issued_on=date(2021, 5, 1))),
        ev(ReviewDecided(plan_id="P1", decided_on=date(2022, 4, 28), outcome="M")),
        ev(ReviewDecided(plan_id="P1", decided_on=date(2023, 4, 30), outcome="A")),
    ]
    assert open_rules(events, date(2024, 5, 1)) == [("R-AR-DUE", "plan:P1", date(2024, 4, 30))]


def test_review_dated_after_as_of_is_not_known_yet() -> None:
    events = [
        ev(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 10))),
        ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 3, 1), outcome="M")),
    ]
    assert open_rules(events, date(2025, 2, 1)) == [("R-AR-DUE", "plan:P1", date(2025, 1, 10))]
    assert open_rules(events, date(2025, 3, 1)) == []


def test_ceased_plan_stops_the_review_clock() -> None:
    events = [
        ev(PlanIssued(plan_id="P1", issued_on=date(2023, 1, 10))),
        ev(PlanCeased(plan_id="P1", ceased_on=date(2023, 12, 1), reason=2)),
    ]
    assert open_rules(events, date(2024, 6, 1)) == []


def test_plan_not_issued_yet_on_as_of_has_no_review_clock() -> None:
    events = [ev(PlanIssued(plan_id="P1", issued_on=date(2025, 6, 1)))]
    assert open_rules(events, date(2025, 5, 1)) == []


# --- R-ISSUE-20W ------------------------------------------------------------------------

RECEIVED = date(2025, 1, 6)  # + 140 days = 2025-05-26


def test_final_plan_due_received_plus_140_days() -> None:
    events = [ev(AssessmentRequested(request_id="R1", received_on=RECEIVED))]
    assert open_rules(events, date(2025, 5, 26)) == []
    assert open_rules(events, date(2025, 5, 27)) == [
        ("R-ISSUE-20W", "request:R1", date(2025, 5, 26))
    ]


def test_plan_issued_on_the_due_date_is_on_time() -> None:
    events = [
        ev(AssessmentRequested(request_id="R1", received_on=RECEIVED)),
        ev(PlanIssued(plan_id="P1", request_id="R1", issued_on=date(2025, 5, 26))),
    ]
    assert open_rules(events, date(2025, 7, 1)) == []


def test_late_plan_resolves_the_breach_from_its_issue_date() -> None:
    events = [
        ev(AssessmentRequested(request_id="R1", received_on=RECEIVED)),
        ev(AssessmentCompleted(request_id="R1", outcome="Y", outcome_on=date(2025, 7, 1))),
    ]
    assert open_rules(events, date(2025, 6, 30)) == [
        ("R-ISSUE-20W", "request:R1", date(2025, 5, 26))
    ]
    assert open_rules(events, date(2025, 7, 1)) == []


def test_decision_not_to_assess_or_withdrawal_stops_the_clock() -> None:
    for outcome in ("N", "W"):
        events = [
            ev(AssessmentRequested(request_id="R1", received_on=RECEIVED)),
            ev(RequestDecided(request_id="R1", outcome=outcome, decided_on=date(2025, 2, 10))),
        ]
        assert open_rules(events, date(2025, 8, 1)) == [], outcome


def test_decision_to_assess_keeps_the_clock_running() -> None:
    events = [
        ev(AssessmentRequested(request_id="R1", received_on=RECEIVED)),
        ev(RequestDecided(request_id="R1", outcome="Y", decided_on=date(2025, 2, 10))),
    ]
    assert open_rules(events, date(2025, 8, 1)) == [
        ("R-ISSUE-20W", "request:R1", date(2025, 5, 26))
    ]


def test_exception_never_moves_the_due_date_but_is_carried() -> None:
    events = [
        ev(AssessmentRequested(request_id="R1", received_on=RECEIVED)),
        ev(AssessmentCompleted(request_id="R1", outcome="A", exception=True)),
    ]
    (flag,) = [
        f
        for f in evaluate(fold(PERSON, events), date(2025, 6, 1), DEFAULT_PACK).values()
        if f.rule_id == "R-ISSUE-20W"
    ]
    assert flag.due_on == date(2025, 5, 26)
    assert flag.exception is True
    assert flag.statutory is True


def test_pack_threshold_is_read_not_hard_coded() -> None:
    events = [ev(AssessmentRequested(request_id="R1", received_on=RECEIVED))]
    pack = DEFAULT_PACK.model_copy(
        update={"version": "test", "assessment": AssessmentClocks(issue_days=100)}
    )
    flags = evaluate(fold(PERSON, events), date(2025, 4, 20), pack)
    assert [f.due_on for f in flags.values() if f.rule_id == "R-ISSUE-20W"] == [date(2025, 4, 16)]


def test_flag_id_is_deterministic_and_depends_on_due_date() -> None:
    a = flag_id_for("R-AR-DUE", PERSON, "plan:P1", date(2025, 2, 28))
    assert a == flag_id_for("R-AR-DUE", PERSON, "plan:P1", date(2025, 2, 28))
    assert a != flag_id_for("R-AR-DUE", PERSON, "plan:P1", date(2025, 3, 1))
    assert a != flag_id_for("R-AR-DUE", "another-person-key", "plan:P1", date(2025, 2, 28))


def test_review_dated_before_the_plan_does_not_anchor() -> None:
    # found by hypothesis: a review before the issue date would put review_due before the plan
    events = [
        ev(PlanIssued(plan_id="P1", issued_on=date(2024, 6, 1))),
        ev(ReviewDecided(plan_id="P1", decided_on=date(2023, 1, 1), outcome="M")),
    ]
    assert open_rules(events, date(2025, 6, 2)) == [("R-AR-DUE", "plan:P1", date(2025, 6, 1))]
