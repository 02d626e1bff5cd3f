"""The consumer-lag exporter's collector, without a broker (tests/e2e reads a real one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from services.runtime.lag import ConsumerLagCollector, PartitionLag, consumer_groups
from services.runtime.settings import Settings


def test_lag_per_group_topic_and_partition_and_up() -> None:
    registry = CollectorRegistry()
    lags = [
        PartitionLag("casewatch-journeys", "casewatch.events", 0, 120),
        PartitionLag("casewatch-journeys", "casewatch.events", 1, 0),
    ]
    ConsumerLagCollector(lambda: lags, cache_seconds=0, registry=registry)
    assert (
        registry.get_sample_value(
            "casewatch_consumer_lag",
            {"group": "casewatch-journeys", "topic": "casewatch.events", "partition": "0"},
        )
        == 120
    )
    assert registry.get_sample_value("casewatch_consumer_lag_up") == 1


def test_a_broker_that_cannot_be_read_is_reported_not_raised() -> None:
    registry = CollectorRegistry()

    def unreachable() -> list[PartitionLag]:
        raise OSError("connection refused")

    ConsumerLagCollector(unreachable, cache_seconds=0, registry=registry)
    assert registry.get_sample_value("casewatch_consumer_lag_up") == 0
    assert "casewatch_consumer_lag{" not in generate_latest(registry).decode()


def test_reads_are_cached_so_scrapes_do_not_hammer_the_broker() -> None:
    calls: list[int] = []

    def read() -> list[PartitionLag]:
        calls.append(1)
        return []

    registry = CollectorRegistry()
    ConsumerLagCollector(read, cache_seconds=60, registry=registry)
    for _ in range(3):
        generate_latest(registry)
    assert len(calls) == 1


def test_every_casewatch_consumer_group_is_watched() -> None:
    groups = consumer_groups(Settings())
    assert groups["casewatch-journeys"] == ["casewatch.events", "casewatch.clock"]
    assert set(groups) == {"casewatch-journeys", "casewatch-alerts", "casewatch-alerts-journeys"}
