"""The alert store: flag records from ``casewatch.flags`` folded into one alert per flag,
journey snapshots from ``casewatch.journeys``, the casework people do, and its audit trail.

Transitions of ``AlertStore.apply`` (a flag is known by its ``flag_id``; "live" is any
status but resolved: open, escalated, acknowledged or snoozed):

=================  =====================  ==========================================
record             alert before           result
=================  =====================  ==========================================
raised             none                   ``opened``
raised             live                   ``unchanged`` (re-delivery or re-publish)
raised             resolved               ``reopened`` (``times_raised`` + 1, casework
                                          cleared, routed from the journey again)
resolved           live                   ``resolved`` (``resolved_at`` stored)
resolved           resolved               ``unchanged``
resolved           none                   ``unchanged``, but kept as a resolved alert
=================  =====================  ==========================================

A resolved flag never seen raised is kept (``times_raised`` 0, no ``first_raised_at``) so
its history is complete and a later replay of its older ``raised`` record is recognised as
stale; it never appears in an inbox, and a newer ``raised`` for it counts as ``opened``.

A record whose ``changed_at`` is older than the alert's last state change is a replay (a
re-delivered batch) and changes nothing. Otherwise the descriptive fields (severity,
exception, ...) follow the newest record even when the status is unchanged; the owner
follows ``routing``.

Works on file-backed SQLite and PostgreSQL (``postgresql+psycopg://``); the schema is
brought to the newest migration when the store opens. Each call uses its own session and
writes in one transaction. Concurrent writers are safe: SQLite writers are serialised with
``BEGIN IMMEDIATE``; on PostgreSQL rows are locked in a fixed order and a lost race is
retried.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from schemas.flags import FlagRecord
from schemas.journeys import ChildFacts, JourneySnapshot
from services.alerts.domain.escalation import EscalationPolicy
from services.alerts.domain.lifecycle import (
    LIVE,
    AlertStatus,
    CaseworkInvalid,
    CaseworkRefused,
    as_status,
)
from services.alerts.store import casework
from services.alerts.store.audit import AuditRecord, StatusChange, record_of
from services.alerts.store.caseload import Caseload
from services.alerts.store.casework import Act, AlertNotFound, SweepResult
from services.alerts.store.engine import WRITE, engine_for
from services.alerts.store.fold import Transition, apply_flags
from services.alerts.store.listing import (
    AlertQuery,
    CaseworkerLoad,
    Summary,
    UnallocatedChild,
    caseload_forecast,
    caseworkers_in_team,
    page_of,
    summary,
    unallocated_children,
)
from services.alerts.store.migrate import upgrade_to_head
from services.alerts.store.routing import JourneyChanges, Misses, apply_journeys, parse_snapshot
from services.alerts.store.tables import (
    AlertEventRow,
    AlertRow,
    DigestMarkRow,
    DigestRunRow,
    JourneyRow,
    JourneyViewRow,
)
from services.runtime.roster import Roster

log = logging.getLogger(__name__)

WRITE_ATTEMPTS = 5
# unique violation (the same flag inserted by another applier), serialization failure, deadlock
RACE_SQLSTATES = {"23505", "40001", "40P01"}
T = TypeVar("T")

__all__ = [
    "Alert",
    "AlertNotFound",
    "AlertStore",
    "AuditRecord",
    "CaseworkInvalid",
    "CaseworkRefused",
    "StatusChange",
    "Transition",
]


@dataclass(frozen=True, slots=True)
class Alert:
    """A caseworker alert as read from the store (not the ORM row)."""

    flag_id: str
    rule_id: str
    rule_pack_version: str
    severity: str
    statutory: bool
    person_key: str = field(repr=False)
    child_ref: str | None = field(repr=False)
    caseworker_id: str | None
    team: str | None
    subject: str
    due_on: date
    exception: bool
    status: AlertStatus
    first_raised_at: datetime | None
    last_changed_at: datetime
    resolved_at: datetime | None
    times_raised: int
    routing: str = "journey"
    open_since: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    snoozed_until: date | None = None
    snooze_reason: str | None = field(default=None, repr=False)  # typed by people
    escalated_at: datetime | None = None
    escalated_to: str | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """One opening or escalation since the last digest, with the alert's current owner."""

    event_id: int
    action: str
    rule_id: str
    caseworker_id: str | None
    team: str | None
    escalated_to: str | None


@dataclass(frozen=True, slots=True)
class DigestMark:
    """What a person was sent on a channel (``tables.DigestMarkRow``)."""

    recipient: str
    channel: str
    delivered_through: int
    pending_since: int | None
    failures: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class DigestWindow:
    """Where the next digest run starts: ``baseline`` (the last run's newest audit id; a
    person with no mark hears about what came after it), ``newest`` (this run's end) and
    every person's marks by (recipient, channel)."""

    baseline: int
    newest: int
    marks: dict[tuple[str, str], DigestMark]


