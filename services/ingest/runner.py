"""``casewatch ingest {ssd,sen2,health,export} PATH``: read, diff, report, publish.

Exit code: 0 nothing rejected; 1 something rejected (a row, a SEN2 module, a file) — the
rest was published unless ``--all-or-nothing``; 2 nothing was read (no such path, nothing
of the kind in it, a file that cannot be read, no record read: see ``inputs``) or publishing
failed (the state is then not updated, so the next run publishes the same facts again);
130 interrupted (``cli``).
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TextIO

from schemas.events import Event
from services.ingest.authority import entitled_only, refuse_unentitled
from services.ingest.config import IngestSettings
from services.ingest.dates import DEFAULT_RANGES, DateRanges
from services.ingest.export import read_kind
from services.ingest.inputs import NothingToRead, outcome, resolve
from services.ingest.issues import ExportReading, Issue
from services.ingest.linking import IdentityLinker
from services.ingest.pipeline import Keep, ProducerProcess
from services.ingest.progress import ProgressBar
from services.ingest.publisher import PublishReport
from services.ingest.report import RunSummary, render
from services.ingest.state import Diff, IngestState
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

KINDS = ("ssd", "sen2", "health", "export")
SSD_SOURCE = "liquidlogic"


@dataclass(frozen=True)
class IngestOptions:
    kind: str
    path: Path
    dry_run: bool = False
    report: str = "text"
    all_or_nothing: bool = False
    republish: bool = False
    mapping: Path | None = None
    metrics_textfile: Path | None = None  # node-exporter textfile: the run's data quality


def read(
    options: IngestOptions,
    *,
    secret: str,
    extracted_at: datetime,
    linker: IdentityLinker,
    tolerance: int,
    ranges: DateRanges = DEFAULT_RANGES,
    progress: Callable[[int, int], None] | None = None,
    sink: Callable[[Event, bytes], None] | None = None,
) -> ExportReading:
    """The reading of ``options.path`` by the adapter ``options.kind``."""
    return read_kind(
        options.kind,
        options.path,
        secret=secret,
        extracted_at=extracted_at,
        linker=linker,
        tolerance=tolerance,
        mapping=options.mapping,
        date_ranges=ranges,
        progress=progress,
        sink=sink,
    )


class Producer(Protocol):
    """What the runner publishes through (``ProducerProcess``, ``EventPublisher``, a fake)."""

    def send(self, event: Event, value: bytes | None = None) -> None:
        """Publish ``event``; ``value`` is its message if already encoded
        (``envelope.event_json``'s bytes)."""

    def finish(self) -> PublishReport: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def run_ingest(
    settings: Settings,
    options: IngestOptions,
    *,
    ingest: IngestSettings | None = None,
    publisher: Callable[[Keep | None], Producer] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Read, diff, publish, report.  An SSD export is published *while* it is read (each new
    or changed event as soon as it is checked), unless ``--dry-run`` or ``--all-or-nothing``
    must see the whole export first; other kinds are published after reading.

    ``publisher`` makes the producer (default: a :class:`ProducerProcess`), given the state
    file and source it may keep (a producer process remembers the ids it sends itself,
    beside the sending), or ``None`` when the runner writes the state."""
    ingest = ingest or IngestSettings()
    out, err = out or sys.stdout, err or sys.stderr

    def producer(keep: Keep | None) -> Producer:
        if publisher is not None:
            return publisher(keep)
        return ProducerProcess(settings.kafka_bootstrap, settings.topic_events, keep=keep)

    try:
        target = resolve(options.path, options.kind)
    except NothingToRead as error:
        err.write(f"casewatch ingest {options.kind}: {error}\n")
        return 2
    options = replace(options, kind=target.kind, path=target.path)
    with _no_collections():  # its objects are gone when _run returns
        return _run(settings, options, ingest, producer, out, err)


def _run(
    settings: Settings,
    options: IngestOptions,
    ingest: IngestSettings,
    producer: Callable[[Keep | None], Producer],
    out: TextIO,
    err: TextIO,
) -> int:
    secret = settings.person_key_secret.get_secret_value()
    with IngestState(ingest.state_file(settings)) as state, ExitStack() as stack:
        linker = IdentityLinker(secret, links=state.links())
        streaming: Producer | None = None
        sink: Callable[[Event, bytes], None] | None = None
        known: dict[str, dict[str, set[str]]] = {}
        if options.kind == "ssd" and not (options.dry_run or options.all_or_nothing):
            known[SSD_SOURCE] = state.published(SSD_SOURCE)  # before the producer writes
            streaming = stack.enter_context(producer((state.path, SSD_SOURCE)))
            sink = entitled_only(_sink(streaming, known[SSD_SOURCE], options.republish))
        bar = ProgressBar("reading", err)
        reading = read(
            options,
            secret=secret,
            extracted_at=datetime.now(UTC),
            linker=linker,
            tolerance=ingest.future_tolerance_days,
            ranges=ingest.date_ranges(),
            progress=bar,
            sink=sink,
        )
        bar.close()
        verdict = outcome(reading, options.path)
        if verdict.code == 2:  # nothing read: nothing to publish, and no state to keep
            _report(out, err, options, reading.issues, reading, 0, 0)
            err.write(f"casewatch ingest {options.kind}: {verdict.line}\n")
            return 2
        refuse_unentitled(reading)  # R-DATA-AUTHORITY: a source stating what it does not own
        diff = state.diff(reading, known)
        issues = [*reading.issues, *diff.gone]
        rejected = any(i.severity == "error" for i in issues)
        blocked = options.all_or_nothing and rejected
        if blocked:
            message = "--all-or-nothing: the export has errors, so nothing was published"
            issues.append(Issue(options.path.name, None, None, "R-INGEST-ALL", message))
        outgoing = reading.events if options.republish else diff.fresh
        published = 0
        if not options.dry_run and not blocked:
            if outgoing or streaming is not None:
                sending = streaming or stack.enter_context(producer(None))
                result = _publish(sending, streaming is None, outgoing, state, diff, linker, known)
                if result.failed:
                    log.error("%s of %s events were not published", result.failed, len(outgoing))
                    _report(out, err, options, issues, reading, 0, diff.unchanged)
                    _metrics(options, issues, reading, 0, 2)
                    return 2
                published = result.published
            else:
                state.commit(diff, linker.added)
            log.info(
                "ingest %s: %s events published to %s, %s unchanged",
                options.kind,
                published,
                settings.topic_events,
                diff.unchanged,
            )
        shown = len(outgoing) if options.dry_run and not blocked else published
        _report(out, err, options, issues, reading, shown, diff.unchanged)
        _metrics(options, issues, reading, published, 1 if rejected else 0)
    return 1 if rejected else 0


def _metrics(
    options: IngestOptions, issues: list[Issue], reading: ExportReading, published: int, code: int
) -> None:
    """``--metrics-textfile``: the run's issues by rule and severity (services/ingest/metrics)."""
    if options.metrics_textfile is None:
        return
    from dataclasses import replace

    from services.ingest.metrics import run_registry, write_textfile

    counted = replace(reading, issues=issues)
    registry = run_registry(counted, options.kind, published=published, exit_code=code)
    write_textfile(options.metrics_textfile, registry)


def _publish(
    sending: Producer,
    send_all: bool,
    outgoing: list[Event],
    state: IngestState,
    diff: Diff,
    linker: IdentityLinker,
    known: dict[str, dict[str, set[str]]],
) -> PublishReport:
    """Send ``outgoing`` unless it was sent while reading (not ``send_all``), wait for every
    acknowledgement, and keep the run's state only if every event was acknowledged."""
    if send_all:
        for event in outgoing:
            sending.send(event)
    if isinstance(sending, ProducerProcess) and sending.keeps:
        # the producer process wrote each event's id as it sent it: the rest goes with them
        result = sending.finish(state.rest(diff, linker.added, known))
        if result.failed:
            sending.discard()
        elif not sending.confirm():
            log.error("the state was not kept: the next run publishes these facts again")
            return PublishReport(0, result.published)
        return result
    state.stage(diff, linker.added)  # written while the last events are sent
    result = sending.finish()
    state.confirm() if not result.failed else state.discard()
    return result


@contextmanager
def _no_collections() -> Iterator[None]:
    """No cyclic garbage collection during a run.  Reading an export makes hundreds of
    thousands of objects that all live to the end of the run, and every collection walks
    them again (~20% of the time on 100,000 rows with the default thresholds, ~5% with rare
    ones, and a last full pass as the reading ends); a run makes no reference cycles to
    speak of (reading the demo authority leaves no cyclic garbage), so reference counting
    frees what it drops.  Collections resume once the run's objects are gone.  The producer
    process turns them back on for itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _sink(
    producer: Producer, published: dict[str, set[str]], republish: bool
) -> Callable[[Event, bytes], None]:
    """Send an event as soon as it is read, if the last run did not publish it."""

    def sink(event: Event, value: bytes) -> None:
        if republish or event.event_id not in published.get(event.source_record_key, ()):
            producer.send(event, value)

    return sink


def _report(
    out: TextIO,
    err: TextIO,
    options: IngestOptions,
    issues: list[Issue],
    reading: ExportReading,
    published: int,
    unchanged: int,
) -> None:
    summary = RunSummary.of(
        reading, published=published, unchanged=unchanged, dry_run=options.dry_run
    )
    out.write(render(issues, summary, options.report))
    if options.report == "csv":
        err.write(summary.line() + "\n")
