"""kafka-python in a child process, fed serialised events through a pipe.

Reading and checking an export and producing to Kafka are both CPU-bound Python; in one
process they take turns on one core (the GIL).  With the producer in a child process, the
export is read and checked on one core while the previous chunks are produced on the other,
so a large export costs about the longer of the two instead of their sum.  The child uses the
same ``PRODUCER_CONFIG`` (acks=all, idempotence) and reports how many events the broker
acknowledged; the parent remembers nothing until then.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from schemas.events import Event
from services.ingest.publisher import PRODUCER_CONFIG, PublishReport

log = logging.getLogger(__name__)

CHUNK = 2000  # events per message to the child


def _produce(conn: Connection, bootstrap: str, topic: str, overrides: dict[str, Any]) -> None:
    """The child: send every (key, value) it is given, then report (acknowledged, failed)."""
    from kafka import KafkaProducer

    futures: list[Any] = []
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="casewatch-ingest",
            **{**PRODUCER_CONFIG, **overrides},
        )
    except Exception as error:
        conn.send(("error", type(error).__name__))
        return
    try:
        while (chunk := conn.recv()) is not None:
            futures.extend(producer.send(topic, key=k, value=v) for k, v in chunk)
        producer.flush()
        failed = 0
        for future in futures:
            if not future.succeeded():
                try:
                    future.get(timeout=30)
                except Exception:
                    failed += 1
        conn.send(("done", len(futures) - failed, failed))
    finally:
        producer.close(timeout=10)


class ProducerProcess:
    """``send`` events as they are read; ``finish`` waits for every acknowledgement."""

    def __init__(self, bootstrap: str, topic: str, **overrides: Any) -> None:
        methods = multiprocessing.get_all_start_methods()
        context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_produce, args=(child, bootstrap, topic, overrides), daemon=True
        )
        self._process.start()
        child.close()
        self._chunk: list[tuple[bytes, bytes]] = []
        self._sent = 0
        self._broken = False

    def send(self, event: Event) -> None:
        self._chunk.append((event.person_key.encode(), event.model_dump_json().encode()))
        self._sent += 1
        if len(self._chunk) >= CHUNK:
            self._ship()

    def _ship(self) -> None:
        if self._chunk and not self._broken:
            try:
                self._conn.send(self._chunk)
            except (BrokenPipeError, OSError):
                self._broken = True
        self._chunk = []

    def finish(self) -> PublishReport:
        self._ship()
        try:
            self._conn.send(None)
            answer = self._conn.recv()
        except (BrokenPipeError, EOFError, OSError):
            answer = ("error", "the producer process stopped")
        self._process.join(timeout=30)
        if answer[0] != "done":
            log.error("the producer could not publish: %s", answer[1])
            return PublishReport(0, self._sent)
        return PublishReport(answer[1], answer[2] + (self._sent - answer[1] - answer[2]))

    def publish(
        self, events: Sequence[Event], progress: Callable[[int, int], None] | None = None
    ) -> PublishReport:
        for number, event in enumerate(events, start=1):
            self.send(event)
            if progress is not None and number % CHUNK == 0:
                progress(number, len(events))
        return self.finish()

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=10)
        self._conn.close()

    def __enter__(self) -> ProducerProcess:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
