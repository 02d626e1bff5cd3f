"""The inbox pages and their form posts. Posts answer with a redirect to the alert's page
(post/redirect/get), so a reload never repeats the casework; a refused post shows the page
again with the problem at the top."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.alerts.domain.lifecycle import CaseworkInvalid, CaseworkRefused
from services.alerts.store.listing import AlertQuery
from services.alerts.store.store import Alert
from services.alerts.web.context import AlertService
from services.alerts.web.json_api import record_view
from services.alerts.web.lists import ListParams, choose, list_params
from services.alerts.web.page_alert import FormValues, alert_page
from services.alerts.web.page_team import forecast_section, team_intro, unallocated_page
from services.alerts.web.pages import ListState, Viewer, alert_href, inbox_page, index_page
from services.alerts.web.signin import Forbidden, Reader, Service, SignedIn, require_csrf
from services.alerts.web.views import RULE_TITLES, AlertView, detail_of, journey_of, view_of

router = APIRouter(include_in_schema=False)

CsrfField = Annotated[str, Form()]
ReasonField = Annotated[str, Form()]
Params = Annotated[ListParams, Depends(list_params)]
FORECAST_PER_PAGE = 20
REASSIGNED_AWAY = "You reassigned the alert. It is no longer in this list."
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


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
    params: Params,
    caseworker: Annotated[str, Query()] = "",
    done: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """My alerts; a manager or admin may open a caseworker's inbox within their caseload.
    ``done=reassigned``: the alert just reassigned has left this list; say so."""
    me = reader.principal.subject
    whose = caseworker.strip() or me
    if whose != me and not reader.principal.roles & {"manager", "admin"}:
        raise Forbidden("caseworkers see their own inbox only")
    title = "My open alerts" if whose == me else f"Open alerts for {whose}"
    keep = {"caseworker": whose} if whose != me else {}
    base = AlertQuery(caseworker_id=whose, caseload=reader.caseload)
    notice = REASSIGNED_AWAY if done == "reassigned" else ""
    return _list_page(
        service, reader, title, params, base, "/inbox", keep, owner=False, notice=notice
    )


@router.get("/inbox/{caseworker}", response_class=HTMLResponse)
def inbox_of(caseworker: str, reader: SignedIn, service: Service) -> HTMLResponse:
    return inbox(reader, service, ListParams(), caseworker, "")


@router.get("/team", response_class=HTMLResponse)
def team(
    reader: SignedIn,
    service: Service,
    params: Params,
    team: Annotated[str, Query()] = "",
    queue: Annotated[str, Query(description="team: only alerts nobody is assigned")] = "",
    cw_page: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """A manager's own team (the ``team`` parameter is for admins, who see every team): the
    summary, each caseworker's load and forecast, the children with no caseworker, and the
    team's alerts."""
    chosen = _team_of(reader, team)
    keep = {"team": chosen} if chosen and "admin" in reader.principal.roles else {}
    only_queue = queue.strip() == "team"
    if only_queue:
        keep["queue"] = "team"
    today = service.today()
    loads = service.store.caseload_forecast(reader.caseload, chosen, today)
    unallocated = len(service.store.unallocated_children(reader.caseload, chosen))
    queued = service.store.summary(
        AlertQuery(team=chosen, caseload=reader.caseload, unassigned=True), today
    ).total
    intro = team_intro(chosen, keep, queued, unallocated, only_queue) + forecast_section(
        loads, _page_number(cw_page), FORECAST_PER_PAGE, keep
    )
    title = f"Team {chosen}" if chosen else "All teams"
    if only_queue:
        title += ": team queue"
    base = AlertQuery(team=chosen, caseload=reader.caseload, unassigned=only_queue)
    return _list_page(service, reader, title, params, base, "/team", keep, owner=True, intro=intro)


