"""Whose alerts a reader may see: the scope every query of the inbox is narrowed to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true

from services.alerts.store.tables import AlertRow


@dataclass(frozen=True, slots=True)
class Caseload:
    """A caseworker's own alerts (``caseworker_id``), a manager's team (``team``), or
    everything (an administrator). A caseload with neither sees nothing."""

    caseworker_id: str | None = None
    team: str | None = None
    everything: bool = False

    def clause(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        terms: list[ColumnElement[bool]] = []
        if self.caseworker_id is not None:
            terms.append(AlertRow.caseworker_id == self.caseworker_id)
        if self.team is not None:
            terms.append(AlertRow.team == self.team)
        return or_(*terms) if terms else false()

    def holds(self, caseworker_id: str | None, team: str | None) -> bool:
        """The same test as ``clause`` on values already read."""
        if self.everything:
            return True
        mine = self.caseworker_id is not None and caseworker_id == self.caseworker_id
        return mine or (self.team is not None and team == self.team)


EVERYTHING = Caseload(everything=True)
