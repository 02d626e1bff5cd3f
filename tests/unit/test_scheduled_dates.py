"""Scheduled facts are not future-dated: only a fact *recorded* in the future is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from schemas.dates import SCHEDULED_TYPES, date_kind
from schemas.events import EVENT_TYPES, Event, PhaseTransfer, PlanIssued, ReviewMeetingScheduled
from services.ingest.demo.authority import write_demo_export
from services.ingest.envelope import event_json
from services.ingest.export import read_export
from services.ingest.sen2.adapter import read_sen2_return
from services.journeys.codec import DeadLetter, decode_event, latest_believable
from tests.factories import PERSON, at, ev

TODAY = date(2025, 11, 3)
WALL = datetime.combine(TODAY, time(12), tzinfo=UTC)
NOT_AFTER = latest_believable(WALL, 86_400)


def recorded_today(payload: object, on: date) -> Event:
    event = ev(payload, on=on)
    return event.model_copy(update={"recorded_at": WALL})


def decoded(event: Event) -> Event | DeadLetter:
    return decode_event(PERSON.encode(), event_json(event), not_after=NOT_AFTER)


def test_a_transfer_due_next_september_recorded_today_is_folded() -> None:
    due = date(2026, 9, 1)
    event = recorded_today(PhaseTransfer(plan_id="P1", transfer_due_on=due), due)
    assert decoded(event) == event


def test_a_meeting_booked_for_next_month_is_folded() -> None:
    on = TODAY + timedelta(days=40)
    event = recorded_today(ReviewMeetingScheduled(plan_id="P1", meeting_on=on), on)
    assert decoded(event) == event


def test_a_fact_recorded_in_the_future_is_refused_even_when_scheduled() -> None:
    due = date(2026, 9, 1)
    event = ev(PhaseTransfer(plan_id="P1", transfer_due_on=due), on=due)  # recorded on `due`
    letter = decoded(event)
    assert isinstance(letter, DeadLetter) and letter.reason == "future_dated"
    assert letter.detail == "recorded_at is in the future"


def test_a_fact_that_cannot_be_scheduled_occurring_in_the_future_is_refused() -> None:
    later = TODAY + timedelta(days=30)
    event = recorded_today(PlanIssued(plan_id="P1", issued_on=later), later)
    letter = decoded(event)
    assert isinstance(letter, DeadLetter) and letter.reason == "future_dated"
    assert "plan.issued is not a scheduled fact" in letter.detail


def test_scheduled_types_are_event_types_and_their_dates_are_scheduled() -> None:
    assert set(EVENT_TYPES) >= SCHEDULED_TYPES
    assert date_kind("phase.transfer", "transfer_due_on") == "scheduled"
    assert date_kind("phase.transfer", "final_on") == "fact"
    assert date_kind("review.meeting_held", "meeting_on") == "fact"
    assert date_kind("person.registered", "date_of_birth") == "birth"
    assert at(TODAY) < NOT_AFTER


@pytest.mark.parametrize("children", [400])
def test_no_event_of_the_demo_authority_is_dead_lettered(tmp_path: Path, children: int) -> None:
    """Every event of the demo (SSD, health and SEN2), through the worker's own decoding on
    the day it was extracted: none reaches the DLQ, and the planned transfers are there."""
    write_demo_export(tmp_path, children=children, seed=7, today=TODAY)
    extracted_at = datetime.combine(TODAY, time(18), tzinfo=UTC)
    readings = [
        read_export(tmp_path, secret="demo-secret", extracted_at=extracted_at),
        read_sen2_return(
            tmp_path / "sen2" / "sen2_return.xml", secret="demo-secret", extracted_at=extracted_at
        ),
    ]
    events = [e for r in readings for e in r.events]
    assert all(not r.errors for r in readings)
    ahead = [e for e in events if e.occurred_at > NOT_AFTER]
    assert ahead and {e.event_type for e in ahead} <= SCHEDULED_TYPES  # the case in point
    dead = [
        (e.event_type, letter.detail)
        for e in events
        if isinstance(
            letter := decode_event(e.person_key.encode(), event_json(e), not_after=NOT_AFTER),
            DeadLetter,
        )
    ]
    assert dead == []
