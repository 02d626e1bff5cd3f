"""The JSON API: the inbox's reads and casework for programs (OpenAPI at /openapi.json).

Every route needs a bearer token (or the browser's session cookie plus its CSRF token for
writes) of someone who may read alerts, and sees only that reader's caseload: an alert
outside it is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from services.alerts.store.casework import AlertNotFound
from services.alerts.store.listing import AlertQuery
from services.alerts.store.store import Alert
from services.alerts.web.context import AlertService
from services.alerts.web.lists import ListParams, choose, list_params
from services.alerts.web.signin import Reader, Service, SignedIn, require_csrf, signed_in
from services.alerts.web.views import (
    AlertDetail,
    AlertView,
    JourneyOfAlert,
    detail_of,
    journey_of,
    view_of,
)
from services.runtime.http import documented_refusal

# every route: answered before any route runs (services/runtime/http.py, signin.py)
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: documented_refusal(
        "no valid bearer token (or session cookie): checked before the body is read; "
        "the answer carries WWW-Authenticate: Bearer"
    ),
    403: documented_refusal(
        "signed in, but not allowed: the role, or a browser write without CSRF token"
    ),
    413: documented_refusal("the body is over CASEWATCH_ALERTS_MAX_BODY_BYTES (refused unread)"),
}
# routes that name an alert
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: documented_refusal(
        "no such alert in the reader's caseload (one outside it is answered alike)"
    )
}
# casework: a body that is not JSON, or a change the alert's state does not allow
CONFLICT: dict[int | str, dict[str, Any]] = {
    400: documented_refusal("the body is not JSON"),
    409: documented_refusal("the alert's state does not allow it (e.g. already resolved)"),
}

router = APIRouter(tags=["alerts"], responses=REFUSALS)


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


class AlertSummary(BaseModel):
    """The counts at the top of a list, over the reader's caseload (narrowed by caseworker
    or team), not its filters."""

    total: int
    by_level: dict[str, int] = Field(description="breach, warning, guidance, exception")
    due_in_next_7_days: int
    escalated: int
    snoozes_ending_in_next_7_days: int


Params = Annotated[ListParams, Depends(list_params)]
Scope = Annotated[str, Query(description="empty: all")]


@router.get(
    "/alerts",
    response_model=list[AlertView],
    summary="Live alerts, oldest due date first, a page at a time",
)
def list_alerts(
    reader: SignedIn,
    service: Service,
    response: Response,
    params: Params,
    caseworker: Annotated[str, Query(description="one caseworker's alerts; empty: all")] = "",
    team: Annotated[str, Query(description="one team's alerts; empty: all")] = "",
) -> list[AlertView]:
    """Alerts in the reader's caseload, narrowed by the parameters (an empty one means all).
    ``q`` finds a child's or a case-system reference (part of it, any case). ``sort``: due
    (the default: oldest due date, then statutory breaches first), urgency, child. One page of
    ``per_page`` (default 50, at most 200) is answered; the headers say how many there are:
    ``X-Total-Count``, ``X-Page``, ``X-Per-Page``, ``X-Total-Pages`` and ``Link``."""
    base = AlertQuery(
        caseworker_id=caseworker.strip() or None,
        team=team.strip() or None,
        caseload=reader.caseload,
    )
    today = service.today()
    choice = choose(params, base, today, action="/alerts", strict=True, default_sort="due")
    alerts, total = service.store.list_page(
        choice.query, page=choice.page, per_page=choice.per_page
    )
    pages = max(1, -(-total // choice.per_page))
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Page"] = str(choice.page)
    response.headers["X-Per-Page"] = str(choice.per_page)
    response.headers["X-Total-Pages"] = str(pages)
    keep = {"caseworker": caseworker, "team": team}
    state = replace(choice.state, keep={k: v for k, v in keep.items() if v})
    links = [f'<{state.href(page=1)}>; rel="first"', f'<{state.href(page=pages)}>; rel="last"']
    if choice.page > 1:
        links.append(f'<{state.href(page=min(choice.page - 1, pages))}>; rel="prev"')
    if choice.page < pages:
        links.append(f'<{state.href(page=choice.page + 1)}>; rel="next"')
    response.headers["Link"] = ", ".join(links)
    children = service.store.children([a.person_key for a in alerts if a.rule_id == "R-WAIT"])
    return [view_of(a, today, service.words, children.get(a.person_key)) for a in alerts]


@router.get("/alerts/summary", response_model=AlertSummary, summary="The counts of a list")
def alert_summary(
    reader: SignedIn, service: Service, caseworker: Scope = "", team: Scope = ""
) -> AlertSummary:
    query = AlertQuery(
        caseworker_id=caseworker.strip() or None,
        team=team.strip() or None,
        caseload=reader.caseload,
    )
    counts = service.store.summary(query, service.today())
    return AlertSummary(
        total=counts.total,
        by_level=counts.by_level,
        due_in_next_7_days=counts.due_soon,
        escalated=counts.escalated,
        snoozes_ending_in_next_7_days=counts.snoozes_ending,
    )


@router.get(
    "/alerts/{flag_id}",
    response_model=AlertDetail,
    summary="An alert and its history",
    responses=NOT_FOUND,
)
def get_alert(flag_id: str, reader: SignedIn, service: Service) -> AlertDetail:
    return _detail(service, _alert(service, reader, flag_id))


@router.get(
    "/alerts/{flag_id}/journey",
    response_model=JourneyOfAlert,
    responses=NOT_FOUND,
    summary="The child's journey behind an alert (every view is audited)",
)
def get_journey(flag_id: str, reader: SignedIn, service: Service) -> JourneyOfAlert:
    alert = _alert(service, reader, flag_id)
    record_view(service, reader, alert, "api")
    return JourneyOfAlert(
        flag_id=flag_id, journey=journey_of(service.store.journey(alert.person_key))
    )


@router.post(
    "/alerts/{flag_id}/acknowledge",
    response_model=AlertDetail,
    summary="Acknowledge",
    responses={**NOT_FOUND, **CONFLICT},
)
def acknowledge(
    flag_id: str, body: Acknowledgement, request: Request, reader: SignedIn, service: Service
) -> AlertDetail:
    require_csrf(request, service, reader, None)
    _alert(service, reader, flag_id)
    if service.store.acknowledge(flag_id, service.act(reader.principal), body.reason):
        service.metrics.count_casework("acknowledged")
    return _detail(service, _alert(service, reader, flag_id))


@router.post(
    "/alerts/{flag_id}/snooze",
    response_model=AlertDetail,
    summary="Snooze until a date",
    responses={**NOT_FOUND, **CONFLICT},
)
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
    responses={**NOT_FOUND, **CONFLICT},
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
    child = service.store.children([alert.person_key]).get(alert.person_key)
    history = service.store.history(alert.flag_id)
    return detail_of(alert, service.today(), history, service.words, child)
