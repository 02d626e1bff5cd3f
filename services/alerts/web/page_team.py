"""A manager's view of their team: where to look first (escalations, the team queue, the
children with no caseworker), each caseworker's load now and the deadlines coming to them
(a forecast from the children's clocks), then the team's alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from urllib.parse import urlencode

from services.alerts.store.listing import FORECAST_WEEKS, CaseworkerLoad, UnallocatedChild
from services.alerts.web.pages import Viewer, alert_href, e, inbox_href, page
from services.alerts.web.views import rule_title
from services.alerts.web.words import long_date, not_yet_overdue


def team_intro(
    team: str | None, keep: Mapping[str, str], queued: int, unallocated: int, only_queue: bool
) -> str:
    scope = {k: v for k, v in keep.items() if k == "team"}
    queue_href = _href("/team", {**scope, "queue": "team"})
    links = [
        f'<li><a href="{e(_href("/team", {**scope, "status": "escalated"}))}">'
        "Escalated alerts</a></li>",
        f'<li><a href="{e(queue_href)}">{queued} alert{_s(queued)} in the team queue, '
        "nobody assigned</a></li>",
        f'<li><a href="{e(_href("/team/unallocated", scope))}">{unallocated} '
        f"child{'' if unallocated == 1 else 'ren'} with no caseworker</a></li>",
    ]
    if only_queue:
        links.append(f'<li><a href="{e(_href("/team", scope))}">Every alert of the team</a></li>')
    return '<nav aria-label="Team queues"><ul class="quick-links">' + "".join(links) + "</ul></nav>"


def forecast_section(
    loads: Sequence[CaseworkerLoad], page_number: int, per_page: int, keep: Mapping[str, str]
) -> str:
    """Each caseworker's live alerts, statutory breaches, overdue alerts, and the deadlines of
    their children's clocks due within 4, 8 and 12 weeks; a page at a time."""
    heading = '<h2 id="caseload-heading">Caseload and the deadlines ahead</h2>'
    if not loads:
        return heading + '<p class="body">No caseworker in this team has a child with a clock.</p>'
    pages = max(1, -(-len(loads) // per_page))
    number = min(page_number, pages)
    shown = loads[(number - 1) * per_page : number * per_page]
    week_heads = "".join(
        f'<th scope="col" class="numeric">Due within {w} weeks</th>' for w in FORECAST_WEEKS
    )
    rows = "".join(
        f'<tr><th scope="row" data-label="Caseworker">'
        f'<a href="{e(inbox_href(load.caseworker_id))}">{e(load.caseworker_id)}</a></th>'
        f'<td class="numeric" data-label="Open alerts">{load.open_alerts}</td>'
        f'<td class="numeric" data-label="Statutory breaches">{load.breaches}</td>'
        f'<td class="numeric" data-label="Overdue">{load.overdue}</td>'
        + "".join(
            f'<td class="numeric" data-label="Due within {w} weeks">'
            f"{load.due_within.get(w, 0)}</td>"
            for w in FORECAST_WEEKS
        )
        + "</tr>"
        for load in shown
    )
    first = (number - 1) * per_page + 1
    caption = (
        f"Caseworkers {first} to {first + len(shown) - 1} of {len(loads)}: open alerts now, "
        "and deadlines of their children's clocks ahead"
    )
    table = (
        f'<table class="responsive"><caption>{e(caption)}</caption><thead><tr>'
        '<th scope="col">Caseworker</th><th scope="col" class="numeric">Open alerts</th>'
        '<th scope="col" class="numeric">Statutory breaches</th>'
        f'<th scope="col" class="numeric">Overdue</th>{week_heads}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    return heading + table + _pages("/team", keep, "cw_page", number, pages, "caseworkers")


def unallocated_page(
    team: str | None,
    children: Sequence[UnallocatedChild],
    page_number: int,
    per_page: int,
    keep: Mapping[str, str],
    viewer: Viewer,
    today: date,
) -> str:
    """The children with an open request or plan and no caseworker, soonest deadline first
    (a deadline still ahead on ``today`` is "due", not "overdue")."""
    title = "Children with no caseworker" + (f": team {team}" if team else "")
    parts = [
        f"<h1>{e(title)}</h1>",
        '<p class="body">Each of these children has an open request or a plan in force, but '
        "nobody is their family's single point of contact. Allocate a caseworker in the case "
        "system; casewatch follows it on the next export.</p>",
    ]
    if not children:
        parts.append('<p class="body" role="status">Every child has a caseworker.</p>')
        return page(title, "\n".join(parts), viewer)
    pages = max(1, -(-len(children) // per_page))
    number = min(page_number, pages)
    shown = children[(number - 1) * per_page : number * per_page]
    rows = "".join(_child_row(c, today) for c in shown)
    first = (number - 1) * per_page + 1
    caption = f"Children {first} to {first + len(shown) - 1} of {len(children)}, soonest first"
    parts.append(
        f'<table class="responsive"><caption>{e(caption)}</caption><thead><tr>'
        '<th scope="col">Child</th><th scope="col">Team</th><th scope="col">Next deadline</th>'
        '<th scope="col" class="numeric">Open alerts</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    parts.append(_pages("/team/unallocated", keep, "page", number, pages, "children"))
    parts.append(f'<p class="body"><a href="{e(_href("/team", keep))}">Back to the team</a></p>')
    return page(title, "\n".join(parts), viewer)


def _child_row(child: UnallocatedChild, today: date) -> str:
    name = e(child.child_ref or "No reference")
    link = f'<a href="{alert_href(child.flag_id)}">{name}</a>' if child.flag_id else name
    due = "None known"
    if child.next_due_on and child.next_rule_id:
        title = rule_title(child.next_rule_id)
        title = not_yet_overdue(title) if child.next_due_on >= today else title
        due = f"{e(title)}: {e(long_date(child.next_due_on))}"
    return (
        f'<tr><td data-label="Child">{link}</td><td data-label="Team">{e(child.team or "None")}'
        f'</td><td data-label="Next deadline">{due}</td>'
        f'<td class="numeric" data-label="Open alerts">{child.open_alerts}</td></tr>'
    )


def _pages(
    action: str, keep: Mapping[str, str], name: str, current: int, pages: int, what: str
) -> str:
    if pages <= 1:
        return ""
    links = []
    for n in range(1, pages + 1):
        href = e(_href(action, {**keep, name: str(n)}))
        current_attr = ' aria-current="page" class="current"' if n == current else ""
        links.append(
            f'<li><a href="{href}"{current_attr}><span class="visually-hidden">Page </span>'
            f"{n}</a></li>"
        )
    return (
        f'<nav class="pagination" aria-label="Pages of {what}, page {current} of {pages}">'
        f"<ul>{''.join(links)}</ul></nav>"
    )


def _href(path: str, params: Mapping[str, str]) -> str:
    present = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(present)}" if present else path


def _s(n: int) -> str:
    return "" if n == 1 else "s"
