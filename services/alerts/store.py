"""The alert store: flag records from ``casewatch.flags`` folded into one alert per flag.

Transitions of ``AlertStore.apply`` (a flag is known by its ``flag_id``):

=================  =====================  ==========================================
record             alert before           result
=================  =====================  ==========================================
raised             none                   ``opened``
raised             open                   ``unchanged`` (re-delivery or re-publish)
raised             resolved               ``reopened`` (``times_raised`` + 1)
resolved           open                   ``resolved`` (``resolved_at`` stored)
resolved           resolved               ``unchanged``
resolved           none                   ``unchanged``, but kept as a resolved alert
=================  =====================  ==========================================

A resolved flag never seen raised is kept (``times_raised`` 0, no ``first_raised_at``) so
its history is complete and a later replay of its older ``raised`` record is recognised as
stale; it never appears in an inbox, and a newer ``raised`` for it counts as ``opened``.

A record whose ``changed_at`` is older than the alert's last state change is a replay (a
re-delivered batch) and changes nothing. Otherwise the descriptive fields (caseworker,
team, severity, exception, ...) follow the newest record even when the status is unchanged.

Works on file-backed SQLite and PostgreSQL (``postgresql+psycopg://``). Each call uses its
own session; ``apply_many`` applies a batch in one transaction. Concurrent appliers are
safe: SQLite writers are serialised with ``BEGIN IMMEDIATE``; on PostgreSQL the batch's
rows are locked in ``flag_id`` order and a lost insert race is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Literal

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from schemas.flags import FlagRecord
from services.alerts.engine import WRITE, engine_for
from services.alerts.tables import AlertEventRow, AlertRow, Base

log = logging.getLogger(__name__)

Transition = Literal["opened", "reopened", "resolved", "unchanged"]
AlertStatus = Literal["open", "resolved"]

OPEN: AlertStatus = "open"
RESOLVED: AlertStatus = "resolved"
WRITE_ATTEMPTS = 5
# unique violation (the same flag inserted by another applier), serialization failure, deadlock
RACE_SQLSTATES = {"23505", "40001", "40P01"}


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


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One row of an alert's history."""

    flag_id: str
    status: AlertStatus
    as_of: date
    changed_at: datetime


_URGENCY = case({"breach": 0, "warning": 1, "advisory": 2}, value=AlertRow.severity, else_=3)


class AlertStore:
    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def apply(self, record: FlagRecord) -> Transition:
        return self.apply_many([record])[0]

    def apply_many(self, records: Sequence[FlagRecord]) -> list[Transition]:
        """Apply a batch in order, in one transaction; one transition per record."""
        if not records:
            return []
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self._write() as session:
                    return _apply_batch(session, records)
            except (IntegrityError, OperationalError) as exc:
                if attempt == WRITE_ATTEMPTS or not _lost_race(exc):
                    raise
                log.debug("alert write race (%s), attempt %d", type(exc.orig).__name__, attempt)
        raise AssertionError("unreachable")

    def get(self, flag_id: str) -> Alert | None:
        with self._sessions() as session:
            row = session.get(AlertRow, flag_id)
            return _alert(row) if row else None

    def open_alerts(
        self, *, caseworker_id: str | None = None, team: str | None = None
    ) -> list[Alert]:
        """Open alerts, most urgent first: oldest due date, then breach before warning."""
        query = select(AlertRow).where(AlertRow.status == OPEN)
        if caseworker_id is not None:
            query = query.where(AlertRow.caseworker_id == caseworker_id)
        if team is not None:
            query = query.where(AlertRow.team == team)
        query = query.order_by(AlertRow.due_on, _URGENCY, AlertRow.flag_id)
        with self._sessions() as session:
            return [_alert(row) for row in session.scalars(query)]

    def counts(self) -> dict[str, int]:
        """Open alerts by rule id."""
        query = select(AlertRow.rule_id, func.count()).where(AlertRow.status == OPEN)
        with self._sessions() as session:
            rows = session.execute(query.group_by(AlertRow.rule_id))
            return {rule_id: n for rule_id, n in rows}

    def counts_by_rule_and_severity(self) -> dict[tuple[str, str], int]:
        """Open alerts by (rule id, severity): the ``casewatch_alerts_open`` gauge."""
        columns = (AlertRow.rule_id, AlertRow.severity)
        query = select(*columns, func.count()).where(AlertRow.status == OPEN).group_by(*columns)
        with self._sessions() as session:
            return {(rule, severity): n for rule, severity, n in session.execute(query)}

    def counts_by_caseworker(self) -> dict[str | None, int]:
        """Open alerts by caseworker id (``None``: not assigned to anyone)."""
        column = AlertRow.caseworker_id
        query = select(column, func.count()).where(AlertRow.status == OPEN).group_by(column)
        with self._sessions() as session:
            return {caseworker: n for caseworker, n in session.execute(query)}

    def history(self, flag_id: str) -> list[StatusChange]:
        query = (
            select(AlertEventRow).where(AlertEventRow.flag_id == flag_id).order_by(AlertEventRow.id)
        )
        with self._sessions() as session:
            return [
                StatusChange(e.flag_id, _status(e.status), e.as_of, e.changed_at)
                for e in session.scalars(query)
            ]

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            session.connection(execution_options=WRITE)
            yield session


