"""Data-quality metrics of one ingest run, for Prometheus (issue 12 item 2).

A nightly ``casewatch ingest`` is a one-shot job: Prometheus cannot scrape it.  With
``--metrics-textfile PATH`` the run writes its counts, atomically, in the text exposition
format for node-exporter's textfile collector (``--collector.textfile.directory``), the way a
council's ops team already watches cron jobs on its hosts.  They are gauges of the *last
run*, never counters: each run replaces the file, so a run with no warnings shows 0.

Labels are bounded and carry no value from a record: ``source`` (ssd | sen2 | health |
export), ``rule`` (an R-… id of docs/ingest.md) and ``severity`` (error | warning).  Every
known rule is written with 0 so a panel shows a clean run as 0, not as no data.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from services.ingest.issues import ExportReading

# the rules of docs/ingest.md's table, and the severities each can have
RULES: dict[str, tuple[str, ...]] = {
    "R-DATA-FILE": ("error",),
    "R-DATA-REQUIRED": ("error", "warning"),
    "R-DATA-DATE": ("error",),
    "R-DATA-FUTURE": ("error",),
    "R-DATA-ORDER": ("error", "warning"),
    "R-DATA-CODE": ("error", "warning"),
    "R-DATA-NEED": ("error", "warning"),
    "R-DATA-UPN": ("warning",),
    "R-DATA-ULN": ("warning",),
    "R-DATA-NHS": ("warning",),
    "R-DATA-POSTCODE": ("warning",),
    "R-DATA-PLACEMENT": ("warning",),
    "R-DATA-LINK": ("error",),
    "R-DATA-DUPLICATE": ("error",),
    "R-DATA-SERVICE": ("error", "warning"),
    "R-DATA-IDENTITY": ("error", "warning"),
    "R-DATA-REPEAT": ("warning",),
    "R-SEN2-SCHEMA": ("error", "warning"),
    "R-SEN2-LINKED": ("warning",),
    "R-INGEST-GONE": ("warning",),
    "R-INGEST-ALL": ("error",),
}
SOURCES = ("ssd", "sen2", "health", "export")


def run_registry(
    reading: ExportReading, source: str, *, published: int, exit_code: int, at: float | None = None
) -> CollectorRegistry:
    """The gauges of one run of ``source`` (one of SOURCES)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    registry = CollectorRegistry()
    issues = Gauge(
        "casewatch_ingest_last_run_issues",
        "Issues the last ingest run reported, by source, rule and severity",
        ["source", "rule", "severity"],
        registry=registry,
    )
    counts: Counter[tuple[str, str]] = Counter((i.rule, i.severity) for i in reading.issues)
    known = {(rule, severity) for rule, severities in RULES.items() for severity in severities}
    for rule, severity in sorted(known | set(counts)):
        if rule.startswith("R-"):  # bounded: a rule id, never a value
            issues.labels(source, rule, severity).set(counts[(rule, severity)])
    records = Gauge(
        "casewatch_ingest_last_run_records",
        "Records (rows, SEN2 modules) the last ingest run read, rejected and events it published",
        ["source", "outcome"],
        registry=registry,
    )
    records.labels(source, "read").set(reading.rows_read)
    records.labels(source, "rejected").set(reading.rows_rejected)
    records.labels(source, "published").set(published)
    Gauge(
        "casewatch_ingest_last_run_exit_code",
        "The last ingest run's exit code (0 clean, 1 something rejected, 2 not published)",
        ["source"],
        registry=registry,
    ).labels(source).set(exit_code)
    Gauge(
        "casewatch_ingest_last_run_timestamp_seconds",
        "When the last ingest run ended (Unix time)",
        ["source"],
        registry=registry,
    ).labels(source).set(time.time() if at is None else at)
    return registry


def write_textfile(path: Path, registry: CollectorRegistry) -> None:
    """Write ``registry`` to ``path`` atomically (a temporary file, then a rename), so the
    collector never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
