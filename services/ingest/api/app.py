"""``casewatch serve ingest``: the HTTP ingest API (FastAPI).

``POST /v1/sources/{source}/events`` takes one event, ``…/events/batch`` up to
``CASEWATCH_INGEST_MAX_BATCH``; a batch is all or nothing: every event is checked (fields,
dates, identity, source authority, size) before any is sent, and a broker that does not
acknowledge them all is a 503 (re-posting the batch publishes the same ids).  The token is
checked before the body is read (401), and a body over ``CASEWATCH_INGEST_MAX_BODY_BYTES``
is refused unread (413).  The body names the child by the
source system's own id and/or UPN, ULN, NHS number, and forename, surname and date of birth
(linked as for files) and carries a
payload of the event contract; casewatch computes the person key and the deterministic
event id, so re-posting a fact publishes the same id.  Invalid input is a 422 whose
``detail`` lists every field error (``loc``, ``msg``, ``type``), never a value; a body that
is not JSON is a 400; an event its source may not state (``schemas.authority``) or its token
does not cover is a 403.  Tokens: ``tokens``.  ``/asyncapi.yaml`` and ``/schemas/<name>``
publish the topic contracts; OpenAPI is at ``/openapi.json`` and ``/docs``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.dates import SCHEDULED_TYPES, DateKind, date_kind
from schemas.events import Event, Payload, make_event
from schemas.generate import SCHEMA_DIR
from services.ingest.api import asyncapi
from services.ingest.api.metrics import PUBLISHING, CountRequests, IngestApiMetrics
from services.ingest.api.tokens import Integrator, InvalidToken, verify_token
from services.ingest.config import IngestSettings
from services.ingest.dates import DateRanges
from services.ingest.envelope import event_json
from services.ingest.linking import Identifier, IdentityLinker, demographic
from services.ingest.publisher import EventPublisher, PublishReport
from services.ingest.state import IngestState
from services.runtime.http import RequestLimits, documented_refusal
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

SOURCE = r"^[a-z][a-z0-9_-]{0,39}$"
Publish = Callable[[Sequence[Event]], PublishReport]


NAMED = (
    "with the other two of forename, surname and date of birth: links a young person with "
    "no UPN or ULN to a SEN2 return's record (ignored unless all three are given; kept only as "
    "a keyed hash, never echoed)"
)


class PersonRef(BaseModel):
    """Who the event is about: the source system's own id, and any shared identifiers."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, min_length=1, max_length=48)
    upn: str | None = Field(default=None, pattern=r"^[A-Za-z][0-9]{11}[A-Za-z0-9]$")
    uln: str | None = Field(default=None, pattern=r"^[1-9][0-9]{7}$")
    nhs: str | None = Field(default=None, pattern=r"^[0-9]{10}$")
    forename: str | None = Field(default=None, min_length=1, max_length=100, description=NAMED)
    surname: str | None = Field(default=None, min_length=1, max_length=255, description=NAMED)
    date_of_birth: date | None = Field(default=None, description=NAMED)

    @model_validator(mode="after")
    def _named(self) -> PersonRef:
        if not (self.id or self.upn or self.uln or self.nhs or self.by_name()):
            raise ValueError(
                "give the person's id, UPN, ULN or NHS number, "
                "or forename, surname and date of birth together"
            )
        return self

    def shared(self) -> list[Identifier]:
        """The identifiers other sources may know the child by (linked as for files)."""
        found = [(k, v) for k, v in (("upn", self.upn), ("uln", self.uln), ("nhs", self.nhs)) if v]
        named = self.by_name()
        return found + ([named] if named is not None else [])

    def by_name(self) -> Identifier | None:
        """Forename, surname and date of birth as one identifier, if all three are given."""
        return demographic(self.forename or "", self.surname or "", self.date_of_birth)


class IncomingEvent(BaseModel):
    """One fact as an integrator posts it."""

    model_config = ConfigDict(extra="forbid")
    record_key: str = Field(
        min_length=1, max_length=200, description="the record upstream, e.g. referrals:R17"
    )
    person: PersonRef
    occurred_on: date | None = Field(default=None, description="default: the payload's date")
    payload: Payload


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[IncomingEvent] = Field(min_length=1)


class Accepted(BaseModel):
    published: int
    event_ids: list[str]


REFUSALS: dict[int | str, dict[str, Any]] = {
    400: documented_refusal("the body is not JSON"),
    401: documented_refusal("no valid bearer token (checked before the body is read)"),
    403: documented_refusal("the token, or the source authority table, does not allow an event"),
    413: documented_refusal("the body is over CASEWATCH_INGEST_MAX_BODY_BYTES (refused unread)"),
    422: documented_refusal("field errors: loc, msg and type of each, never the value"),
    503: documented_refusal(
        "the broker did not acknowledge every event: post the same events again"
    ),
}
MAX_EVENT_BYTES = 256 * 1024  # one fact about a child, as published; far above any real one


bearer = HTTPBearer(auto_error=False)


