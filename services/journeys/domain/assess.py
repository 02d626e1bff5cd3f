"""One evaluation of a journey on a date: its clocks, computed once, and every answer the
worker derives from them. Pure.

``rules.clocks`` is the costly part of evaluation. The worker needs, for every journey it
evaluates, the open flags and their changes (``state.step``), the next deadline
(``rules.next_deadline``), the clock views of the snapshot (``views.journey_clocks``) and
the journey's contribution to the managers' measures (``measures.contribution``). Each of
those functions, called alone, computes the clocks itself; :func:`assess` computes them once
and hands the same clocks to all of them, with the same answers —
``tests/unit/test_domain_assess.py`` holds the two paths equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.journeys.domain import measures
from services.journeys.domain.clocks import Clock, Flag
from services.journeys.domain.journey import fact_dates_after, memo, recall
from services.journeys.domain.measures import Contribution
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import clocks, deadline_of
from services.journeys.domain.state import FlagChanges, JourneyState
from services.journeys.domain.views import clock_views


@dataclass(frozen=True, slots=True)
class Assessment:
    """A journey evaluated on ``as_of`` against the flags it had open before."""

    as_of: date
    state: JourneyState  # with the open flags of ``as_of``
    changes: FlagChanges  # against the flags open before
    clocks: tuple[Clock, ...]  # every clock, given the facts known on ``as_of``
    opened: tuple[tuple[Clock, Flag], ...]  # the open clocks, each with its flag
    next_due: date | None  # the next date the open flags could change with no new event
    derived: dict[object, object]  # the journey's views computed on the way (``journey.memo``)

    @property
    def views(self) -> list[tuple[Clock, str]]:
        """Each clock, "open" or "upcoming", as ``views.journey_clocks`` gives them."""
        return clock_views(self.clocks, self.as_of)

    def flag_id_of(self, clock: Clock) -> str | None:
        """The flag id of an open clock of this assessment (None when not open)."""
        for c, flag in self.opened:
            if c is clock:
                return flag.flag_id
        return None


def assess(state: JourneyState, as_of: date, pack: RulePack) -> Assessment:
    """Evaluate ``state``'s journey on ``as_of``: the state keeps its identity when no flag
    changed, as ``state.step`` with no events does."""
    journey = state.journey
    derived = memo(journey)  # filled by the rules; kept for later questions (measures)
    found = tuple(clocks(journey, as_of, pack))
    opened = tuple((c, c.flag(journey.person_key)) for c in found if c.open_on(as_of))
    current = {f.flag_id: f for _, f in opened}
    before = state.open_flags
    raised = tuple(f for fid, f in current.items() if fid not in before)
    resolved = tuple(f for fid, f in before.items() if fid not in current)
    changes = FlagChanges(raised, resolved)
    if changes:
        state = JourneyState(journey=journey, open_flags=current)
    due = deadline_of(found, fact_dates_after(journey, as_of), as_of)
    return Assessment(as_of, state, changes, found, opened, due, derived)


def contribution(assessed: Assessment, pack: RulePack) -> Contribution:
    """The journey's contribution to the managers' measures on the assessment's date, from
    its clocks and views (``measures.contribution`` with the clocks computed once)."""
    journey = assessed.state.journey
    recall(journey, assessed.derived)
    return measures.contribution(journey, assessed.as_of, pack, assessed.clocks)
