"""The inbox pages and their form posts. Posts answer with a redirect to the alert's page
(post/redirect/get), so a reload never repeats the casework; a refused post shows the page
again with the problem at the top."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.alerts.domain.lifecycle import CaseworkInvalid, CaseworkRefused
from services.alerts.store.store import Alert
from services.alerts.web.context import AlertService
from services.alerts.web.json_api import record_view
from services.alerts.web.page_alert import alert_page
from services.alerts.web.page_team import team_page
from services.alerts.web.pages import Filters, Viewer, alert_href, inbox_page, index_page
from services.alerts.web.signin import Forbidden, Reader, Service, SignedIn, require_csrf
from services.alerts.web.views import RULE_TITLES, AlertView, detail_of, journey_of, view_of

router = APIRouter(include_in_schema=False)

RuleFilter = Annotated[str | None, Query()]
CsrfField = Annotated[str, Form()]
ReasonField = Annotated[str, Form()]


class NoSuchAlertPage(LookupError):
    """Answered with the 404 page: not there, or not in the reader's caseload."""


@router.get("/", response_class=HTMLResponse)
def home(reader: SignedIn, service: Service) -> Response:
    roles = reader.principal.roles
    if "admin" in roles:
        counts = service.store.counts_by_caseworker(reader.caseload)
        return HTMLResponse(index_page(counts, viewer_of(reader, service)))
    return RedirectResponse("/team" if "manager" in roles else "/inbox", status_code=303)


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    reader: SignedIn,
    service: Service,
    caseworker: Annotated[str | None, Query()] = None,
    rule: RuleFilter = None,
    severity: RuleFilter = None,
) -> HTMLResponse:
    """My alerts; a manager or admin may open a caseworker's inbox within their caseload."""
    me = reader.principal.subject
    whose = caseworker or me
    if whose != me and not reader.principal.roles & {"manager", "admin"}:
        raise Forbidden("caseworkers see their own inbox only")
    alerts = service.store.open_alerts(
        caseworker_id=whose, caseload=reader.caseload, rule_id=rule, severity=severity
    )
    views = [view_of(a, service.today()) for a in alerts]
    title = "My open alerts" if whose == me else f"Open alerts for {whose}"
    keep = {"caseworker": whose} if whose != me else {}
    filters = _filters(views, rule, severity, keep)
    page = inbox_page(title, views, filters, viewer_of(reader, service), "/inbox")
    return HTMLResponse(page)


@router.get("/inbox/{caseworker}", response_class=HTMLResponse)
def inbox_of(caseworker: str, reader: SignedIn, service: Service) -> HTMLResponse:
    return inbox(reader, service, caseworker)


@router.get("/team", response_class=HTMLResponse)
def team(
    reader: SignedIn,
    service: Service,
    team: Annotated[str | None, Query()] = None,
    rule: RuleFilter = None,
    severity: RuleFilter = None,
) -> HTMLResponse:
    """A manager's own team (the ``team`` parameter is for admins, who see every team)."""
    principal = reader.principal
    if "admin" not in principal.roles:
        if "manager" not in principal.roles:
            raise Forbidden("the team view is for managers")
        team = principal.team
    alerts = service.store.open_alerts(
        team=team, caseload=reader.caseload, rule_id=rule, severity=severity
    )
    views = [view_of(a, service.today()) for a in alerts]
    counts = service.store.counts_by_caseworker(reader.caseload, team=team)
    keep = {"team": team} if team and "admin" in principal.roles else {}
    filters = _filters(views, rule, severity, keep)
    return HTMLResponse(team_page(team, views, counts, filters, viewer_of(reader, service)))


@router.get("/inbox/alerts/{flag_id}", response_class=HTMLResponse)
def alert(
    flag_id: str, reader: SignedIn, service: Service, done: str | None = None
) -> HTMLResponse:
    return _alert_page(service, reader, _alert(service, reader, flag_id), done=done)


