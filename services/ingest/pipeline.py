"""kafka-python in a child process, fed serialised events through a pipe.

Reading and checking an export and producing to Kafka are both CPU-bound Python; in one
process they take turns on one core (the GIL).  With the producer in a child process, the
export is read and checked on one core while the previous chunks are produced on the other,
so a large export costs about the longer of the two instead of their sum.  The child uses the
same ``PRODUCER_CONFIG`` (acks=all, idempotence) and reports how many events the broker
acknowledged; the parent remembers nothing until then.

The parent ships chunks of ``CHUNK`` events as two lists (keys, messages) of bytes already
encoded (one pickle per chunk, ~0.1 µs an event) through a one-way pipe widened to 1 MiB
where the OS allows (Linux ``F_SETPIPE_SZ``): a chunk then goes into the pipe at once and the
reader reads on, instead of waiting in ``send`` for the child to finish the previous chunk
(which cost the reader ~10% of its time).  The child sends each event to the partition
Kafka's default partitioner gives its key (``KeyPartitioner``, computed once per key), and
answers through a second pipe.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from schemas.events import Event
from services.ingest.envelope import event_json
from services.ingest.publisher import PRODUCER_CONFIG, KeyPartitioner, PublishReport

log = logging.getLogger(__name__)

CHUNK = 1000  # events per message to the child (~0.5 MB of JSON)
PIPE_BYTES = (1 << 20, 1 << 19, 1 << 18)  # pipe sizes to ask for, the largest first


def _widen(conn: Connection) -> None:
    """Ask for a pipe that holds a chunk or two (Linux; elsewhere the pipe stays as it is)."""
    try:
        import fcntl

        for size in PIPE_BYTES:
            try:
                fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, size)
                return
            except OSError:
                continue  # above /proc/sys/fs/pipe-max-size for this user
    except (ImportError, AttributeError):
        return


def _produce(
    chunks: Connection, answers: Connection, bootstrap: str, topic: str, overrides: dict[str, Any]
) -> None:
    """The child: send every (key, value) it is given, then report (acknowledged, failed)."""
    from kafka import KafkaProducer

    # forked from a run that reads without collections (runner._no_collections): the heap
    # it inherits is never scanned (freeze), and its own garbage (futures, batches) dies by
    # reference counting, so collections are made rare: ~11% of its CPU at the defaults
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    gc.enable()

    futures: list[Any] = []
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="casewatch-ingest",
            **{**PRODUCER_CONFIG, **overrides},
        )
    except Exception as error:
        answers.send(("error", type(error).__name__))
        return
    try:
        partition = KeyPartitioner(producer, topic)
        send = producer.send
        while (chunk := chunks.recv()) is not None:
            keys, values = chunk
            for key, value in zip(keys, values, strict=True):
                futures.append(send(topic, key=key, value=value, partition=partition(key)))
        producer.flush()
        failed = 0
        for future in futures:
            if not future.succeeded():
                try:
                    future.get(timeout=30)
                except Exception:
                    failed += 1
        answers.send(("done", len(futures) - failed, failed))
    finally:
        producer.close(timeout=10)


class ProducerProcess:
    """``send`` events as they are read; ``finish`` waits for every acknowledgement."""

    def __init__(self, bootstrap: str, topic: str, **overrides: Any) -> None:
        methods = multiprocessing.get_all_start_methods()
        context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        chunks, self._chunks = context.Pipe(duplex=False)  # (reading end, writing end)
        self._answers, answers = context.Pipe(duplex=False)
        _widen(self._chunks)
        self._process = context.Process(
            target=_produce, args=(chunks, answers, bootstrap, topic, overrides), daemon=True
        )
        self._process.start()
        chunks.close()
        answers.close()
        self._keys: list[bytes] = []
        self._values: list[bytes] = []
        self._sent = 0
        self._broken = False

    def send(self, event: Event, value: bytes | None = None) -> None:
        """Queue ``event`` (``value``: its message, if already encoded)."""
        self._keys.append(event.person_key.encode())
        self._values.append(event_json(event) if value is None else value)
        self._sent += 1
        if len(self._keys) >= CHUNK:
            self._ship()

    def _ship(self) -> None:
        if self._keys and not self._broken:
            try:
                self._chunks.send((self._keys, self._values))
            except (BrokenPipeError, OSError):
                self._broken = True
        self._keys, self._values = [], []

    def finish(self) -> PublishReport:
        self._ship()
        try:
            self._chunks.send(None)
            answer = self._answers.recv()
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
        self._chunks.close()
        self._answers.close()

    def __enter__(self) -> ProducerProcess:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
