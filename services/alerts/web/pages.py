"""Server-rendered pages of the alerts inbox, plain HTML in the GOV.UK style: real headings,
labelled fields, tables with captions, no script (the CSP forbids it), so everything works
with a keyboard and a screen reader.

Every value from the store passes through ``e`` (``html.escape``) before it reaches a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from importlib.resources import files
from string import Template
from urllib.parse import urlencode

from services.alerts.store.listing import LEVELS, SORTS, Summary
from services.alerts.web.pagestyle import STYLESHEET
from services.alerts.web.views import AlertView
from services.alerts.web.words import LEVEL_HINTS, level_words, long_date

_PAGE = Template(files(__package__).joinpath("templates/page.html").read_text("utf-8"))

EXCEPTION_NOTE = "Exception recorded (Reg 10(4)): the 20-week time limit does not apply."
STATUS_WORDS = {
    "open": "New",
    "escalated": "Escalated",
    "acknowledged": "Acknowledged",
    "snoozed": "Snoozed",
    "resolved": "Resolved",
}
SORT_WORDS = {"urgency": "Most urgent first", "due": "Due date, oldest first", "child": "Child"}
PER_PAGE_CHOICES = (25, 50, 100, 200)
DEFAULT_PER_PAGE = 50

__all__ = [
    "STYLESHEET",
    "ListState",
    "Viewer",
    "alerts_table",
    "e",
    "inbox_page",
    "index_page",
    "list_controls",
]


@dataclass(frozen=True)
class Viewer:
    """Who the page is for: drives the navigation and carries the form's CSRF token."""

    subject: str
    roles: frozenset[str]
    team: str | None = None
    csrf_token: str = ""

    @property
    def sees_teams(self) -> bool:
        return bool(self.roles & {"manager", "admin"})


@dataclass(frozen=True)
class ListState:
    """A list's filters, search, sort and page, as the address holds them (empty: all)."""

    action: str
    rule: str = ""
    severity: str = ""
    status: str = ""
    q: str = ""
    due: str = ""  # "soon": due today or in the next 7 days
    sort: str = "urgency"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    total: int = 0
    rules: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (id, title)
    keep: Mapping[str, str] = field(default_factory=dict)  # other query parameters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def filtered(self) -> bool:
        return bool(self.rule or self.severity or self.status or self.q or self.due)

    def href(self, **changes: object) -> str:
        """This list's address with ``changes``; empty values are left out."""
        values: dict[str, object] = {
            **self.keep,
            "q": self.q,
            "rule": self.rule,
            "severity": self.severity,
            "status": self.status,
            "due": self.due,
            "sort": "" if self.sort == "urgency" else self.sort,
            "per_page": "" if self.per_page == DEFAULT_PER_PAGE else self.per_page,
            "page": "" if self.page == 1 else self.page,
        }
        values.update(changes)
        defaults: dict[str, tuple[object, ...]] = {
            "page": (1, "1"),
            "sort": ("urgency",),
            "per_page": (DEFAULT_PER_PAGE, str(DEFAULT_PER_PAGE)),
        }
        query = urlencode(
            {
                k: v
                for k, v in values.items()
                if v not in ("", None) and v not in defaults.get(k, ())
            }
        )
        return f"{self.action}?{query}" if query else self.action


def e(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, main: str, viewer: Viewer | None = None) -> str:
    return _PAGE.substitute(title=e(title), main=main, nav=_nav(viewer))


def inbox_href(caseworker: str) -> str:
    return "/inbox?" + urlencode({"caseworker": caseworker})


def alert_href(flag_id: str) -> str:
    return f"/inbox/alerts/{e(flag_id)}"


def csrf_field(viewer: Viewer) -> str:
    return f'<input type="hidden" name="csrf_token" value="{e(viewer.csrf_token)}">'


