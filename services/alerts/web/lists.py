"""From a list page's address to the store's query and back: filters, search, sort and page.
An empty parameter means "all" (a form sends ``severity=`` when its select says All)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Annotated

from fastapi import Query

from services.alerts.domain.lifecycle import STATUSES, AlertStatus
from services.alerts.store.listing import SOON_DAYS, SORTS, AlertQuery, Level, Sort, as_level
from services.alerts.web.pages import DEFAULT_PER_PAGE, ListState

MAX_PER_PAGE = 200
Text = Annotated[str, Query()]


class BadListParameter(ValueError):
    """A list parameter the API cannot read (answered 422, naming the parameter)."""


@dataclass(frozen=True)
class ListParams:
    q: str = ""
    rule: str = ""
    severity: str = ""
    status: str = ""
    sort: str = ""
    page: str = ""
    per_page: str = ""
    due: str = ""


def list_params(
    q: Annotated[str, Query(description="part of the child's or a case-system reference")] = "",
    rule: Annotated[str, Query(description="rule id, e.g. R-AR-DUE; empty: all")] = "",
    severity: Annotated[
        str, Query(description="breach, warning, guidance (or advisory), exception; empty: all")
    ] = "",
    status: Annotated[
        str, Query(description="open, escalated, acknowledged, snoozed; empty: all live")
    ] = "",
    sort: Annotated[str, Query(description="urgency (default), due or child")] = "",
    page: Annotated[str, Query(description="page number from 1 (default 1)")] = "",
    per_page: Annotated[str, Query(description="1 to 200 (default 50)")] = "",
    due: Annotated[str, Query(description="soon: due today or in the next 7 days")] = "",
) -> ListParams:
    return ListParams(q, rule, severity, status, sort, page, per_page, due)


@dataclass(frozen=True)
class ListChoice:
    """The parameters read: the store's query and the page wanted."""

    query: AlertQuery
    page: int
    per_page: int
    state: ListState


def choose(
    params: ListParams,
    base: AlertQuery,
    today: date,
    *,
    action: str = "",
    keep: dict[str, str] | None = None,
    strict: bool = False,
    default_sort: Sort = "urgency",
) -> ListChoice:
    """Read ``params`` onto ``base``. ``strict`` (the JSON API) refuses what it cannot read;
    a page ignores it and shows the list unfiltered by that parameter."""
    level = as_level(params.severity)
    if strict and params.severity.strip() and level is None:
        raise BadListParameter("severity: use breach, warning, guidance or exception")
    status = _status(params.status)
    if strict and params.status.strip() and status is None:
        raise BadListParameter("status: use open, escalated, acknowledged, snoozed or resolved")
    sort = _sort(params.sort)
    if strict and params.sort.strip() and sort is None:
        raise BadListParameter("sort: use urgency, due or child")
    page = _number(params.page, "page", 1, None, strict) or 1
    per_page = _number(params.per_page, "per_page", 1, MAX_PER_PAGE, strict) or DEFAULT_PER_PAGE
    soon = params.due.strip() == "soon"
    query = replace(
        base,
        rule_id=params.rule.strip() or None,
        level=level,
        statuses={status} if status else base.statuses,
        q=params.q.strip() or None,
        sort=sort or default_sort,
        due_from=today if soon else None,
        due_by=today + timedelta(days=SOON_DAYS) if soon else None,
    )
    state = ListState(
        action=action,
        rule=query.rule_id or "",
        severity=level or "",
        status=status or "",
        q=query.q or "",
        due="soon" if soon else "",
        sort=query.sort,
        page=page,
        per_page=per_page,
        keep=keep or {},
    )
    return ListChoice(query, page, per_page, state)


def _status(text: str) -> AlertStatus | None:
    value = text.strip().lower()
    return next((s for s in STATUSES if s == value), None)


def _sort(text: str) -> Sort | None:
    value = text.strip().lower()
    return next((s for s in SORTS if s == value), None)


def _number(text: str, name: str, low: int, high: int | None, strict: bool) -> int | None:
    value = text.strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is None or n < low or (high is not None and n > high):
        if strict:
            upper = f" to {high}" if high is not None else " or more"
            raise BadListParameter(f"{name}: a whole number, {low}{upper}") from None
        return None
    return n


__all__ = ["BadListParameter", "Level", "ListChoice", "ListParams", "choose", "list_params"]
