"""The faust table of journeys, read and written per partition from a batch.

faust picks a table key's partition — for the changelog and for the RocksDB database that
holds it — from the event being processed (``faust.streams.current_event``). A batch from
``take_events`` mixes partitions and has no current event, so every read and write here runs
with an event of the key's own partition set as the current one. Without it RocksDB refuses
the write, and a read searches every partition's database.

Writes go changelog first: ``table[key] = value`` writes RocksDB at once and the changelog
later, so a worker killed in between restarts with local state *ahead* of the changelog; the
redelivered events then change nothing locally, nothing is written, and the changelog — what
any other worker recovers from — never learns them. ``write_all`` sends a batch's records to
the changelog, waits for the broker's acknowledgement, and only then writes the local store
and records the persisted changelog offset (from which faust resumes recovery).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event
from faust.types import TP

Write = tuple[bytes, bytes, int]  # key, value, partition


@contextmanager
def as_current(event: Any) -> Iterator[None]:
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class PartitionedTable:
    """Bytes in, bytes out, with the event that gives each partition its context."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._events: dict[int, Any] = {}

    def bind(self, events: Sequence[Any]) -> None:
        """Remember one event per partition of this batch (or the tick being handled)."""
        for event in events:
            self._events[event.message.partition] = event

    def release(self) -> None:
        self._events.clear()  # never hold a batch's events past the batch

    def read(self, key: bytes, partition: int) -> bytes | None:
        event = self._events.get(partition)
        if event is None:
            value = self._table.get(key)
        else:
            with as_current(event):
                value = self._table.get(key)
        return value if value is None else bytes(value)

    async def write_all(self, writes: Sequence[Write]) -> None:
        """Changelog first, acknowledged; then the local store and its persisted offsets."""
        if not writes:
            return
        changelog = self._table.changelog_topic
        topic = changelog.get_topic_name()
        # The transport's producer directly: faust's Topic.send wraps each record in a
        # FutureMessage and a buffer round trip, a fifth of a write's cost (bench/RESULTS.md).
        send = self._table.app.producer.send
        sent = [await send(topic, k, v, p, None, None) for k, v, p in writes]
        acked = await asyncio.gather(*sent)
        store = self._table.data
        for key, value, partition in writes:
            with as_current(self._events[partition]):
                store[key] = value
        persisted: dict[int, int] = {}
        for metadata in acked:
            persisted[metadata.partition] = max(
                metadata.offset, persisted.get(metadata.partition, -1)
            )
        for partition, offset in persisted.items():
            store.set_persisted_offset(TP(topic, partition), offset)

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        for key, value in self._table.items():
            yield bytes(key), bytes(value)
