"""What reading an export gives back: the events of accepted records, and every issue found.

Every adapter (SSD CSV, SEN2 XML, health CSV) returns an :class:`ExportReading`; readings of
one directory merge into one.  An issue of severity ``error`` means its record published
nothing; a ``warning`` (an identifier not linked, a record gone since the last run) rejects
nothing and is reported all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from schemas.events import Event

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem found in an export: where it is, which rule, and what is wrong.

    ``row`` is the line number in the file (a CSV header is line 1; for XML the line of the
    element); ``None`` for the whole file.  ``column`` is the CSV column, or for XML the
    element's path (``/Message/Persons/Person[3]/Requests/ReceivedDate``).
    """

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        column = f" {self.column}" if self.column else ""
        warning = " (warning)" if self.severity == "warning" else ""
        return f"{where}{column}: {self.message} [{self.rule}]{warning}"


@dataclass
class ExportReading:
    """The events of every accepted record, and every issue of every rejected record or file.

    ``records`` holds the source record keys seen per (source system, scope), accepted or
    rejected, for every scope (table, or SEN2 module) that was read in full: snapshot diffing
    reports a record missing from a later export only within a scope that was read.
    ``header`` carries facts about the export itself (a SEN2 return's LA code and reference
    date).
    """

    events: list[Event]
    issues: list[Issue]
    rows_read: int
    rows_rejected: int
    records: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    def saw(self, source_system: str, record_key: str) -> None:
        scope = record_key.split(":", 1)[0]
        self.records.setdefault((source_system, scope), set()).add(record_key)

    def read_scope(self, source_system: str, scope: str) -> None:
        """``scope`` was read in full, even when it held no record."""
        self.records.setdefault((source_system, scope), set())


def merge(readings: list[ExportReading]) -> ExportReading:
    """One reading of several adapters' readings, in order."""
    merged = ExportReading([], [], 0, 0)
    for r in readings:
        merged.events.extend(r.events)
        merged.issues.extend(r.issues)
        merged.rows_read += r.rows_read
        merged.rows_rejected += r.rows_rejected
        for scope, keys in r.records.items():
            merged.records.setdefault(scope, set()).update(keys)
        merged.header.update(r.header)
    return merged
