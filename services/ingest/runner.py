"""``casewatch ingest``: read an export, report what is wrong, publish what is right."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from services.ingest.publisher import EventPublisher
from services.ingest.ssd import ExportReading, read_ssd_export
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


def print_report(reading: ExportReading, fmt: str) -> None:
    if fmt == "json":
        print(
            json.dumps(
                {
                    "rows_read": reading.rows_read,
                    "rows_rejected": reading.rows_rejected,
                    "events": len(reading.events),
                    "issues": [asdict(i) for i in reading.issues],
                },
                indent=2,
            )
        )
        return
    for issue in reading.issues:
        print(issue)
    print(
        f"{reading.rows_read} rows read, {reading.rows_rejected} rejected, "
        f"{len(reading.events)} events"
    )


def ingest_ssd(settings: Settings, path: Path, *, dry_run: bool, report: str) -> int:
    """Exit code: 0 all rows accepted, 1 some rows rejected (the rest published), 2 failure."""
    reading = read_ssd_export(
        path,
        secret=settings.person_key_secret.get_secret_value(),
        extracted_at=datetime.now(UTC),
    )
    print_report(reading, report)
    if not dry_run and reading.events:
        with EventPublisher(settings.kafka_bootstrap, settings.topic_events) as publisher:
            result = publisher.publish(reading.events)
        log.info(
            "published %s events to %s (%s failed)",
            result.published,
            settings.topic_events,
            result.failed,
        )
        if result.failed:
            return 2
    return 1 if reading.rows_rejected else 0
