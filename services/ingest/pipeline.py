"""kafka-python in a child process, fed serialised events through a pipe.

Reading and checking an export and producing to Kafka are both CPU-bound Python; in one
process they take turns on one core (the GIL).  With the producer in a child process, the
export is read and checked on one core while the previous chunks are produced on the other,
so a large export costs about the longer of the two instead of their sum.  The child uses the
same ``PRODUCER_CONFIG`` (acks=all, idempotence) and reports how many events the broker
acknowledged.

What the run remembers (the state file: which event ids each record was published with) is
written by the child too, as it sends (``keep``): in the state's one transaction, committed
only when the parent says every event was acknowledged.  Written by the parent, it was ~8%
of a first run's time on the critical path (~0.55 s of SQLite B-tree inserts for 100,000
rows, after the export was read); in the child it fills the gaps between chunks (sending
comes first).

The parent ships chunks of ``CHUNK`` events as lists (keys, messages, and with ``keep`` the
(record, event id) pairs) already encoded (one pickle per chunk, ~0.1 µs an event) through
a one-way pipe widened to 1 MiB where the OS allows (Linux ``F_SETPIPE_SZ``), written by a
feeder thread from an unbounded queue: the reader never waits for the child (it did, ~0.4 s
of a 100,000-row run, on the files where it makes events faster than the child sends them).
The child sends each event to the partition Kafka's default partitioner gives its key
(``KeyPartitioner``, computed once per key), and answers through a second pipe.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from schemas.events import Event
from services.ingest.envelope import event_json
from services.ingest.publisher import PRODUCER_CONFIG, KeyPartitioner, PublishReport
from services.ingest.state import IngestState, Rest

log = logging.getLogger(__name__)

Keep = tuple[Path, str]  # (state file, source): what a producer process keeps
CHUNK = 1000  # events per message to the child (~0.5 MB of JSON)
_STOP = object()  # ends the feeder thread
STATE_SLICE = 500  # (record, event id) pairs the child writes to the state at a time
PIPE_BYTES = (1 << 20, 1 << 19, 1 << 18)  # pipe sizes to ask for, the largest first


def collect_rarely() -> None:
    """The producer process's collections: the heap it inherits is never scanned (frozen),
    and its own garbage (futures, batches) dies by reference counting, so collections are
    made rare (~11% of its CPU at the default thresholds)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    gc.enable()


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
    chunks: Connection,
    answers: Connection,
    parents: tuple[Connection, Connection],
    bootstrap: str,
    topic: str,
    overrides: dict[str, Any],
    keep: Keep | None,
) -> None:
    """The child: send every (key, value) it is given (remembering each (record, event id)
    in the state's open transaction, with ``keep``), then report (acknowledged, failed);
    then keep or discard the state as the parent says.  If the parent dies, the pipe ends:
    the child stops and keeps nothing."""
    for end in parents:  # the parent's ends, inherited: else the pipe never ends for us
        end.close()
    try:
        _serve(chunks, answers, bootstrap, topic, overrides, keep)
    except EOFError:
        log.warning("the reading process is gone: nothing was kept")


def _serve(
    chunks: Connection,
    answers: Connection,
    bootstrap: str,
    topic: str,
    overrides: dict[str, Any],
    keep: Keep | None,
) -> None:
    from kafka import KafkaProducer

    collect_rarely()  # forked from a run that reads without collections (runner)

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
    state = IngestState(keep[0]) if keep is not None else None
    pending: list[tuple[str, str]] = []  # (record, event id) pairs not yet in the state
    try:
        partition = KeyPartitioner(producer, topic)
        send = producer.send
        while True:
            if pending and not chunks.poll():
                # sending comes first: the state is written while no chunk waits, so the
                # reader never waits for the pipe because of it
                assert state is not None and keep is not None
                state.add_published(keep[1], pending[-STATE_SLICE:])
                del pending[-STATE_SLICE:]
                continue
            chunk = chunks.recv()
            if chunk[0] != "chunk":
                break
            _, keys, values, pairs = chunk
            for key, value in zip(keys, values, strict=True):
                futures.append(send(topic, key=key, value=value, partition=partition(key)))
            pending += pairs
        if state is not None and keep is not None:
            state.add_published(keep[1], pending)
        producer.flush()
        failed = 0
        for future in futures:
            if not future.succeeded():
                try:
                    future.get(timeout=30)
                except Exception:
                    failed += 1
        rest: Rest | None = chunk[1]
        if state is not None and rest is not None and not failed:
            state.stage_rest(rest)
        answers.send(("done", len(futures) - failed, failed))
        if state is not None and chunks.recv() == "confirm":
            state.confirm()
            answers.send("kept")
    finally:
        if state is not None:
            state.close()  # uncommitted: rolled back
        producer.close(timeout=10)


