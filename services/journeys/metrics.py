"""Worker metrics on an injected registry. Labels are bounded: source, type, rule, status,
reason, partition — never a child."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

from schemas.authority import source_label

if TYPE_CHECKING:
    from services.journeys.processor import Folded, Swept


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "casewatch_events_total", "Events folded", ["source", "type"], registry=registry
        )
        self.redelivered = Counter(
            "casewatch_events_redelivered_total",
            "Events skipped unread: at or below the journey's last applied position",
            registry=registry,
        )
        self.dlq = Counter(
            "casewatch_events_dlq_total", "Events sent to the DLQ", ["reason"], registry=registry
        )
        self.journeys_written = Counter(
            "casewatch_journeys_written_total",
            "Journey table writes (one per changed journey per batch or evaluation)",
            registry=registry,
        )
        self.flags = Counter(
            "casewatch_flags_total",
            "Flag changes published",
            ["rule", "status"],
            registry=registry,
        )
        self.sweeps = Counter(
            "casewatch_sweep_journeys_total",
            "Journeys evaluated by the clock: changed (settled), due (deadline index), verify",
            ["reason"],
            registry=registry,
        )
        self.newest = Gauge(
            "casewatch_events_newest_timestamp_seconds",
            "Newest recorded_at of the events folded from each source (Unix time): a source "
            "whose newest event stops moving has gone quiet",
            ["source"],
            registry=registry,
        )
        self._newest: dict[str, float] = {}
        self.evaluation_failures = Counter(
            "casewatch_evaluation_failures_total",
            "Journeys an evaluation left as stored (an exception, or a record over the "
            "message limit); the rolling re-evaluation tries them again",
            ["reason"],
            registry=registry,
        )
        self.oversized = Counter(
            "casewatch_records_oversized_total",
            "Records not published because they exceed the message limit",
            ["kind"],
            registry=registry,
        )
        self.indexed = Gauge(
            "casewatch_deadline_index_journeys",
            "Journeys in the deadline index of an owned partition",
            ["partition"],
            registry=registry,
        )

    def event_in(self, source: str, event_type: str) -> None:
        self.events.labels(source, event_type).inc()

    def dead_lettered(self, reason: str) -> None:
        self.dlq.labels(reason).inc()

    def flag_changed(self, rule: str, status: str) -> None:
        self.flags.labels(rule, status).inc()

    def folded(self, folded: Folded) -> None:
        counts: dict[tuple[str, str], int] = {}
        for event in folded.events:
            label = (source_label(event.source_system), event.event_type)  # bounded
            counts[label] = counts.get(label, 0) + 1
        for (source, event_type), n in counts.items():
            self.events.labels(source, event_type).inc(n)
        for event in folded.events:
            seen, source = event.recorded_at.timestamp(), source_label(event.source_system)
            if seen > self._newest.get(source, float("-inf")):
                self._newest[source] = seen
                self.newest.labels(source).set(seen)
        for _, letter in folded.dead:
            self.dead_lettered(letter.reason)
        if folded.redelivered:
            self.redelivered.inc(folded.redelivered)
        if folded.changes:
            self.journeys_written.inc(len(folded.changes))

    def swept(self, swept: Swept, indexed: int, partition: int) -> None:
        for reason, n in swept.evaluated.items():
            self.sweeps.labels(reason).inc(n)
        if swept.changes:
            self.journeys_written.inc(len(swept.changes))
        for reason, n in swept.failed.items():
            self.evaluation_failures.labels(reason).inc(n)
        for kind, n in swept.oversized.items():
            self.oversized.labels(kind).inc(n)
        self.indexed.labels(str(partition)).set(indexed)

    def forget_partition(self, partition: int) -> None:
        with contextlib.suppress(KeyError):  # never indexed here
            self.indexed.remove(str(partition))
