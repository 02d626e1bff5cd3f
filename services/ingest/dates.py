"""Dates as case-system exports write them (ssd-tables.md): ISO, SQL Server and Excel.

``2024-12-10``, ``2024-12-10 00:00:00.000`` (or ``T``, or no fraction) and ``10/12/2024``
(day first, as an English Excel re-save writes it) all mean 10 December 2024.  A blank cell
is "not recorded".  Anything else is an error, never a guess: ``12/10/2024`` is always
12 October, and ``2024/12/10`` is refused rather than read one way or the other.
"""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SQL_SERVER = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?")
_DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")

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
