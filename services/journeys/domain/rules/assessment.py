"""EHC needs assessment clocks (rules.md §2; Regs 5, 10, 13; CoP 9.40-9.42)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import (
    Journey,
    PlanView,
    RequestView,
    memo,
    plans,
    remember,
    requests,
)
from services.journeys.domain.pack import RulePack

DAY = timedelta(days=1)
_ENDS_PATHWAY = frozenset({"N", "W"})  # not to assess / not to issue, or withdrawn


def _known_by(outcome_on: date | None, as_of: date) -> bool:
    """An outcome dated on or before ``as_of``; an undated outcome counts as known."""
    return outcome_on is None or outcome_on <= as_of


def _decided_to_assess_or_not(request: RequestView, as_of: date) -> bool:
    d = request.decision
    return d is not None and d.outcome in ("Y", "N", "W", "H") and _known_by(d.decided_on, as_of)


def _stopped_before_assessment(request: RequestView, as_of: date) -> bool:
    d = request.decision
    return d is not None and d.outcome in _ENDS_PATHWAY and _known_by(d.decided_on, as_of)


def _assessment_decided(request: RequestView, as_of: date) -> bool:
    """Decision whether to issue made: Y (plan issued on outcome_on, SEN2 3.2), N, W, or H
    (decided before the collection period, or transferred)."""
    a = request.assessment
    if a is None or a.outcome == "A":
        return False
    return _known_by(a.outcome_on, as_of)


def _plan_issued(request: RequestView, issued: Sequence[PlanView], as_of: date) -> bool:
    return any(
        p.request_id == request.request_id and p.issued_on is not None and p.issued_on <= as_of
        for p in issued
    )


def pathway_closed(request: RequestView, issued: Sequence[PlanView], as_of: date) -> bool:
    """The 20-week clock has stopped by ``as_of``: plan issued, or the pathway ended."""
    return (
        _stopped_before_assessment(request, as_of)
        or _assessment_decided(request, as_of)
        or _plan_issued(request, issued, as_of)
    )


def _draft_served(request: RequestView, as_of: date) -> bool:
    return request.draft is not None and request.draft.drafted_on <= as_of


def _open_requests(journey: Journey, as_of: date) -> tuple[tuple[RequestView, bool], ...]:
    """Requests known on ``as_of`` with whether their pathway is closed."""

    def compute() -> tuple[tuple[RequestView, bool], ...]:
        issued = plans(journey)
        return tuple(
            (r, pathway_closed(r, issued, as_of))
            for r in requests(journey)
            if r.received_on <= as_of
        )

    return remember(memo(journey), (_open_requests, as_of), compute)  # the four rules ask


def _days(request: RequestView, n: int) -> date:
    return request.received_on + timedelta(days=n)


def decide_6w(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-DECIDE-6W: decision whether to assess due received + 42 days (Reg 5(1))."""
    found = []
    for r, closed in _open_requests(journey, as_of):
        if closed or _decided_to_assess_or_not(r, as_of):
            continue
        due = _days(r, pack.assessment.decide_days)
        found.append(Clock("R-DECIDE-6W", "breach", f"request:{r.request_id}", due, due + DAY))
    return found


def not_issue_16w(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-NOT-ISSUE-16W: a decision not to issue must be made by received + 112 days
    (Reg 10(1)). Raised after week 16 while no decision whether to issue and no draft plan
    (a draft means the LA is issuing); the 20-week clock takes over at its due date."""
    found = []
    for r, closed in _open_requests(journey, as_of):
        if closed or _draft_served(r, as_of):
            continue
        due = _days(r, pack.assessment.not_issue_days)
        issue_due = _days(r, pack.assessment.issue_days)
        found.append(
            Clock(
                "R-NOT-ISSUE-16W",
                "warning",
                f"request:{r.request_id}",
                due,
                due + DAY,
                closes_on=issue_due + DAY,
            )
        )
    return found


def draft_warn(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-DRAFT-WARN (advisory): at week 16 with no draft plan served, the final cannot follow
    the family's 15 days (Reg 13(1)) within 20 weeks without haste."""
    found = []
    for r, closed in _open_requests(journey, as_of):
        if closed or _draft_served(r, as_of) or _stopped_before_assessment(r, as_of):
            continue
        due = _days(r, pack.assessment.draft_warn_days)
        issue_due = _days(r, pack.assessment.issue_days)
        found.append(
            Clock(
                "R-DRAFT-WARN",
                "advisory",
                f"request:{r.request_id}",
                due,
                due,
                closes_on=issue_due + DAY,
                statutory=False,
            )
        )
    return found


def issue_20w(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-ISSUE-20W: final plan due received + 140 days (Reg 13(2)); on time iff issued on or
    before it. R-EXCEPTION: an exception (Week20 = 1) never moves the due date; the clock
    carries it so escalation pauses and "excluding exceptions" figures leave it out."""
    found = []
    for r, closed in _open_requests(journey, as_of):
        if closed:
            continue
        due = _days(r, pack.assessment.issue_days)
        exception = r.assessment is not None and r.assessment.exception
        found.append(
            Clock(
                "R-ISSUE-20W",
                "breach",
                f"request:{r.request_id}",
                due,
                due + DAY,
                exception=exception,
            )
        )
    return found
