"""Read models of a journey for people: its timeline and its clocks. Pure.

Summaries name records by the case system's ids and dates, never a name, date of birth or UPN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from schemas.events import Payload, ReferralReceived
from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import (
    Fact,
    Journey,
    fact_date,
    placements,
    plans,
    referrals,
)
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import clocks
from services.journeys.domain.rules.review import review_anchor, review_due
from services.journeys.domain.rules.transition import ncy_on

_OUTCOMES = {
    "Y": "yes",
    "N": "no",
    "A": "not yet decided",
    "W": "withdrawn",
    "H": "historical",
    "M": "maintain",
    "C": "cease",
}


@dataclass(frozen=True, slots=True)
class TimelineItem:
    on: date
    kind: str
    summary: str


def summary(p: Payload, pack: RulePack | None = None) -> str:
    """One line about a fact, in the words of the Code of Practice (a referral names its
    service as the rule pack does: "speech and language therapy", not its code)."""
    if isinstance(p, ReferralReceived) and pack is not None and p.service in pack.waits:
        return f"Referral to {in_a_sentence(pack.waits[p.service].name)} received"
    line = _SUMMARIES.get(p.type)
    return line(p) if line is not None else p.type


def in_a_sentence(name: str) -> str:
    """A rule pack's service name inside a sentence: ``Autism diagnostic assessment (CYP)`` ->
    ``autism diagnostic assessment (CYP)``; a name whose first word is an acronym stays."""
    first = name.split(" ", 1)[0]
    return name if first.isupper() else name[:1].lower() + name[1:]


def _outcome(p: Any) -> str:
    outcome = str(p.outcome)
    return _OUTCOMES.get(outcome, outcome)


def _review_outcome(p: Any) -> str:
    return "amend" if p.outcome == "A" else _outcome(p)


# Each reads only the fields it names (a pydantic dump of every payload cost ~10 µs a fact).
_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "person.registered": lambda p: f"Registered (caseworker {p.caseworker_id or 'none'})",
    "person.updated": lambda p: f"Details updated (caseworker {p.caseworker_id or 'none'})",
    "person.left": lambda p: f"Left the local authority ({p.reason or 'reason not given'})",
    "assessment.requested": lambda p: f"EHC needs assessment requested ({p.request_id})",
    "request.decided": lambda p: f"Decision whether to assess: {_outcome(p)}",
    "assessment.completed": lambda p: (
        f"Decision whether to issue a plan: {_outcome(p)}"
        + (" (20-week exception applies)" if p.exception else "")
    ),
    "plan.draft_issued": lambda p: "Draft plan issued to the family",
    "plan.issued": lambda p: f"Final EHC plan {p.plan_id} issued",
    "plan.transferred_in": lambda p: (
        f"Plan {p.plan_id} transferred in" + (f" from LA {p.from_la}" if p.from_la else "")
    ),
    "plan.ceased": lambda p: (
        f"Plan {p.plan_id} ceased" + (f" (reason {p.reason})" if p.reason else "")
    ),
    "plan.amended": lambda p: (
        f"Final amended plan {p.plan_id} issued"
        + (" (Tribunal order)" if p.tribunal_ordered else "")
    ),
    "review.meeting_scheduled": lambda p: "Annual review meeting booked",
    "review.meeting_held": lambda p: (
        "Annual review meeting held"
        + (" with a preparing-for-adulthood focus" if p.pfa_focus else "")
    ),
    "review.decided": lambda p: f"Annual review decision: {_review_outcome(p)}",
    "review.draft_issued": lambda p: "Proposed amendments sent after review",
    "phase.transfer": lambda p: (
        "Phase transfer recorded" + (" (final plan names the next setting)" if p.final_on else "")
    ),
    "placement.recorded": lambda p: f"Placement at setting {p.setting}",
    "referral.received": lambda p: f"Referral to {p.service} received",
    "referral.first_contact": lambda p: "First contact by the service",
    "referral.closed": lambda p: "Referral closed",
}


def timeline(journey: Journey, pack: RulePack | None = None) -> list[TimelineItem]:
    items = [_item(f, pack) for f in journey.facts.values()]
    return sorted(items, key=_by_date_and_kind)


def _by_date_and_kind(item: TimelineItem) -> tuple[date, str]:
    return item.on, item.kind


def _item(f: Fact, pack: RulePack | None) -> TimelineItem:
    p = f.payload
    on = fact_date(p) or _undated(p) or f.recorded_at.date()
    return TimelineItem(on, p.type, summary(p, pack))


def _undated(p: Payload) -> date | None:
    """Facts whose date field is optional or differs (e.g. a booked meeting's future date)."""
    for name in ("meeting_on", "transfer_due_on", "received_on"):
        value = getattr(p, name, None)
        if isinstance(value, date):
            return value
    return None


def journey_clocks(journey: Journey, as_of: date, pack: RulePack) -> list[tuple[Clock, str]]:
    """Each clock with its state on ``as_of``: open, or upcoming (not yet open)."""
    return clock_views(clocks(journey, as_of, pack), as_of)


def clock_views(found: Iterable[Clock], as_of: date) -> list[tuple[Clock, str]]:
    """``journey_clocks`` from clocks already computed on ``as_of``."""
    views = []
    for c in found:
        if c.open_on(as_of):
            views.append((c, "open"))
        elif c.opens_on > as_of:
            views.append((c, "upcoming"))
    return sorted(views, key=_by_due)


def _by_due(view: tuple[Clock, str]) -> tuple[date, str]:
    return view[0].due_on, view[0].rule_id


def child_facts(journey: Journey, as_of: date, pack: RulePack) -> dict[str, Any]:
    """Year group, setting and the plan's dates on ``as_of``, for the snapshot's ``child``
    (the fields of ``schemas.journeys.ChildFacts``). No name, date of birth or UPN."""
    placed = [
        p
        for p in placements(journey)
        if (p.entry_on is None or p.entry_on <= as_of)
        and (p.leaving_on is None or p.leaving_on > as_of)
    ]
    in_force = [p for p in plans(journey) if p.in_force_on(as_of)]
    facts: dict[str, Any] = {
        "year_group": ncy_on(journey, as_of),
        "setting": min(placed, key=lambda p: p.rank).setting if placed else None,
        # the latest referrals first, as many as a snapshot shows clocks (CLOCKS_MAX)
        "referral_services": {
            r.referral_id: r.service
            for r in sorted(referrals(journey), key=lambda r: r.received_on, reverse=True)[:1000]
        },
    }
    if in_force:
        plan = max(in_force, key=lambda p: p.start_on)
        anchor = review_anchor(plan, as_of)
        facts |= {
            "plan_id": plan.plan_id,
            "plan_start_on": plan.start_on,
            "last_review_on": anchor if anchor != plan.start_on else None,
            "review_due_on": review_due(plan, as_of, pack),
        }
    return facts
