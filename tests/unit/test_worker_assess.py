"""One evaluation gives exactly what the domain's three functions give separately: flags and
their changes (``state.step``), the next deadline (``rules.next_deadline``) and the clock
views (``views.journey_clocks``)."""

import random
from datetime import date, timedelta

from bench.workload import TODAY, child_events
from services.journeys.domain.assess import assess
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import next_deadline
from services.journeys.domain.state import JourneyState, step
from services.journeys.domain.views import journey_clocks


def test_assess_agrees_with_the_domain_on_many_journeys_and_dates() -> None:
    rng = random.Random(4)
    for i in range(60):
        events = child_events(i, rng)
        partial = events[: rng.randint(1, len(events))]
        journey = fold(events[0].person_key, partial)
        state = JourneyState(journey=journey)
        for as_of in (TODAY - timedelta(days=400), TODAY, TODAY + timedelta(days=200)):
            earlier, _ = step(state, [], as_of - timedelta(days=90), DEFAULT_PACK)
            for before in (state, earlier):
                expected_state, expected_changes = step(before, [], as_of, DEFAULT_PACK)
                got = assess(before, as_of, DEFAULT_PACK)
                assert got.state == expected_state
                assert got.changes == expected_changes
                assert got.next_due == next_deadline(journey, as_of, DEFAULT_PACK)
                assert got.views == journey_clocks(journey, as_of, DEFAULT_PACK)


def test_an_unchanged_evaluation_keeps_the_same_state_object() -> None:
    events = child_events(1, random.Random(1))
    state = JourneyState(journey=fold(events[0].person_key, events))
    settled, _ = step(state, [], date(2026, 11, 23), DEFAULT_PACK)
    assert assess(settled, date(2026, 11, 23), DEFAULT_PACK).state is settled
