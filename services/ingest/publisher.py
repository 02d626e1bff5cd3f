"""Publish events to ``casewatch.events`` with kafka-python, keyed by person key.

Settings (``PRODUCER_CONFIG``) and why:
- ``acks="all"`` + ``enable_idempotence=True``: a retried batch is written once, and per-child
  order holds within a partition (the key is the person key); at most 5 requests in flight,
  as idempotence requires.
- ``linger_ms=200`` and ``batch_size=1 MiB``: ingest is bulk.  With 50 ms the linger ended
  every batch at ~1,200 events (~33 KB compressed); with 200 ms a request carries ~4,400,
  which cut the producer's sender thread by a quarter and the broker's CPU by half
  (``flush()``, which every run and API call ends with, sends at once whatever lingers).
  Batches never fill 256 KiB at that rate; kafka-python's 16 KiB default costs ~35% more.
- ``metrics_enabled=False``: nothing reads the producer's metrics (casewatch's own are in
  Prometheus), and keeping them costs the sender thread ~10%.
- ``compression_type="lz4"``: the events' JSON compresses ~4.5x with lz4 (~8.6x with
  gzip), which matters on a real network and for the broker's disk, at ~1.6 ms of CPU per
  MiB instead of gzip's ~43 ms: with gzip, compressing cost the producer about a third of
  its time (bench/bench_ingest.py measures lz4, gzip and none side by side).  It needs the
  ``lz4`` package for kafka-python and ``cramjam`` for aiokafka's consumers (the journeys
  worker): the ``[lz4]`` extras of both in pyproject.toml.  ``compression_type="gzip"``
  still works with no extra package.
- ``crc32c`` is installed so kafka-python's record checksums run in C (~15k/s in pure Python).

Both producers here (``EventPublisher`` and the CLI's ``pipeline.ProducerProcess``) pass each
message's partition, computed by :class:`KeyPartitioner` exactly as the default partitioner
would, once per key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from kafka import KafkaProducer
from kafka.partitioner import murmur2

from schemas.events import Event
from services.ingest.envelope import event_json

log = logging.getLogger(__name__)

PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "max_in_flight_requests_per_connection": 5,
    "linger_ms": 200,
    "batch_size": 1024 * 1024,
    "max_request_size": 4 * 1024 * 1024,
    "compression_type": "lz4",
    "retries": 5,
    "metrics_enabled": False,
}


class KeyPartitioner:
    """Kafka's default partitioner, remembered per key: the partition of a keyed message is
    ``sorted(partitions)[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]``, exactly as
    kafka-python's (and Java's) ``DefaultPartitioner`` computes it.  kafka-python's murmur2 is
    pure Python (~15 µs a key) and a child's events share its key, so the producers here pass
    the partition explicitly, computed once per key."""

    def __init__(self, producer: KafkaProducer, topic: str) -> None:
        self._partitions = sorted(producer.partitions_for(topic))
        self._known: dict[bytes, int] = {}

    def __call__(self, key: bytes) -> int:
        found = self._known.get(key)
        if found is None:
            if len(self._known) > 1_000_000:
                self._known.clear()
            index = (murmur2(key) & 0x7FFFFFFF) % len(self._partitions)
            found = self._known[key] = self._partitions[index]
        return found


@dataclass(frozen=True)
class PublishReport:
    published: int
    failed: int


class EventPublisher:
    """A kafka-python producer for events. Use as a context manager; ``publish`` flushes."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        client_id: str = "casewatch-ingest",
        **overrides: Any,
    ) -> None:
        self.topic = topic
        config = {**PRODUCER_CONFIG, **overrides}
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, **config)
        self._futures: list[Any] = []
        self._partition: KeyPartitioner | None = None

    def send(self, event: Event, value: bytes | None = None) -> None:
        """Hand one event to the producer (batched; acknowledged by :meth:`finish`).
        ``value`` is the event's message if already encoded (``envelope.event_json``'s bytes)."""
        if self._partition is None:
            self._partition = KeyPartitioner(self._producer, self.topic)
        key = event.person_key.encode()
        value = event_json(event) if value is None else value
        partition = self._partition(key)
        future = self._producer.send(self.topic, key=key, value=value, partition=partition)
        self._futures.append(future)

    def publish(
        self, events: Sequence[Event], progress: Callable[[int, int], None] | None = None
    ) -> PublishReport:
        """Send ``events`` and wait for them.  If sending raises (a message too large, no
        broker), what was handed over is waited for and the error raised: nothing of this
        call is left to be counted by the next (the API answered ``"published": 2`` with one
        id after a failed batch)."""
        try:
            for number, e in enumerate(events, start=1):
                self.send(e)
                if progress is not None and number % 2000 == 0:
                    progress(number, len(events))
        except BaseException:
            self.finish()
            raise
        return self.finish()

    def finish(self) -> PublishReport:
        """Wait until the broker acknowledged (or refused) every event sent so far."""
        self._producer.flush()
        futures, self._futures = self._futures, []
        failed = 0
        for future in futures:
            if not future.succeeded():
                try:
                    future.get(timeout=30)
                except Exception as exc:
                    failed += 1
                    log.warning("event not published: %s", type(exc).__name__)
        return PublishReport(published=len(futures) - failed, failed=failed)

    def close(self) -> None:
        self._producer.close(timeout=10)

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
