"""Everything a request handler of the alerts service needs, built once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from services.alerts.config import AlertSettings
from services.alerts.metrics import AlertMetrics
from services.alerts.store.casework import Act
from services.alerts.store.store import AlertStore
from services.alerts.web.auth import Principal, TokenVerifier
from services.alerts.web.csrf import CsrfTokens
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

    def act(self, principal: Principal) -> Act:
        """Casework by ``principal`` now, on the monitor's clock date."""
        return Act(actor=principal.subject, as_of=self.today(), at=datetime.now(UTC))


def alert_service(request: Request) -> AlertService:
    service: AlertService = request.app.state.alert_service
    return service
