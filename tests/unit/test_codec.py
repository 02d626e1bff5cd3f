"""Decoding on the worker's hot path: good events through, poison to the DLQ with a reason."""

import base64
import json
from datetime import UTC, date, datetime

from schemas.events import PlanIssued
from schemas.flags import FLAG_ADAPTER
from services.journeys.codec import DeadLetter, decode_event, encode_flag_records
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.state import JourneyState, step
from tests.factories import PERSON, ev

GOOD = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 1)))


def raw(event=GOOD) -> bytes:
    return event.model_dump_json().encode()


def test_good_event_decodes() -> None:
    assert decode_event(PERSON.encode(), raw()) == GOOD


def test_poison_reasons() -> None:
    body = json.loads(raw())
    unknown = {
        **body,
        "event_type": "plan.teleported",
        "payload": {**body["payload"], "type": "plan.teleported"},
    }
    invalid = {**body, "payload": {**body["payload"], "issued_on": "not a date"}}
    cases = {
        b"\xff\xfe": "undecodable",
        b"": "undecodable",
        json.dumps(unknown).encode(): "unknown_type",
        json.dumps(invalid).encode(): "schema_invalid",
    }
    for value, reason in cases.items():
        result = decode_event(PERSON.encode(), value)
        assert isinstance(result, DeadLetter) and result.reason == reason, value
    mismatch = decode_event(b"someone-else", raw())
    assert isinstance(mismatch, DeadLetter) and mismatch.reason == "key_mismatch"


def test_dead_letter_keeps_the_original_bytes_and_names_the_field() -> None:
    body = json.loads(raw())
    body["payload"]["issued_on"] = "31/02/2024"
    letter = decode_event(None, json.dumps(body).encode())
    assert isinstance(letter, DeadLetter)
    assert "payload.plan.issued.issued_on" in letter.detail
    assert "31/02/2024" not in letter.detail  # values stay out of the reason
    record = json.loads(letter.encode("casewatch.events", 3, 42))
    assert record["source"] == {"topic": "casewatch.events", "partition": 3, "offset": 42}
    assert base64.b64decode(record["original_b64"]) == json.dumps(body).encode()


def test_flag_records_carry_rule_pack_and_resolutions_first() -> None:
    state, changes = step(JourneyState.new(PERSON), [GOOD], date(2025, 2, 1), DEFAULT_PACK)
    out = list(
        encode_flag_records(
            state,
            changes,
            as_of=date(2025, 2, 1),
            pack=DEFAULT_PACK,
            now=datetime(2025, 2, 1, tzinfo=UTC),
        )
    )
    ((key, value, record),) = out
    assert key == record.flag_id.encode()
    assert FLAG_ADAPTER.validate_json(value) == record
    assert (record.rule_id, record.status, record.rule_pack_version) == (
        "R-AR-DUE",
        "raised",
        DEFAULT_PACK.version,
    )
    assert record.due_on == date(2025, 1, 1)
