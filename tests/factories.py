"""Build events with plain values for tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from schemas.authority import sources_for
from schemas.events import Event, make_event

PERSON = "pk-test-0000000000000001"


def at(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=UTC)


def ev(payload, *, person_key: str = PERSON, on: date | None = None, record: str = "r") -> Event:
    """An event stating ``payload``, occurring on ``on`` (default: the payload's own date)."""
    when = on or next(
        (v for v in payload.model_dump().values() if isinstance(v, date)), date(2020, 1, 1)
    )
    return make_event(
        source_system=sources_for(payload.type)[0],  # a source entitled to the fact
        source_record_key=record,
        person_key=person_key,
        occurred_at=at(when),
        recorded_at=at(when),
        payload=payload,
    )
