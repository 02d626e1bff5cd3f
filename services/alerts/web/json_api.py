"""The JSON API: the inbox's reads and casework for programs (OpenAPI at /openapi.json).

Every route needs a bearer token (or the browser's session cookie plus its CSRF token for
writes) of someone who may read alerts, and sees only that reader's caseload: an alert
outside it is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.alerts.domain.lifecycle import LIVE, AlertStatus
from services.alerts.store.casework import AlertNotFound
from services.alerts.store.store import Alert
from services.alerts.web.context import AlertService
from services.alerts.web.signin import Reader, Service, SignedIn, require_csrf, signed_in
from services.alerts.web.views import (
    AlertDetail,
    AlertView,
    JourneyOfAlert,
    detail_of,
    journey_of,
    view_of,
)

router = APIRouter(tags=["alerts"])


class Acknowledgement(BaseModel):
    reason: str | None = Field(default=None, max_length=500, description="an optional note")


class Snooze(BaseModel):
    until: date = Field(description="the alert comes back on this date")
    reason: str = Field(max_length=500, description="why it can wait: required")


class Reassignment(BaseModel):
    caseworker_id: str | None = Field(description="the new assignee; null: the team's queue")
    reason: str | None = Field(default=None, max_length=500)


class Me(BaseModel):
    subject: str
    roles: list[str]
    team: str | None


@router.get("/alerts", response_model=list[AlertView], summary="Live alerts, most urgent first")
def list_alerts(
    reader: SignedIn,
    service: Service,
    caseworker: Annotated[str | None, Query(description="one caseworker's alerts")] = None,
    team: Annotated[str | None, Query(description="one team's alerts")] = None,
    rule: Annotated[str | None, Query(description="rule id, e.g. R-AR-DUE")] = None,
    severity: Annotated[str | None, Query(description="advisory, warning or breach")] = None,
    status: Annotated[AlertStatus | None, Query(description="default: every live status")] = None,
) -> list[AlertView]:
    """Alerts in the reader's caseload, oldest due date first, optionally narrowed further."""
    alerts = service.store.open_alerts(
        caseworker_id=caseworker,
        team=team,
        caseload=reader.caseload,
        rule_id=rule,
        severity=severity,
        statuses={status} if status else LIVE,
    )
    on = service.today()
    return [view_of(a, on) for a in alerts]


@router.get("/alerts/{flag_id}", response_model=AlertDetail, summary="An alert and its history")
def get_alert(flag_id: str, reader: SignedIn, service: Service) -> AlertDetail:
    return _detail(service, _alert(service, reader, flag_id))


@router.get(
    "/alerts/{flag_id}/journey",
    response_model=JourneyOfAlert,
    summary="The child's journey behind an alert (every view is audited)",
)
def get_journey(flag_id: str, reader: SignedIn, service: Service) -> JourneyOfAlert:
    alert = _alert(service, reader, flag_id)
    record_view(service, reader, alert, "api")
    return JourneyOfAlert(
        flag_id=flag_id, journey=journey_of(service.store.journey(alert.person_key))
    )


@router.post("/alerts/{flag_id}/acknowledge", response_model=AlertDetail, summary="Acknowledge")
def acknowledge(
    flag_id: str, body: Acknowledgement, request: Request, reader: SignedIn, service: Service
) -> AlertDetail:
    require_csrf(request, service, reader, None)
    _alert(service, reader, flag_id)
    if service.store.acknowledge(flag_id, service.act(reader.principal), body.reason):
        service.metrics.count_casework("acknowledged")
    return _detail(service, _alert(service, reader, flag_id))


@router.post("/alerts/{flag_id}/snooze", response_model=AlertDetail, summary="Snooze until a date")
def snooze(
    flag_id: str, body: Snooze, request: Request, reader: SignedIn, service: Service
) -> AlertDetail:
    require_csrf(request, service, reader, None)
    _alert(service, reader, flag_id)
    service.store.snooze(
        flag_id,
        service.act(reader.principal),
        until=body.until,
        reason=body.reason,
        max_days=service.config.max_snooze_days,
    )
    service.metrics.count_casework("snoozed")
    return _detail(service, _alert(service, reader, flag_id))


@router.post(
    "/alerts/{flag_id}/reassign",
    response_model=AlertDetail,
    summary="Reassign to a caseworker or the team queue",
)
def reassign(
    flag_id: str, body: Reassignment, request: Request, reader: SignedIn, service: Service
) -> AlertDetail:
    """The alert may leave the reader's caseload: the answer is then the alert as it was
    reassigned, and later reads of it are 404."""
    require_csrf(request, service, reader, None)
    _alert(service, reader, flag_id)
    act = service.act(reader.principal)
    if service.store.reassign(flag_id, act, caseworker_id=body.caseworker_id, reason=body.reason):
        service.metrics.count_casework("reassigned")
    alert = service.store.get(flag_id)
    if alert is None:
        raise AlertNotFound(flag_id)
    return _detail(service, alert)


@router.get("/me", response_model=Me, summary="Who the token says you are")
def me(reader: Annotated[Reader, Depends(signed_in)]) -> Me:
    principal = reader.principal
    return Me(subject=principal.subject, roles=sorted(principal.roles), team=principal.team)


def record_view(service: AlertService, reader: Reader, alert: Alert, channel: str) -> None:
    """Every look at a child's journey is kept: who, which alert (so which child), when."""
    principal = reader.principal
    service.store.record_journey_view(
        alert,
        viewer=principal.subject,
        roles=principal.roles,
        channel=channel,
        at=datetime.now(UTC),
    )
    service.metrics.count_journey_view(channel)


def _alert(service: AlertService, reader: Reader, flag_id: str) -> Alert:
    alert = service.store.get(flag_id, reader.caseload)
    if alert is None:
        raise AlertNotFound(flag_id)
    return alert


def _detail(service: AlertService, alert: Alert) -> AlertDetail:
    return detail_of(alert, service.today(), service.store.history(alert.flag_id))
