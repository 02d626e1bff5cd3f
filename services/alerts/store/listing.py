"""The inbox's reads: which alerts a list holds (filters, search, sort, pages), the summary
at its top, and a manager's forward view of each caseworker's load.

One severity vocabulary (``LEVELS``) for people, computed the same way in SQL (``LEVEL``)
and in Python (``level_of``): a statutory breach, a warning, guidance, or a breach whose
20-week limit does not apply because an exception is recorded (Reg 10(4)). Nothing that is
not a statutory duty is ever a "breach": advisory rules and non-statutory standards are
guidance, and a long wait (R-WAIT: health standards, not the council's SEND duties) is at
most a warning.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, Select, case, false, func, or_, select, true
from sqlalchemy.orm import Session

from services.alerts.domain.lifecycle import LIVE, AlertStatus
from services.alerts.store.caseload import Caseload
from services.alerts.store.routing import parse_snapshot
from services.alerts.store.tables import AlertRow, JourneyRow

Level = Literal["breach", "warning", "exception", "guidance"]
LEVELS: tuple[Level, ...] = ("breach", "warning", "exception", "guidance")
Sort = Literal["urgency", "due", "child"]
SORTS: tuple[Sort, ...] = ("urgency", "due", "child")
WAIT_RULE = "R-WAIT"
FORECAST_WEEKS = (4, 8, 12)
SOON_DAYS = 7

LEVEL: ColumnElement[str] = case(
    (AlertRow.exception.is_(True), "exception"),
    (AlertRow.severity == "advisory", "guidance"),
    (
        or_(AlertRow.rule_id == WAIT_RULE, AlertRow.statutory.is_(False)),
        case((AlertRow.severity == "breach", "warning"), else_="guidance"),
    ),
    (AlertRow.severity == "breach", "breach"),
    else_="warning",
)
_LEVEL_RANK = case({lv: n for n, lv in enumerate(LEVELS)}, value=LEVEL, else_=len(LEVELS))


def level_of(severity: str, statutory: bool, exception: bool, rule_id: str) -> Level:
    """``LEVEL`` on values already read (a test holds the two equal)."""
    if exception:
        return "exception"
    if severity == "advisory":
        return "guidance"
    if rule_id == WAIT_RULE or not statutory:
        return "warning" if severity == "breach" else "guidance"
    return "breach" if severity == "breach" else "warning"


def as_level(text: str | None) -> Level | None:
    """A level from a query parameter: empty means all; ``advisory`` is guidance."""
    value = (text or "").strip().lower()
    if value == "advisory":
        return "guidance"
    for level in LEVELS:
        if level == value:
            return level
    return None


@dataclass(frozen=True)
class AlertQuery:
    """Which alerts a list holds. ``None`` (and, from a form, an empty string) means all."""

    caseworker_id: str | None = None
    team: str | None = None
    caseload: Caseload | None = None
    rule_id: str | None = None
    level: Level | None = None
    statuses: Collection[AlertStatus] = LIVE
    q: str | None = None  # part of the child's or a case-system reference
    sort: Sort = "urgency"
    unassigned: bool = False  # the team queue only
    raw_severity: str | None = None  # the flag's own severity (JSON API's ``severity``)
    due_from: date | None = None
    due_by: date | None = None

    def scope(self) -> AlertQuery:
        """The same list without its filters: what the summary counts."""
        return AlertQuery(
            caseworker_id=self.caseworker_id,
            team=self.team,
            caseload=self.caseload,
            unassigned=self.unassigned,
        )


@dataclass(frozen=True)
class Summary:
    """The counts at the top of a list (over its scope, not its filters)."""

    by_level: dict[str, int] = field(default_factory=dict)
    due_soon: int = 0  # due today or in the next 7 days
    escalated: int = 0
    snoozes_ending: int = 0  # snoozed alerts that come back within 7 days
    total: int = 0


@dataclass(frozen=True)
class CaseworkerLoad:
    """A manager's forward view of one caseworker: live alerts now, deadlines to come."""

    caseworker_id: str
    open_alerts: int = 0
    breaches: int = 0
    overdue: int = 0  # live alerts past their due date
    due_within: dict[int, int] = field(default_factory=dict)  # weeks -> deadlines


