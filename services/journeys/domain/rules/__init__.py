"""Every rule of rules.md, registered with its id, and the three questions asked of them.

A rule is a pure function ``(journey, as_of, pack) -> list[Clock]``.  Its clocks may depend
on ``as_of`` only through which facts are known on that date (facts dated on or before it),
never otherwise: the date decides which clocks are *open*, not which exist.  That contract
is what makes :func:`next_deadline` exact, and a property test holds every rule to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from services.journeys.domain.clocks import Clock, Flag
from services.journeys.domain.journey import Journey, fact_dates_after, left_on
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import assessment, review, transition, waits

RuleFn = Callable[[Journey, date, RulePack], list[Clock]]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    title: str
    clocks: RuleFn | None  # None: the rule shapes other rules' clocks (R-NCY, R-EXCEPTION…)
    advisory: bool = False


RULES: tuple[Rule, ...] = (
    Rule("R-NCY", "National curriculum year", None),
    Rule("R-DECIDE-6W", "Decision whether to assess overdue (6 weeks)", assessment.decide_6w),
    Rule("R-NOT-ISSUE-16W", "Decision not to issue due by week 16", assessment.not_issue_16w),
    Rule("R-DRAFT-WARN", "No draft plan at week 16", assessment.draft_warn, advisory=True),
    Rule("R-ISSUE-20W", "Final EHC plan not issued within 20 weeks", assessment.issue_20w),
    Rule("R-EXCEPTION", "20-week exception recorded (carried on R-ISSUE-20W)", None),
    Rule("R-AR-DUE", "Annual review overdue", review.annual_review_due),
    Rule("R-AR-WARN", "Annual review due soon, no meeting booked", review.warn, advisory=True),
    Rule("R-AR-DECISION-4W", "Review decision overdue (4 weeks)", review.decision_4w),
    Rule("R-AR-STEPS", "Review meeting steps late", review.steps, advisory=True),
    Rule("R-AMEND-8W", "Final amended plan overdue (8 weeks)", review.amend_8w),
    Rule("R-AR-UNDER5", "Interim review for a child under 5", review.under5, advisory=True),
    Rule("R-TRANSFER-IN", "Transferred-in plan: decision and review", review.transfer_in),
    Rule("R-PHASE-UPCOMING", "Phase transfer upcoming", transition.phase_upcoming),
    Rule("R-PHASE-MISSED", "Phase transfer plan not amended in time", transition.phase_missed),
    Rule("R-PFA-Y9", "Preparing for adulthood review (Year 9+)", transition.pfa_y9),
    Rule("R-AGE-25", "Plan reaching its age limit", transition.age_25),
    Rule("R-CEASE", "Ceased plan stops every plan clock", None),
    Rule("R-WAIT", "Long wait for a health or therapy service", waits.long_waits),
)

RULE_TITLES: dict[str, str] = {r.rule_id: r.title for r in RULES}


def clocks(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """Every clock of the journey given the facts known on ``as_of``."""
    left = left_on(journey)
    if left is not None and left <= as_of:
        return []  # the child left the LA: every clock stops
    found: list[Clock] = []
    for rule in RULES:
        if rule.clocks is not None:
            found.extend(rule.clocks(journey, as_of, pack))
    return found


def evaluate(journey: Journey, as_of: date, pack: RulePack) -> dict[str, Flag]:
    """Every open flag of the journey on ``as_of``, by flag id."""
    return {
        f.flag_id: f
        for f in (
            c.flag(journey.person_key) for c in clocks(journey, as_of, pack) if c.open_on(as_of)
        )
    }


def next_deadline(journey: Journey, as_of: date, pack: RulePack) -> date | None:
    """The earliest date after ``as_of`` on which the open flags could change with no new
    event: a clock opening or closing, or a future-dated fact coming into force."""
    return deadline_of(clocks(journey, as_of, pack), fact_dates_after(journey, as_of), as_of)


def deadline_of(found: Iterable[Clock], fact_dates: Iterable[date], as_of: date) -> date | None:
    """``next_deadline`` from clocks already computed on ``as_of`` and the dates of facts
    not yet in force on it."""
    earliest: date | None = None
    for d in fact_dates:
        if earliest is None or d < earliest:
            earliest = d
    for c in found:
        for edge in (c.opens_on, c.closes_on):
            if edge is not None and edge > as_of and (earliest is None or edge < earliest):
                earliest = edge
    return earliest


def upcoming(journey: Journey, as_of: date, pack: RulePack, within_days: int = 365) -> list[Clock]:
    """Clocks not yet open whose flag would open within ``within_days``: a caseworker's
    forward view."""
    horizon = as_of + timedelta(days=within_days)
    return sorted(
        (c for c in clocks(journey, as_of, pack) if as_of < c.opens_on <= horizon),
        key=lambda c: (c.opens_on, c.rule_id),
    )
