"""The audit trail of an alert: every change, who made it, when, what and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import cast, get_args

from sqlalchemy.orm import Session

from services.alerts.domain.lifecycle import Action, AlertStatus, as_status
from services.alerts.store.tables import AlertEventRow, AlertRow

JOURNEYS = "journeys"
"""The actor of changes that come from the journeys worker (flags and journey snapshots)."""
CASEWATCH = "casewatch"
"""The actor of changes the alerts service makes on its own (escalation, snoozes ending)."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One row of an alert's history. ``reason`` is typed by people: it may name a child, so
    it is kept out of reprs, logs and notifications."""

    flag_id: str
    status: AlertStatus
    as_of: date
    changed_at: datetime
    action: Action
    actor: str
    reason: str | None = field(default=None, repr=False)
    detail: str | None = None


StatusChange = AuditRecord
"""The name of a history row before casework existed."""


def audit(
    session: Session,
    row: AlertRow,
    action: Action,
    *,
    actor: str,
    as_of: date,
    at: datetime,
    reason: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        AlertEventRow(
            alert=row,
            status=row.status,
            as_of=as_of,
            changed_at=at,
            action=action,
            actor=actor,
            reason=reason,
            detail=detail,
        )
    )


def record_of(row: AlertEventRow) -> AuditRecord:
    return AuditRecord(
        flag_id=row.flag_id,
        status=as_status(row.status),
        as_of=row.as_of,
        changed_at=row.changed_at,
        action=as_action(row.action),
        actor=row.actor,
        reason=row.reason,
        detail=row.detail,
    )


def as_action(value: str) -> Action:
    if value not in get_args(Action):
        raise ValueError(f"unknown audit action {value!r}")
    return cast(Action, value)


def owner_words(caseworker_id: str | None, team: str | None) -> str:
    """Who has an alert, in words: ``cw-01 (team north)`` or ``the north team queue``."""
    if caseworker_id is not None:
        return f"{caseworker_id} (team {team})" if team else caseworker_id
    return f"the {team} team queue" if team else "no team"
