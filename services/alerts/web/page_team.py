"""A manager's view of their team: what was escalated to them, the team's queue, each
caseworker's load, and every live alert of the team with its owner."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.alerts.web.pages import (
    Filters,
    Viewer,
    alerts_table,
    e,
    filter_form,
    inbox_href,
    page,
)
from services.alerts.web.views import AlertView


def team_page(
    team: str | None,
    alerts: Sequence[AlertView],
    open_by_caseworker: Mapping[str | None, int],
    filters: Filters,
    viewer: Viewer,
) -> str:
    title = f"Team {team}" if team else "All teams"
    escalated = [a for a in alerts if a.status == "escalated"]
    queue = [a for a in alerts if a.caseworker_id is None]
    parts = [f"<h1>{e(title)}</h1>", filter_form(filters, "/team")]
    if not alerts:
        parts.append('<p class="body">There are no open alerts for this team.</p>')
    if escalated:
        parts.append(
            alerts_table("Escalated: nobody acknowledged these in time", escalated, owner=True)
        )
    if queue:
        parts.append(alerts_table("In the team queue: nobody is assigned", queue, owner=True))
    caseworkers = sorted((cw, n) for cw, n in open_by_caseworker.items() if cw is not None)
    if caseworkers:
        rows = "".join(
            f'<tr><td><a href="{e(inbox_href(cw))}">{e(cw)}</a></td>'
            f'<td class="numeric">{n}</td></tr>'
            for cw, n in caseworkers
        )
        parts.append(
            "<table><caption>Open alerts by caseworker</caption><thead><tr>"
            '<th scope="col">Caseworker</th><th scope="col" class="numeric">Open alerts</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    if alerts:
        parts.append(alerts_table(f"All open alerts of {title.lower()}", alerts, owner=True))
    return page(title, "\n".join(parts), viewer)
