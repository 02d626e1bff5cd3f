"""Annual review rules, rules.md §3: R-AR-WARN, R-AR-DECISION-4W, R-AR-STEPS, R-AMEND-8W,
R-AR-UNDER5, R-TRANSFER-IN (R-AR-DUE itself is in test_rules_core)."""

from datetime import date

from schemas.events import (
    PersonRegistered,
    PlanAmended,
    PlanCeased,
    PlanIssued,
    PlanTransferredIn,
    ReviewDecided,
    ReviewDraftIssued,
    ReviewMeetingHeld,
    ReviewMeetingScheduled,
)
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate
from tests.factories import PERSON, ev

ISSUED = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 5, 10)))  # review_due 2025-05-10


def flags(events, as_of, rule):
    found = evaluate(fold(PERSON, events), as_of, DEFAULT_PACK).values()
    return sorted((f.subject, f.due_on, f.severity) for f in found if f.rule_id == rule)


def test_review_warning_is_advisory_from_12_weeks_before_until_due() -> None:
    # review_due 10 May 2025 - 84 days = 15 Feb 2025
    assert flags([ISSUED], date(2025, 2, 14), "R-AR-WARN") == []
    assert flags([ISSUED], date(2025, 2, 15), "R-AR-WARN") == [
        ("plan:P1", date(2025, 5, 10), "advisory")
    ]
    assert flags([ISSUED], date(2025, 5, 10), "R-AR-WARN") != []
    assert flags([ISSUED], date(2025, 5, 11), "R-AR-WARN") == []  # R-AR-DUE has taken over
    (flag,) = [f for f in evaluate(fold(PERSON, [ISSUED]), date(2025, 3, 1), DEFAULT_PACK).values()]
    assert flag.statutory is False


def test_a_booked_meeting_silences_the_warning() -> None:
    booked = ev(
        ReviewMeetingScheduled(plan_id="P1", meeting_on=date(2025, 4, 1)), on=date(2025, 2, 1)
    )
    assert flags([ISSUED, booked], date(2025, 3, 1), "R-AR-WARN") == []


def test_review_decision_due_four_weeks_after_the_meeting() -> None:
    meeting = ev(ReviewMeetingHeld(plan_id="P1", meeting_on=date(2025, 4, 1)))
    assert flags([ISSUED, meeting], date(2025, 4, 29), "R-AR-DECISION-4W") == []
    assert flags([ISSUED, meeting], date(2025, 4, 30), "R-AR-DECISION-4W") == [
        ("review:P1:2025-04-01", date(2025, 4, 29), "breach")
    ]
    decided = ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 5, 6), outcome="M"))
    assert flags([ISSUED, meeting, decided], date(2025, 5, 6), "R-AR-DECISION-4W") == []


def test_review_steps_are_advisory_quality_checks() -> None:
    meeting = ev(
        ReviewMeetingHeld(
            plan_id="P1",
            meeting_on=date(2025, 4, 1),
            notice_sent_on=date(2025, 3, 25),  # 7 days before: late
            advice_circulated_on=date(2025, 3, 18),  # 14 days before: on time
        )
    )
    found = flags([ISSUED, meeting], date(2025, 4, 10), "R-AR-STEPS")
    assert found == [("review:P1:2025-04-01:notice", date(2025, 3, 18), "advisory")]
    # no report 14 days after the meeting
    found = flags([ISSUED, meeting], date(2025, 4, 16), "R-AR-STEPS")
    assert ("review:P1:2025-04-01:report", date(2025, 4, 15), "advisory") in found
    decided = ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 4, 20), outcome="A"))
    assert flags([ISSUED, meeting, decided], date(2025, 4, 20), "R-AR-STEPS") == []


def test_final_amended_plan_due_eight_weeks_after_the_draft() -> None:
    draft = ev(ReviewDraftIssued(plan_id="P1", drafted_on=date(2025, 5, 1)))
    assert flags([ISSUED, draft], date(2025, 6, 26), "R-AMEND-8W") == []
    assert flags([ISSUED, draft], date(2025, 6, 27), "R-AMEND-8W") == [
        ("draft:P1:2025-05-01", date(2025, 6, 26), "breach")
    ]
    final = ev(PlanAmended(plan_id="P1", amended_on=date(2025, 7, 3)))
    assert flags([ISSUED, draft, final], date(2025, 7, 3), "R-AMEND-8W") == []


