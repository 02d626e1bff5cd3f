"""The flag consumer against the real embedded broker: flags in, one alert per flag out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer
from prometheus_client import CollectorRegistry

from schemas.flags import FlagRecord
from services.alerts.consumer import consume_flags
from services.alerts.metrics import AlertMetrics
from services.alerts.store.store import AlertStore
from services.runtime.broker import EmbeddedBroker, ensure_topics, free_port
from services.runtime.settings import Settings

pytestmark = pytest.mark.integration

DEADLINE_S = 60.0  # a fresh group's join with short timeouts takes a few seconds
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fid(n: int) -> str:
    return f"{n:032x}"


def flag(status: str = "raised", *, n: int = 1, at: datetime = T0, **changes: object) -> FlagRecord:
    values: dict[str, object] = {
        "flag_id": fid(n),
        "status": status,
        "rule_id": "R-AR-DUE",
        "rule_pack_version": "2026.1",
        "severity": "breach",
        "statutory": True,
        "person_key": f"pk-{n:016d}",
        "child_ref": f"CHILD-{n}",
        "caseworker_id": "cw-ana",
        "subject": f"plan:P{n}",
        "due_on": date(2026, 2, 5),
        "as_of": at.date(),
        "changed_at": at,
    }
    return FlagRecord.model_validate({**values, **changes})


def publish(producer: KafkaProducer, topic: str, records: Iterable[FlagRecord | bytes]) -> None:
    for record in records:
        if isinstance(record, bytes):
            producer.send(topic, key=b"junk", value=record)
        else:
            producer.send(
                topic, key=record.flag_id.encode(), value=record.model_dump_json().encode()
            )
    producer.flush(timeout=10)


async def until(condition: Callable[[], bool], consumer: asyncio.Task[None], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await asyncio.to_thread(condition):
        if consumer.done():
            consumer.result()  # raises what stopped it
            pytest.fail(f"consumer stopped before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE_S:.0f}s")
        await asyncio.sleep(0.1)


def test_flags_become_one_alert_each(tmp_path: Path) -> None:
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        settings = Settings(
            kafka_bootstrap=broker.bootstrap, short_timeouts=True, data_dir=tmp_path
        )
        ensure_topics(broker.bootstrap, 2, [settings.topic_flags])
        store = AlertStore(settings.alerts_database_url())
        registry = CollectorRegistry()
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
        try:
            asyncio.run(_scenario(settings, store, AlertMetrics(registry), producer))
        finally:
            producer.close()
            store.close()

    first = store.get(fid(1))
    assert first is not None
    assert (first.status, first.times_raised) == ("resolved", 1)
    assert first.resolved_at == T0 + timedelta(days=1)
    assert [c.status for c in store.history(fid(1))] == ["open", "resolved"]
    assert [a.flag_id for a in store.open_alerts()] == [fid(2)]

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("casewatch_alerts_transitions_total", rule="R-AR-DUE", transition="opened") == 2
    assert sample("casewatch_alerts_transitions_total", rule="R-AR-DUE", transition="resolved") == 1
    assert sample("casewatch_alert_flags_undecodable_total") == 1
    assert sample("casewatch_alerts_open", rule="R-AR-DUE", severity="breach") == 1


async def _scenario(
    settings: Settings, store: AlertStore, metrics: AlertMetrics, producer: KafkaProducer
) -> None:
    topic = settings.topic_flags
    await asyncio.to_thread(publish, producer, topic, [flag(n=1), b"not a flag", flag(n=2)])
    stop = asyncio.Event()
    consumer = asyncio.create_task(consume_flags(settings, store, stop=stop, metrics=metrics))
    try:
        await until(lambda: len(store.open_alerts()) == 2, consumer, "two open alerts")
        again_then_resolved = [flag(n=1), flag("resolved", n=1, at=T0 + timedelta(days=1))]
        await asyncio.to_thread(publish, producer, topic, again_then_resolved)

        def first_resolved() -> bool:
            alert = store.get(fid(1))
            return alert is not None and alert.status == "resolved"

        await until(first_resolved, consumer, "resolved alert")
    finally:
        stop.set()
        await asyncio.wait_for(consumer, 30)


def test_waits_for_an_absent_broker_and_stops_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{free_port()}", short_timeouts=True)
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}")

    def retried_twice() -> bool:
        return sum("not reachable" in r.getMessage() for r in caplog.records) >= 2

    async def run() -> None:
        stop = asyncio.Event()
        consumer = asyncio.create_task(consume_flags(settings, store, stop=stop))
        await until(retried_twice, consumer, "second attempt to reach the broker")
        stop.set()
        await asyncio.wait_for(consumer, 10)

    caplog.set_level(logging.WARNING, logger="services.alerts.consumer")
    try:
        asyncio.run(run())
    finally:
        store.close()
