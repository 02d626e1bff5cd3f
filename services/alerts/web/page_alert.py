"""One alert's page: what it is about, the casework buttons, the child's journey behind it
(timeline, clocks, next deadline) and the alert's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from schemas.journeys import ChildFacts, ClockView, next_deadline_of
from services.alerts.web.pages import (
    Viewer,
    alert_href,
    csrf_field,
    e,
    overdue_words,
    owner_text,
    page,
    severity_tag,
    status_tag,
)
from services.alerts.web.views import AlertDetail, Journey
from services.alerts.web.words import (
    Words,
    dates_in_words,
    event_words,
    long_date,
    not_yet_overdue,
    uk_date,
    year_group_words,
)
from services.runtime.clock import LONDON

DONE = {
    "acknowledged": "You acknowledged this alert.",
    "snoozed": "You snoozed this alert.",
    "reassigned": "You reassigned this alert.",
    "unchanged": "Nothing changed: the alert was already like that.",
}
ACTION_WORDS = {
    "opened": "Alert raised",
    "reopened": "Alert raised again",
    "resolved": "Resolved",
    "acknowledged": "Acknowledged",
    "snoozed": "Snoozed",
    "woke": "Snooze ended",
    "reassigned": "Reassigned",
    "rerouted": "Caseworker changed in the case system",
    "escalated": "Escalated",
}


@dataclass(frozen=True)
class FormValues:
    """What a refused form sent, shown again so nothing typed is lost."""

    form: str  # acknowledge, snooze or reassign
    reason: str = ""
    until: str = ""
    to: str = "caseworker"
    caseworker_id: str = ""

    def of(self, form: str) -> FormValues:
        return self if self.form == form else FormValues(form)


def alert_page(
    alert: AlertDetail,
    journey: Journey | None,
    viewer: Viewer,
    *,
    today: date,
    words: Words,
    caseworkers: list[str],
    done: str | None = None,
    error: str | None = None,
    kept: FormValues | None = None,
    back: str = "/inbox",
) -> str:
    child = alert.child_ref or "a child with no case-system reference"
    parts = [f'<span class="caption">Alert for {e(child)}</span><h1>{e(alert.title)}</h1>']
    if error:
        parts.append(
            '<div class="error-summary" role="alert" tabindex="-1" aria-labelledby="error-h">'
            f'<h2 id="error-h">There is a problem</h2><p class="body">{e(error)}</p></div>'
        )
    elif done in DONE:
        parts.append(f'<div class="banner" role="status"><p class="body">{e(DONE[done])}</p></div>')
    parts.append(_summary(alert))
    parts.append(_guidance(alert, journey.child if journey else None, words))
    if alert.status != "resolved":
        parts.append(_actions(alert, viewer, today, caseworkers, kept or FormValues("")))
    parts.append(_journey(journey, words, today))
    parts.append(_history(alert))
    parts.append(f'<p class="body"><a href="{e(back)}">Back to the alerts</a></p>')
    return page(f"{alert.title}: {child}", "\n".join(parts), viewer)


def _summary(alert: AlertDetail) -> str:
    rows = [
        ("Child", e(alert.child_ref or "No reference")),
        ("About", e(alert.about)),
        ("Rule", e(f"{alert.rule_title} ({alert.rule_id})")),
        ("Due date", e(long_date(alert.due_on))),
        ("Days overdue", e(overdue_words(alert.days_overdue))),
        ("Severity", severity_tag(alert)),
        ("Assigned to", e(owner_text(alert.caseworker_id, alert.team))),
        ("Status", status_tag(alert)),
    ]
    if alert.escalated_to:
        rows.append(("Escalated to", e(alert.escalated_to)))
    if alert.snooze_reason and alert.status == "snoozed":
        rows.append(("Why it is snoozed", e(alert.snooze_reason)))
    items = "".join(f"<div><dt>{e(k)}</dt><dd>{v}</dd></div>" for k, v in rows)
    return f'<dl class="summary-list">{items}</dl>'


def _guidance(alert: AlertDetail, child: ChildFacts | None, words: Words) -> str:
    said = words.guidance(alert.rule_id, alert.subject, child)
    if said is None:
        return ""
    heading = "What the standard says" if said.is_guidance else "What the law requires"
    rows = [
        ("Requires", said.requires),
        ("Reference", said.reference),
        ("Next step", said.next_step),
    ]
    items = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in rows)
    return (
        f'<section aria-labelledby="guidance-h"><h2 id="guidance-h">{heading}</h2>'
        f'<dl class="summary-list">{items}</dl></section>'
    )


def _actions(
    alert: AlertDetail, viewer: Viewer, today: date, caseworkers: list[str], kept: FormValues
) -> str:
    base = alert_href(alert.flag_id)
    csrf = csrf_field(viewer)
    ack = kept.of("acknowledge")
    acknowledge = (
        f'<form method="post" action="{base}/acknowledge" class="action">{csrf}'
        "<h3>Acknowledge</h3>"
        '<div class="form-group"><label class="label" for="ack-reason">Note (optional)</label>'
        '<textarea class="textarea" id="ack-reason" name="reason" maxlength="500">'
        f"{e(ack.reason)}</textarea>"
        '</div><button type="submit" class="button">Acknowledge</button></form>'
    )
    if alert.status == "acknowledged":
        acknowledge = '<p class="body">You or a colleague have acknowledged this alert.</p>'
    sn = kept.of("snooze")
    example = uk_date(today + timedelta(days=14))
    snooze = (
        f'<form method="post" action="{base}/snooze" class="action">{csrf}<h3>Snooze</h3>'
        '<div class="form-group"><label class="label" for="snooze-until">Snooze until</label>'
        '<span class="hint" id="snooze-until-hint">The alert comes back on this date, at most '
        f"90 days away. Day/month/year, for example {e(example)}.</span>"
        '<input class="input input--date" type="text" inputmode="numeric" id="snooze-until" '
        f'name="until" required value="{e(sn.until)}" '
        f'data-min="{(today + timedelta(days=1)).isoformat()}" '
        'aria-describedby="snooze-until-hint" autocomplete="off">'
        '</div><div class="form-group"><label class="label" for="snooze-reason">Reason</label>'
        '<textarea class="textarea" id="snooze-reason" name="reason" required maxlength="500">'
        f'{e(sn.reason)}</textarea></div><button type="submit" class="button">Snooze</button>'
        "</form>"
    )
    ra = kept.of("reassign")
    team_chosen = ra.to == "team"
    options = '<option value="">Choose a caseworker</option>' + "".join(
        f'<option value="{e(cw)}"{" selected" if cw == ra.caseworker_id else ""}>{e(cw)}</option>'
        for cw in caseworkers
        if cw != alert.caseworker_id
    )
    team_name = alert.team or "team"
    reassign = (
        f'<form method="post" action="{base}/reassign" class="action">{csrf}<h3>Reassign</h3>'
        '<fieldset class="form-group"><legend class="label">Give this alert to</legend>'
        '<label class="radio"><input type="radio" name="to" value="caseworker"'
        f"{'' if team_chosen else ' checked'}> A caseworker in the {e(team_name)} team</label>"
        '<label class="label" for="reassign-caseworker">Caseworker</label>'
        '<select class="select" id="reassign-caseworker" name="caseworker_id">'
        f"{options}</select>"
        '<label class="radio"><input type="radio" name="to" value="team"'
        f"{' checked' if team_chosen else ''}> The {e(team_name)} team queue</label></fieldset>"
        '<div class="form-group"><label class="label" for="reassign-reason">Reason '
        '(optional)</label><textarea class="textarea" id="reassign-reason" name="reason" '
        f'maxlength="500">{e(ra.reason)}</textarea></div>'
        '<button type="submit" class="button button--secondary">Reassign</button></form>'
    )
    return f"<h2>What to do</h2>{acknowledge}{snooze}{reassign}"


def _journey(journey: Journey | None, words: Words, today: date) -> str:
    heading = "<h2>The child&rsquo;s journey</h2>"
    if journey is None:
        return heading + (
            '<p class="body">casewatch has not received this child&rsquo;s journey yet. '
            "It appears here once the journeys worker publishes it.</p>"
        )
    parts = [heading]
    updated = _when(journey.updated_at)
    parts.append(f'<p class="hint">As of {e(long_date(journey.as_of))}, updated {e(updated)}.</p>')
    parts.append(_child(journey.child))
    upcoming = next_deadline_of(journey.clocks, journey.as_of)  # always one of the clocks below
    deadline = long_date(upcoming) if upcoming else "None known"
    parts.append(f'<p class="body"><strong>Next deadline:</strong> {e(deadline)}</p>')
    if journey.clocks:
        rows = "".join(
            f'<tr><td data-label="Clock">{e(_clock_title(words, c, journey.child))}'
            f'<span class="hint">{e(words.about(c.rule_id, c.subject, journey.child))}</span></td>'
            f'<td data-label="Due">{e(long_date(c.due_on))}'
            f'<span class="hint">{e(overdue_words((today - c.due_on).days))}</span></td>'
            f'<td data-label="State">{"Open alert" if c.state == "open" else "Upcoming"}</td></tr>'
            for c in sorted(journey.clocks, key=lambda c: (c.due_on, c.rule_id))
        )
        parts.append(
            '<table class="responsive"><caption>Statutory clocks</caption><thead><tr>'
            '<th scope="col">Clock</th><th scope="col">Due</th><th scope="col">State</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>"
        )
    parts.append("<h3>Timeline</h3>")
    if not journey.timeline:
        parts.append('<p class="body">No events yet.</p>')
    else:
        items = "".join(
            f'<li><time datetime="{t.on.isoformat()}">{e(long_date(t.on))}</time>'
            f"<span class='hint'>{e(event_words(t.kind))}</span>{e(t.summary)}</li>"
            for t in sorted(journey.timeline, key=lambda t: t.on, reverse=True)
        )
        parts.append(f'<ol class="timeline" aria-label="Events, newest first">{items}</ol>')
    return "".join(parts)


def _clock_title(words: Words, clock: ClockView, child: ChildFacts | None) -> str:
    """An upcoming clock is not overdue yet: "Annual review due", not "... overdue"."""
    title = words.title(clock.rule_id, clock.subject, child)
    return not_yet_overdue(title) if clock.state == "upcoming" else title


def _child(child: ChildFacts | None) -> str:
    if child is None:
        return ""
    rows = [
        (
            "Year group",
            year_group_words(child.year_group) if child.year_group is not None else None,
        ),
        ("Setting", child.setting),
        ("EHC plan", child.plan_id),
        ("Plan started", long_date(child.plan_start_on) if child.plan_start_on else None),
        ("Last review", long_date(child.last_review_on) if child.last_review_on else None),
        ("Review due", long_date(child.review_due_on) if child.review_due_on else None),
    ]
    items = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v or 'Not known')}</dd></div>" for k, v in rows)
    return f'<dl class="summary-list" aria-label="About the child">{items}</dl>'


def _history(alert: AlertDetail) -> str:
    rows = "".join(
        f'<tr><td data-label="When">{e(_when(h.changed_at))}</td>'
        f'<td data-label="What">{e(ACTION_WORDS.get(h.action, h.action.capitalize()))}'
        f"{_hint(dates_in_words(h.detail) if h.detail else None)}</td>"
        f'<td data-label="Who">{e(h.actor)}</td>'
        f'<td data-label="Why">{e(dates_in_words(h.reason) if h.reason else "")}</td></tr>'
        for h in reversed(alert.history)
    )
    return (
        '<table class="responsive"><caption>History of this alert, newest first</caption>'
        '<thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th>'
        f'<th scope="col">Why</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _hint(text: str | None) -> str:
    return f'<span class="hint">{e(text)}</span>' if text else ""


def _when(at: datetime) -> str:
    local = at.astimezone(LONDON)
    return f"{long_date(local.date())} {local:%H:%M}"
