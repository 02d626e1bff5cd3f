"""How alerts are shown to people: the JSON response models and their wording. No model here
carries the person key."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.journeys import ChildFacts, ClockView, JourneySnapshot, TimelineEntry
from services.alerts.domain.lifecycle import AlertStatus
from services.alerts.store.audit import AuditRecord
from services.alerts.store.listing import Level, level_of
from services.alerts.store.store import Alert
from services.alerts.web.words import Words, level_words
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import RULES

# The rule book's own titles, for every rule that raises flags.
RULE_TITLES = {r.rule_id: r.title for r in RULES if r.clocks is not None}
WORDS = Words(DEFAULT_PACK)


class AlertView(BaseModel):
    """An alert in a caseworker's inbox."""

    model_config = ConfigDict(frozen=True)

    flag_id: str
    rule_id: str = Field(description="rule id from the rule book, e.g. R-AR-DUE")
    rule_title: str = Field(description="the rule in words; the id when it has no title")
    title: str = Field(description="this alert in plain words, naming the service or phase")
    about: str = Field(description="the subject in plain words")
    severity: str = Field(description="the flag's severity: advisory, warning or breach")
    level: Level = Field(
        description="for people: breach (statutory only), warning, guidance, or exception"
    )
    level_label: str = Field(description="the level in words, e.g. Statutory breach")
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
    child: ChildFacts | None = None
    updated_at: datetime


class JourneyOfAlert(BaseModel):
    flag_id: str
    journey: Journey | None = Field(description="null until a snapshot has been received")


def rule_title(rule_id: str) -> str:
    return RULE_TITLES.get(rule_id, rule_id)


def view_of(
    alert: Alert, today: date, words: Words = WORDS, child: ChildFacts | None = None
) -> AlertView:
    """``child``: the child's facts from the journey, which name a wait's service."""
    level = level_of(alert.severity, alert.statutory, alert.exception, alert.rule_id)
    return AlertView(
        flag_id=alert.flag_id,
        rule_id=alert.rule_id,
        rule_title=rule_title(alert.rule_id),
        title=words.title(alert.rule_id, alert.subject, child),
        about=words.about(alert.rule_id, alert.subject, child),
        severity=alert.severity,
        level=level,
        level_label=level_words(level),
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


def detail_of(
    alert: Alert,
    today: date,
    history: list[AuditRecord],
    words: Words = WORDS,
    child: ChildFacts | None = None,
) -> AlertDetail:
    return AlertDetail(
        **view_of(alert, today, words, child).model_dump(),
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