@router.get("/team/unallocated", response_class=HTMLResponse)
def unallocated(
    reader: SignedIn,
    service: Service,
    team: Annotated[str, Query()] = "",
    page: Annotated[str, Query()] = "",
) -> HTMLResponse:
    """Children with an open request or plan and no caseworker: a queue of their own."""
    chosen = _team_of(reader, team)
    children = service.store.unallocated_children(reader.caseload, chosen)
    keep = {"team": chosen} if chosen and "admin" in reader.principal.roles else {}
    html = unallocated_page(
        chosen, children, _page_number(page), 50, keep, viewer_of(reader, service), service.today()
    )
    return HTMLResponse(html)


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
        kept = FormValues(form="acknowledge", reason=reason)
        return _alert_page(service, reader, found, error=str(refused), kept=kept)
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
        kept = FormValues(form="snooze", reason=reason, until=until)
        error = f"The alert was not snoozed: {refused}."
        return _alert_page(service, reader, found, error=error, kept=kept)
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
            raise CaseworkInvalid("choose a caseworker, or the team queue")
        changed = service.store.reassign(
            flag_id, service.act(reader.principal), caseworker_id=target, reason=reason
        )
    except CaseworkRefused as refused:
        error = f"The alert was not reassigned: {refused}."
        kept = FormValues(form="reassign", reason=reason, to=to, caseworker_id=caseworker_id)
        return _alert_page(service, reader, found, error=error, kept=kept)
    if changed:
        service.metrics.count_casework("reassigned")
    if service.store.get(flag_id, reader.caseload) is None:  # it left the reader's caseload
        return RedirectResponse("/inbox?" + urlencode({"done": "reassigned"}), status_code=303)
    return _done(flag_id, "reassigned" if changed else "unchanged")


def viewer_of(reader: Reader, service: AlertService) -> Viewer:
    principal = reader.principal
    csrf = service.csrf.for_session(reader.session) if reader.session else ""
    return Viewer(principal.subject, principal.roles, principal.team, csrf)


def views_of(service: AlertService, alerts: list[Alert]) -> list[AlertView]:
    """Alerts in words; the children's facts name a wait's service and a transfer's phase."""
    needs_child = [
        a.person_key
        for a in alerts
        if a.rule_id in ("R-WAIT", "R-PHASE-UPCOMING", "R-PHASE-MISSED")
    ]
    children = service.store.children(needs_child)
    today = service.today()
    return [view_of(a, today, service.words, children.get(a.person_key)) for a in alerts]


def _list_page(
    service: AlertService,
    reader: Reader,
    title: str,
    params: ListParams,
    base: AlertQuery,
    action: str,
    keep: dict[str, str],
    *,
    owner: bool,
    intro: str = "",
    notice: str = "",
) -> HTMLResponse:
    today = service.today()
    choice = choose(params, base, today, action=action, keep=keep)
    alerts, total = service.store.list_page(
        choice.query, page=choice.page, per_page=choice.per_page
    )
    page = choice.page
    last = max(1, -(-total // choice.per_page))
    if page > last:  # past the end (the list shrank, or a typed address): show the last page
        page = last
        alerts, total = service.store.list_page(choice.query, page=page, per_page=choice.per_page)
    rules = sorted(
        {
            **RULE_TITLES,
            **{a.rule_id: a.rule_id for a in alerts if a.rule_id not in RULE_TITLES},
        }.items()
    )
    state = ListState(**{**choice.state.__dict__, "page": page, "total": total, "rules": rules})
    summary = service.store.summary(choice.query, today)
    html = inbox_page(
        title,
        views_of(service, alerts),
        state,
        summary,
        viewer_of(reader, service),
        owner=owner,
        intro=intro,
        notice=notice,
    )
    return HTMLResponse(html)


def _team_of(reader: Reader, team: str) -> str | None:
    principal = reader.principal
    if "admin" in principal.roles:
        return team.strip() or None
    if "manager" not in principal.roles:
        raise Forbidden("the team view is for managers")
    return principal.team


def _page_number(text: str) -> int:
    value = text.strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


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
    kept: FormValues | None = None,
) -> HTMLResponse:
    today = service.today()
    current = service.store.get(alert.flag_id) or alert
    journey = journey_of(service.store.journey(alert.person_key))
    child = journey.child if journey else None
    history = service.store.history(alert.flag_id)
    detail = detail_of(current, today, history, service.words, child)
    record_view(service, reader, alert, "page")
    page = alert_page(
        detail,
        journey,
        viewer_of(reader, service),
        today=today,
        words=service.words,
        caseworkers=service.team_caseworkers(current.team),
        done=done,
        error=error,
        kept=kept,
    )
    status = 200 if error is None else 422
    return HTMLResponse(page, status_code=status)


def _done(flag_id: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{alert_href(flag_id)}?done={what}", status_code=303)


def _day(text: str) -> date:
    """DD/MM/YYYY (as the form shows it) or ISO 2026-03-31."""
    value = text.strip()
    try:
        if m := _UK_DATE.match(value):
            return date(int(m[3]), int(m[2]), int(m[1]))
        return date.fromisoformat(value)
    except ValueError:
        raise CaseworkInvalid(
            "enter the date the snooze ends as day/month/year, like 31/03/2026"
        ) from None
