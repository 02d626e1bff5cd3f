"""One alert's page: what it is about, the casework buttons, the child's journey behind it
(timeline, clocks, next deadline) and the alert's history."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from schemas.journeys import next_deadline_of
from services.alerts.web.pages import (
    EXCEPTION_NOTE,
    Viewer,
    alert_href,
    csrf_field,
    e,
    owner_text,
    page,
    status_tag,
)
from services.alerts.web.views import AlertDetail, Journey, long_date, rule_title
from services.runtime.clock import LONDON

DONE = {
    "acknowledged": "You acknowledged this alert.",
    "snoozed": "You snoozed this alert.",
    "reassigned": "You reassigned this alert.",
    "unchanged": "Nothing changed: the alert was already like that.",
}


def alert_page(
    alert: AlertDetail,
    journey: Journey | None,
    viewer: Viewer,
    *,
    today: date,
    done: str | None = None,
    error: str | None = None,
    back: str = "/inbox",
) -> str:
    child = alert.child_ref or "a child with no case-system reference"
    parts = [
        f'<span class="caption">Alert for {e(child)}</span><h1>{e(alert.rule_title)}</h1>',
    ]
    if error:
        parts.append(
            '<div class="error-summary" role="alert" tabindex="-1">'
            f'<h2>There is a problem</h2><p class="body">{e(error)}</p></div>'
        )
    elif done in DONE:
        parts.append(f'<div class="banner" role="status"><p class="body">{e(DONE[done])}</p></div>')
    parts.append(_summary(alert))
    if alert.status != "resolved":
        parts.append(_actions(alert, viewer, today))
    parts.append(_journey(journey))
    parts.append(_history(alert))
    parts.append(f'<p class="body"><a href="{e(back)}">Back to the alerts</a></p>')
    return page(f"{alert.rule_title}: {child}", "\n".join(parts), viewer)


def _summary(alert: AlertDetail) -> str:
    rows = [
        ("Child", alert.child_ref or "No reference"),
        ("Rule", f"{alert.rule_title} ({alert.rule_id})"),
        ("About", alert.subject),
        ("Due date", long_date(alert.due_on)),
        ("Severity", alert.severity.capitalize()),
        ("Assigned to", owner_text(alert.caseworker_id, alert.team)),
    ]
    if alert.escalated_to:
        rows.append(("Escalated to", alert.escalated_to))
    if alert.snooze_reason and alert.status == "snoozed":
        rows.append(("Why it is snoozed", alert.snooze_reason))
    items = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in rows)
    items += f"<div><dt>Status</dt><dd>{status_tag(alert)}</dd></div>"
    if alert.exception:
        items += f"<div><dt>Exception</dt><dd>{e(EXCEPTION_NOTE)}</dd></div>"
    return f'<dl class="summary-list">{items}</dl>'


def _actions(alert: AlertDetail, viewer: Viewer, today: date) -> str:
    base = alert_href(alert.flag_id)
    csrf = csrf_field(viewer)
    acknowledge = (
        f'<form method="post" action="{base}/acknowledge" class="action">{csrf}'
        "<h3>Acknowledge</h3>"
        '<div class="form-group"><label class="label" for="ack-reason">Note (optional)</label>'
        '<textarea class="textarea" id="ack-reason" name="reason" maxlength="500"></textarea>'
        '</div><button type="submit" class="button">Acknowledge</button></form>'
    )
    if alert.status == "acknowledged":
        acknowledge = '<p class="body">You or a colleague have acknowledged this alert.</p>'
    snooze = (
        f'<form method="post" action="{base}/snooze" class="action">{csrf}<h3>Snooze</h3>'
        '<div class="form-group"><label class="label" for="snooze-until">Snooze until</label>'
        '<span class="hint" id="snooze-until-hint">The alert comes back on this date.</span>'
        '<input class="input" type="date" id="snooze-until" name="until" required '
        f'min="{(today + timedelta(days=1)).isoformat()}" aria-describedby="snooze-until-hint">'
        '</div><div class="form-group"><label class="label" for="snooze-reason">Reason</label>'
        '<textarea class="textarea" id="snooze-reason" name="reason" required maxlength="500">'
        '</textarea></div><button type="submit" class="button">Snooze</button></form>'
    )
    reassign = (
        f'<form method="post" action="{base}/reassign" class="action">{csrf}<h3>Reassign</h3>'
        '<fieldset class="form-group"><legend class="label">Give this alert to</legend>'
        '<label class="radio"><input type="radio" name="to" value="caseworker" checked> '
        "A caseworker</label>"
        '<label class="label" for="reassign-caseworker">Caseworker ID</label>'
        '<input class="input" id="reassign-caseworker" name="caseworker_id" '
        'autocomplete="off"><label class="radio"><input type="radio" name="to" value="team"> '
        f"The {e(alert.team or 'team')} team queue</label></fieldset>"
        '<div class="form-group"><label class="label" for="reassign-reason">Reason '
        '(optional)</label><textarea class="textarea" id="reassign-reason" name="reason" '
        'maxlength="500"></textarea></div>'
        '<button type="submit" class="button button--secondary">Reassign</button></form>'
    )
    return f"<h2>What to do</h2>{acknowledge}{snooze}{reassign}"


def _journey(journey: Journey | None) -> str:
    heading = "<h2>The child&rsquo;s journey</h2>"
    if journey is None:
        return heading + (
            '<p class="body">casewatch has not received this child&rsquo;s journey yet. '
            "It appears here once the journeys worker publishes it.</p>"
        )
    parts = [heading]
    updated = _when(journey.updated_at)
    parts.append(f'<p class="hint">As of {e(long_date(journey.as_of))}, updated {e(updated)}.</p>')
    upcoming = next_deadline_of(journey.clocks, journey.as_of)  # always one of the clocks below
    deadline = long_date(upcoming) if upcoming else "None known"
    parts.append(f'<p class="body"><strong>Next deadline:</strong> {e(deadline)}</p>')
    if journey.clocks:
        rows = "".join(
            f"<tr><td>{e(rule_title(c.rule_id))}<span class='hint'>{e(c.subject)}</span></td>"
            f"<td>{e(long_date(c.due_on))}</td>"
            f"<td>{'Open alert' if c.state == 'open' else 'Upcoming'}</td></tr>"
            for c in sorted(journey.clocks, key=lambda c: c.due_on)
        )
        parts.append(
            "<table><caption>Statutory clocks</caption><thead><tr>"
            '<th scope="col">Clock</th><th scope="col">Due</th><th scope="col">State</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    parts.append("<h3>Timeline</h3>")
    if not journey.timeline:
        parts.append('<p class="body">No events yet.</p>')
    else:
        items = "".join(
            f'<li><time datetime="{t.on.isoformat()}">{e(long_date(t.on))}</time>'
            f"<span class='hint'>{e(t.kind)}</span>{e(t.summary)}</li>"
            for t in sorted(journey.timeline, key=lambda t: t.on, reverse=True)
        )
        parts.append(f'<ol class="timeline" aria-label="Events, newest first">{items}</ol>')
    return "".join(parts)


def _history(alert: AlertDetail) -> str:
    rows = "".join(
        f"<tr><td>{e(_when(h.changed_at))}</td><td>{e(h.action.capitalize())}"
        f"{_hint(h.detail)}</td><td>{e(h.actor)}</td><td>{e(h.reason or '')}</td></tr>"
        for h in reversed(alert.history)
    )
    return (
        "<table><caption>History of this alert, newest first</caption><thead><tr>"
        '<th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th>'
        f'<th scope="col">Why</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _hint(text: str | None) -> str:
    return f'<span class="hint">{e(text)}</span>' if text else ""


def _when(at: datetime) -> str:
    local = at.astimezone(LONDON)
    return f"{long_date(local.date())} {local:%H:%M}"
