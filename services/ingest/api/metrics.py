"""Prometheus metrics of the HTTP ingest API (``GET /metrics``), on a registry handed in.

The CLI's rejections reach the pipeline dashboard through a textfile (one-shot jobs cannot be
scraped, services/ingest/metrics.py); the API is a service, so Prometheus scrapes it.

Labels carry bounded values only: ``source`` is the authority table's name (``health`` for
``health-camhs``) or ``other`` (``schemas.authority.source_label``); ``status`` an HTTP status
code; ``rule`` a rule id (``R-DATA-IDENTITY``, a date-range rule), a fixed reason
(``not_entitled``: the token or the source authority table does not allow the event;
``token_source``: the token may not publish as that source; ``too_large``, ``too_long``,
pydantic's error types) or ``other``. Never a person,
a record key or a value from the body.

Exposes ``casewatch_ingest_api_requests_total{source, status}`` (every publishing request,
including those refused before their body: 401, 413), ``casewatch_ingest_api_events_total
{source, outcome}`` (published, refused, unacknowledged: events in answered requests) and
``casewatch_ingest_api_refusals_total{source, rule}`` (each reason an event was refused).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.authority import source_label

PUBLISHING = re.compile(r"^/v1/sources/([^/]*)/events(?:/batch)?$")
RULE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,47}")


def rule_label(rule: str) -> str:
    """A bounded label for an error's rule or type: itself when it looks like one, else
    ``other`` (an error type is never free text, but the label must not trust that)."""
    return rule if RULE.fullmatch(rule) else "other"


class IngestApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "casewatch_ingest_api_requests",
            "Publishing requests answered by the ingest API, by source and HTTP status.",
            ["source", "status"],
            registry=registry,
        )
        self.events = Counter(
            "casewatch_ingest_api_events",
            "Events in answered publishing requests, by source and outcome "
            "(published, refused, unacknowledged).",
            ["source", "outcome"],
            registry=registry,
        )
        self.refusals = Counter(
            "casewatch_ingest_api_refusals",
            "Reasons events were refused by the ingest API, by source and rule.",
            ["source", "rule"],
            registry=registry,
        )

    def count_events(self, source: str, outcome: str, n: int) -> None:
        if n:
            self.events.labels(source_label(source), outcome).inc(n)

    def count_refusals(self, source: str, rules: Iterable[str]) -> None:
        for rule in rules:
            self.refusals.labels(source_label(source), rule_label(rule)).inc()


class CountRequests:
    """Counts every publishing request's answer by source and status, outermost, so that the
    refusals made before a route runs (401 and 413 by ``RequestLimits``) are counted too."""

    def __init__(self, app: ASGIApp, *, metrics: IngestApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = PUBLISHING.match(scope.get("path", "")) if scope["type"] == "http" else None
        if matched is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        source = source_label(matched.group(1))

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.requests.labels(source, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counted)
