"""When an unacknowledged alert goes to the team manager, and to whom."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from services.alerts.domain.workdays import add_working_days
from services.runtime.clock import LONDON


@dataclass(frozen=True)
class EscalationPolicy:
    """``after_working_days`` per severity (a severity without an entry never escalates);
    ``managers`` maps a team to its manager's subject."""

    after_working_days: Mapping[str, int] = field(default_factory=dict)
    managers: Mapping[str, str] = field(default_factory=dict)

    def escalates_on(self, severity: str, open_since: datetime) -> date | None:
        """The day an alert of ``severity``, unacknowledged since ``open_since``, escalates.

        The day it opened does not count: opened on Thursday before Easter with N = 2, the
        working days are Tuesday and Wednesday, so it escalates on the Wednesday.
        """
        days = self.after_working_days.get(severity)
        if days is None:
            return None
        return add_working_days(open_since.astimezone(LONDON).date(), days)

    def manager_of(self, team: str | None) -> str | None:
        return self.managers.get(team) if team is not None else None