def index_page(open_by_caseworker: Mapping[str | None, int], viewer: Viewer) -> str:
    """Caseworkers with open alerts, each linking to their inbox (which opens as many)."""
    assigned = sorted((cw, n) for cw, n in open_by_caseworker.items() if cw is not None)
    unassigned = open_by_caseworker.get(None, 0)
    total = sum(open_by_caseworker.values())
    parts = ["<h1>Open alerts by caseworker</h1>"]
    if not total:
        parts.append('<p class="body">There are no open alerts.</p>')
    else:
        parts.append(
            f'<p class="body"><a href="/team">All {total} open alert{_s(total)}, every team</a></p>'
        )
    if assigned:
        rows = "\n".join(
            f'<tr><td data-label="Caseworker"><a href="{e(inbox_href(cw))}">{e(cw)}</a></td>'
            f'<td class="numeric" data-label="Open alerts">{n}</td></tr>'
            for cw, n in assigned
        )
        parts.append(
            '<table class="responsive"><caption>Caseworkers with open alerts</caption>'
            '<thead><tr><th scope="col">Caseworker</th>'
            '<th scope="col" class="numeric">Open alerts</th></tr></thead>'
            f"<tbody>\n{rows}\n</tbody></table>"
        )
    if unassigned:
        alerts_are = "open alert is" if unassigned == 1 else "open alerts are"
        parts.append(
            f'<p class="body"><a href="/team?queue=team">{unassigned} {alerts_are} in a team '
            "queue</a>, with nobody assigned.</p>"
        )
    return page("Open alerts by caseworker", "\n".join(parts), viewer)


def inbox_page(
    title: str,
    alerts: Sequence[AlertView],
    state: ListState,
    summary: Summary,
    viewer: Viewer,
    *,
    owner: bool = False,
    intro: str = "",
    notice: str = "",
) -> str:
    """A list of live alerts: the summary, the filters, one page of the list, the pages.
    ``notice`` confirms what was just done (a status message, announced by screen readers)."""
    banner = (
        f'<div class="banner" role="status"><p class="body">{e(notice)}</p></div>' if notice else ""
    )
    parts = [
        f"<h1>{e(title)}</h1>",
        banner,
        summary_panel(summary, state),
        intro,
        list_controls(state),
    ]
    parts.append(alerts_section(alerts, state, owner=owner))
    return page(title, "\n".join(p for p in parts if p), viewer)


def alerts_section(alerts: Sequence[AlertView], state: ListState, *, owner: bool) -> str:
    if not alerts:
        where = " matching these filters" if state.filtered else ""
        return f'<p class="body" role="status">There are no open alerts{where}.</p>'
    first = (state.page - 1) * state.per_page + 1
    last = first + len(alerts) - 1
    shown = f"Showing {first} to {last} of {state.total} alert{_s(state.total)}"
    caption = f"{shown}, {SORT_WORDS.get(state.sort, state.sort).lower()}"
    return alerts_table(caption, alerts, owner=owner) + pagination(state)


def summary_panel(summary: Summary, state: ListState) -> str:
    """The counts of the whole list (not its filters), each a link to the alerts it counts."""
    base = ListState(action=state.action, keep=state.keep, per_page=state.per_page)
    items = [
        (summary.by_level.get("breach", 0), "statutory breaches", base.href(severity="breach")),
        (summary.by_level.get("warning", 0), "warnings", base.href(severity="warning")),
        (summary.by_level.get("guidance", 0), "guidance", base.href(severity="guidance")),
        (
            summary.by_level.get("exception", 0),
            "exceptions recorded",
            base.href(severity="exception"),
        ),
        (summary.due_soon, "due in the next 7 days", base.href(due="soon", sort="due")),
        (summary.escalated, "escalated", base.href(status="escalated")),
        (summary.snoozes_ending, "snoozes ending in the next 7 days", base.href(status="snoozed")),
    ]
    cards = "".join(
        f'<li><a href="{e(href)}"><span class="count">{n}</span> {e(label)}</a></li>'
        for n, label, href in items
    )
    total = summary.total
    return (
        '<section class="summary" aria-labelledby="summary-heading">'
        f'<h2 id="summary-heading">{total} open alert{_s(total)}</h2>'
        f'<ul class="summary-cards">{cards}</ul></section>'
    )


