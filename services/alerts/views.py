"""How an open alert is shown to a caseworker: the JSON response model and its wording."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.alerts.store import Alert

RULE_TITLES = {
    "R-AR-DUE": "Annual review overdue",
    "R-ISSUE-20W": "Final EHC plan not issued within 20 weeks",
}

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
    """An open alert in a caseworker's inbox. The person key is never shown."""

    model_config = ConfigDict(frozen=True)

    flag_id: str
    rule_id: str = Field(description="rule id from the rule book, e.g. R-AR-DUE")
    rule_title: str = Field(description="the rule in words; the id when it has no title")
    severity: str = Field(description="advisory, warning or breach")
    statutory: bool = Field(description="False for advisory rules: never a statutory breach")
    child_ref: str | None = Field(description="the case system's reference for the child")
    caseworker_id: str | None
    team: str | None
    subject: str = Field(description="what the alert is about, e.g. plan:P123")
    due_on: date = Field(description="the statutory date the alert is about")
    days_overdue: int = Field(description="days from due_on to today; negative: not yet due")
    exception: bool = Field(description="a Reg 10(4) exception is recorded")
    first_raised_at: datetime | None


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
    )


def long_date(day: date) -> str:
    """GOV.UK style, independent of locale: 5 February 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
