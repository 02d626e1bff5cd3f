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


def test_journey_snapshot_has_timeline_clocks_and_no_personal_data() -> None:
    from schemas.events import PersonRegistered
    from schemas.journeys import SNAPSHOT_ADAPTER
    from services.journeys.codec import encode_snapshot

    person = ev(
        PersonRegistered(
            child_ref="C1", date_of_birth=date(2015, 2, 1), caseworker_id="cw-01", team="north"
        ),
        on=date(2024, 1, 1),
    )
    as_of = date(2024, 6, 1)
    state, _ = step(JourneyState.new(PERSON), [GOOD, person], as_of, DEFAULT_PACK)
    raw = encode_snapshot(
        state, as_of=as_of, pack=DEFAULT_PACK, now=datetime(2025, 2, 1, tzinfo=UTC)
    )
    view = SNAPSHOT_ADAPTER.validate_json(raw)
    assert (view.child_ref, view.caseworker_id, view.team) == ("C1", "cw-01", "north")
    assert [(e.on, e.kind) for e in view.timeline] == [
        (date(2024, 1, 1), "person.registered"),
        (date(2024, 1, 1), "plan.issued"),
    ]
    # plan issued 1 Jan 2024: review due 1 Jan 2025, advisory warning 84 days before
    assert ("R-AR-DUE", date(2025, 1, 1), "upcoming") in [
        (c.rule_id, c.due_on, c.state) for c in view.clocks
    ]
    # the next deadline is a date a caseworker can find among the clocks shown (the review
    # due 1 Jan 2025), not the day the advisory warning opens (9 Oct 2024)
    assert view.next_deadline == date(2025, 1, 1)
    assert view.next_deadline == min(c.due_on for c in view.clocks if c.due_on >= as_of)
    assert b"2015-02-01" not in raw  # the date of birth stays out of the read model