@dataclass(frozen=True)
class UnallocatedChild:
    """A child with an open request or plan and no caseworker: nobody is the family's
    single point of contact."""

    child_ref: str | None
    team: str | None
    next_due_on: date | None
    next_rule_id: str | None
    open_alerts: int
    flag_id: str | None  # one of the child's live alerts, to open; none when it has none
    person_key: str = field(repr=False)


def conditions(query: AlertQuery) -> list[ColumnElement[bool]]:
    terms: list[ColumnElement[bool]] = [AlertRow.status.in_(sorted(query.statuses))]
    if query.caseworker_id is not None:
        terms.append(AlertRow.caseworker_id == query.caseworker_id)
    if query.unassigned:
        terms.append(AlertRow.caseworker_id.is_(None))
    if query.team is not None:
        terms.append(AlertRow.team == query.team)
    if query.caseload is not None:
        terms.append(query.caseload.clause())
    if query.rule_id is not None:
        terms.append(AlertRow.rule_id == query.rule_id)
    if query.level is not None:
        terms.append(LEVEL == query.level)  # noqa: SIM300
    if query.raw_severity is not None:
        terms.append(AlertRow.severity == query.raw_severity)
    if query.due_from is not None:
        terms.append(AlertRow.due_on >= query.due_from)
    if query.due_by is not None:
        terms.append(AlertRow.due_on <= query.due_by)
    if query.q:
        pattern = f"%{_escaped(query.q.strip().lower())}%"
        terms.append(
            or_(
                func.lower(AlertRow.child_ref).like(pattern, escape="\\"),
                func.lower(AlertRow.subject).like(pattern, escape="\\"),
            )
        )
    return terms


def ordered(statement: Select[AlertRow], sort: Sort) -> Select[AlertRow]:
    if sort == "due":
        return statement.order_by(AlertRow.due_on, _LEVEL_RANK, AlertRow.flag_id)
    if sort == "child":
        return statement.order_by(
            AlertRow.child_ref.is_(None), AlertRow.child_ref, AlertRow.due_on, AlertRow.flag_id
        )
    return statement.order_by(_LEVEL_RANK, AlertRow.due_on, AlertRow.flag_id)


