"""Where a board pack's events come from: an export (read by the same code as ``replay``) or
the running system's event log (``casewatch.events``, read from the beginning to its end
offsets, decoded by the worker's own codec). Either way the result is events and, per
source, what the reading found wrong (records rejected, warnings)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from schemas.events import Event

SSD_SOURCE = "liquidlogic"  # read_ssd_export's default source system


@dataclass
class BoardInput:
    events: list[Event]
    quality: dict[str, tuple[int, int]] = field(default_factory=dict)  # source → errors, warnings
    rows_read: int = 0
    described: str = ""


def from_export(path: Path, secret: str) -> BoardInput:
    from services.ingest.export import read_export

    reading = read_export(path, secret=secret, extracted_at=datetime.now(UTC))
    counts: Counter[tuple[str, str]] = Counter()
    others = {e.source_system for e in reading.events} - {"sen2", SSD_SOURCE}
    health = others.pop() if len(others) == 1 else "health extract"
    for issue in reading.issues:
        counts[(_source_of(issue.file, health), issue.severity)] += 1
    sources = {s for s, _ in counts} | {e.source_system for e in reading.events}
    quality = {s: (counts[(s, "error")], counts[(s, "warning")]) for s in sorted(sources)}
    return BoardInput(reading.events, quality, reading.rows_read, f"export {path.name}")


def _source_of(file: str | None, health: str) -> str:
    """The source system a file of an export belongs to, as its events name it: SEN2
    returns, SSD tables (the SSD reader's source), and the health extract (its mapping's)."""
    name = (file or "").lower()
    if name.endswith(".xml"):
        return "sen2"
    return SSD_SOURCE if name.startswith("ssd_") else health


def from_topic(bootstrap: str, topic: str, timeout_s: float = 60.0) -> BoardInput:
    """Every event on ``topic`` up to its end offsets now. Messages the worker would
    dead-letter are counted as errors of an ``event log`` source, never folded."""
    return asyncio.run(_read_topic(bootstrap, topic, timeout_s))


async def _read_topic(bootstrap: str, topic: str, timeout_s: float) -> BoardInput:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from services.journeys.codec import decode_event

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the cluster's metadata
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise LookupError(f"topic {topic} not found on {bootstrap}")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        # Read until every partition is past the end offset it had when we began *and* a
        # poll brings nothing more: the embedded Tansu broker (0.6) answers ListOffsets with
        # a count of batches, not records (an lz4 batch of 169 records: end offset 1), so
        # the end offset alone would stop after a partition's first record.
        seen = {tp: -1 for tp in assigned}
        events: list[Event] = []
        bad = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if loop.time() > deadline:
                raise TimeoutError(f"{topic} not read to its end within {timeout_s:.0f} s")
            batch = await consumer.getmany(*assigned, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    decoded = decode_event(record.key, record.value)
                    if isinstance(decoded, Event):
                        events.append(decoded)
                    else:
                        bad += 1
                    seen[tp] = record.offset
            if not any(batch.values()) and all(seen[tp] + 1 >= ends[tp] for tp in assigned):
                break
    finally:
        await consumer.stop()
    quality = {e.source_system: (0, 0) for e in events}
    if bad:
        quality["event log"] = (bad, 0)
    return BoardInput(events, quality, len(events) + bad, f"topic {topic}")
