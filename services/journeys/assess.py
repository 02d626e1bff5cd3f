"""One evaluation of a settled journey: flags, next deadline and clock views from one pass.

``state.step``, ``rules.next_deadline`` and ``views.journey_clocks`` each call
``rules.clocks`` — the costly part of evaluation (~0.2 ms for a five-fact journey on the
bench machine). The worker needs all three for every journey it evaluates, so it computes
the clocks once and derives the same answers here; ``tests/unit/test_worker_assess.py``
holds this module equal to those domain functions. (Belongs in the domain as one pure
helper; kept here until the domain owners take it.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import fact_dates_after
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import clocks
from services.journeys.domain.state import FlagChanges, JourneyState


@dataclass(frozen=True)
class Assessment:
    state: JourneyState  # with the open flags of ``as_of``
    changes: FlagChanges  # against the flags open before
    next_due: date | None  # the next date the open flags could change with no new event
    views: list[tuple[Clock, str]]  # each clock, "open" or "upcoming", for the snapshot


def assess(state: JourneyState, as_of: date, pack: RulePack) -> Assessment:
    journey = state.journey
    found = clocks(journey, as_of, pack)
    opened = [c for c in found if c.open_on(as_of)]
    current = {f.flag_id: f for f in (c.flag(journey.person_key) for c in opened)}
    raised = tuple(f for fid, f in current.items() if fid not in state.open_flags)
    resolved = tuple(f for fid, f in state.open_flags.items() if fid not in current)
    changes = FlagChanges(raised, resolved)
    if changes:
        state = JourneyState(journey=journey, open_flags=current)
    return Assessment(state, changes, _next_due(state, found, as_of), _views(found, as_of))


def _next_due(state: JourneyState, found: list[Clock], as_of: date) -> date | None:
    candidates = fact_dates_after(state.journey, as_of)
    for c in found:
        candidates += [d for d in (c.opens_on, c.closes_on) if d is not None and d > as_of]
    return min(candidates, default=None)


def _views(found: list[Clock], as_of: date) -> list[tuple[Clock, str]]:
    views = [
        (c, "open" if c.open_on(as_of) else "upcoming")
        for c in found
        if c.open_on(as_of) or c.opens_on > as_of
    ]
    return sorted(views, key=lambda cs: (cs[0].due_on, cs[0].rule_id))
