"""The bulk envelope builder gives exactly the ids and events of ``make_event``, and messages
that decode to them and carry the canonical payload their id is computed from."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas.events import (
    AssessmentCompleted,
    Event,
    Payload,
    PersonRegistered,
    PersonUpdated,
    PhaseTransfer,
    PlacementRecorded,
    PlanCeased,
    ReferralReceived,
    event_id_for,
    make_event,
)
from services.ingest.demo.authority import write_demo_export
from services.ingest.envelope import build_event, envelope, event_id, event_json
from services.ingest.export import read_export
from services.ingest.ssd.adapter import read_ssd_export

AT = datetime(2025, 6, 30, 18, tzinfo=UTC)
text = st.text(min_size=1, max_size=20)  # any characters: control, quotes, non-ASCII


@given(text, text, text, st.dates(), st.integers(1, 9), st.booleans())
def test_ids_match_event_id_for(
    source: str, record: str, ref: str, day: date, reason: int, flag: bool
) -> None:
    payloads: list[Payload] = [
        PersonRegistered(child_ref=ref, date_of_birth=day, primary_need="ASD"),
        PlanCeased(plan_id=ref, ceased_on=day, reason=reason),
        AssessmentCompleted(request_id=ref, outcome="A", exception=flag),
        PlacementRecorded(placement_id=ref, setting=ref, entry_on=day),
        ReferralReceived(referral_id=ref, service="autism", received_on=day),
    ]
    for payload in payloads:
        assert event_id(source, record, payload) == event_id_for(source, record, payload)


def test_envelopes_are_those_of_make_event() -> None:
    payload = PlanCeased(plan_id="P1", ceased_on=date(2025, 1, 31), reason=5)
    fields = dict(
        source_system="liquidlogic",
        source_record_key="ssd_ehcp_named_plan:P1",
        person_key="k" * 32,
        occurred_at=AT,
        recorded_at=AT,
        payload=payload,
    )
    built = envelope(**fields)  # type: ignore[arg-type]
    assert built == make_event(**fields)  # type: ignore[arg-type]
    assert built.model_dump_json() == make_event(**fields).model_dump_json()  # type: ignore[arg-type]


LONDON_SUMMER = timezone(timedelta(hours=1))
EXTRACTED = datetime(2026, 11, 23, 9, 30, 1, 250000, tzinfo=UTC)


def canonical(payload: Payload) -> bytes:
    """The payload as ``event_id_for`` encodes it: JSON fields, keys sorted, no spaces."""
    fields = payload.model_dump(mode="json")
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def assert_is_message_of(value: bytes, event: Event) -> None:
    """``value`` decodes to ``event``, is ``model_dump_json``'s document, and ends with the
    payload's canonical JSON; for ASCII content its bytes give the event's id back."""
    assert Event.model_validate_json(value) == event
    assert json.loads(value) == json.loads(event.model_dump_json())
    assert value == event_json(event)
    head, payload = value.split(b',"payload":', 1)  # a quote inside a value is escaped
    assert payload == canonical(event.payload) + b"}"
    assert head.decode() + "}" == event.model_dump_json(exclude={"payload"})
    if payload.isascii() and b"\x7f" not in payload:
        prefix = f"{event.source_system}\x1f{event.source_record_key}\x1f".encode()
        assert hashlib.sha256(prefix + payload[:-1]).hexdigest()[:32] == event.event_id


@given(text, text, text, st.dates(), st.integers(1, 9), st.booleans())
def test_messages_decode_to_their_events_around_the_canonical_payload(
    source: str, record: str, ref: str, day: date, reason: int, flag: bool
) -> None:
    occurred = datetime.combine(day, time(), tzinfo=UTC)
    payloads: list[Payload] = [
        PersonRegistered(child_ref=ref, date_of_birth=day, caseworker_id=ref, team=None),
        PersonRegistered(child_ref=ref, primary_need="ASD", secondary_need="SLCN"),
        PersonUpdated(child_ref=ref, recorded_year_group=3, year_group_recorded_on=day),
        PlanCeased(plan_id=ref, ceased_on=day, reason=reason),
        AssessmentCompleted(request_id=ref, outcome="A", exception=flag),
        PlacementRecorded(placement_id=ref, setting=ref, entry_on=day),
        PhaseTransfer(plan_id=None, transfer_due_on=day, next_setting=ref),
    ]
    for payload in payloads:
        for recorded in (AT, datetime(2025, 6, 30, 18, 5, 7, 123456, tzinfo=LONDON_SUMMER)):
            fields = dict(
                source_system=source,
                source_record_key=record,
                person_key=(ref * 16)[:64],  # the contract's longest key
                occurred_at=occurred,
                recorded_at=recorded,
                payload=payload,
            )
            built, value = build_event(**fields)  # type: ignore[arg-type]
            made = make_event(**fields)  # type: ignore[arg-type]
            assert built == made
            assert_is_message_of(value, made)


def test_every_demo_event_encodes_as_its_message(tmp_path: Path) -> None:
    write_demo_export(tmp_path, children=150, seed=3, today=date(2026, 11, 23), messy=True)
    events = [
        event
        for path in (tmp_path, tmp_path / "sen2")  # the SEN2 return restates the SSD export
        for event in read_export(path, secret="s", extracted_at=EXTRACTED).events
    ]
    assert {e.source_system for e in events} == {"liquidlogic", "sen2", "health"}
    for event in events:
        assert_is_message_of(event_json(event), event)


def test_a_read_sends_each_event_with_its_message(tmp_path: Path) -> None:
    write_demo_export(tmp_path, children=80, seed=5, today=date(2026, 11, 23), messy=True)
    sent: list[tuple[Event, bytes]] = []
    reading = read_ssd_export(
        tmp_path, secret="s", extracted_at=EXTRACTED, sink=lambda e, v: sent.append((e, v))
    )
    assert len(reading.events) > 400
    assert sorted(e.event_id for e, _ in sent) == sorted(e.event_id for e in reading.events)
    for event, value in sent:
        assert_is_message_of(value, event)


def test_built_events_are_set_as_make_event_sets_them() -> None:
    payload = PersonRegistered(child_ref="1001", date_of_birth=date(2015, 9, 5))
    fields = dict(
        source_system="liquidlogic",
        source_record_key="ssd_person:1001",
        person_key="k" * 32,
        occurred_at=AT,
        recorded_at=AT,
        payload=payload,
    )
    built, made = envelope(**fields), make_event(**fields)  # type: ignore[arg-type]
    assert built.model_fields_set == made.model_fields_set
    assert built.model_dump(exclude_unset=True) == made.model_dump(exclude_unset=True)
    assert built.model_copy(update={"person_key": "j" * 32}).person_key == "j" * 32


@pytest.mark.parametrize(
    "bad",
    [
        {"source_system": ""},
        {"source_record_key": ""},
        {"person_key": "short"},
        {"person_key": "k" * 65},  # every string of the contract is bounded
        {"source_system": "s" * 65},
        {"source_record_key": "r" * 257},
        {"occurred_at": datetime(2025, 6, 30)},  # naive
        {"recorded_at": datetime(2025, 6, 30)},
    ],
)
def test_bad_envelopes_are_refused_as_make_event_refuses_them(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "source_system": "liquidlogic",
        "source_record_key": "ssd_ehcp_named_plan:P1",
        "person_key": "k" * 32,
        "occurred_at": AT,
        "recorded_at": AT,
        "payload": PlanCeased(plan_id="P1", ceased_on=date(2025, 1, 31)),
    } | bad
    with pytest.raises(ValidationError) as made:
        make_event(**fields)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as built:
        envelope(**fields)  # type: ignore[arg-type]
    assert [e["loc"] for e in built.value.errors()] == [e["loc"] for e in made.value.errors()]


class NotAPayload(BaseModel):
    type: str = "plan.issued"
    plan_id: str = "P1"


def test_a_payload_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValidationError):
        envelope(
            source_system="liquidlogic",
            source_record_key="ssd_person:1",
            person_key="k" * 32,
            occurred_at=AT,
            recorded_at=AT,
            payload=NotAPayload(),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("ref", ["\x7f", "a\x7fb", '\x00\x1f\n\t"\\/', "é", "\u2028"])
def test_ids_match_event_id_for_where_the_encoders_differ(ref: str) -> None:
    payload = PlanCeased(plan_id=ref, ceased_on=date(2025, 1, 31))
    assert event_id("liquidlogic", f"r:{ref}", payload) == event_id_for(
        "liquidlogic", f"r:{ref}", payload
    )
