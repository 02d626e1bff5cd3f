"""A child whose history is larger than one message: the worker stores it (compressed, its
settled history compacted), survives a SIGKILL, recovers it from the changelog and goes on
folding; its flags are a clean replay's. One worker, one broker, ~13,000 events."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from bench.workload import child_events
from schemas.events import ReferralReceived
from services.journeys.codec import BODY_BYTES_MAX, encode_state
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate
from services.journeys.domain.state import JourneyState
from services.runtime.broker import EmbeddedBroker
from tests.longest import PERSON_KEY, History, ident, longest_journey, many_settled_referrals
from tests.reliability.conftest import (
    AS_OF,
    CHANGELOG,
    Process,
    encoded,
    env_for,
    produce,
    read_topic,
    stored_journeys,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_a_journey_beyond_one_message_is_stored_recovered_and_still_flags_the_same(
    broker: EmbeddedBroker, tmp_path: Path, processes: list[Process]
) -> None:
    big = [*longest_journey(), *many_settled_referrals()]
    assert len(encode_state(JourneyState(journey=fold(PERSON_KEY, big)))) > 3 * BODY_BYTES_MAX
    other = child_events(3, random.Random(3))
    env = env_for(broker, tmp_path / "data")
    worker = Process(["worker"], env, tmp_path / "worker.log").start()
    processes.append(worker)
    produce(broker.bootstrap, encoded([*big, *other]))

    def flags_of(events: list) -> frozenset[str]:  # type: ignore[type-arg]
        return frozenset(evaluate(fold(events[0].person_key, events), AS_OF, DEFAULT_PACK))

    def stored_as_replayed(events: list) -> bool:  # type: ignore[type-arg]
        found = stored_journeys(broker.bootstrap)
        keys = {e.person_key for e in events}
        return all(
            k in found
            and frozenset(found[k].open_flags) == flags_of(events)
            and not found[k].journey.facts.keys() - fold(k, events).facts.keys()
            for k in keys
        )

    wait_until(
        lambda: stored_as_replayed(big) and stored_as_replayed(other),
        timeout=240,
        what="both children stored",
    )
    values = [
        v for _, _, k, v in read_topic(broker.bootstrap, CHANGELOG) if k == PERSON_KEY.encode()
    ]
    assert values and all(v is not None and len(v) < 1_000_000 for v in values)
    stored = stored_journeys(broker.bootstrap)[PERSON_KEY]
    assert stored.journey.settled  # compacted: settled history out, remembered by digest
    assert flags_of(big)  # the long journey has open flags (R-AR-DUE on AS_OF), kept

    worker.kill()
    worker = Process(["worker"], env, tmp_path / "worker2.log").start()
    processes.append(worker)
    late = History()
    on = AS_OF - timedelta(days=30)
    late.add(ReferralReceived(referral_id=ident("Z", 1), service="camhs", received_on=on), on, 0)
    produce(broker.bootstrap, encoded(late.events))
    everything = [*big, *late.events]
    wait_until(
        lambda: (
            stored_as_replayed(everything)
            and f"referral:{ident('Z', 1)}"
            in stored_journeys(broker.bootstrap)[PERSON_KEY].journey.facts
        ),
        timeout=240,
        what="the recovered journey folds a new event",
    )
    assert worker.proc is not None and worker.proc.poll() is None