class ProducerProcess:
    """``send`` events as they are read; ``finish`` waits for every acknowledgement.

    With ``keep=(state file, source)`` the child also remembers, in the state file's open
    transaction, the (record, event id) of every event it sends, so the reading process
    does not write them after the export is read: ``finish(rest)`` hands it what is left to
    write (:meth:`IngestState.rest`), and :meth:`confirm` commits it all once every event
    was acknowledged (:meth:`discard`, or the end of either process, rolls it back).  The
    reading process must not read the state file between its first ``send`` and then.
    """

    def __init__(
        self, bootstrap: str, topic: str, *, keep: Keep | None = None, **overrides: Any
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        chunks, self._chunks = context.Pipe(duplex=False)  # (reading end, writing end)
        self._answers, answers = context.Pipe(duplex=False)
        _widen(self._chunks)
        self._process = context.Process(
            target=_produce,
            args=(
                chunks,
                answers,
                (self._chunks, self._answers),
                bootstrap,
                topic,
                overrides,
                keep,
            ),
            daemon=True,
        )
        self._process.start()
        chunks.close()
        answers.close()
        self.keeps = keep is not None
        self._keys: list[bytes] = []
        self._values: list[bytes] = []
        self._pairs: list[tuple[str, str]] = []
        self._sent = 0
        self._broken = False
        # a thread writes to the pipe, so that the reader never waits for the child: the
        # reader is faster than the child on some files (two events per request row) and
        # slower on others, and a 1 MiB pipe holds two chunks (~0.4 s of a 100,000-row run
        # was spent waiting in send); the queue takes the bursts
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._feeder = threading.Thread(target=self._feed, name="ingest-feeder", daemon=True)
        self._feeder.start()
        self._done = False  # the child acknowledged every event and waits for the word

    def send(self, event: Event, value: bytes | None = None) -> None:
        """Queue ``event`` (``value``: its message, if already encoded)."""
        self._keys.append(event.person_key.encode())
        self._values.append(event_json(event) if value is None else value)
        if self.keeps:
            self._pairs.append((event.source_record_key, event.event_id))
        self._sent += 1
        if len(self._keys) >= CHUNK:
            self._ship()

    def _feed(self) -> None:
        while (message := self._queue.get()) is not _STOP:
            if not self._broken:
                try:
                    self._chunks.send(message)
                except (BrokenPipeError, OSError):
                    self._broken = True  # the child is gone: finish says so

    def _ship(self) -> None:
        if self._keys and not self._broken:
            self._queue.put(("chunk", self._keys, self._values, self._pairs))
        self._keys, self._values, self._pairs = [], [], []

    def finish(self, rest: Rest | None = None) -> PublishReport:
        """Wait for every acknowledgement; with ``keep``, ``rest`` is written beside the
        events' ids (only if every event was acknowledged)."""
        self._ship()
        try:
            self._queue.put(("finish", rest))
            answer = self._answers.recv()
        except (BrokenPipeError, EOFError, OSError):
            answer = ("error", "the producer process stopped")
        if answer[0] != "done":
            self._process.join(timeout=30)
            log.error("the producer could not publish: %s", answer[1])
            return PublishReport(0, self._sent)
        self._done = answer[2] == 0 and self._sent == answer[1]
        if not self.keeps:
            self._process.join(timeout=30)
        return PublishReport(answer[1], answer[2] + (self._sent - answer[1] - answer[2]))

    def confirm(self) -> bool:
        """Commit what the child wrote to the state (after a ``finish`` with no failure);
        False if it could not (the child stopped first: nothing was kept)."""
        if not (self.keeps and self._done):
            raise RuntimeError("nothing to confirm: not every event was acknowledged")
        try:
            self._queue.put("confirm")
            kept = self._answers.recv()
        except (BrokenPipeError, EOFError, OSError):
            kept = None
        self._process.join(timeout=30)
        return bool(kept == "kept")

    def discard(self) -> None:
        if self.keeps:
            self._queue.put("discard")
        self._process.join(timeout=30)

    def publish(
        self, events: Sequence[Event], progress: Callable[[int, int], None] | None = None
    ) -> PublishReport:
        for number, event in enumerate(events, start=1):
            self.send(event)
            if progress is not None and number % CHUNK == 0:
                progress(number, len(events))
        return self.finish()

    def close(self) -> None:
        # after finish/confirm/discard the child has ended; alive, it is stopped first (an
        # error or Ctrl-C in the reader): a feeder blocked on a full pipe then ends too
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=10)
        self._queue.put(_STOP)
        self._feeder.join(timeout=10)
        self._chunks.close()
        self._answers.close()

    def __enter__(self) -> ProducerProcess:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
