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

from services.alerts.web.pagestyle import STYLESHEET
from services.alerts.web.views import AlertView, long_date

_PAGE = Template(files(__package__).joinpath("templates/page.html").read_text("utf-8"))

EXCEPTION_NOTE = "Exception recorded (Reg 10(4)): the 20-week time limit does not apply."
SEVERITIES = ("breach", "warning", "advisory")

__all__ = ["STYLESHEET", "Filters", "Viewer", "alerts_table", "e", "inbox_page", "index_page"]


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
class Filters:
    """The rule and severity filters of a list, and the rules there are to choose from."""

    rule: str | None = None
    severity: str | None = None
    rules: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (id, title)
    keep: Mapping[str, str] = field(default_factory=dict)  # other query parameters


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
    """Caseworkers with open alerts, each linking to their inbox."""
    assigned = sorted((cw, n) for cw, n in open_by_caseworker.items() if cw is not None)
    unassigned = open_by_caseworker.get(None, 0)
    parts = ["<h1>Open alerts by caseworker</h1>"]
    if not assigned and not unassigned:
        parts.append('<p class="body">There are no open alerts.</p>')
    if assigned:
        rows = "\n".join(
            f'<tr><td><a href="{e(inbox_href(cw))}">{e(cw)}</a></td>'
            f'<td class="numeric">{n}</td></tr>'
            for cw, n in assigned
        )
        parts.append(
            "<table><caption>Caseworkers with open alerts</caption>"
            '<thead><tr><th scope="col">Caseworker</th>'
            '<th scope="col" class="numeric">Open alerts</th></tr></thead>'
            f"<tbody>\n{rows}\n</tbody></table>"
        )
    if unassigned:
        alerts_have = "open alert is" if unassigned == 1 else "open alerts are"
        parts.append(f'<p class="body">{unassigned} {alerts_have} in a team queue.</p>')
    if assigned or unassigned:
        parts.append('<p class="body"><a href="/team">All open alerts by team</a></p>')
    return page("Open alerts by caseworker", "\n".join(parts), viewer)


def inbox_page(
    title: str, alerts: Sequence[AlertView], filters: Filters, viewer: Viewer, action: str
) -> str:
    """Live alerts, most urgent first; snoozed alerts in a table of their own below."""
    active = [a for a in alerts if a.status != "snoozed"]
    snoozed = [a for a in alerts if a.status == "snoozed"]
    parts = [f"<h1>{e(title)}</h1>", filter_form(filters, action)]
    if not alerts:
        parts.append(f'<p class="body">There are no open alerts{_filtered(filters)}.</p>')
    if active:
        parts.append(alerts_table(f"{title}, most urgent first", active))
    if snoozed:
        parts.append(alerts_table("Snoozed alerts", snoozed))
    return page(title, "\n".join(parts), viewer)


def filter_form(filters: Filters, action: str) -> str:
    rules = [("", "All rules"), *filters.rules]
    severities = [("", "All severities"), *((s, s.capitalize()) for s in SEVERITIES)]
    kept = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in filters.keep.items()
    )
    return (
        f'<form method="get" action="{e(action)}" class="filters">{kept}'
        '<div class="form-group"><label class="label" for="rule">Rule</label>'
        f'<select class="select" id="rule" name="rule">{_options(rules, filters.rule)}</select>'
        '</div><div class="form-group"><label class="label" for="severity">Severity</label>'
        '<select class="select" id="severity" name="severity">'
        f"{_options(severities, filters.severity)}</select></div>"
        '<button type="submit" class="button button--secondary">Filter alerts</button></form>'
    )


def alerts_table(caption: str, alerts: Sequence[AlertView], *, owner: bool = False) -> str:
    owner_head = '<th scope="col">Assigned to</th>' if owner else ""
    rows = "\n".join(_alert_row(alert, owner) for alert in alerts)
    return (
        f"<table><caption>{e(caption)}</caption><thead><tr>"
        '<th scope="col">Rule</th><th scope="col">Child</th><th scope="col">Due date</th>'
        '<th scope="col" class="numeric">Days overdue</th><th scope="col">Severity</th>'
        f'<th scope="col">Status</th>{owner_head}</tr></thead><tbody>\n{rows}\n</tbody></table>'
    )


def status_tag(alert: AlertView) -> str:
    words = {
        "open": "New",
        "escalated": "Escalated",
        "acknowledged": "Acknowledged",
        "resolved": "Resolved",
    }
    if alert.status == "snoozed" and alert.snoozed_until:
        text = f"Snoozed until {long_date(alert.snoozed_until)}"
    else:
        text = words.get(alert.status, alert.status)
    return f'<strong class="tag tag--{e(alert.status)}">{e(text)}</strong>'


def owner_text(caseworker_id: str | None, team: str | None) -> str:
    if caseworker_id:
        return caseworker_id
    return f"{team} team queue" if team else "No team"


def _alert_row(alert: AlertView, owner: bool) -> str:
    rule = f'{e(alert.rule_title)}<span class="hint">{e(alert.subject)}</span>'
    if alert.exception:
        rule += f'<span class="hint note">{e(EXCEPTION_NOTE)}</span>'
    name = e(alert.child_ref) if alert.child_ref else "No reference"
    child = f'<a href="{alert_href(alert.flag_id)}">{name}<span class="visually-hidden">: {e(alert.rule_title)}</span></a>'  # noqa: E501
    due = f'<time datetime="{alert.due_on.isoformat()}">{e(long_date(alert.due_on))}</time>'
    cells = (
        f"<td>{rule}</td><td>{child}</td><td>{due}</td>"
        f'<td class="numeric">{e(_overdue(alert.days_overdue))}</td>'
        f"<td>{_severity(alert)}</td><td>{status_tag(alert)}</td>"
    )
    if owner:
        cells += f"<td>{e(owner_text(alert.caseworker_id, alert.team))}</td>"
    return f"<tr>{cells}</tr>"


def _overdue(days: int) -> str:
    if days > 0:
        return str(days)
    if days == 0:
        return "Due today"
    return f"Due in {-days} day{'s' if days < -1 else ''}"


def _severity(alert: AlertView) -> str:
    label = e(alert.severity.capitalize())
    tag = f'<strong class="tag tag--{e(alert.severity)}">{label}</strong>'
    if not alert.statutory:
        tag += '<span class="hint">Guidance, not a statutory duty</span>'
    return tag


def _options(choices: Sequence[tuple[str, str]], chosen: str | None) -> str:
    return "".join(
        f'<option value="{e(value)}"{" selected" if value == (chosen or "") else ""}>'
        f"{e(label)}</option>"
        for value, label in choices
    )


def _filtered(filters: Filters) -> str:
    return " matching these filters" if filters.rule or filters.severity else ""


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
