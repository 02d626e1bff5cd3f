"""Flag records folded into alerts, one alert per flag id (see ``store`` for the table of
transitions). Runs inside the store's write transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.flags import FlagRecord
from services.alerts.domain.lifecycle import LIVE
from services.alerts.store.audit import JOURNEYS, audit, owner_words
from services.alerts.store.routing import FROM_JOURNEY, Misses, journeys_for, route
from services.alerts.store.tables import AlertRow, JourneyRow
from services.runtime.roster import Roster

Transition = Literal["opened", "reopened", "resolved", "unchanged"]


def apply_flags(
    session: Session, records: Sequence[FlagRecord], roster: Roster, misses: Misses
) -> list[Transition]:
    """Fold ``records`` in order; owners named by the flags or journeys are taken only
    from ``roster`` (refusals counted in ``misses``)."""
    ids = sorted({record.flag_id for record in records})
    # Lock existing rows in one fixed order so concurrent batches cannot deadlock on them.
    locked = select(AlertRow).where(AlertRow.flag_id.in_(ids)).order_by(AlertRow.flag_id)
    rows = {row.flag_id: row for row in session.scalars(locked.with_for_update())}
    journeys = journeys_for(session, {record.person_key for record in records})
    transitions: list[Transition] = []
    for record in records:
        journey = journeys.get(record.person_key)
        row = rows.get(record.flag_id)
        if row is None:
            rows[record.flag_id] = row = _new_alert(session, record, journey, roster, misses)
            transitions.append("opened" if row.status == "open" else "unchanged")
        else:
            transitions.append(_apply_to_alert(session, row, record, journey, roster, misses))
    return transitions


def _new_alert(
    session: Session,
    record: FlagRecord,
    journey: JourneyRow | None,
    roster: Roster,
    misses: Misses,
) -> AlertRow:
    raised = record.status == "raised"
    row = AlertRow(
        flag_id=record.flag_id,
        person_key=record.person_key,
        status="open" if raised else "resolved",
        first_raised_at=record.changed_at if raised else None,
        last_changed_at=record.changed_at,
        resolved_at=None if raised else record.changed_at,
        times_raised=1 if raised else 0,
        routing=FROM_JOURNEY,
        open_since=record.changed_at if raised else None,
    )
    _take_details(row, record, journey, roster, misses)
    session.add(row)
    _audit_flag(session, row, record, "opened" if raised else "resolved")
    return row


def _apply_to_alert(
    session: Session,
    row: AlertRow,
    record: FlagRecord,
    journey: JourneyRow | None,
    roster: Roster,
    misses: Misses,
) -> Transition:
    if record.changed_at < row.last_changed_at:
        return "unchanged"  # a replay of an older state change
    raised = record.status == "raised"
    if raised == (row.status in LIVE):
        _follow_details(session, row, record, journey, roster, misses)
        return "unchanged"
    transition: Transition
    if raised:
        transition = "opened" if row.times_raised == 0 else "reopened"
        _reopen(row, record)
    else:
        transition = "resolved"
        row.status, row.resolved_at = "resolved", record.changed_at
    row.last_changed_at = record.changed_at
    _take_details(row, record, journey, roster, misses)
    _audit_flag(session, row, record, transition)
    return transition


def _reopen(row: AlertRow, record: FlagRecord) -> None:
    """A re-raised flag is new casework: routed from the journey, nobody has acted on it."""
    row.status, row.resolved_at = "open", None
    row.times_raised += 1
    row.first_raised_at = row.first_raised_at or record.changed_at
    row.routing, row.open_since = FROM_JOURNEY, record.changed_at
    row.acknowledged_at = row.acknowledged_by = None
    row.snoozed_until, row.snooze_reason = None, None
    row.escalated_at = row.escalated_to = None


def _follow_details(
    session: Session,
    row: AlertRow,
    record: FlagRecord,
    journey: JourneyRow | None,
    roster: Roster,
    misses: Misses,
) -> None:
    """A record that does not change the status still updates the details of the alert."""
    before = (row.caseworker_id, row.team)
    exception_lifted = row.exception and not record.exception
    _take_details(row, record, journey, roster, misses)
    if row.status not in LIVE:
        return
    if exception_lifted and row.status == "open":
        row.open_since = record.changed_at  # R-EXCEPTION: the escalation count starts again
    if (row.caseworker_id, row.team) != before:
        after = (row.caseworker_id, row.team)
        audit(
            session,
            row,
            "rerouted",
            actor=JOURNEYS,
            as_of=record.as_of,
            at=record.changed_at,
            reason="the flag names another caseworker",
            detail=f"from {owner_words(*before)} to {owner_words(*after)}",
        )


def _take_details(
    row: AlertRow, record: FlagRecord, journey: JourneyRow | None, roster: Roster, misses: Misses
) -> None:
    row.rule_id = record.rule_id
    row.rule_pack_version = record.rule_pack_version
    row.severity = record.severity
    row.statutory = record.statutory
    row.child_ref = record.child_ref
    row.subject = record.subject
    row.due_on = record.due_on
    row.exception = record.exception
    route(row, (record.caseworker_id, record.team), journey, roster, misses)


def _audit_flag(session: Session, row: AlertRow, record: FlagRecord, action: Transition) -> None:
    if action == "unchanged":
        return
    raised = action != "resolved"
    audit(
        session,
        row,
        action,
        actor=JOURNEYS,
        as_of=record.as_of,
        at=record.changed_at,
        reason=f"{record.rule_id} {'raised' if raised else 'resolved'} by the journey",
        detail=f"to {owner_words(row.caseworker_id, row.team)}" if raised else None,
    )
