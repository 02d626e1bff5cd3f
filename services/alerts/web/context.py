"""Everything a request handler of the alerts service needs, built once by ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import Request

from services.alerts.config import AlertSettings
from services.alerts.metrics import AlertMetrics
from services.alerts.store.casework import Act
from services.alerts.store.store import AlertStore
from services.alerts.web.auth import Principal, TokenVerifier
from services.alerts.web.csrf import CsrfTokens
from services.alerts.web.words import Words
from services.journeys.domain.pack import DEFAULT_PACK
from services.runtime.clock import Clock
from services.runtime.settings import Settings


@dataclass(frozen=True)
class AlertService:
    store: AlertStore
    settings: Settings
    config: AlertSettings
    today: Clock
    metrics: AlertMetrics
    verifier: TokenVerifier
    csrf: CsrfTokens
    words: Words = field(default_factory=lambda: Words(DEFAULT_PACK))
    # Who may be given an alert of a team: the caseworkers the store knows there, until a
    # validated roster backs it (same signature: team -> sorted caseworker ids).
    caseworkers_in_team: Callable[[str | None], list[str]] | None = None

    def team_caseworkers(self, team: str | None) -> list[str]:
        lookup = self.caseworkers_in_team or self.store.caseworkers_in_team
        return lookup(team)

    def act(self, principal: Principal) -> Act:
        """Casework by ``principal`` now, on the monitor's clock date."""
        return Act(actor=principal.subject, as_of=self.today(), at=datetime.now(UTC))


def alert_service(request: Request) -> AlertService:
    service: AlertService = request.app.state.alert_service
    return service
