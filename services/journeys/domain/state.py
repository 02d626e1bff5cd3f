"""What the worker keeps per child: the journey and the flags it has raised for it.

``step`` is the whole decision the worker makes, as a pure function: fold the new events,
evaluate the rules on the clock date, and say which flags were raised and which resolved.
Re-evaluating an unchanged journey on the same date changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict

from schemas.events import Event
from services.journeys.domain.clocks import Flag
from services.journeys.domain.journey import Journey, apply
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import evaluate


class JourneyState(BaseModel):
    model_config = ConfigDict(frozen=True)

    journey: Journey
    open_flags: dict[str, Flag] = {}

    @classmethod
    def new(cls, person_key: str) -> JourneyState:
        return cls(journey=Journey(person_key=person_key))


@dataclass(frozen=True)
class FlagChanges:
    raised: tuple[Flag, ...] = ()
    resolved: tuple[Flag, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.raised or self.resolved)


def step(
    state: JourneyState, events: Iterable[Event], as_of: date, pack: RulePack
) -> tuple[JourneyState, FlagChanges]:
    """Fold ``events`` and re-evaluate on ``as_of``; returns the new state and flag changes."""
    journey = state.journey
    for event in events:
        journey = apply(journey, event)
    current = evaluate(journey, as_of, pack)
    raised = tuple(f for fid, f in current.items() if fid not in state.open_flags)
    resolved = tuple(f for fid, f in state.open_flags.items() if fid not in current)
    if journey is state.journey and not raised and not resolved:
        return state, FlagChanges()
    return JourneyState(journey=journey, open_flags=current), FlagChanges(raised, resolved)
