"""Dates as case-system exports write them (ssd-tables.md): ISO, SQL Server and Excel.

``2024-12-10``, ``2024-12-10 00:00:00.000`` (or ``T``, or no fraction) and ``10/12/2024``
(day first, as an English Excel re-save writes it) all mean 10 December 2024.  A blank cell
is "not recorded".  Anything else is an error, never a guess: ``12/10/2024`` is always
12 October, and ``2024/12/10`` is refused rather than read one way or the other.  Digits
are ASCII only (full-width digits are refused, never read as their ASCII twins).

Each date must also be plausible for its kind (``schemas.dates``): :class:`DateRanges`
holds the configured ranges (``CASEWATCH_INGEST_*``, docs/ingest.md "Limits").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from schemas.dates import DateKind

# re.ASCII: \d is 0-9 only (in a str pattern it is any Unicode digit, full-width included)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_SQL_SERVER = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?", re.ASCII
)
_DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)

FORMATS = "YYYY-MM-DD, YYYY-MM-DD HH:MM:SS[.fff] or DD/MM/YYYY"

_PARSED: dict[str, date] = {}  # text -> its date: an export repeats a few thousand dates
_REMEMBERED = 100_000


def parse_date(text: str) -> date | None:
    """The calendar date in ``text``; ``None`` for a blank cell.

    Raises ``ValueError`` naming the text and the accepted formats when it is not a date,
    or naming the problem when it has a date's shape but no such day exists (31/02/2024).
    A SQL Server time of day is checked and then dropped: the rules work on dates.
    """
    found = _PARSED.get(text)
    if found is not None:
        return found
    value = text.strip()
    if not value:
        return None
    if match := _ISO.fullmatch(value):
        year, month, day = match.groups()
    elif match := _SQL_SERVER.fullmatch(value):
        year, month, day, hour, minute, second = match.groups()
        _check_time(value, int(hour), int(minute), int(second or 0))
    elif match := _DAY_FIRST.fullmatch(value):
        day, month, year = match.groups()
    else:
        raise ValueError(f"{value!r} is not a date: expected {FORMATS}")
    try:
        parsed = date(int(year), int(month), int(day))
    except ValueError as error:
        raise ValueError(f"{value!r} is not a date that exists: {error}") from None
    if len(_PARSED) < _REMEMBERED:
        _PARSED[text] = parsed
    return parsed


def _check_time(value: str, hour: int, minute: int, second: int) -> None:
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{value!r} is not a date: the time of day is out of range")


BIRTH_FROM = date(1990, 1, 1)
FACTS_FROM = date(2000, 1, 1)
SCHEDULED_YEARS = 10


@dataclass(frozen=True)
class DateRanges:
    """The plausible range of each kind of date, but for the last day an export may hold
    (its extract date plus the tolerance), which each reading knows.

    - a birth: from ``birth_from`` to that last day;
    - a fact (a request received, a plan issued, a review held, ...): from ``facts_from``
      to that last day;
    - a scheduled date (a phase transfer due, a meeting booked): from ``facts_from`` to
      ``scheduled_years`` years after that last day.
    """

    birth_from: date = BIRTH_FROM
    facts_from: date = FACTS_FROM
    scheduled_years: int = SCHEDULED_YEARS

    def problem(self, kind: DateKind, value: date, latest: date) -> tuple[str, str] | None:
        """(rule, message) when ``value`` is outside the range of ``kind``; else None."""
        earliest = self.birth_from if kind == "birth" else self.facts_from
        if value < earliest:
            noun = "a date of birth" if kind == "birth" else "a date"
            return "R-DATA-RANGE", f"is before {earliest}, the earliest {noun} accepted"
        if kind != "scheduled":
            if value > latest:
                return "R-DATA-FUTURE", f"is after {latest}, the last date the export can hold"
            return None
        furthest = scheduled_limit(latest, self.scheduled_years)
        if value > furthest:
            message = f"is after {furthest}, the furthest a scheduled date may be planned"
            return "R-DATA-RANGE", message
        return None


def scheduled_limit(latest: date, years: int) -> date:
    """``years`` years after ``latest`` (29 February falls on 28 February)."""
    try:
        return latest.replace(year=latest.year + years)
    except ValueError:
        return latest.replace(year=latest.year + years, day=28)


DEFAULT_RANGES = DateRanges()
