"""The alerts service: caseworker inboxes over HTTP, fed by the flag and journey consumers,
with its own sweep for escalations and ended snoozes.

Public: ``/healthz``, ``/metrics`` (no personal data), ``/openapi.json``, ``/login`` and the
stylesheet. Everything else needs a signed-in reader (``signin``) and shows only their
caseload (``auth.Principal.caseload``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.alerts.config import AlertSettings
from services.alerts.consumer import FlagsFirst, consume_flags, consume_journeys
from services.alerts.domain.lifecycle import CaseworkInvalid, CaseworkRefused
from services.alerts.metrics import AlertMetrics
from services.alerts.store.casework import AlertNotFound
from services.alerts.store.store import AlertStore
from services.alerts.sweeper import sweep_until_stopped
from services.alerts.web import inbox, json_api, signin
from services.alerts.web.auth import TokenVerifier, local_csrf_key
from services.alerts.web.context import AlertService
from services.alerts.web.csrf import CsrfTokens
from services.alerts.web.lists import BadListParameter
from services.alerts.web.pages import STYLESHEET, e, page
from services.alerts.web.words import Words
from services.runtime.clock import Clock, clock_for
from services.runtime.http import RequestLimits
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
BACKGROUND_STOP_TIMEOUT_S = 15.0


def create_app(
    settings: Settings,
    store: AlertStore | None = None,
    *,
    consume: bool = True,
    registry: CollectorRegistry | None = None,
    clock: Clock | None = None,
    config: AlertSettings | None = None,
) -> FastAPI:
    """The alerts app. Without ``store`` it opens ``settings.alerts_database_url()`` (which
    migrates it to the newest schema) and closes it on shutdown; without ``registry`` it uses
    a fresh one, so two apps in one process never collide; without ``config`` it reads
    ``CASEWATCH_ALERTS_*``. ``consume`` runs the consumers and the escalation sweep for the
    app's lifetime (tests that drive the store themselves turn it off).

    Swagger UI and ReDoc are off: they load scripts from a CDN, which the CSP forbids. The
    schema is at ``/openapi.json``.
    """
    config = config or AlertSettings()
    alerts = store or AlertStore(settings.alerts_database_url(), settings.load_roster())
    registry = registry or CollectorRegistry()
    metrics = AlertMetrics(registry)
    metrics.watch_roster(alerts.roster, registry)
    today = clock or clock_for(settings.clock_date)
    secret = config.csrf_secret
    service = AlertService(
        store=alerts,
        settings=settings,
        config=config,
        today=today,
        metrics=metrics,
        verifier=TokenVerifier(config, settings.data_dir),
        csrf=CsrfTokens(
            secret.get_secret_value().encode() if secret else local_csrf_key(settings.data_dir)
        ),
        words=Words(settings.load_rule_pack()),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = []
        flags_first = FlagsFirst()  # one writer: a flag never queues behind snapshots
        if consume:
            work: dict[str, Coroutine[Any, Any, None]] = {
                "flag-consumer": consume_flags(
                    settings, alerts, stop=stop, metrics=metrics, gate=flags_first
                ),
                "journey-consumer": consume_journeys(
                    settings, alerts, stop=stop, metrics=metrics, gate=flags_first
                ),
                "sweeper": sweep_until_stopped(
                    alerts,
                    config.escalation(alerts.roster),
                    today,
                    metrics,
                    every_seconds=config.sweep_seconds,
                    stop=stop,
                ),
            }
            for name, coroutine in work.items():
                task = asyncio.create_task(coroutine, name=name)
                task.add_done_callback(_report_exit)
                tasks.append(task)
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                await _finish(task)
            if store is None:
                alerts.close()

    app = FastAPI(
        title="casewatch alerts",
        summary="Caseworker alerts for statutory SEND deadlines",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.alert_service = service
    app.add_middleware(
        RequestLimits, max_body=config.max_body_bytes, authenticate=signin.credentials_present
    )
    app.add_middleware(SecurityHeaders)  # outermost: refusals at the edge get the headers too
    _answer_refusals(app, metrics)
    app.include_router(json_api.router)
    app.include_router(inbox.router)
    app.include_router(signin.router)

    @app.get("/assets/casewatch.css", include_in_schema=False)
    def stylesheet() -> Response:
        return Response(STYLESHEET, media_type="text/css")

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics_text() -> Response:
        metrics.set_open(alerts.counts_by_rule_and_severity())
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _answer_refusals(app: FastAPI, metrics: AlertMetrics) -> None:
    """One place that turns refusals into 401/403/404/409/422: JSON for the API, a page (or
    the way to /login) for a browser."""

    @app.exception_handler(signin.NotSignedIn)
    async def not_signed_in(request: Request, exc: signin.NotSignedIn) -> Response:
        metrics.count_denied("unauthenticated")
        if signin.is_api(request) or request.method != "GET":
            headers = {"WWW-Authenticate": 'Bearer realm="casewatch"'}
            return JSONResponse({"detail": str(exc)}, status_code=401, headers=headers)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(signin.Forbidden)
    async def forbidden(request: Request, exc: signin.Forbidden) -> Response:
        metrics.count_denied(exc.reason)
        return _refusal(request, 403, "You cannot do that", str(exc))

    @app.exception_handler(AlertNotFound)
    @app.exception_handler(inbox.NoSuchAlertPage)
    async def not_found(request: Request, exc: LookupError) -> Response:
        detail = "no such alert in your caseload"
        return _refusal(request, 404, "Alert not found", detail)

    @app.exception_handler(StarletteHTTPException)
    async def no_such_page(request: Request, exc: StarletteHTTPException) -> Response:
        # A mistyped address in a browser gets a page (with a title, a language and a way
        # back), not FastAPI's bare JSON; the API keeps its JSON.
        if exc.status_code != 404 or signin.is_api(request):
            return await http_exception_handler(request, exc)
        return _refusal(request, 404, "Page not found", "there is no page at this address")

    @app.exception_handler(BadListParameter)
    async def bad_parameter(request: Request, exc: BadListParameter) -> Response:
        return _refusal(request, 422, "That list cannot be shown", str(exc))

    @app.exception_handler(CaseworkRefused)
    async def refused(request: Request, exc: CaseworkRefused) -> Response:
        status = 422 if isinstance(exc, CaseworkInvalid) else 409
        return _refusal(request, status, "That was not done", str(exc))


def _refusal(request: Request, status: int, title: str, detail: str) -> Response:
    if signin.is_api(request):
        return JSONResponse({"detail": detail}, status_code=status)
    main = f'<h1>{e(title)}</h1><p class="body">{e(detail.capitalize())}.</p>'
    main += '<p class="body"><a href="/">Go to your alerts</a></p>'
    return HTMLResponse(page(title, main), status_code=status)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response that did not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:  # a page may set a stricter or its own value
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _report_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("%s stopped; restart the service", task.get_name(), exc_info=exc)


async def _finish(task: asyncio.Task[None]) -> None:
    try:
        await asyncio.wait_for(task, BACKGROUND_STOP_TIMEOUT_S)
    except TimeoutError:
        log.warning(
            "%s did not stop within %.0fs; cancelled", task.get_name(), BACKGROUND_STOP_TIMEOUT_S
        )
    except Exception:
        log.debug("%s ended with an error, reported when it stopped", task.get_name())