def list_controls(state: ListState) -> str:
    """Search, filters, sort and page size: a GET form; empty choices mean all."""
    rules = [("", "All rules"), *state.rules]
    levels = [("", "All severities"), *((lv, level_words(lv)) for lv in LEVELS)]
    statuses = [
        ("", "Every open status"),
        *((s, w) for s, w in STATUS_WORDS.items() if s != "resolved"),
    ]
    sorts = [(s, SORT_WORDS[s]) for s in SORTS]
    sizes = [(str(n), str(n)) for n in PER_PAGE_CHOICES]
    hidden = {**state.keep, **({"due": state.due} if state.due else {})}
    kept = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in hidden.items())
    clear = (
        f' <a class="clear" href="{e(ListState(action=state.action, keep=state.keep).href())}">'
        "Clear filters</a>"
        if state.filtered
        else ""
    )
    return (
        f'<form method="get" action="{e(state.action)}" class="filters" role="search" '
        f'aria-label="Find alerts">{kept}'
        '<div class="form-group search"><label class="label" for="q">Child or case reference'
        '</label><input class="input" type="search" id="q" name="q" '
        f'value="{e(state.q)}" autocomplete="off"></div>'
        f"{_select('rule', 'Rule', rules, state.rule)}"
        f"{_select('severity', 'Severity', levels, state.severity)}"
        f"{_select('status', 'Status', statuses, state.status)}"
        f"{_select('sort', 'Sort by', sorts, state.sort)}"
        f"{_select('per_page', 'Per page', sizes, str(state.per_page))}"
        '<div class="form-group"><button type="submit" class="button button--secondary">'
        f"Apply</button>{clear}</div></form>"
    )


def pagination(state: ListState) -> str:
    if state.pages <= 1:
        return ""
    links = []
    if state.page > 1:
        links.append(
            f'<li><a href="{e(state.href(page=state.page - 1))}" rel="prev">Previous'
            '<span class="visually-hidden"> page</span></a></li>'
        )
    for n in _window(state.page, state.pages):
        if n is None:
            links.append('<li aria-hidden="true">&hellip;</li>')
        elif n == state.page:
            links.append(
                f'<li><a href="{e(state.href(page=n))}" aria-current="page" '
                f'class="current"><span class="visually-hidden">Page </span>{n}</a></li>'
            )
        else:
            links.append(
                f'<li><a href="{e(state.href(page=n))}"><span class="visually-hidden">'
                f"Page </span>{n}</a></li>"
            )
    if state.page < state.pages:
        links.append(
            f'<li><a href="{e(state.href(page=state.page + 1))}" rel="next">Next'
            '<span class="visually-hidden"> page</span></a></li>'
        )
    return (
        f'<nav class="pagination" aria-label="Pages of alerts, page {state.page} of '
        f'{state.pages}"><ul>{"".join(links)}</ul></nav>'
    )


def alerts_table(caption: str, alerts: Sequence[AlertView], *, owner: bool = False) -> str:
    owner_head = '<th scope="col">Assigned to</th>' if owner else ""
    rows = "\n".join(_alert_row(alert, owner) for alert in alerts)
    return (
        f'<table class="responsive"><caption>{e(caption)}</caption><thead><tr>'
        '<th scope="col">Alert</th><th scope="col">Child</th><th scope="col">Due date</th>'
        '<th scope="col" class="numeric">Days overdue</th><th scope="col">Severity</th>'
        f'<th scope="col">Status</th>{owner_head}</tr></thead><tbody>\n{rows}\n</tbody></table>'
    )


