"""Date arithmetic of the rule book (rules.md, Notation and §1). Pure; no clock is read here."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(d: date, months: int) -> date:
    """Calendar-month arithmetic clamped to month end: 29 Feb 2024 + 12 months = 28 Feb 2025."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    day = d.day
    if day > 28:  # only then can the month be too short (``calendar.monthrange`` is slow)
        day = min(day, _month_days(year, month0 + 1))
    return date(year, month0 + 1, day)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_days(year: int, month: int) -> int:
    if month == 2 and calendar.isleap(year):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def academic_year(d: date) -> int:
    """The academic year (1 Sept to 31 Aug) a date falls in, named by its starting year."""
    return d.year - (1 if d.month < 9 else 0)


def national_curriculum_year(on: date, date_of_birth: date) -> int:
    """R-NCY: NCY(on, dob) = ay(on) - ay(dob) - 5. Reception is 0; nursery is negative."""
    return academic_year(on) - academic_year(date_of_birth) - 5


def birthday_in(year: int, date_of_birth: date) -> date:
    """The birthday in ``year``; 29 Feb birthdays fall on 28 Feb in common years."""
    if date_of_birth.month == 2 and date_of_birth.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date_of_birth.replace(year=year)


def age_on(on: date, date_of_birth: date) -> int:
    """Age in whole years on ``on`` (rules.md §1)."""
    years = on.year - date_of_birth.year
    return years if on >= birthday_in(on.year, date_of_birth) else years - 1


def academic_year_start(year: int) -> date:
    """1 September of academic year ``year`` (the year is named by its starting year)."""
    return date(year, 9, 1)


def academic_year_end(year: int) -> date:
    """31 August, the last day of academic year ``year``."""
    return date(year + 1, 8, 31)


def ncy_from_recorded(on: date, year_group: int, recorded_from: date) -> int:
    """R-NCY override: a year group recorded as applying on ``recorded_from`` moves up one
    year on each 1 September: recorded + (ay(on) - ay(recorded_from))."""
    return year_group + academic_year(on) - academic_year(recorded_from)


def day_in_month(year: int, month: int, day: int) -> date:
    """The ``day`` of ``month`` in ``year``, clamped to month end (31 June is 30 June)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_on_or_after(d: date, month: int, day: int) -> date:
    """The first date on or after ``d`` that falls on ``day`` of ``month`` (day clamped)."""
    this_year = day_in_month(d.year, month, day)
    return this_year if this_year >= d else day_in_month(d.year + 1, month, day)
