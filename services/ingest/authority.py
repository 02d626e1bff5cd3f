"""The source authority table (``schemas.authority``) applied to what an adapter read.

The adapters name their own sources (``liquidlogic``, ``sen2``, ``health`` or the health
mapping's ``source_system``), so a refusal here means a source named outside the table or a
fact an adapter should not make: each refused event is a per-record error
(``R-DATA-AUTHORITY``, naming the record unless its key is a person id) and is not
published.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.authority import event_refusal
from schemas.events import Event
from services.ingest.issues import ExportReading, Issue

RULE = "R-DATA-AUTHORITY"


def refuse_unentitled(reading: ExportReading) -> ExportReading:
    """``reading`` without the events their source may not state, each reported."""
    kept: list[Event] = []
    refused: set[str] = set()
    for event in reading.events:
        reason = event_refusal(event)
        if reason is None:
            kept.append(event)
            continue
        scope = event.source_record_key.split(":", 1)[0]
        # a person table's record key is a person id, which no message quotes
        record = f"a {scope} record" if "person" in scope.lower() else event.source_record_key
        message = f"{record}: {reason}; not published"
        reading.issues.append(Issue(scope, None, None, RULE, message))
        refused.add(event.source_record_key)
    if refused:
        reading.events[:] = kept
        reading.rows_rejected += len(refused)
    return reading


def entitled_only(sink: Callable[[Event, bytes], None]) -> Callable[[Event, bytes], None]:
    """``sink`` for the events their source may state (the others are reported after the
    reading, by :func:`refuse_unentitled`)."""

    def entitled(event: Event, value: bytes) -> None:
        if event_refusal(event) is None:
            sink(event, value)

    return entitled
