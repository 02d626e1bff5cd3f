"""The monitor's clock: today's date in Europe/London, or a fixed date when configured."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

Clock = Callable[[], date]


def clock_for(fixed: date | None) -> Clock:
    if fixed is not None:
        return lambda: fixed
    return lambda: datetime.now(LONDON).date()
