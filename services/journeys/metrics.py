"""Worker metrics on an injected registry. Labels are bounded: source, type, rule, status,
reason — never a child."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "casewatch_events_total", "Events folded", ["source", "type"], registry=registry
        )
        self.dlq = Counter(
            "casewatch_events_dlq_total", "Events sent to the DLQ", ["reason"], registry=registry
        )
        self.flags = Counter(
            "casewatch_flags_total",
            "Flag changes published",
            ["rule", "status"],
            registry=registry,
        )
        self.sweeps = Counter(
            "casewatch_sweep_journeys_total",
            "Journeys re-evaluated by the clock",
            registry=registry,
        )

    def event_in(self, source: str, event_type: str) -> None:
        self.events.labels(source, event_type).inc()

    def dead_lettered(self, reason: str) -> None:
        self.dlq.labels(reason).inc()

    def flag_changed(self, rule: str, status: str) -> None:
        self.flags.labels(rule, status).inc()

    def swept(self, n: int) -> None:
        self.sweeps.inc(n)
