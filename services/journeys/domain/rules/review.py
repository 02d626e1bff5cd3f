"""The statutory clocks (rules.md). Each rule: (journey, as-of date, pack) -> flags.

Rules read only facts dated on or before ``as_of``, so evaluating an export "as of" a past
date gives the answer the monitor would have given that day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from services.journeys.domain.calendar import add_months
from services.journeys.domain.journey import Journey, PlanView, RequestView, plans, requests
from services.journeys.domain.pack import RulePack

Severity = Literal["advisory", "warning", "breach"]


@dataclass(frozen=True)
class Flag:
    """A rule's finding about one journey, open for as long as its condition holds."""

    flag_id: str
    rule_id: str
    severity: Severity
    statutory: bool
    subject: str
    due_on: date
    exception: bool = False


def flag_id_for(rule_id: str, person_key: str, subject: str, due_on: date) -> str:
    """Deterministic: the same rule, child, subject and due date always give the same id."""
    raw = f"{rule_id}\x1f{person_key}\x1f{subject}\x1f{due_on.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _flag(
    journey: Journey,
    rule_id: str,
    severity: Severity,
    subject: str,
    due_on: date,
    *,
    statutory: bool = True,
    exception: bool = False,
) -> Flag:
    return Flag(
        flag_id=flag_id_for(rule_id, journey.person_key, subject, due_on),
        rule_id=rule_id,
        severity=severity,
        statutory=statutory,
        subject=subject,
        due_on=due_on,
        exception=exception,
    )


# --- R-AR-DUE ------------------------------------------------------------------------------


def review_anchor(plan: PlanView, as_of: date) -> date:
    """R-AR-DUE anchor: the last completed review's *decision* date, else the plan's issue date.

    A meeting without a decision does not move the anchor: the review completes with the
    LA's decision letter (SEN2 LastReview).  A review dated before the plan was issued
    cannot belong to it (an R-DATA error, reported on ingest) and is ignored here.
    """
    decided = [
        d.decided_on for d in plan.review_decisions if plan.issued_on <= d.decided_on <= as_of
    ]
    return max(decided, default=plan.issued_on)


def review_due(plan: PlanView, as_of: date, pack: RulePack) -> date:
    """R-AR-DUE: review_due = add_months(anchor, 12)."""
    return add_months(review_anchor(plan, as_of), pack.review_months)


def annual_review_overdue(journey: Journey, as_of: date, pack: RulePack) -> list[Flag]:
    """R-AR-DUE: a plan in force whose review_due has passed with no later completed review."""
    flags = []
    for plan in plans(journey):
        if not plan.in_force_on(as_of):  # R-CEASE: a ceased plan stops the clock
            continue
        due = review_due(plan, as_of, pack)
        if as_of > due:
            flags.append(_flag(journey, "R-AR-DUE", "breach", f"plan:{plan.plan_id}", due))
    return flags


# --- R-ISSUE-20W ---------------------------------------------------------------------------

_ENDS_PATHWAY = frozenset({"N", "W"})  # not to assess / not to issue, or withdrawn


def issue_due(request: RequestView, pack: RulePack) -> date:
    """R-ISSUE-20W: final plan due received + 140 days (Reg 13(2))."""
    return request.received_on + timedelta(days=pack.issue_days)


def _known_by(outcome_on: date | None, as_of: date) -> bool:
    """An outcome dated on or before ``as_of``; an undated outcome counts as known."""
    return outcome_on is None or outcome_on <= as_of


def _pathway_closed(request: RequestView, issued: Iterable[PlanView], as_of: date) -> bool:
    """The 20-week clock has stopped by ``as_of``: plan issued, or the pathway ended."""
    decision, assessment = request.decision, request.assessment
    if decision and decision.outcome in _ENDS_PATHWAY and _known_by(decision.decided_on, as_of):
        return True
    if assessment and assessment.outcome == "H":  # decided before the period, or transferred in
        return True
    # Y: plan issued on outcome_on (SEN2 3.2); N: not issuing; W: withdrawn
    if (
        assessment is not None
        and assessment.outcome in ("Y", "N", "W")
        and _known_by(assessment.outcome_on, as_of)
    ):
        return True
    return any(p.request_id == request.request_id and p.issued_on <= as_of for p in issued)


def final_plan_overdue(journey: Journey, as_of: date, pack: RulePack) -> list[Flag]:
    """R-ISSUE-20W: no final plan and the pathway still open after received + 140 days.

    An R-EXCEPTION (Week20 = 1) never moves the due date; the flag carries it so escalation
    and the "excluding exceptions" figures can leave it out.
    """
    issued = plans(journey)
    flags = []
    for request in requests(journey):
        if request.received_on > as_of:
            continue
        due = issue_due(request, pack)
        if as_of > due and not _pathway_closed(request, issued, as_of):
            exception = request.assessment is not None and request.assessment.exception
            subject = f"request:{request.request_id}"
            flags.append(_flag(journey, "R-ISSUE-20W", "breach", subject, due, exception=exception))
    return flags


Rule = Callable[[Journey, date, RulePack], list[Flag]]

RULES: tuple[Rule, ...] = (annual_review_overdue, final_plan_overdue)


def evaluate(journey: Journey, as_of: date, pack: RulePack) -> dict[str, Flag]:
    """Every open flag of the journey on ``as_of``, by flag id."""
    return {f.flag_id: f for rule in RULES for f in rule(journey, as_of, pack)}
