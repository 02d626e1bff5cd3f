"""Who an alert goes to: the child's caseworker from the latest journey snapshot, else from
the flag; no caseworker means the team's queue.

Snapshots from ``casewatch.journeys`` are stored (one row per child, newest wins) and, when a
snapshot names a different caseworker or team, the child's live alerts follow it, unless a
person reassigned the alert: a manual reassignment is a decision, and the case system's next
snapshot does not undo it. It holds until the alert resolves; a re-raised flag is routed
from the journey again.

Lock order on PostgreSQL: a flag batch locks its alerts, then reads the journeys ``FOR
SHARE``; a snapshot batch writes the journey, then locks the alerts. The first to commit
wins and the other sees its result, so an alert never keeps a stale owner; the rare deadlock
between the two is retried by the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.journeys import SNAPSHOT_ADAPTER, JourneySnapshot
from services.alerts.domain.lifecycle import LIVE
from services.alerts.store.audit import JOURNEYS, audit, owner_words
from services.alerts.store.tables import AlertRow, JourneyRow
from services.runtime.roster import Roster

FROM_JOURNEY = "journey"
MANUAL = "manual"
CASEWORKER_CHANGED = "the child's caseworker changed in the case system"

Owner = tuple[str | None, str | None]  # (caseworker id, team)
Misses = Counter[str]  # values refused by the roster in one batch, by reason
UNKNOWN_CASEWORKER = "unknown_caseworker"
UNKNOWN_TEAM = "unknown_team"


@dataclass(frozen=True, slots=True)
class JourneyChanges:
    """What a batch of journey records did to the store."""

    stored: int = 0
    stale: int = 0
    forgotten: int = 0
    rerouted: int = 0


def journeys_for(session: Session, person_keys: Collection[str]) -> dict[str, JourneyRow]:
    query = select(JourneyRow).where(JourneyRow.person_key.in_(sorted(person_keys)))
    return {row.person_key: row for row in session.scalars(query.with_for_update(read=True))}


def on_roster(roster: Roster, stated: Owner, misses: Misses) -> Owner | None:
    """The owner the case system named, as the roster allows it: a caseworker on the roster
    (in their roster team); else the named team's queue when the team is on it; else None:
    nobody on the roster was named, and the alert keeps the owner it has (an unknown value
    never takes an alert away from someone). Refused values are counted in ``misses``."""
    caseworker, team = stated
    team_known = team is not None and roster.has_team(team)
    if team is not None and not team_known:
        misses[UNKNOWN_TEAM] += 1
    if caseworker is not None:
        if roster.has_caseworker(caseworker):
            return caseworker, roster.team_of(caseworker) or (team if team_known else None)
        misses[UNKNOWN_CASEWORKER] += 1  # to the team queue, and reported
    if team_known:
        return None, team
    return (None, None) if stated == (None, None) else None


def route(
    row: AlertRow, from_flag: Owner, journey: JourneyRow | None, roster: Roster, misses: Misses
) -> None:
    """Set the alert's owner from the journey (or the flag) unless a person chose it."""
    if row.routing == FROM_JOURNEY:
        stated = (journey.caseworker_id, journey.team) if journey is not None else from_flag
        owner = on_roster(roster, stated, misses)
        if owner is not None:
            row.caseworker_id, row.team = owner


def apply_journeys(
    session: Session,
    records: Sequence[tuple[str, JourneySnapshot | None]],
    roster: Roster,
    misses: Misses,
) -> JourneyChanges:
    """Store ``(person key, snapshot)`` records in order; ``None`` is a tombstone (the
    child's journey was erased upstream) and forgets the stored snapshot."""
    stored = stale = forgotten = rerouted = 0
    for person_key, snapshot in records:
        row = session.get(JourneyRow, person_key, with_for_update=True)
        if snapshot is None:
            if row is not None:
                session.delete(row)
                forgotten += 1
            continue
        if row is not None and row.updated_at > snapshot.updated_at:
            stale += 1
            continue
        if row is None:
            row = JourneyRow(person_key=person_key)
            session.add(row)
        row.child_ref, row.caseworker_id, row.team = (
            snapshot.child_ref,
            snapshot.caseworker_id,
            snapshot.team,
        )
        row.as_of, row.updated_at = snapshot.as_of, snapshot.updated_at
        row.snapshot = SNAPSHOT_ADAPTER.dump_json(snapshot).decode()
        stored += 1
        session.flush()  # the alerts below are locked after the journey row is written
        rerouted += _follow(session, person_key, snapshot, roster, misses)
    return JourneyChanges(stored, stale, forgotten, rerouted)


def _follow(
    session: Session, person_key: str, snapshot: JourneySnapshot, roster: Roster, misses: Misses
) -> int:
    stated: Owner = (snapshot.caseworker_id, snapshot.team)
    after = on_roster(roster, stated, misses)
    if after is None:
        return 0  # nobody on the roster was named: the alerts keep their owners
    query = (
        select(AlertRow)
        .where(AlertRow.person_key == person_key)
        .where(AlertRow.status.in_(LIVE))
        .where(AlertRow.routing == FROM_JOURNEY)
        .order_by(AlertRow.flag_id)
        .with_for_update()
    )
    moved = 0
    for alert in session.scalars(query):
        before: Owner = (alert.caseworker_id, alert.team)
        if before == after:
            continue
        alert.caseworker_id, alert.team = after
        audit(
            session,
            alert,
            "rerouted",
            actor=JOURNEYS,
            as_of=snapshot.as_of,
            at=snapshot.updated_at,
            reason=CASEWORKER_CHANGED,
            detail=f"from {owner_words(*before)} to {owner_words(*after)}",
        )
        moved += 1
    return moved


def parse_snapshot(stored: str) -> JourneySnapshot:
    return SNAPSHOT_ADAPTER.validate_json(stored)
