"""The alerts service's own clock: wake ended snoozes and escalate unacknowledged alerts,
at start and then every ``sweep_seconds``. Nothing arrives on a topic when an alert has
been ignored for two working days, so the service has to look."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from services.alerts.domain.escalation import EscalationPolicy
from services.alerts.metrics import AlertMetrics
from services.alerts.store.audit import CASEWATCH
from services.alerts.store.casework import Act, SweepResult
from services.alerts.store.store import AlertStore
from services.runtime.clock import Clock

log = logging.getLogger(__name__)


def sweep_once(
    store: AlertStore, policy: EscalationPolicy, clock: Clock, metrics: AlertMetrics | None
) -> SweepResult:
    result = store.sweep(Act(CASEWATCH, clock(), datetime.now(UTC)), policy)
    if result.woke or result.escalated:
        # Counts only: which alerts is in the audit table.
        log.info("sweep: %d snoozes ended, %d alerts escalated", result.woke, len(result.escalated))
    if metrics:
        metrics.count_casework("woke", result.woke)
        metrics.count_casework("escalated", len(result.escalated))
    return result


async def sweep_until_stopped(
    store: AlertStore,
    policy: EscalationPolicy,
    clock: Clock,
    metrics: AlertMetrics | None,
    *,
    every_seconds: float,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(sweep_once, store, policy, clock, metrics)
        except SQLAlchemyError as exc:
            log.error("sweep failed (%s); trying again in %.0fs", type(exc).__name__, every_seconds)
        try:
            await asyncio.wait_for(stop.wait(), every_seconds)
        except TimeoutError:
            continue
