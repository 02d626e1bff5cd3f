"""Bytes in, bytes out: decoding events (or a dead letter saying why not), and encoding
journey state and flag records. No faust here, so it is tested with plain values."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, EVENT_TYPES, Event
from schemas.flags import FlagRecord
from schemas.journeys import ClockView, JourneySnapshot, TimelineEntry
from services.journeys.domain.clocks import Flag
from services.journeys.domain.journey import person
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import next_deadline
from services.journeys.domain.state import FlagChanges, JourneyState
from services.journeys.domain.views import journey_clocks, timeline


@dataclass(frozen=True)
class DeadLetter:
    """Why an event cannot be folded. ``detail`` names fields, never their values."""

    reason: str  # undecodable | unknown_type | schema_invalid | key_mismatch
    detail: str
    original: bytes | None

    def encode(self, topic: str, partition: int, offset: int) -> bytes:
        return json.dumps(
            {
                "reason": self.reason,
                "detail": self.detail,
                "source": {"topic": topic, "partition": partition, "offset": offset},
                "original_b64": base64.b64encode(self.original or b"").decode(),
            }
        ).encode()


def _field_errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
        for err in exc.errors(include_input=False)
    )


def decode_event(key: bytes | None, value: bytes | None) -> Event | DeadLetter:
    if not value:
        return DeadLetter("undecodable", "empty message", value)
    try:
        event = EVENT_ADAPTER.validate_json(value)
    except ValidationError as exc:
        try:
            body = json.loads(value)
        except ValueError:
            return DeadLetter("undecodable", "not JSON", value)
        payload = body.get("payload") if isinstance(body, dict) else None
        if isinstance(payload, dict) and payload.get("type") not in EVENT_TYPES:
            kind = payload.get("type")
            return DeadLetter("unknown_type", f"payload type {kind!r} is not known", value)
        return DeadLetter("schema_invalid", _field_errors(exc), value)
    if key is not None and key != event.person_key.encode():
        return DeadLetter("key_mismatch", "message key is not the event's person key", value)
    return event


def encode_state(state: JourneyState) -> bytes:
    return state.model_dump_json().encode()


def decode_state(raw: bytes) -> JourneyState:
    return JourneyState.model_validate_json(raw)


def flag_record(
    state: JourneyState, flag: Flag, status: str, *, as_of: date, pack: RulePack, now: datetime
) -> FlagRecord:
    who = person(state.journey)
    return FlagRecord(
        flag_id=flag.flag_id,
        status="raised" if status == "raised" else "resolved",
        rule_id=flag.rule_id,
        rule_pack_version=pack.version,
        severity=flag.severity,
        statutory=flag.statutory,
        person_key=state.journey.person_key,
        child_ref=who.child_ref if who else None,
        caseworker_id=who.caseworker_id if who else None,
        team=who.team if who else None,
        subject=flag.subject,
        due_on=flag.due_on,
        as_of=as_of,
        exception=flag.exception,
        changed_at=now,
    )


def encode_flag_records(
    state: JourneyState, changes: FlagChanges, *, as_of: date, pack: RulePack, now: datetime
) -> Iterator[tuple[bytes, bytes, FlagRecord]]:
    """(key, value, record) for each flag raised or resolved, resolutions first."""
    for status, flags in (("resolved", changes.resolved), ("raised", changes.raised)):
        for flag in flags:
            record = flag_record(state, flag, status, as_of=as_of, pack=pack, now=now)
            yield flag.flag_id.encode(), record.model_dump_json().encode(), record


def snapshot(state: JourneyState, *, as_of: date, pack: RulePack, now: datetime) -> JourneySnapshot:
    """The read model published on ``casewatch.journeys`` for the alerts service."""
    journey = state.journey
    who = person(journey)
    return JourneySnapshot(
        person_key=journey.person_key,
        child_ref=who.child_ref if who else None,
        caseworker_id=who.caseworker_id if who else None,
        team=who.team if who else None,
        as_of=as_of,
        next_deadline=next_deadline(journey, as_of, pack),
        timeline=[
            TimelineEntry(on=i.on, kind=i.kind, summary=i.summary) for i in timeline(journey)
        ],
        clocks=[
            ClockView(
                rule_id=c.rule_id,
                subject=c.subject,
                due_on=c.due_on,
                state="open" if state_ == "open" else "upcoming",
                flag_id=c.flag(journey.person_key).flag_id if state_ == "open" else None,
            )
            for c, state_ in journey_clocks(journey, as_of, pack)
        ],
        updated_at=now,
    )


def encode_snapshot(state: JourneyState, *, as_of: date, pack: RulePack, now: datetime) -> bytes:
    return snapshot(state, as_of=as_of, pack=pack, now=now).model_dump_json().encode()
