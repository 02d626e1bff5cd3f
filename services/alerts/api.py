"""The alerts service: caseworker inboxes over HTTP, fed by the flag consumer.

Authentication and caseload scoping come in a later issue. Until then the ``caseworker``
parameter is a filter, not an access control: run the service only where every user may
see every open alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.alerts import pages
from services.alerts.consumer import consume_flags
from services.alerts.metrics import AlertMetrics
from services.alerts.store import AlertStore
from services.alerts.views import AlertView, view_of
from services.runtime.clock import Clock, clock_for
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",  # pages name children
}
CONSUMER_STOP_TIMEOUT_S = 15.0


def create_app(
    settings: Settings,
    store: AlertStore | None = None,
    *,
    consume: bool = True,
    registry: CollectorRegistry | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The alerts app. Without ``store`` it opens ``settings.alerts_database_url()`` (and
    closes it on shutdown); without ``registry`` it uses a fresh one, so two apps in one
    process never collide. ``consume`` runs the flag consumer for the app's lifetime.

    Swagger UI and ReDoc are off: they load scripts from a CDN, which the CSP forbids. The
    schema is at ``/openapi.json``.
    """
    alerts = store or AlertStore(settings.alerts_database_url())
    registry = registry or CollectorRegistry()
    metrics = AlertMetrics(registry)
    today = clock or clock_for(settings.clock_date)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        consumer = None
        if consume:
            consumer = asyncio.create_task(
                consume_flags(settings, alerts, stop=stop, metrics=metrics), name="flag-consumer"
            )
            consumer.add_done_callback(_report_consumer_exit)
        try:
            yield
        finally:
            stop.set()
            if consumer is not None:
                await _finish(consumer)
            if store is None:
                alerts.close()

    app = FastAPI(
        title="casewatch alerts",
        summary="Caseworker alerts for statutory SEND deadlines",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(SecurityHeaders)

    @app.get("/alerts", response_model=list[AlertView], summary="Open alerts, most urgent first")
    def list_alerts(
        caseworker: Annotated[str | None, Query(description="caseworker id; omit for all")] = None,
        team: Annotated[str | None, Query(description="team name")] = None,
    ) -> list[AlertView]:
        """Open alerts, oldest due date first, optionally for one caseworker or team.

        No authentication yet (a later issue): omitting ``caseworker`` lists every open alert.
        """
        on = today()
        return [view_of(a, on) for a in alerts.open_alerts(caseworker_id=caseworker, team=team)]

    @app.get("/", response_class=HTMLResponse, summary="Caseworkers with open alerts")
    def index() -> HTMLResponse:
        return HTMLResponse(pages.index_page(alerts.counts_by_caseworker()))

    @app.get("/inbox", response_class=HTMLResponse, summary="A caseworker's inbox")
    def inbox(
        caseworker: Annotated[str | None, Query(description="caseworker id; omit for all")] = None,
    ) -> HTMLResponse:
        on = today()
        views = [view_of(a, on) for a in alerts.open_alerts(caseworker_id=caseworker)]
        return HTMLResponse(pages.inbox_page(caseworker, views))

    @app.get("/inbox/{caseworker}", response_class=HTMLResponse, summary="A caseworker's inbox")
    def inbox_of(caseworker: str) -> HTMLResponse:
        return inbox(caseworker)

    @app.get("/assets/casewatch.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(pages.STYLESHEET, media_type="text/css")

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics_text() -> Response:
        metrics.set_open(alerts.counts_by_rule_and_severity())
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _report_consumer_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("flag consumer stopped; no new alerts until restart", exc_info=exc)


async def _finish(consumer: asyncio.Task[None]) -> None:
    try:
        await asyncio.wait_for(consumer, CONSUMER_STOP_TIMEOUT_S)
    except TimeoutError:
        log.warning("flag consumer did not stop within %.0fs; cancelled", CONSUMER_STOP_TIMEOUT_S)
    except Exception:
        log.debug("flag consumer ended with an error, reported when it stopped")
