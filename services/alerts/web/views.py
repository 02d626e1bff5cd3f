"""How alerts are shown to people: the JSON response models and their wording. No model here
carries the person key."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.journeys import ClockView, JourneySnapshot, TimelineEntry
from services.alerts.domain.lifecycle import AlertStatus
from services.alerts.store.audit import AuditRecord
from services.alerts.store.store import Alert
from services.journeys.domain.rules import RULES

# The rule book's own titles, for every rule that raises flags.
RULE_TITLES = {r.rule_id: r.title for r in RULES if r.clocks is not None}

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class AlertView(BaseModel):
    """An alert in a caseworker's inbox."""

    model_config = ConfigDict(frozen=True)

    flag_id: str
    rule_id: str = Field(description="rule id from the rule book, e.g. R-AR-DUE")
    rule_title: str = Field(description="the rule in words; the id when it has no title")
    severity: str = Field(description="advisory, warning or breach")
    statutory: bool = Field(description="False for advisory rules: never a statutory breach")
    child_ref: str | None = Field(description="the case system's reference for the child")
    caseworker_id: str | None = Field(description="the assignee; null: the team's queue")
    team: str | None
    subject: str = Field(description="what the alert is about, e.g. plan:P123")
    due_on: date = Field(description="the statutory date the alert is about")
    days_overdue: int = Field(description="days from due_on to today; negative: not yet due")
    exception: bool = Field(description="a Reg 10(4) exception is recorded")
    first_raised_at: datetime | None
    status: AlertStatus = Field(description="open, escalated, acknowledged, snoozed, resolved")
    snoozed_until: date | None = None
    escalated_to: str | None = Field(default=None, description="the manager it went to")


class AuditEntry(BaseModel):
    """One change of an alert: who, when, what and why."""

    model_config = ConfigDict(frozen=True)

    action: str
    status: AlertStatus = Field(description="the alert's status after the change")
    actor: str = Field(description="a person's subject, or journeys / casewatch")
    changed_at: datetime
    as_of: date
    reason: str | None
    detail: str | None


class AlertDetail(AlertView):
    routing: str = Field(description="journey: follows the child's caseworker; manual")
    acknowledged_by: str | None
    snooze_reason: str | None
    history: list[AuditEntry]


class Journey(BaseModel):
    """The child's journey as last published by the journeys worker (no person key)."""

    model_config = ConfigDict(frozen=True)

    child_ref: str | None
    caseworker_id: str | None
    team: str | None
    as_of: date
    next_deadline: date | None
    timeline: list[TimelineEntry]
    clocks: list[ClockView]
    updated_at: datetime


class JourneyOfAlert(BaseModel):
    flag_id: str
    journey: Journey | None = Field(description="null until a snapshot has been received")


def rule_title(rule_id: str) -> str:
    return RULE_TITLES.get(rule_id, rule_id)


def view_of(alert: Alert, today: date) -> AlertView:
    return AlertView(
        flag_id=alert.flag_id,
        rule_id=alert.rule_id,
        rule_title=rule_title(alert.rule_id),
        severity=alert.severity,
        statutory=alert.statutory,
        child_ref=alert.child_ref,
        caseworker_id=alert.caseworker_id,
        team=alert.team,
        subject=alert.subject,
        due_on=alert.due_on,
        days_overdue=(today - alert.due_on).days,
        exception=alert.exception,
        first_raised_at=alert.first_raised_at,
        status=alert.status,
        snoozed_until=alert.snoozed_until,
        escalated_to=alert.escalated_to,
    )


def detail_of(alert: Alert, today: date, history: list[AuditRecord]) -> AlertDetail:
    return AlertDetail(
        **view_of(alert, today).model_dump(),
        routing=alert.routing,
        acknowledged_by=alert.acknowledged_by,
        snooze_reason=alert.snooze_reason,
        history=[
            AuditEntry(
                action=r.action,
                status=r.status,
                actor=r.actor,
                changed_at=r.changed_at,
                as_of=r.as_of,
                reason=r.reason,
                detail=r.detail,
            )
            for r in history
        ],
    )


def journey_of(snapshot: JourneySnapshot | None) -> Journey | None:
    if snapshot is None:
        return None
    return Journey.model_validate(snapshot.model_dump(exclude={"person_key", "schema_version"}))


def long_date(day: date) -> str:
    """GOV.UK style, independent of locale: 5 February 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
