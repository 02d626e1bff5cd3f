"""The state of one SSD reading: events per file, issues, and the person facts being built.

A child's ``person.registered`` event is the one fact about them that several files add to
(``ssd_person``, the caseworker assignments, the needs of the plan in force), so it is
built up as the files are read and emitted last, in ``ssd_person`` order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from schemas.events import Event, Payload, PersonRegistered, SenType
from services.ingest import csvtable
from services.ingest.csvtable import RowCheck, Table, TableSpec, repeat_issue
from services.ingest.dates import DEFAULT_RANGES, DateRanges
from services.ingest.envelope import build_event
from services.ingest.issues import ExportReading, Issue
from services.ingest.linking import IdentityLinker, Resolution
from services.ingest.ssd.tables import PERSON, TABLES

PROGRESS_EVERY = 2000  # rows between progress calls


@dataclass
class PersonDraft:
    person_id: str
    born: date | None
    caseworker_id: str | None
    team: str | None
    needs: dict[int, SenType] = field(default_factory=dict)
    assigned_from: date | None = None

    def payload(self) -> PersonRegistered:
        return PersonRegistered(
            child_ref=self.person_id,
            date_of_birth=self.born,
            caseworker_id=self.caseworker_id,
            team=self.team,
            primary_need=self.needs.get(1),
            secondary_need=self.needs.get(2),
        )


@dataclass
class SsdReading:
    linker: IdentityLinker
    source_system: str
    extracted_at: datetime
    latest: date
    progress: Callable[[int, int], None] | None = None
    # every event and its message (envelope.event_json's bytes), as soon as it is made
    sink: Callable[[Event, bytes], None] | None = None
    total: int = 0
    done: int = 0
    result: ExportReading = field(default_factory=lambda: ExportReading([], [], 0, 0))
    buckets: dict[str, list[Event]] = field(default_factory=dict)
    drafts: dict[str, PersonDraft] = field(default_factory=dict)  # by person key
    _midnights: dict[date, datetime] = field(default_factory=dict)  # occurred_at of a date
    ranges: DateRanges = DEFAULT_RANGES  # the plausible range of each kind of date

    def checks(self, table: Table) -> Iterator[RowCheck]:
        """The rows to check; identical repeats are read once and reported as warnings."""
        for check in csvtable.checks(table, self.latest, self.ranges):
            self.done += 1
            if self.progress is not None and self.done % PROGRESS_EVERY == 0:
                self.progress(self.done, self.total)
            if check.repeat_of is not None:
                self.result.rows_read += 1
                self.result.issues.append(repeat_issue(check))
                continue
            yield check

    def accept(self, check: RowCheck) -> bool:
        """Record the row's issues; True when it may publish."""
        self.result.rows_read += 1
        self.result.issues.extend(check.issues)
        if check.ok:
            return True
        self.result.rows_rejected += 1
        key = check.row[check.spec.key] if check.spec.key else ""
        if key:
            self.result.saw(self.source_system, f"{check.spec.name}:{key}")
        return False

    def conflict(self, check: RowCheck, kinds: tuple[str, ...]) -> None:
        """R-DATA-IDENTITY: identifiers kept apart rather than merged (a warning)."""
        if kinds:
            message = Resolution("-", kinds).message()
            where = (check.spec.file, check.row.line, None)
            self.result.issues.append(Issue(*where, "R-DATA-IDENTITY", message, "warning"))

    def emit(
        self, spec: TableSpec, key: str, owner: str, on: date | None, payload: Payload
    ) -> None:
        occurred = self.extracted_at if on is None else self._midnights.get(on)
        if occurred is None:
            assert on is not None
            occurred = self._midnights[on] = datetime.combine(on, time(), tzinfo=UTC)
        record = f"{spec.name}:{key}"
        event, value = build_event(
            self.source_system, record, owner, occurred, self.extracted_at, payload
        )
        name = spec.name
        bucket = self.buckets.get(name)
        if bucket is None:
            bucket = self.buckets[name] = []
        bucket.append(event)
        scope = (self.source_system, name)
        records = self.result.records.get(scope)  # ExportReading.saw, knowing the scope
        if records is None:
            records = self.result.records[scope] = set()
        records.add(record)
        if self.sink is not None:
            self.sink(event, value)

    def finish(self) -> ExportReading:
        for key, draft in self.drafts.items():
            self.emit(PERSON, draft.person_id, key, None, draft.payload())
        for spec in TABLES:
            self.result.events.extend(self.buckets.get(spec.name, ()))
        if self.progress is not None:
            self.progress(self.done, self.total)
        return self.result
