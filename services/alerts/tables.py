"""The alert store's tables: one row per flag, and the history of its state changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String
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
    """A caseworker alert: the latest known state of one flag (``flag_id`` from the worker)."""

    __tablename__ = "alerts"

    flag_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule_id: Mapped[str]
    rule_pack_version: Mapped[str]
    severity: Mapped[str] = mapped_column(String(16))
    statutory: Mapped[bool]
    person_key: Mapped[str]
    child_ref: Mapped[str | None]
    caseworker_id: Mapped[str | None]
    team: Mapped[str | None]
    subject: Mapped[str]
    due_on: Mapped[date]
    exception: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))  # "open" | "resolved"
    first_raised_at: Mapped[datetime | None]  # None while only ever seen resolved
    last_changed_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    times_raised: Mapped[int]

    __table_args__ = (
        Index("ix_alerts_status_due_on", "status", "due_on"),
        Index("ix_alerts_status_caseworker", "status", "caseworker_id"),
    )


class AlertEventRow(Base):
    """One change of an alert's status, appended only when the status changes."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("alerts.flag_id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # the alert's status after the change
    as_of: Mapped[date]
    changed_at: Mapped[datetime]

    # Lets the unit of work insert a new alert before its first history row.
    alert: Mapped[AlertRow] = relationship()
