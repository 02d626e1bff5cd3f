"""The bulk envelope builder gives exactly the ids and events of ``make_event``."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from schemas.events import (
    AssessmentCompleted,
    Payload,
    PersonRegistered,
    PlacementRecorded,
    PlanCeased,
    ReferralReceived,
    event_id_for,
    make_event,
)
from services.ingest.envelope import envelope, event_id

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