def page_of(
    session: Session, query: AlertQuery, *, page: int, per_page: int
) -> tuple[list[AlertRow], int]:
    """One page (from 1) of the list, and how many alerts the whole list holds."""
    terms = conditions(query)
    total = session.scalar(select(func.count()).select_from(AlertRow).where(*terms)) or 0
    statement = ordered(select(AlertRow).where(*terms), query.sort)
    rows = session.scalars(statement.limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def summary(session: Session, query: AlertQuery, today: date) -> Summary:
    terms = conditions(query.scope())
    soon = today + timedelta(days=SOON_DAYS)
    levels = session.execute(select(LEVEL, func.count()).where(*terms).group_by(LEVEL))
    by_level = {str(level): n for level, n in levels}
    due_soon = _count(session, terms, AlertRow.due_on >= today, AlertRow.due_on <= soon)
    escalated = _count(session, terms, AlertRow.status == "escalated")
    ending = _count(session, terms, AlertRow.status == "snoozed", AlertRow.snoozed_until <= soon)
    return Summary(by_level, due_soon, escalated, ending, sum(by_level.values()))


def caseworkers_in_team(session: Session, team: str | None) -> list[str]:
    """Every caseworker the store knows in ``team`` (any team when None): owners of alerts
    and the children's caseworkers in the latest journeys."""
    from_alerts = select(AlertRow.caseworker_id).where(AlertRow.caseworker_id.is_not(None))
    from_journeys = select(JourneyRow.caseworker_id).where(JourneyRow.caseworker_id.is_not(None))
    if team is not None:
        from_alerts = from_alerts.where(AlertRow.team == team)
        from_journeys = from_journeys.where(JourneyRow.team == team)
    found = set(session.scalars(from_alerts.distinct())) | set(
        session.scalars(from_journeys.distinct())
    )
    return sorted(str(cw) for cw in found)


def caseload_forecast(
    session: Session, caseload: Caseload, team: str | None, today: date
) -> list[CaseworkerLoad]:
    """Per caseworker: live alerts, statutory breaches, overdue alerts, and the deadlines of
    their children's clocks falling due within 4, 8 and 12 weeks (one per child and date:
    a review's warning and its due date are one deadline to work)."""
    scope = AlertQuery(team=team, caseload=caseload)
    terms = [*conditions(scope), AlertRow.caseworker_id.is_not(None)]
    counts = session.execute(
        select(
            AlertRow.caseworker_id,
            func.count(),
            func.sum(case((LEVEL == "breach", 1), else_=0)),
            func.sum(case((AlertRow.due_on < today, 1), else_=0)),
        )
        .where(*terms)
        .group_by(AlertRow.caseworker_id)
    )
    loads = {str(cw): (n, breaches or 0, overdue or 0) for cw, n, breaches, overdue in counts}
    horizon = {w: today + timedelta(weeks=w) for w in FORECAST_WEEKS}
    due_within: dict[str, dict[int, int]] = {}
    for row in session.scalars(_journeys_in(caseload, team, assigned=True)):
        dates = {c.due_on for c in parse_snapshot(row.snapshot).clocks if c.due_on > today}
        mine = due_within.setdefault(str(row.caseworker_id), dict.fromkeys(FORECAST_WEEKS, 0))
        for weeks, last in horizon.items():
            mine[weeks] += sum(1 for d in dates if d <= last)
    return [
        CaseworkerLoad(
            caseworker_id=cw,
            open_alerts=loads.get(cw, (0, 0, 0))[0],
            breaches=loads.get(cw, (0, 0, 0))[1],
            overdue=loads.get(cw, (0, 0, 0))[2],
            due_within=due_within.get(cw, dict.fromkeys(FORECAST_WEEKS, 0)),
        )
        for cw in sorted(loads.keys() | due_within.keys())
    ]


def unallocated_children(
    session: Session, caseload: Caseload, team: str | None
) -> list[UnallocatedChild]:
    """Children with no caseworker whose journey has an open request or a plan in force (a
    clock other than a service wait, or a plan in the child's facts), soonest deadline first."""
    children = []
    for row in session.scalars(_journeys_in(caseload, team, assigned=False)):
        snapshot = parse_snapshot(row.snapshot)
        casework = [c for c in snapshot.clocks if c.rule_id != WAIT_RULE]
        has_plan = snapshot.child is not None and snapshot.child.plan_id is not None
        if not casework and not has_plan:
            continue
        first = min(casework, key=lambda c: c.due_on) if casework else None
        live = list(
            session.scalars(
                select(AlertRow.flag_id)
                .where(AlertRow.person_key == row.person_key, AlertRow.status.in_(LIVE))
                .order_by(AlertRow.due_on, AlertRow.flag_id)
            )
        )
        children.append(
            UnallocatedChild(
                child_ref=row.child_ref,
                team=row.team,
                next_due_on=first.due_on if first else None,
                next_rule_id=first.rule_id if first else None,
                open_alerts=len(live),
                flag_id=live[0] if live else None,
                person_key=row.person_key,
            )
        )
    return sorted(children, key=lambda c: (c.next_due_on or date.max, c.child_ref or ""))


def _journeys_in(caseload: Caseload, team: str | None, *, assigned: bool) -> Select[JourneyRow]:
    owner = JourneyRow.caseworker_id
    statement = select(JourneyRow).where(owner.is_not(None) if assigned else owner.is_(None))
    if team is not None:
        statement = statement.where(JourneyRow.team == team)
    return statement.where(_journey_caseload(caseload)).order_by(JourneyRow.person_key)


def _journey_caseload(caseload: Caseload) -> ColumnElement[bool]:
    """``Caseload.clause`` for the journeys table."""
    if caseload.everything:
        return true()
    terms: list[ColumnElement[bool]] = []
    if caseload.caseworker_id is not None:
        terms.append(JourneyRow.caseworker_id == caseload.caseworker_id)
    if caseload.team is not None:
        terms.append(JourneyRow.team == caseload.team)
    return or_(*terms) if terms else false()


def _count(
    session: Session, terms: Sequence[ColumnElement[bool]], *more: ColumnElement[bool]
) -> int:
    return session.scalar(select(func.count()).select_from(AlertRow).where(*terms, *more)) or 0


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
