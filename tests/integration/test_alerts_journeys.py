"""Both consumers of the alerts service against the real embedded broker: a flag names one
caseworker, the child's journey snapshot another; the alert follows the journey."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer
from prometheus_client import CollectorRegistry

from schemas.journeys import JourneySnapshot, TimelineEntry
from services.alerts.consumer import consume_flags, consume_journeys
from services.alerts.metrics import AlertMetrics
from services.alerts.store.store import AlertStore
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings
from tests.integration.test_alerts_consumer import publish, until
from tests.unit.test_alert_store import PERSON, fid, flag

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ERASED = "pk-erased-child-0000000009"


def snapshot(person_key: str, caseworker: str, at: datetime) -> JourneySnapshot:
    return JourneySnapshot(
        person_key=person_key,
        child_ref="CHILD-0042",
        caseworker_id=caseworker,
        team="north",
        as_of=at.date(),
        next_deadline=date(2026, 4, 1),
        timeline=[TimelineEntry(on=date(2025, 2, 5), kind="review.decided", summary="Kept")],
        updated_at=at,
    )


def send_journeys(
    producer: KafkaProducer, topic: str, records: list[tuple[str, JourneySnapshot | bytes | None]]
) -> None:
    for key, value in records:
        body = value.model_dump_json().encode() if isinstance(value, JourneySnapshot) else value
        producer.send(topic, key=key.encode(), value=body)
    producer.flush(timeout=10)


def test_alerts_follow_the_journey_topic(tmp_path: Path) -> None:
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        settings = Settings(
            kafka_bootstrap=broker.bootstrap, short_timeouts=True, data_dir=tmp_path
        )
        topics = [settings.topic_flags, settings.topic_journeys]
        ensure_topics(broker.bootstrap, 2, topics, compacted=topics)
        store = AlertStore(settings.alerts_database_url())
        registry = CollectorRegistry()
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        try:
            asyncio.run(_scenario(settings, store, AlertMetrics(registry), producer))
        finally:
            producer.close()
            store.close()

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("casewatch_alert_journeys_total", outcome="stored") == 3
    assert sample("casewatch_alert_journeys_total", outcome="forgotten") == 1
    assert sample("casewatch_alert_journeys_undecodable_total") == 1
    # 2 when the flag was stored before the first snapshot, else 1 (it opened with cw-ben).
    assert sample("casewatch_alerts_casework_total", action="rerouted") in (1, 2)


async def _scenario(
    settings: Settings, store: AlertStore, metrics: AlertMetrics, producer: KafkaProducer
) -> None:
    flags, journeys = settings.topic_flags, settings.topic_journeys
    await asyncio.to_thread(publish, producer, flags, [flag(n=1, at=T0)])  # names cw-ana
    await asyncio.to_thread(
        send_journeys,
        producer,
        journeys,
        [
            (PERSON, snapshot(PERSON, "cw-ben", T0 + timedelta(hours=1))),
            (ERASED, snapshot(ERASED, "cw-cy", T0)),
            (PERSON, b"not a snapshot"),
        ],
    )
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(consume_flags(settings, store, stop=stop, metrics=metrics)),
        asyncio.create_task(consume_journeys(settings, store, stop=stop, metrics=metrics)),
    ]

    def owner_is(caseworker: str) -> bool:
        alert = store.get(fid(1))
        return alert is not None and alert.caseworker_id == caseworker

    try:
        await until(lambda: owner_is("cw-ben"), tasks[1], "the alert to follow the journey")
        later = snapshot(PERSON, "cw-dee", T0 + timedelta(hours=2))
        await asyncio.to_thread(
            send_journeys, producer, journeys, [(PERSON, later), (ERASED, None)]
        )
        await until(lambda: owner_is("cw-dee"), tasks[1], "the caseworker change")
        await until(lambda: store.journey(ERASED) is None, tasks[1], "the tombstone")
        stored = store.journey(PERSON)
        assert stored is not None and stored.caseworker_id == "cw-dee"
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