def status_tag(alert: AlertView) -> str:
    if alert.status == "snoozed" and alert.snoozed_until:
        text = f"Snoozed until {long_date(alert.snoozed_until)}"
    else:
        text = STATUS_WORDS.get(alert.status, alert.status)
    return f'<strong class="tag tag--{e(alert.status)}">{e(text)}</strong>'


def severity_tag(alert: AlertView) -> str:
    tag = f'<strong class="tag tag--{e(alert.level)}">{e(alert.level_label)}</strong>'
    hint = LEVEL_HINTS.get(alert.level)
    return tag + (f'<span class="hint">{e(hint)}</span>' if hint else "")


def owner_text(caseworker_id: str | None, team: str | None) -> str:
    if caseworker_id:
        return caseworker_id
    return f"{team} team queue" if team else "No team"


def overdue_words(days: int) -> str:
    if days > 0:
        return f"{days} day{_s(days)} overdue"
    if days == 0:
        return "Due today"
    return f"Due in {-days} day{_s(-days)}"


def _alert_row(alert: AlertView, owner: bool) -> str:
    title = f'{e(alert.title)}<span class="hint">{e(alert.about)}</span>'
    name = e(alert.child_ref) if alert.child_ref else "No reference"
    hidden = f'<span class="visually-hidden">: {e(alert.title)}</span>'
    child = f'<a href="{alert_href(alert.flag_id)}">{name}{hidden}</a>'
    due = f'<time datetime="{alert.due_on.isoformat()}">{e(long_date(alert.due_on))}</time>'
    cells = (
        f'<td data-label="Alert">{title}</td><td data-label="Child">{child}</td>'
        f'<td data-label="Due date">{due}</td>'
        f'<td class="numeric" data-label="Days overdue">{e(_overdue(alert.days_overdue))}</td>'
        f'<td data-label="Severity">{severity_tag(alert)}</td>'
        f'<td data-label="Status">{status_tag(alert)}</td>'
    )
    if owner:
        cells += (
            f'<td data-label="Assigned to">{e(owner_text(alert.caseworker_id, alert.team))}</td>'
        )
    return f"<tr>{cells}</tr>"


def _overdue(days: int) -> str:
    if days > 0:
        return str(days)
    if days == 0:
        return "Due today"
    return f"Due in {-days} day{_s(-days)}"


def _select(name: str, label: str, choices: Sequence[tuple[str, str]], chosen: str) -> str:
    return (
        f'<div class="form-group"><label class="label" for="{name}">{e(label)}</label>'
        f'<select class="select" id="{name}" name="{name}">{_options(choices, chosen)}</select>'
        "</div>"
    )


def _options(choices: Sequence[tuple[str, str]], chosen: str | None) -> str:
    return "".join(
        f'<option value="{e(value)}"{" selected" if value == (chosen or "") else ""}>'
        f"{e(label)}</option>"
        for value, label in choices
    )


def _window(current: int, last: int) -> list[int | None]:
    """Page numbers to link: the first, the last, and two either side of the current."""
    shown = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    out: list[int | None] = []
    previous = 0
    for n in shown:
        if n - previous > 1:
            out.append(None)
        out.append(n)
        previous = n
    return out


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _nav(viewer: Viewer | None) -> str:
    if viewer is None:
        return ""
    links = ['<li><a href="/inbox">My alerts</a></li>']
    if viewer.sees_teams:
        links.append('<li><a href="/team">Team alerts</a></li>')
    roles = ", ".join(sorted(viewer.roles))
    links.append(f"<li>Signed in as <strong>{e(viewer.subject)}</strong> ({e(roles)})</li>")
    links.append(
        f'<li><form method="post" action="/logout">{csrf_field(viewer)}'
        '<button type="submit" class="link-button">Sign out</button></form></li>'
    )
    return f'<nav class="service-nav" aria-label="Account"><ul>{"".join(links)}</ul></nav>'
