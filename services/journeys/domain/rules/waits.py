"""R-WAIT: waiting times for health and therapy services (rules.md §5)."""

from __future__ import annotations

from datetime import date

from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import Journey
from services.journeys.domain.pack import RulePack


def long_waits(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    return []  # being written
