"""Transition clocks (rules.md §1, §4): R-PHASE-UPCOMING, R-PHASE-MISSED, R-PFA-Y9, R-AGE-25."""

from __future__ import annotations

from datetime import date

from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import Journey
from services.journeys.domain.pack import RulePack


def phase_upcoming(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    return []  # being written


def phase_missed(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    return []  # being written


def pfa_y9(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    return []  # being written


def age_25(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    return []  # being written