@router.post("/inbox/alerts/{flag_id}/acknowledge")
def acknowledge(
    flag_id: str,
    request: Request,
    reader: SignedIn,
    service: Service,
    csrf_token: CsrfField = "",
    reason: ReasonField = "",
) -> Response:
    require_csrf(request, service, reader, csrf_token)
    found = _alert(service, reader, flag_id)
    try:
        changed = service.store.acknowledge(flag_id, service.act(reader.principal), reason)
    except CaseworkRefused as refused:
        return _alert_page(service, reader, found, error=str(refused))
    if changed:
        service.metrics.count_casework("acknowledged")
    return _done(flag_id, "acknowledged" if changed else "unchanged")


@router.post("/inbox/alerts/{flag_id}/snooze")
def snooze(
    flag_id: str,
    request: Request,
    reader: SignedIn,
    service: Service,
    csrf_token: CsrfField = "",
    until: Annotated[str, Form()] = "",
    reason: ReasonField = "",
) -> Response:
    require_csrf(request, service, reader, csrf_token)
    found = _alert(service, reader, flag_id)
    try:
        service.store.snooze(
            flag_id,
            service.act(reader.principal),
            until=_day(until),
            reason=reason,
            max_days=service.config.max_snooze_days,
        )
    except CaseworkRefused as refused:
        return _alert_page(service, reader, found, error=f"The alert was not snoozed: {refused}.")
    service.metrics.count_casework("snoozed")
    return _done(flag_id, "snoozed")


@router.post("/inbox/alerts/{flag_id}/reassign")
def reassign(
    flag_id: str,
    request: Request,
    reader: SignedIn,
    service: Service,
    csrf_token: CsrfField = "",
    to: Annotated[str, Form()] = "caseworker",
    caseworker_id: Annotated[str, Form()] = "",
    reason: ReasonField = "",
) -> Response:
    require_csrf(request, service, reader, csrf_token)
    found = _alert(service, reader, flag_id)
    target = None if to == "team" else caseworker_id.strip()
    try:
        if target == "":
            raise CaseworkInvalid("enter the caseworker's ID, or choose the team queue")
        changed = service.store.reassign(
            flag_id, service.act(reader.principal), caseworker_id=target, reason=reason
        )
    except CaseworkRefused as refused:
        error = f"The alert was not reassigned: {refused}."
        return _alert_page(service, reader, found, error=error)
    if changed:
        service.metrics.count_casework("reassigned")
    if service.store.get(flag_id, reader.caseload) is None:  # it left the reader's caseload
        return RedirectResponse("/inbox?" + urlencode({"done": "reassigned"}), status_code=303)
    return _done(flag_id, "reassigned" if changed else "unchanged")


def viewer_of(reader: Reader, service: AlertService) -> Viewer:
    principal = reader.principal
    csrf = service.csrf.for_session(reader.session) if reader.session else ""
    return Viewer(principal.subject, principal.roles, principal.team, csrf)


def _alert(service: AlertService, reader: Reader, flag_id: str) -> Alert:
    found = service.store.get(flag_id, reader.caseload)
    if found is None:
        raise NoSuchAlertPage(flag_id)
    return found


def _alert_page(
    service: AlertService,
    reader: Reader,
    alert: Alert,
    *,
    done: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    today = service.today()
    current = service.store.get(alert.flag_id) or alert
    detail = detail_of(current, today, service.store.history(alert.flag_id))
    journey = journey_of(service.store.journey(alert.person_key))
    record_view(service, reader, alert, "page")
    page = alert_page(
        detail, journey, viewer_of(reader, service), today=today, done=done, error=error
    )
    status = 200 if error is None else 422
    return HTMLResponse(page, status_code=status)


def _done(flag_id: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{alert_href(flag_id)}?done={what}", status_code=303)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CaseworkInvalid("enter the date the snooze ends, like 2026-03-31") from None


def _filters(
    views: list[AlertView], rule: str | None, severity: str | None, keep: dict[str, str]
) -> Filters:
    rules = {**RULE_TITLES, **{v.rule_id: v.rule_title for v in views}}
    return Filters(rule, severity, sorted(rules.items()), keep)