def _apply_batch(session: Session, records: Sequence[FlagRecord]) -> list[Transition]:
    ids = sorted({record.flag_id for record in records})
    # Lock existing rows in one fixed order so concurrent batches cannot deadlock on them.
    locked = select(AlertRow).where(AlertRow.flag_id.in_(ids)).order_by(AlertRow.flag_id)
    rows = {row.flag_id: row for row in session.scalars(locked.with_for_update())}
    transitions: list[Transition] = []
    for record in records:
        row = rows.get(record.flag_id)
        if row is None:
            rows[record.flag_id] = row = _new_row(record)
            session.add(row)
            session.add(_status_change(record, row))
            transitions.append("opened" if row.status == OPEN else "unchanged")
        else:
            transitions.append(_apply_to_row(session, row, record))
    return transitions


def _apply_to_row(session: Session, row: AlertRow, record: FlagRecord) -> Transition:
    if record.changed_at < row.last_changed_at:
        return "unchanged"  # a replay of an older state change
    _take_details(row, record)
    raised = record.status == "raised"
    if raised == (row.status == OPEN):
        return "unchanged"
    transition: Transition
    if raised:
        transition = "opened" if row.times_raised == 0 else "reopened"
        row.status, row.resolved_at = OPEN, None
        row.times_raised += 1
        row.first_raised_at = row.first_raised_at or record.changed_at
    else:
        transition = "resolved"
        row.status, row.resolved_at = RESOLVED, record.changed_at
    row.last_changed_at = record.changed_at
    session.add(_status_change(record, row))
    return transition


def _new_row(record: FlagRecord) -> AlertRow:
    raised = record.status == "raised"
    row = AlertRow(
        flag_id=record.flag_id,
        person_key=record.person_key,
        status=OPEN if raised else RESOLVED,
        first_raised_at=record.changed_at if raised else None,
        last_changed_at=record.changed_at,
        resolved_at=None if raised else record.changed_at,
        times_raised=1 if raised else 0,
    )
    _take_details(row, record)
    return row


def _take_details(row: AlertRow, record: FlagRecord) -> None:
    row.rule_id = record.rule_id
    row.rule_pack_version = record.rule_pack_version
    row.severity = record.severity
    row.statutory = record.statutory
    row.child_ref = record.child_ref
    row.caseworker_id = record.caseworker_id
    row.team = record.team
    row.subject = record.subject
    row.due_on = record.due_on
    row.exception = record.exception


def _status_change(record: FlagRecord, row: AlertRow) -> AlertEventRow:
    return AlertEventRow(
        alert=row, status=row.status, as_of=record.as_of, changed_at=record.changed_at
    )


def _lost_race(exc: IntegrityError | OperationalError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES:
        return True
    message = str(exc.orig)
    return message.startswith("UNIQUE constraint failed") or message == "database is locked"


def _status(value: str) -> AlertStatus:
    return OPEN if value == OPEN else RESOLVED


def _alert(row: AlertRow) -> Alert:
    values = {f.name: getattr(row, f.name) for f in fields(Alert)}
    values["status"] = _status(row.status)
    return Alert(**values)
