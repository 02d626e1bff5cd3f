"""The journey table's value: a header readable without decoding the journey."""

import json
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from schemas.events import PlanIssued
from services.journeys.codec import (
    LEGACY_HEADER,
    DeadLetter,
    JourneyHeader,
    decode_event,
    decode_header,
    decode_stored,
    encode_state,
    encode_stored,
)
from services.journeys.domain.journey import apply
from services.journeys.domain.state import JourneyState
from tests.factories import PERSON, ev

GOOD = ev(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 1)))


def state() -> JourneyState:
    empty = JourneyState.new(PERSON)
    return empty.model_copy(update={"journey": apply(empty.journey, GOOD)})


def test_header_and_state_round_trip_and_the_header_reads_alone() -> None:
    header = JourneyHeader(3, 41, False, date(2025, 1, 1), "england-2026.1")
    raw = encode_stored(header, state())
    assert decode_header(raw) == header
    assert decode_stored(raw) == (header, state())
    assert b"\n" not in encode_state(state())  # the header's separator never occurs in JSON


def test_a_value_stored_before_headers_is_evaluated_again() -> None:
    raw = encode_state(state())
    assert decode_header(raw) == LEGACY_HEADER and LEGACY_HEADER.pending
    assert decode_stored(raw) == (LEGACY_HEADER, state())


def test_events_from_the_future_are_dead_lettered() -> None:
    raw = GOOD.model_dump_json().encode()
    recorded = GOOD.recorded_at
    assert decode_event(PERSON.encode(), raw, not_after=recorded) == GOOD
    letter = decode_event(PERSON.encode(), raw, not_after=recorded - timedelta(seconds=1))
    assert isinstance(letter, DeadLetter) and letter.reason == "future_dated"
    assert decode_event(PERSON.encode(), raw, not_after=datetime.now(UTC)) == GOOD


def test_journeys_assembled_from_fact_fragments_are_what_pydantic_writes() -> None:
    import random

    from bench.workload import child_events
    from services.journeys.codec import FactFragments
    from services.journeys.domain.journey import fold

    fragments = FactFragments(size=50)
    rng = random.Random(2)
    for i in range(20):
        events = child_events(i, rng)
        journey = fold(events[0].person_key, events)
        for evolved in (JourneyState(journey=journey), state()):
            assert fragments.encode(evolved) == encode_state(evolved)
            assert decode_stored(encode_stored(LEGACY_HEADER, evolved, fragments))[1] == evolved


@given(
    partition=st.integers(-1, 10_000),
    offset=st.integers(-1, 2**62),
    pending=st.booleans(),
    due=st.none() | st.dates(),
    pack=st.none() | st.text(max_size=30),
)
def test_a_hand_formatted_header_is_plain_json_and_reads_back(
    partition: int, offset: int, pending: bool, due: date | None, pack: str | None
) -> None:
    header = JourneyHeader(partition, offset, pending, due, pack)
    raw = header.encode()
    assert b"\n" not in raw
    body = json.loads(raw)
    assert body == {
        "v": 1,
        "p": partition,
        "o": offset,
        "pending": pending,
        "due": due.isoformat() if due else None,
        "pack": pack,
    }
    assert decode_header(raw + b"\n{}") == header