def test_tribunal_amendment_does_not_move_the_anchor() -> None:
    tribunal = ev(PlanAmended(plan_id="P1", amended_on=date(2025, 1, 15), tribunal_ordered=True))
    assert flags([ISSUED, tribunal], date(2025, 5, 11), "R-AR-DUE") == [
        ("plan:P1", date(2025, 5, 10), "breach")
    ]


def test_interim_review_prompt_for_a_child_under_5_at_the_anchor() -> None:
    child = ev(
        PersonRegistered(child_ref="C1", date_of_birth=date(2021, 6, 1)), on=date(2024, 1, 1)
    )
    # anchor 10 May 2024, aged 2: prompt at add_months(anchor, 6) = 10 Nov 2024
    assert flags([child, ISSUED], date(2024, 11, 9), "R-AR-UNDER5") == []
    assert flags([child, ISSUED], date(2024, 11, 10), "R-AR-UNDER5") == [
        ("plan:P1", date(2024, 11, 10), "advisory")
    ]
    older = ev(
        PersonRegistered(child_ref="C1", date_of_birth=date(2019, 5, 10)), on=date(2024, 1, 1)
    )  # 5 on the anchor date exactly
    assert flags([older, ISSUED], date(2024, 11, 10), "R-AR-UNDER5") == []


def test_transferred_in_plan_review_by_the_later_of_the_two_dates() -> None:
    # old LA's anchor 1 Mar 2025 -> 1 Mar 2026; transfer 20 Jan 2026 + 3 months = 20 Apr 2026
    transfer = ev(
        PlanTransferredIn(
            plan_id="P9",
            transferred_on=date(2026, 1, 20),
            from_la="358",
            anchor_on=date(2025, 3, 1),
        )
    )
    assert flags([transfer], date(2026, 3, 2), "R-AR-DUE") == []  # not R-AR-DUE yet
    assert flags([transfer], date(2026, 4, 20), "R-TRANSFER-IN") == []
    assert flags([transfer], date(2026, 4, 21), "R-TRANSFER-IN") == [
        ("plan:P9:review", date(2026, 4, 20), "breach")
    ]
    # the 6-week re-assessment decision prompt, from the transfer to its due date
    assert flags([transfer], date(2026, 2, 1), "R-TRANSFER-IN") == [
        ("plan:P9:decide", date(2026, 3, 3), "warning")
    ]


def test_transfer_with_a_late_old_anchor_takes_the_anniversary() -> None:
    transfer = ev(
        PlanTransferredIn(
            plan_id="P9", transferred_on=date(2026, 1, 20), anchor_on=date(2025, 11, 1)
        )
    )
    assert flags([transfer], date(2026, 11, 2), "R-TRANSFER-IN") == [
        ("plan:P9:review", date(2026, 11, 1), "breach")
    ]


def test_first_review_here_hands_the_plan_to_r_ar_due() -> None:
    transfer = ev(
        PlanTransferredIn(
            plan_id="P9", transferred_on=date(2026, 1, 20), anchor_on=date(2025, 3, 1)
        )
    )
    review = ev(ReviewDecided(plan_id="P9", decided_on=date(2026, 4, 1), outcome="M"))
    assert flags([transfer, review], date(2027, 4, 2), "R-TRANSFER-IN") == []
    assert flags([transfer, review], date(2027, 4, 2), "R-AR-DUE") == [
        ("plan:P9", date(2027, 4, 1), "breach")
    ]


def test_ceased_plan_has_no_review_clocks_at_all() -> None:
    ceased = ev(PlanCeased(plan_id="P1", ceased_on=date(2025, 1, 31), reason=3))
    found = evaluate(fold(PERSON, [ISSUED, ceased]), date(2025, 8, 1), DEFAULT_PACK)
    assert found == {}


def test_late_report_flag_is_fixed_by_the_report_date() -> None:
    # found by the next_deadline property test: the clock must not move with as_of
    meeting = ev(
        ReviewMeetingHeld(
            plan_id="P1", meeting_on=date(2025, 1, 6), report_sent_on=date(2025, 2, 10)
        )
    )
    issued = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 10)))
    report = [("review:P1:2025-01-06:report", date(2025, 1, 20), "advisory")]
    assert flags([issued, meeting], date(2025, 1, 25), "R-AR-STEPS") == report
    assert flags([issued, meeting], date(2025, 2, 9), "R-AR-STEPS") == report
    assert flags([issued, meeting], date(2025, 2, 10), "R-AR-STEPS") == []