def _field_error(loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def _dates(payload: Payload) -> list[tuple[str, date]]:
    return [(k, v) for k, v in payload if isinstance(v, date)]


def _out_of_range(
    item: IncomingEvent, ranges: DateRanges, latest: date
) -> list[tuple[list[Any], str, str]]:
    """(loc, rule, message) of each date of ``item`` outside the range of its kind."""
    kind = item.payload.type
    found = [
        (["payload", name], *problem)
        for name, value in _dates(item.payload)
        if (problem := ranges.problem(date_kind(kind, name), value, latest))
    ]
    if item.occurred_on is not None:
        occurs: DateKind = "scheduled" if kind in SCHEDULED_TYPES else "fact"
        if problem := ranges.problem(occurs, item.occurred_on, latest):
            found.append((["occurred_on"], *problem))
    return found


class IngestService:
    """Everything a request needs, built once: token check, linker, publisher."""

    def __init__(
        self,
        settings: Settings,
        config: IngestSettings,
        publish: Publish,
        metrics: IngestApiMetrics,
    ) -> None:
        self.settings, self.config, self.publish = settings, config, publish
        self.metrics = metrics
        self.secret = settings.person_key_secret.get_secret_value()
        self.lock = threading.Lock()
        self.ranges = config.date_ranges()
        self.open()

    def open(self) -> None:
        """Open the state (again, after a lifespan closed it: an app may serve several)."""
        with self.lock:
            self.state = IngestState(self.config.state_file(self.settings), threads=True)
            self.linker = IdentityLinker(self.secret, links=self.state.links())
            self.closed = False

    def close(self) -> None:
        with self.lock:
            self.state.close()
            self.closed = True

    def integrator(self, credentials: HTTPAuthorizationCredentials | None) -> Integrator:
        secret = self.config.token_secret.get_secret_value()
        if credentials is None or not secret:
            raise HTTPException(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
        try:
            return verify_token(
                secret, credentials.credentials, audience=self.config.token_audience
            )
        except InvalidToken as error:
            log.info("ingest token refused: %s", error)
            raise HTTPException(401, "invalid token", {"WWW-Authenticate": "Bearer"}) from None

    def authenticate(self, method: str, path: str, headers: dict[str, str]) -> str | None:
        """Before the body is read: why a publishing request may not go on (401), or None."""
        if method != "POST" or not path.startswith("/v1/"):
            return None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "a bearer token is required"
        try:
            self.integrator(HTTPAuthorizationCredentials(scheme="Bearer", credentials=token))
        except HTTPException as refused:
            return str(refused.detail)
        return None

    def accept(
        self,
        source: str,
        incoming: Sequence[IncomingEvent],
        prefix: list[Any],
        integrator: Integrator,
    ) -> Accepted:
        refused = [
            f"event {n} ({item.payload.type}): {reason}"
            for n, item in enumerate(incoming)
            if (reason := integrator.refusal(source, item.payload.type, dict(item.payload)))
        ]
        if refused:  # nothing is published from a batch holding a fact the source may not state
            self.metrics.count_events(source, "refused", len(incoming))
            self.metrics.count_refusals(source, ["not_entitled"] * len(refused))
            raise HTTPException(403, "; ".join(refused[:20]))
        latest = datetime.now(UTC).date() + timedelta(days=self.config.future_tolerance_days)
        errors = [
            _field_error([*prefix, n, *where], f"{message} ({rule})", rule)
            for n, item in enumerate(incoming)
            for where, rule, message in _out_of_range(item, self.ranges, latest)
        ]
        with self.lock:
            keys = [
                self._key(source, item, [*prefix, n], errors) for n, item in enumerate(incoming)
            ]
            if errors:
                self.linker.forget_added()
                raise self._refused(source, len(incoming), errors)
            now = datetime.now(UTC)
            events = [
                self._event(source, item, key, now)
                for item, key in zip(incoming, keys, strict=True)
            ]
            for n, event in enumerate(events):
                if len(event_json(event)) > MAX_EVENT_BYTES:
                    message = f"the event is over {MAX_EVENT_BYTES} bytes as published"
                    errors.append(_field_error([*prefix, n], message, "too_large"))
            if errors:
                self.linker.forget_added()  # a refused request links nobody
                raise self._refused(source, len(incoming), errors)
            try:
                report = self.publish(events)
            except Exception as error:  # the broker is unreachable, or refused the batch
                log.warning("ingest api: publishing failed: %s", type(error).__name__)
                report = PublishReport(0, len(events))
            if report.failed:
                self.linker.forget_added()
                self.metrics.count_events(source, "unacknowledged", len(events))
                raise HTTPException(503, "the broker did not acknowledge every event: retry")
            self.state.save_links(self.linker.added)
            self.linker.added.clear()
        self.metrics.count_events(source, "published", report.published)
        log.info("ingest api: %s events published for source %s", report.published, source)
        return Accepted(published=report.published, event_ids=[e.event_id for e in events])

    def _refused(self, source: str, n: int, errors: list[dict[str, Any]]) -> HTTPException:
        """A 422 for ``errors``, counted: the request's ``n`` events refused, each error's rule."""
        self.metrics.count_events(source, "refused", n)
        self.metrics.count_refusals(source, [str(e["type"]) for e in errors])
        return HTTPException(422, errors)

    def _key(
        self, source: str, item: IncomingEvent, loc: list[Any], errors: list[dict[str, Any]]
    ) -> str:
        p = item.person
        resolution = self.linker.resolve((source, p.id) if p.id else None, p.shared())
        if resolution.person_key is None:
            errors.append(_field_error([*loc, "person"], resolution.message(), "R-DATA-IDENTITY"))
            return ""
        return resolution.person_key

    def _event(self, source: str, item: IncomingEvent, key: str, now: datetime) -> Event:
        on = item.occurred_on or next((d for _, d in _dates(item.payload)), None)
        return make_event(
            source_system=source,
            source_record_key=f"api:{item.record_key}",
            person_key=key,
            occurred_at=datetime.combine(on, time(), tzinfo=UTC) if on else now,
            recorded_at=now,
            payload=item.payload,
        )


SourcePath = Annotated[str, Path(pattern=SOURCE, description="the source system, e.g. health")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@dataclass(frozen=True)
class Publisher:
    """The source system in the path and the integrator whose token may publish as it."""

    source: str
    integrator: Integrator


def authorised(source: SourcePath, request: Request, credentials: Credentials) -> Publisher:
    service: IngestService = request.app.state.ingest
    integrator = service.integrator(credentials)
    if not integrator.may_publish(source):
        service.metrics.count_refusals(source, ["token_source"])
        raise HTTPException(403, f"the token may not publish as {source!r}")
    return Publisher(source, integrator)


Authorised = Annotated[Publisher, Depends(authorised)]


def create_app(
    settings: Settings, config: IngestSettings | None = None, *, publish: Publish | None = None
) -> FastAPI:
    config = config or IngestSettings()
    producer: list[EventPublisher] = []

    def kafka(events: Sequence[Event]) -> PublishReport:
        if not producer:
            producer.append(EventPublisher(settings.kafka_bootstrap, settings.topic_events))
        return producer[0].publish(events)

    registry = CollectorRegistry()
    metrics = IngestApiMetrics(registry)
    service = IngestService(settings, config, publish or kafka, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if service.closed:
            service.open()
        yield
        for p in producer:
            p.close()
        producer.clear()
        service.close()

    app = FastAPI(
        lifespan=lifespan,
        title="casewatch ingest",
        version="1.0.0",
        description=__doc__,
        openapi_tags=[{"name": "events", "description": "publish events"}],
    )
    app.state.ingest = service
    app.add_middleware(
        RequestLimits, max_body=config.max_body_bytes, authenticate=service.authenticate
    )
    app.add_middleware(CountRequests, metrics=metrics)  # outermost: counts 401 and 413 too

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            _field_error(list(e.get("loc", ())), str(e.get("msg", "")), str(e.get("type", "")))
            for e in exc.errors()
        ]  # no "input": a rejected body may hold personal data
        status = 400 if any(e["type"] == "json_invalid" for e in detail) else 422
        if PUBLISHING.match(request.url.path):
            metrics.count_refusals(
                str(request.path_params.get("source", "")), [e["type"] for e in detail]
            )
        return JSONResponse({"detail": detail}, status_code=status)

    @app.post("/v1/sources/{source}/events", status_code=202, tags=["events"], responses=REFUSALS)
    def post_event(publisher: Authorised, event: IncomingEvent) -> Accepted:
        return service.accept(publisher.source, [event], ["body"], publisher.integrator)

    @app.post(
        "/v1/sources/{source}/events/batch", status_code=202, tags=["events"], responses=REFUSALS
    )
    def post_batch(publisher: Authorised, batch: Batch) -> Accepted:
        if len(batch.events) > config.max_batch:
            message = f"at most {config.max_batch} events in one batch"
            raise HTTPException(422, [_field_error(["body", "events"], message, "too_long")])
        events = batch.events
        return service.accept(publisher.source, events, ["body", "events"], publisher.integrator)

    @app.get("/asyncapi.yaml", tags=["contracts"])
    def asyncapi_document(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return Response(asyncapi.render(settings, base), media_type="application/yaml")

    @app.get(
        "/schemas/{name}",
        tags=["contracts"],
        responses={404: documented_refusal("no schema of that name (see the AsyncAPI document)")},
    )
    def json_schema(name: Annotated[str, Path(pattern=r"^[a-z]+\.v\d+\.json$")]) -> Response:
        path = SCHEMA_DIR / name
        if not path.is_file():
            raise HTTPException(404, f"no schema {name}")
        return Response(path.read_bytes(), media_type="application/schema+json")

    @app.get("/metrics", include_in_schema=False)
    def metrics_text() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["contracts"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(settings: Settings) -> int:
    import uvicorn

    from services.ingest import secret

    config = IngestSettings()
    if not config.token_secret.get_secret_value():
        log.error("set CASEWATCH_INGEST_TOKEN_SECRET (32+ characters) to serve the ingest API")
        return 2
    if secret.development_secret(settings):  # the API never carries demo-data output
        log.error("the ingest API does not start with the development secret: %s", secret.HOW)
        return 2
    uvicorn.run(
        create_app(settings, config),
        host=config.host,
        port=config.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    return 0
