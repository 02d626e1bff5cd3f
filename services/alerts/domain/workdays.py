"""Working days in England and Wales: Monday to Friday, less the bank holidays (from the
``holidays`` package, which follows the proclamations, substitute days included)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays


@cache
def bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        counted += is_working_day(day)
    return day
