"""The alert store's tables. The schema is owned by the Alembic migrations in
``migrations/versions``; these models must match them (a test compares the two)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC: ``timestamptz`` on PostgreSQL, naive UTC on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        # SQLite's DATETIME keeps no offset: store UTC wall time and restore it on load.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # Unbounded strings: the flag contract sets no lengths (VARCHAR on PostgreSQL).
    type_annotation_map = {datetime: UtcDateTime, date: Date, str: String()}


class AlertRow(Base):
    """A caseworker alert: the latest known state of one flag (``flag_id`` from the worker)
    and the casework done on it."""

    __tablename__ = "alerts"

    flag_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_id: Mapped[str]
    rule_pack_version: Mapped[str]
    severity: Mapped[str] = mapped_column(String(16))
    statutory: Mapped[bool]
    person_key: Mapped[str]
    child_ref: Mapped[str | None]
    caseworker_id: Mapped[str | None]  # the assignee; None: the team's queue
    team: Mapped[str | None]
    subject: Mapped[str]
    due_on: Mapped[date]
    exception: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))  # lifecycle.AlertStatus
    first_raised_at: Mapped[datetime | None]  # None while only ever seen resolved
    last_changed_at: Mapped[datetime]  # of the flag (casework keeps its own times)
    resolved_at: Mapped[datetime | None]
    times_raised: Mapped[int]
    routing: Mapped[str] = mapped_column(String(16), server_default="journey")  # or "manual"
    open_since: Mapped[datetime | None]  # start of the current unacknowledged spell
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None]
    snoozed_until: Mapped[date | None]
    snooze_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]
    escalated_to: Mapped[str | None]

    __table_args__ = (
        Index("ix_alerts_status_due_on", "status", "due_on"),
        Index("ix_alerts_status_caseworker", "status", "caseworker_id"),
        Index("ix_alerts_status_team", "status", "team"),
        Index("ix_alerts_person_key", "person_key"),
    )


class AlertEventRow(Base):
    """The audit trail: one row per change of an alert (who, when, what, why)."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("alerts.flag_id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # the alert's status after the change
    as_of: Mapped[date]  # the monitor's clock date
    changed_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(16))  # lifecycle.Action
    actor: Mapped[str]  # a user's subject, or "journeys" / "casewatch" for the system
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)

    # Lets the unit of work insert a new alert before its first history row.
    alert: Mapped[AlertRow] = relationship()

    __table_args__ = (Index("ix_alert_events_changed_at", "changed_at"),)


class JourneyRow(Base):
    """The latest snapshot of a child's journey from ``casewatch.journeys``."""

    __tablename__ = "journeys"

    person_key: Mapped[str] = mapped_column(primary_key=True)
    child_ref: Mapped[str | None]
    caseworker_id: Mapped[str | None]
    team: Mapped[str | None]
    as_of: Mapped[date]
    updated_at: Mapped[datetime]
    snapshot: Mapped[str] = mapped_column(Text)  # the record as published (JSON)


class JourneyViewRow(Base):
    """Who looked at which child's journey, and when: every view is kept."""

    __tablename__ = "journey_views"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    viewer: Mapped[str]
    roles: Mapped[str]
    flag_id: Mapped[str] = mapped_column(String(64))
    person_key: Mapped[str] = mapped_column(index=True)
    viewed_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(8))  # "page" | "api"


class DigestRunRow(Base):
    """One sending of the daily digest. The next digest reports the audit records after
    ``last_event_id``: an id, unlike a time, also catches a flag stored late."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sent_at: Mapped[datetime]
    last_event_id: Mapped[int]
    recipients: Mapped[int]


class DigestMarkRow(Base):
    """What each person has been sent, per channel: the digest through audit record
    ``delivered_through`` went out, so a rerun never sends it again; ``pending_since`` set:
    the last attempt failed, and the next run sends everything after it again."""

    __tablename__ = "digest_marks"

    recipient: Mapped[str] = mapped_column(String(64), primary_key=True)  # a roster id
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)  # smtp, outbox, webhook
    delivered_through: Mapped[int]
    pending_since: Mapped[int | None]
    failures: Mapped[int]  # consecutive failed attempts
    last_error: Mapped[str | None] = mapped_column(String(64))  # a kind of error, never data
    updated_at: Mapped[datetime]
