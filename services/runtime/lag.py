"""Consumer lag of casewatch's consumer groups, for Prometheus (``casewatch lag-exporter``).

Lag is read from the broker, not from inside the consumers: the committed offset of each
group on each partition against the partition's end offset. One exporter sees every group,
whichever worker owns which partition, and keeps working while a worker is down or
rebalancing — which is exactly when lag matters. Labels: group, topic, partition.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.settings import Settings

log = logging.getLogger(__name__)

LAG = "casewatch_consumer_lag"
UP = "casewatch_consumer_lag_up"


class LagSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWATCH_LAG_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 9308
    cache_seconds: float = Field(default=5.0, ge=0, description="at most one broker query per")


def consumer_groups(settings: Settings) -> dict[str, list[str]]:
    """casewatch's consumer groups and the topics each consumes."""
    return {
        "casewatch-journeys": [settings.topic_events, settings.topic_clock],  # faust app id
        "casewatch-alerts": [settings.topic_flags],
        "casewatch-alerts-journeys": [settings.topic_journeys],
    }


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    lag: int


def read_lag(bootstrap: str, groups: Mapping[str, Sequence[str]]) -> list[PartitionLag]:
    """Committed offset vs end offset for every partition of every group's topics. A group
    with no commit on a partition yet counts from the partition's beginning."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="casewatch-lag")
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, client_id="casewatch-lag", enable_auto_commit=False
    )
    try:
        found = []
        for group, topics in groups.items():
            tps = [
                TopicPartition(topic, p)
                for topic in topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            # one group per request: brokers before OffsetFetch v8 take no more
            committed = admin.list_group_offsets({group: tps}).get(group, {}) if tps else {}
            end = consumer.end_offsets(tps)
            start = consumer.beginning_offsets(tps)
            for tp in tps:
                meta = committed.get(tp)
                position = meta.offset if meta is not None and meta.offset >= 0 else start[tp]
                found.append(
                    PartitionLag(group, tp.topic, tp.partition, max(0, end[tp] - position))
                )
        return found
    finally:
        consumer.close()
        admin.close()


class ConsumerLagCollector(Collector):
    """Exports ``casewatch_consumer_lag{group, topic, partition}`` and
    ``casewatch_consumer_lag_up`` (0 when the broker could not be read).

    Usage::

        registry = CollectorRegistry()
        ConsumerLagCollector(lambda: read_lag(bootstrap, groups), registry=registry)
    """

    def __init__(
        self,
        read: Callable[[], list[PartitionLag]],
        *,
        cache_seconds: float = 5.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._read = read
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, list[PartitionLag] | None] | None = None
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def _lags(self) -> list[PartitionLag] | None:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self._cache_seconds:
                try:
                    self._cached = (now, self._read())
                except Exception as exc:  # the exporter must answer while the broker is down
                    log.warning("consumer lag not read: %s", type(exc).__name__)
                    self._cached = (now, None)
            return self._cached[1]

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        lags = self._lags()
        yield GaugeMetricFamily(UP, "1 if the broker's offsets were read", 0 if lags is None else 1)
        family = GaugeMetricFamily(
            LAG,
            "Messages not yet consumed: end offset minus the group's committed offset",
            labels=["group", "topic", "partition"],
        )
        for item in lags or ():
            family.add_metric([item.group, item.topic, str(item.partition)], float(item.lag))
        yield family


def run_lag_exporter(settings: Settings) -> int:
    """Serve ``/metrics`` with the consumer lag until SIGTERM or Ctrl-C."""
    own = LagSettings()
    registry = CollectorRegistry()
    groups = consumer_groups(settings)
    ConsumerLagCollector(
        lambda: read_lag(settings.kafka_bootstrap, groups),
        cache_seconds=own.cache_seconds,
        registry=registry,
    )
    start_http_server(own.port, addr=own.host, registry=registry)
    log.info("consumer lag exporter on %s:%s for %s", own.host, own.port, ", ".join(groups))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    return 0
