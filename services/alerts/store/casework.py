"""What people (and the service's own sweep) do to alerts: acknowledge, snooze, reassign,
escalate, wake. Each function runs inside the store's write transaction, checks the change
against ``lifecycle`` and leaves an audit record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.alerts.domain.escalation import EscalationPolicy
from services.alerts.domain.lifecycle import (
    Casework,
    CaseworkInvalid,
    CaseworkRefused,
    as_status,
    check_snooze_until,
    checked_reason,
    status_after,
)
from services.alerts.store.audit import CASEWATCH, audit, owner_words
from services.alerts.store.routing import MANUAL
from services.alerts.store.tables import AlertRow
from services.runtime.roster import IDENTIFIER_RULE, Roster, well_formed


class AlertNotFound(LookupError):
    """No alert with that flag id (or none the reader may see)."""


@dataclass(frozen=True, slots=True)
class Act:
    """Who does the casework, when, and on which clock date."""

    actor: str
    as_of: date
    at: datetime


def acknowledge(session: Session, flag_id: str, act: Act, reason: str | None) -> bool:
    """True when the alert changed; acknowledging twice is not an error."""
    row = _locked(session, flag_id)
    if row.status == "acknowledged":
        return False
    why = checked_reason(reason, required=False)
    _move(row, "acknowledged")
    row.acknowledged_at, row.acknowledged_by = act.at, act.actor
    row.snoozed_until = row.snooze_reason = None
    audit(session, row, "acknowledged", actor=act.actor, as_of=act.as_of, at=act.at, reason=why)
    return True


def snooze(
    session: Session, flag_id: str, act: Act, *, until: date, reason: str, max_days: int
) -> None:
    row = _locked(session, flag_id)
    why = checked_reason(reason, required=True)
    check_snooze_until(until, act.as_of, max_days)
    _move(row, "snoozed")
    row.snoozed_until, row.snooze_reason = until, why
    detail = f"until {until.isoformat()}"
    audit(
        session,
        row,
        "snoozed",
        actor=act.actor,
        as_of=act.as_of,
        at=act.at,
        reason=why,
        detail=detail,
    )


def reassign(
    session: Session,
    flag_id: str,
    act: Act,
    *,
    caseworker_id: str | None,
    reason: str | None,
    roster: Roster,
) -> bool:
    """Give the alert to ``caseworker_id``, or to its team's queue when None. The choice
    then holds against the journey's routing (``routing.MANUAL``) until the alert resolves.
    Only a caseworker on the roster, in the alert's team, may be given it."""
    row = _locked(session, flag_id)
    why = checked_reason(reason, required=False)
    target = (caseworker_id or "").strip() or None
    team = row.team
    if target is not None:
        team = _reassignable(roster, target, row.team)
    _move(row, "reassigned")
    if target == row.caseworker_id:
        return False
    before = owner_words(row.caseworker_id, row.team)
    row.caseworker_id, row.team, row.routing = target, team, MANUAL
    detail = f"from {before} to {owner_words(row.caseworker_id, row.team)}"
    audit(
        session,
        row,
        "reassigned",
        actor=act.actor,
        as_of=act.as_of,
        at=act.at,
        reason=why,
        detail=detail,
    )
    return True


def _reassignable(roster: Roster, target: str, team: str | None) -> str | None:
    """The team the alert has once given to ``target``; refuses anyone not on the roster
    or in another team. The messages never repeat the value (it may be anything)."""
    if not well_formed(target):
        roster.refuse("reassign", "malformed")
        raise CaseworkInvalid(f"a caseworker ID is {IDENTIFIER_RULE}")
    if not roster.has_caseworker(target):
        roster.refuse("reassign", "unknown_caseworker")
        raise CaseworkInvalid("that caseworker is not on the roster")
    home = roster.team_of(target)
    if home is not None and team is not None and home != team:
        roster.refuse("reassign", "other_team")
        raise CaseworkInvalid(f"that caseworker is not in team {team}")
    return home or team


@dataclass(frozen=True, slots=True)
class SweepResult:
    woke: int
    escalated: list[str]  # flag ids


def sweep(session: Session, act: Act, policy: EscalationPolicy) -> SweepResult:
    """Wake snoozes that have ended, then escalate what is still unacknowledged."""
    woke = _wake(session, act)
    return SweepResult(woke, _escalate(session, act, policy))


def _wake(session: Session, act: Act) -> int:
    query = (
        select(AlertRow)
        .where(AlertRow.status == "snoozed", AlertRow.snoozed_until <= act.as_of)
        .order_by(AlertRow.flag_id)
        .with_for_update()
    )
    rows = list(session.scalars(query))
    for row in rows:
        ended = row.snoozed_until
        _move(row, "woke")
        row.snoozed_until = row.snooze_reason = None
        row.open_since = act.at  # the snooze was a decision: the escalation count restarts
        reason = f"the snooze ended on {ended.isoformat() if ended else 'an unknown date'}"
        audit(session, row, "woke", actor=CASEWATCH, as_of=act.as_of, at=act.at, reason=reason)
    return len(rows)


def _escalate(session: Session, act: Act, policy: EscalationPolicy) -> list[str]:
    # R-EXCEPTION: an exception pauses escalation (and never moves the due date).
    query = (
        select(AlertRow)
        .where(AlertRow.status == "open", AlertRow.exception.is_(False))
        .order_by(AlertRow.flag_id)
        .with_for_update()
    )
    escalated = []
    for row in session.scalars(query):
        since = row.open_since or row.first_raised_at or row.last_changed_at
        day = policy.escalates_on(row.severity, since)
        if day is None or act.as_of < day:
            continue
        _move(row, "escalated")
        row.escalated_at, row.escalated_to = act.at, policy.manager_of(row.team)
        days = policy.after_working_days[row.severity]
        detail = (
            f"to {row.escalated_to}"
            if row.escalated_to
            else f"to nobody: no manager is configured for team {row.team or '(none)'}"
        )
        reason = f"open and unacknowledged for {days} working days"
        audit(
            session,
            row,
            "escalated",
            actor=CASEWATCH,
            as_of=act.as_of,
            at=act.at,
            reason=reason,
            detail=detail,
        )
        escalated.append(row.flag_id)
    return escalated


def _locked(session: Session, flag_id: str) -> AlertRow:
    row = session.get(AlertRow, flag_id, with_for_update=True)
    if row is None:
        raise AlertNotFound(flag_id)
    return row


def _move(row: AlertRow, casework: Casework) -> None:
    row.status = status_after(as_status(row.status), casework)


__all__ = ["Act", "AlertNotFound", "CaseworkRefused", "SweepResult", "sweep"]
