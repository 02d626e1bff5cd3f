"""Server-rendered pages of the alerts inbox, plain HTML in the GOV.UK style.

Every value from the store passes through ``html.escape`` (``_e``) before it reaches a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from importlib.resources import files
from string import Template
from urllib.parse import urlencode

from services.alerts.views import AlertView, long_date

_PAGE = Template(files(__package__).joinpath("templates/page.html").read_text("utf-8"))

EXCEPTION_NOTE = "Exception recorded (Reg 10(4)): the 20-week time limit does not apply."


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _page(title: str, main: str) -> str:
    return _PAGE.substitute(title=_e(title), main=main)


def inbox_href(caseworker: str) -> str:
    return "/inbox?" + urlencode({"caseworker": caseworker})


def index_page(open_by_caseworker: Mapping[str | None, int]) -> str:
    """Caseworkers with open alerts, each linking to their inbox."""
    assigned = sorted((cw, n) for cw, n in open_by_caseworker.items() if cw is not None)
    unassigned = open_by_caseworker.get(None, 0)
    parts = ["<h1>Open alerts by caseworker</h1>"]
    if not assigned and not unassigned:
        parts.append('<p class="body">There are no open alerts.</p>')
    if assigned:
        rows = "\n".join(
            f'<tr><td><a href="{_e(inbox_href(cw))}">{_e(cw)}</a></td>'
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
        alerts_have = "open alert has" if unassigned == 1 else "open alerts have"
        parts.append(f'<p class="body">{unassigned} {alerts_have} no caseworker.</p>')
    if assigned or unassigned:
        parts.append('<p class="body"><a href="/inbox">All open alerts</a></p>')
    return _page("Open alerts by caseworker", "\n".join(parts))


def inbox_page(caseworker: str | None, alerts: Sequence[AlertView]) -> str:
    """One caseworker's open alerts (every open alert when ``caseworker`` is None)."""
    title = "All open alerts" if caseworker is None else f"Open alerts for {caseworker}"
    parts = [f"<h1>{_e(title)}</h1>"]
    if not alerts:
        whom = "" if caseworker is None else f" for {caseworker}"
        parts.append(f'<p class="body">There are no open alerts{_e(whom)}.</p>')
    else:
        rows = "\n".join(_alert_row(alert) for alert in alerts)
        parts.append(
            f"<table><caption>{_e(title)}, most urgent first</caption><thead><tr>"
            '<th scope="col">Rule</th><th scope="col">Child</th><th scope="col">Due date</th>'
            '<th scope="col" class="numeric">Days overdue</th><th scope="col">Severity</th>'
            f"</tr></thead><tbody>\n{rows}\n</tbody></table>"
        )
    parts.append('<p class="body"><a href="/">All caseworkers</a></p>')
    return _page(title, "\n".join(parts))


def _alert_row(alert: AlertView) -> str:
    rule = f'{_e(alert.rule_title)}<span class="hint">{_e(alert.subject)}</span>'
    if alert.exception:
        rule += f'<span class="hint note">{_e(EXCEPTION_NOTE)}</span>'
    child = _e(alert.child_ref) if alert.child_ref else '<span class="hint">No reference</span>'
    due = f'<time datetime="{alert.due_on.isoformat()}">{_e(long_date(alert.due_on))}</time>'
    return (
        f"<tr><td>{rule}</td><td>{child}</td><td>{due}</td>"
        f'<td class="numeric">{_e(_overdue(alert.days_overdue))}</td>'
        f"<td>{_severity(alert)}</td></tr>"
    )


def _overdue(days: int) -> str:
    if days > 0:
        return str(days)
    if days == 0:
        return "Due today"
    return f"Due in {-days} day{'s' if days < -1 else ''}"


def _severity(alert: AlertView) -> str:
    label = _e(alert.severity.capitalize())
    tag = f'<strong class="tag tag--{_e(alert.severity)}">{label}</strong>'
    if not alert.statutory:
        tag += '<span class="hint">Guidance, not a statutory duty</span>'
    return tag


STYLESHEET = """\
body{margin:0;font-family:arial,sans-serif;font-size:19px;line-height:1.32;color:#0b0c0c}
.skip-link{position:absolute;left:-9999px}
.skip-link:focus{position:static;display:block;padding:10px 15px;background:#fd0;color:#0b0c0c}
.header{background:#0b0c0c;border-bottom:10px solid #1d70b8;padding:10px 0}
.header-link{color:#fff;font-weight:bold;font-size:24px;text-decoration:none}
.width-container{max-width:960px;margin:0 15px}
@media (min-width:1020px){.width-container{margin:0 auto}}
main{padding:40px 0}
h1{font-size:36px;line-height:1.1;margin:0 0 30px}
a{color:#1d70b8}
a:visited{color:#4c2c92}
a:focus{outline:3px solid transparent;background:#fd0;color:#0b0c0c;
  box-shadow:0 -2px #fd0,0 4px #0b0c0c;text-decoration:none}
table{border-collapse:collapse;width:100%;margin-bottom:40px}
caption{text-align:left;font-weight:bold;font-size:24px;margin-bottom:15px}
th,td{text-align:left;vertical-align:top;padding:10px 20px 10px 0;
  border-bottom:1px solid #b1b4b6}
th.numeric,td.numeric{text-align:right}
.hint{display:block;color:#505a5f;font-size:16px}
.note{font-weight:bold}
.tag{display:inline-block;padding:2px 8px;font-size:16px;font-weight:bold}
.tag--breach{background:#f4cdc6;color:#2a0b06}
.tag--warning{background:#fcd6c3;color:#6e3619}
.tag--advisory{background:#bbd4ea;color:#0c2d4a}
"""
