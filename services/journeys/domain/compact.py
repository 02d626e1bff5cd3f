"""Settled history taken out of a journey too large to store, without changing what it says.

A journey is stored as one message on the table's changelog, and a message has a size
limit.  Every string of an event is bounded (schemas/events.py), so a fact is small, but a
child with a very long history can gather more facts than one message holds.  Some of them
no rule or measure can ever read again: :func:`compact` takes those out, as whole *groups*
(a referral with its first contact and closure; a request with its decision, assessment and
draft; a placement), and remembers each group by a 16-character digest so that any later
event about it changes nothing (``journey.apply``).

A group is *settled* on a date ``cutoff`` (``HORIZON_DAYS`` before the latest day the journey
was written to) when every date it carries is on or before ``cutoff`` and:

- a referral: its wait stopped (first contact or closure) — R-WAIT opens no clock on a
  stopped wait, and the waits measures read only open waits and contacts within 12 months;
- a request: its pathway closed (decision not to assess, withdrawn, decided after
  assessment) and no plan names it — the assessment clocks skip closed pathways, and the
  timeliness measures read only decisions and plans of the last 12 months;
- a placement: it ended (a leaving date) — no rule reads placements.

So on any date from the day before the journey's latest record on (``cutoff`` plus
``HORIZON_DAYS``), the clocks, flags, next deadline and measures of the compacted journey
are those of the journey (tests/unit/test_journey_compaction.py holds it with hypothesis).
The worker evaluates on the wall-clock date, never earlier than a day before the latest
``recorded_at`` it accepted (later ones are dead-lettered as future-dated).

What is lost: the settled facts' lines in the caseworker's timeline, and a *correction* to
a settled fact (a new version of a fact more than three years settled) is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from schemas.events import Payload, PlanIssued
from services.journeys.domain.journey import (
    Journey,
    group_digest,
    group_of,
    placements,
    plans,
    referrals,
    requests,
)
from services.journeys.domain.rules.assessment import pathway_closed

HORIZON_DAYS = 3 * 366  # beyond every window (12 months) and band (52 weeks) a measure reads


def cutoff_of(journey: Journey) -> date | None:
    """The last day of settled history: ``HORIZON_DAYS`` before the latest day the journey
    was written to (one day earlier still, for the worker's clock tolerance)."""
    latest = max((f.recorded_at.date() for f in journey.facts.values()), default=None)
    return None if latest is None else latest - timedelta(days=HORIZON_DAYS + 1)


def compact(journey: Journey, cutoff: date | None = None) -> Journey:
    """The journey without the fact groups settled on ``cutoff`` (default
    :func:`cutoff_of`); the same object when there are none."""
    cutoff = cutoff or cutoff_of(journey)
    if cutoff is None:
        return journey
    groups: dict[str, list[str]] = {}
    for key, fact in journey.facts.items():
        group = group_of(fact.payload)
        if group is not None:
            groups.setdefault(group, []).append(key)
    settled = _Settled(journey, cutoff)
    done = [
        group
        for group, keys in groups.items()
        if _dated_by(journey, keys, cutoff) and settled.group(group)
    ]
    if not done:
        return journey
    gone = {key for group in done for key in groups[group]}
    digests = sorted({*journey.settled, *(group_digest(g) for g in done)})
    facts = {k: f for k, f in journey.facts.items() if k not in gone}
    return Journey(journey.person_key, facts, tuple(digests))


def _dates(payload: Payload) -> Iterable[date]:
    return (v for _, v in payload if isinstance(v, date))


def _dated_by(journey: Journey, keys: list[str], cutoff: date) -> bool:
    """Every date of the group is on or before ``cutoff``."""
    return all(d <= cutoff for k in keys for d in _dates(journey.facts[k].payload))


class _Settled:
    """Whether a group (all its dates on or before ``cutoff``) is settled on ``cutoff``."""

    def __init__(self, journey: Journey, cutoff: date) -> None:
        self.cutoff = cutoff
        self.plans = plans(journey)
        self.named = {p.request_id for p in self.plans if p.request_id is not None}
        self.named |= {
            f.payload.request_id
            for f in journey.facts.values()
            if isinstance(f.payload, PlanIssued) and f.payload.request_id is not None
        }
        self.requests = {r.request_id: r for r in requests(journey)}
        self.referrals = {r.referral_id: r for r in referrals(journey)}
        self.placements = {p.placement_id: p for p in placements(journey)}

    def group(self, group: str) -> bool:
        kind, _, name = group.partition(":")
        if kind == "referral":
            referral = self.referrals.get(name)  # None: a contact or closure alone, kept
            stops = (referral.first_contact_on, referral.closed_on) if referral else ()
            return any(d is not None and d <= self.cutoff for d in stops)
        if kind == "request":
            request = self.requests.get(name)
            return (
                request is not None
                and name not in self.named
                and pathway_closed(request, self.plans, self.cutoff)
            )
        if kind == "placement":
            placement = self.placements.get(name)
            return placement is not None and placement.leaving_on is not None
        return False
