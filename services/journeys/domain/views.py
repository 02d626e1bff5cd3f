"""Read models of a journey for people: its timeline and its clocks. Pure.

Summaries name records by the case system's ids and dates, never a name, date of birth or UPN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from schemas.events import Payload
from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import Journey, fact_date
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import clocks

_OUTCOMES = {
    "Y": "yes",
    "N": "no",
    "A": "not yet decided",
    "W": "withdrawn",
    "H": "historical",
    "M": "maintain",
    "C": "cease",
}


@dataclass(frozen=True)
class TimelineItem:
    on: date
    kind: str
    summary: str


def summary(p: Payload) -> str:
    """One line about a fact, in the words of the Code of Practice."""
    d = p.model_dump()
    outcome = _OUTCOMES.get(str(d.get("outcome")), str(d.get("outcome")))
    if p.type == "review.decided" and d.get("outcome") == "A":
        outcome = "amend"
    return {
        "person.registered": f"Registered (caseworker {d.get('caseworker_id') or 'none'})",
        "person.updated": f"Details updated (caseworker {d.get('caseworker_id') or 'none'})",
        "person.left": f"Left the local authority ({d.get('reason') or 'reason not given'})",
        "assessment.requested": f"EHC needs assessment requested ({d.get('request_id')})",
        "request.decided": f"Decision whether to assess: {outcome}",
        "assessment.completed": f"Decision whether to issue a plan: {outcome}"
        + (" (20-week exception applies)" if d.get("exception") else ""),
        "plan.draft_issued": "Draft plan issued to the family",
        "plan.issued": f"Final EHC plan {d.get('plan_id')} issued",
        "plan.transferred_in": f"Plan {d.get('plan_id')} transferred in"
        + (f" from LA {d['from_la']}" if d.get("from_la") else ""),
        "plan.ceased": f"Plan {d.get('plan_id')} ceased"
        + (f" (reason {d['reason']})" if d.get("reason") else ""),
        "plan.amended": f"Final amended plan {d.get('plan_id')} issued"
        + (" (Tribunal order)" if d.get("tribunal_ordered") else ""),
        "review.meeting_scheduled": "Annual review meeting booked",
        "review.meeting_held": "Annual review meeting held"
        + (" with a preparing-for-adulthood focus" if d.get("pfa_focus") else ""),
        "review.decided": f"Annual review decision: {outcome}",
        "review.draft_issued": "Proposed amendments sent after review",
        "phase.transfer": "Phase transfer recorded"
        + (" (final plan names the next setting)" if d.get("final_on") else ""),
        "placement.recorded": f"Placement at setting {d.get('setting')}",
        "referral.received": f"Referral to {d.get('service')} received",
        "referral.first_contact": "First contact by the service",
        "referral.closed": "Referral closed",
    }.get(p.type, p.type)


def timeline(journey: Journey) -> list[TimelineItem]:
    items = [
        TimelineItem(
            fact_date(f.payload) or _undated(f.payload) or f.recorded_at.date(),
            f.payload.type,
            summary(f.payload),
        )
        for f in journey.facts.values()
    ]
    return sorted(items, key=lambda i: (i.on, i.kind))


def _undated(p: Payload) -> date | None:
    """Facts whose date field is optional or differs (e.g. a booked meeting's future date)."""
    for name in ("meeting_on", "transfer_due_on", "received_on"):
        value = getattr(p, name, None)
        if isinstance(value, date):
            return value
    return None


def journey_clocks(journey: Journey, as_of: date, pack: RulePack) -> list[tuple[Clock, str]]:
    """Each clock with its state on ``as_of``: open, or upcoming (not yet open)."""
    found = []
    for c in clocks(journey, as_of, pack):
        if c.open_on(as_of):
            found.append((c, "open"))
        elif c.opens_on > as_of:
            found.append((c, "upcoming"))
    return sorted(found, key=lambda cs: (cs[0].due_on, cs[0].rule_id))