@dataclass(frozen=True, slots=True)
class JourneyView:
    viewer: str
    roles: str
    flag_id: str
    viewed_at: datetime
    channel: str


_URGENCY = case({"breach": 0, "warning": 1, "advisory": 2}, value=AlertRow.severity, else_=3)


class AlertStore:
    """``roster``: the caseworkers and teams alerts may be routed and reassigned to (default:
    an open roster, any well-formed identifier)."""

    def __init__(self, url: str, roster: Roster | None = None) -> None:
        self.roster = roster or Roster.open()
        self.engine = engine_for(url)
        upgrade_to_head(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # -- from the journeys worker ----------------------------------------------------------

    def apply(self, record: FlagRecord) -> Transition:
        return self.apply_many([record])[0]

    def apply_many(self, records: Sequence[FlagRecord]) -> list[Transition]:
        """Apply a batch in order, in one transaction; one transition per record."""
        if not records:
            return []
        transitions, misses = self._write_retrying(
            lambda session: _counting(lambda m: apply_flags(session, records, self.roster, m))
        )
        self._report_misses(misses)
        return transitions

    def apply_journeys(
        self, records: Sequence[tuple[str, JourneySnapshot | None]]
    ) -> JourneyChanges:
        """Store journey snapshots keyed by person key (``None``: a tombstone) in order."""
        if not records:
            return JourneyChanges()
        changes, misses = self._write_retrying(
            lambda session: _counting(lambda m: apply_journeys(session, records, self.roster, m))
        )
        self._report_misses(misses)
        return changes

    def _report_misses(self, misses: Misses) -> None:
        """A WARNING with counts and reasons only: the values themselves may be anything."""
        if not misses:
            return
        for reason, n in misses.items():
            self.roster.refuse("routing", reason, n)
        log.warning(
            "routing: %s not on the roster (an unknown caseworker goes to the team queue; "
            "an alert naming nobody on the roster keeps its owner)",
            ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(misses.items())),
        )

    # -- casework ---------------------------------------------------------------------------

    def acknowledge(self, flag_id: str, act: Act, reason: str | None = None) -> bool:
        return self._write_retrying(lambda s: casework.acknowledge(s, flag_id, act, reason))

    def snooze(
        self, flag_id: str, act: Act, *, until: date, reason: str, max_days: int = 90
    ) -> None:
        self._write_retrying(
            lambda s: casework.snooze(
                s, flag_id, act, until=until, reason=reason, max_days=max_days
            )
        )

    def reassign(
        self, flag_id: str, act: Act, *, caseworker_id: str | None, reason: str | None = None
    ) -> bool:
        return self._write_retrying(
            lambda s: casework.reassign(
                s, flag_id, act, caseworker_id=caseworker_id, reason=reason, roster=self.roster
            )
        )

    def sweep(self, act: Act, policy: EscalationPolicy) -> SweepResult:
        """Wake ended snoozes and escalate overdue acknowledgements (idempotent)."""
        return self._write_retrying(lambda session: casework.sweep(session, act, policy))

    def record_journey_view(
        self, alert: Alert, *, viewer: str, roles: Collection[str], channel: str, at: datetime
    ) -> None:
        row = JourneyViewRow(
            viewer=viewer,
            roles=",".join(sorted(roles)),
            flag_id=alert.flag_id,
            person_key=alert.person_key,
            viewed_at=at,
            channel=channel,
        )
        with self._write() as session:
            session.add(row)

    # -- reads ------------------------------------------------------------------------------

    def get(self, flag_id: str, caseload: Caseload | None = None) -> Alert | None:
        """The alert, or None when there is none or ``caseload`` does not hold it."""
        with self._sessions() as session:
            row = session.get(AlertRow, flag_id)
            if row is None or (caseload and not caseload.holds(row.caseworker_id, row.team)):
                return None
            return _alert(row)

    def open_alerts(
        self,
        *,
        caseworker_id: str | None = None,
        team: str | None = None,
        caseload: Caseload | None = None,
        rule_id: str | None = None,
        severity: str | None = None,
        statuses: Collection[AlertStatus] = LIVE,
    ) -> list[Alert]:
        """Live alerts, most urgent first: oldest due date, then breach before warning."""
        query = select(AlertRow).where(AlertRow.status.in_(sorted(statuses)))
        query = query.where(*_narrowed(caseworker_id, team, caseload))
        if rule_id is not None:
            query = query.where(AlertRow.rule_id == rule_id)
        if severity is not None:
            query = query.where(AlertRow.severity == severity)
        query = query.order_by(AlertRow.due_on, _URGENCY, AlertRow.flag_id)
        with self._sessions() as session:
            return [_alert(row) for row in session.scalars(query)]

    def list_page(
        self, query: AlertQuery, *, page: int = 1, per_page: int = 50
    ) -> tuple[list[Alert], int]:
        """One page (from 1) of the alerts ``query`` holds, in its order, and their total."""
        with self._sessions() as session:
            rows, total = page_of(session, query, page=page, per_page=per_page)
            return [_alert(row) for row in rows], total

    def summary(self, query: AlertQuery, today: date) -> Summary:
        """The counts at the top of a list: over the list's scope, not its filters."""
        with self._sessions() as session:
            return summary(session, query, today)

    def caseworkers_in_team(self, team: str | None) -> list[str]:
        """The roster's caseworkers of ``team``; with an open roster (no roster file), the
        caseworkers the store has seen in the team."""
        if not self.roster.is_open:
            return self.roster.caseworkers_in_team(team) if team else []
        with self._sessions() as session:
            return caseworkers_in_team(session, team)

    def caseload_forecast(
        self, caseload: Caseload, team: str | None, today: date
    ) -> list[CaseworkerLoad]:
        with self._sessions() as session:
            return caseload_forecast(session, caseload, team, today)

    def unallocated_children(self, caseload: Caseload, team: str | None) -> list[UnallocatedChild]:
        with self._sessions() as session:
            return unallocated_children(session, caseload, team)

    def counts(self) -> dict[str, int]:
        """Live alerts by rule id."""
        query = select(AlertRow.rule_id, func.count()).where(AlertRow.status.in_(LIVE))
        with self._sessions() as session:
            rows = session.execute(query.group_by(AlertRow.rule_id))
            return {rule_id: n for rule_id, n in rows}

    def counts_by_rule_and_severity(self) -> dict[tuple[str, str], int]:
        """Live alerts by (rule id, severity): the ``casewatch_alerts_open`` gauge."""
        columns = (AlertRow.rule_id, AlertRow.severity)
        query = select(*columns, func.count()).where(AlertRow.status.in_(LIVE)).group_by(*columns)
        with self._sessions() as session:
            return {(rule, severity): n for rule, severity, n in session.execute(query)}

    def counts_by_caseworker(
        self, caseload: Caseload | None = None, *, team: str | None = None
    ) -> dict[str | None, int]:
        """Live alerts by caseworker id (``None``: in a team queue)."""
        column = AlertRow.caseworker_id
        query = select(column, func.count()).where(AlertRow.status.in_(LIVE))
        query = query.where(*_narrowed(None, team, caseload)).group_by(column)
        with self._sessions() as session:
            return {caseworker: n for caseworker, n in session.execute(query)}

    def children(self, person_keys: Collection[str]) -> dict[str, ChildFacts]:
        """The children's facts from their latest journeys (those that have them)."""
        if not person_keys:
            return {}
        query = select(JourneyRow).where(JourneyRow.person_key.in_(sorted(set(person_keys))))
        with self._sessions() as session:
            found = {row.person_key: parse_snapshot(row.snapshot) for row in session.scalars(query)}
        return {key: s.child for key, s in found.items() if s.child is not None}

    def history(self, flag_id: str) -> list[AuditRecord]:
        query = (
            select(AlertEventRow).where(AlertEventRow.flag_id == flag_id).order_by(AlertEventRow.id)
        )
        with self._sessions() as session:
            return [record_of(e) for e in session.scalars(query)]

    def journey(self, person_key: str) -> JourneySnapshot | None:
        with self._sessions() as session:
            row = session.get(JourneyRow, person_key)
            return parse_snapshot(row.snapshot) if row else None

    def journey_views(self, person_key: str) -> list[JourneyView]:
        query = select(JourneyViewRow).where(JourneyViewRow.person_key == person_key)
        with self._sessions() as session:
            return [
                JourneyView(v.viewer, v.roles, v.flag_id, v.viewed_at, v.channel)
                for v in session.scalars(query.order_by(JourneyViewRow.id))
            ]

    # -- digests ----------------------------------------------------------------------------

    def activity_since_last_digest(self) -> tuple[int, list[Activity]]:
        """(the newest audit record id, the openings and escalations after the last digest)."""
        actions = ("opened", "reopened", "escalated")
        with self._sessions() as session:
            since = session.scalar(select(func.max(DigestRunRow.last_event_id))) or 0
            newest = session.scalar(select(func.max(AlertEventRow.id))) or 0
            query = (
                select(AlertEventRow.id, AlertEventRow.action, AlertRow)
                .join(AlertRow, AlertRow.flag_id == AlertEventRow.flag_id)
                .where(AlertEventRow.id > since, AlertEventRow.id <= newest)
                .where(AlertEventRow.action.in_(actions))
                .order_by(AlertEventRow.id)
            )
            return newest, [
                Activity(event_id, action, a.rule_id, a.caseworker_id, a.team, a.escalated_to)
                for event_id, action, a in session.execute(query)
            ]

    def digest_window(self) -> DigestWindow:
        with self._sessions() as session:
            baseline = session.scalar(select(func.max(DigestRunRow.last_event_id))) or 0
            newest = session.scalar(select(func.max(AlertEventRow.id))) or 0
            marks = {
                (m.recipient, m.channel): DigestMark(
                    m.recipient,
                    m.channel,
                    m.delivered_through,
                    m.pending_since,
                    m.failures,
                    m.last_error,
                )
                for m in session.scalars(select(DigestMarkRow))
            }
        return DigestWindow(baseline, max(newest, baseline), marks)

    def activity_between(self, after: int, through: int) -> list[Activity]:
        """Openings and escalations with audit ids in ``(after, through]``, oldest first,
        each with the alert's current owner."""
        query = (
            select(AlertEventRow.id, AlertEventRow.action, AlertRow)
            .join(AlertRow, AlertRow.flag_id == AlertEventRow.flag_id)
            .where(AlertEventRow.id > after, AlertEventRow.id <= through)
            .where(AlertEventRow.action.in_(("opened", "reopened", "escalated")))
            .order_by(AlertEventRow.id)
        )
        with self._sessions() as session:
            return [
                Activity(event_id, action, a.rule_id, a.caseworker_id, a.team, a.escalated_to)
                for event_id, action, a in session.execute(query)
            ]

    def mark_delivered(self, recipient: str, channel: str, through: int) -> None:
        """``recipient`` has been sent everything through audit id ``through`` on ``channel``."""
        with self._write() as session:
            mark = self._mark(session, recipient, channel)
            mark.delivered_through = max(mark.delivered_through, through)
            mark.pending_since, mark.failures, mark.last_error = None, 0, None

    def mark_failed(self, recipient: str, channel: str, since: int, error: str) -> None:
        """The digest of what came after ``since`` did not reach ``recipient`` on
        ``channel``: the next run sends it again. ``error`` names a kind, never data."""
        with self._write() as session:
            mark = self._mark(session, recipient, channel)
            mark.pending_since = since
            mark.failures += 1
            mark.last_error = error[:64]

    @staticmethod
    def _mark(session: Session, recipient: str, channel: str) -> DigestMarkRow:
        mark = session.get(DigestMarkRow, (recipient, channel), with_for_update=True)
        if mark is None:
            mark = DigestMarkRow(
                recipient=recipient, channel=channel, delivered_through=0, failures=0
            )
            session.add(mark)
        mark.updated_at = datetime.now(UTC)
        return mark

    def record_digest(self, last_event_id: int, recipients: int) -> None:
        run = DigestRunRow(
            sent_at=datetime.now(UTC), last_event_id=last_event_id, recipients=recipients
        )
        with self._write() as session:
            session.add(run)

    # -- plumbing ---------------------------------------------------------------------------

    def _write_retrying(self, work: Callable[[Session], T]) -> T:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self._write() as session:
                    return work(session)
            except (IntegrityError, OperationalError) as exc:
                if attempt == WRITE_ATTEMPTS or not _lost_race(exc):
                    raise
                log.debug("alert write race (%s), attempt %d", type(exc.orig).__name__, attempt)
        raise AssertionError("unreachable")

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            session.connection(execution_options=WRITE)
            yield session


def _counting(work: Callable[[Misses], T]) -> tuple[T, Misses]:
    misses: Misses = Counter()  # afresh for every attempt of a retried write
    return work(misses), misses


def _narrowed(
    caseworker_id: str | None, team: str | None, caseload: Caseload | None
) -> list[ColumnElement[bool]]:
    """The conditions that narrow a query to a caseworker, a team and a reader's caseload."""
    terms = []
    if caseworker_id is not None:
        terms.append(AlertRow.caseworker_id == caseworker_id)
    if team is not None:
        terms.append(AlertRow.team == team)
    if caseload is not None:
        terms.append(caseload.clause())
    return terms


def _lost_race(exc: IntegrityError | OperationalError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES:
        return True
    message = str(exc.orig)
    return message.startswith("UNIQUE constraint failed") or message == "database is locked"


def _alert(row: AlertRow) -> Alert:
    values = {f.name: getattr(row, f.name) for f in fields(Alert)}
    values["status"] = as_status(row.status)
    return Alert(**values)
