"""The event contract: JSON Schema files are current, envelopes validate, ids are stable."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from schemas import generate
from schemas.events import EVENT_TYPES, Event, PlanIssued, ReviewDecided, make_event
from tests.factories import PERSON, ev


@pytest.mark.parametrize("name", sorted(generate.CONTRACTS))
def test_checked_in_json_schema_is_current(name: str) -> None:
    on_disk = (generate.SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert on_disk == generate.render(name), f"run `make schemas`: {name} is stale"


def test_every_payload_type_is_in_the_union_and_the_schema() -> None:
    schema = (generate.SCHEMA_DIR / "event.v1.json").read_text()
    for event_type in EVENT_TYPES:
        assert f'"{event_type}"' in schema


def test_event_id_depends_on_source_record_and_content_only() -> None:
    payload = PlanIssued(plan_id="P1", issued_on=date(2024, 1, 1))
    kwargs = dict(
        source_system="liquidlogic",
        source_record_key="named_plan:P1",
        person_key=PERSON,
        payload=payload,
    )
    a = make_event(
        occurred_at=datetime(2024, 1, 1, tzinfo=UTC),
        recorded_at=datetime(2025, 1, 1, tzinfo=UTC),
        **kwargs,
    )
    b = make_event(
        occurred_at=datetime(2024, 1, 1, tzinfo=UTC),
        recorded_at=datetime(2026, 6, 1, tzinfo=UTC),
        **kwargs,
    )
    assert a.event_id == b.event_id
    changed = make_event(
        occurred_at=a.occurred_at,
        recorded_at=a.recorded_at,
        **{**kwargs, "payload": PlanIssued(plan_id="P1", issued_on=date(2024, 1, 2))},
    )
    assert changed.event_id != a.event_id


def test_envelope_round_trips_and_rejects_mismatched_type() -> None:
    e = ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 2, 5), outcome="M"))
    assert Event.model_validate_json(e.model_dump_json()) == e
    body = e.model_dump(mode="json")
    body["event_type"] = "plan.issued"
    with pytest.raises(ValidationError, match="does not match payload type"):
        Event.model_validate(body)


def test_unknown_review_outcome_is_rejected_by_the_contract() -> None:
    with pytest.raises(ValidationError):
        ReviewDecided(plan_id="P1", decided_on=date(2025, 2, 5), outcome="X")  # type: ignore[arg-type]


def test_naive_times_are_rejected() -> None:
    body = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 1))).model_dump(mode="json")
    body["occurred_at"] = "2024-01-01T00:00:00"
    with pytest.raises(ValidationError, match="timezone"):
        Event.model_validate(body)
