"""Reading integrators' CSV files and checking their rows: shared by the SSD and health adapters.

Files are UTF-8 with or without a BOM, LF or CRLF; column names match case-insensitively;
blank trailing columns and blank lines are ignored; a missing required column is one issue
naming the file and the column.  :class:`RowCheck` collects every issue on one row, so a row
is reported once with everything wrong with it, and publishes only when nothing is.

Values of a ``personal`` file (or a ``private`` column) never appear in a message.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from schemas.dates import DateKind
from schemas.events import CODE_MAX
from services.ingest.dates import DEFAULT_RANGES, FORMATS, DateRanges, parse_date
from services.ingest.issues import Issue

_T = TypeVar("_T")

NOT_READ = "the file was not read"
MAX_VALUE = CODE_MAX  # characters in any value an adapter reads (R-DATA-LENGTH)
# the csv module refuses a whole file for one value over 128 KiB; read it, and reject its row
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


@dataclass(frozen=True)
class TableSpec:
    """What an adapter needs from one CSV file."""

    name: str
    key: str  # primary key column ("" when rows have no key of their own)
    columns: tuple[str, ...]  # required columns: a file without one of them is not read
    optional: tuple[str, ...] = ()  # extension columns: blank when absent
    needs: tuple[str, ...] = ()  # files its rows link through
    required_file: bool = False
    personal: bool = False  # no value of this file ever appears in a message
    private: frozenset[str] = frozenset()  # further columns whose values never appear
    renames: Mapping[str, str] = field(default_factory=dict)  # local name -> column (lower)
    labels: Mapping[str, str] = field(default_factory=dict)  # column -> the file's own name
    filename: str = ""  # default: name + ".csv"

    @property
    def file(self) -> str:
        return self.filename or f"{self.name}.csv"

    def label(self, column: str | None) -> str | None:
        """The column as the file names it (a mapped local name), for messages."""
        return self.labels.get(column, column) if column else column

    @cached_property
    def _private(self) -> frozenset[str]:
        return frozenset(c.lower() for c in self.private)

    @cached_property
    def read_columns(self) -> tuple[str, ...]:
        """The columns an adapter reads (lower case): what R-DATA-LENGTH checks."""
        named = (self.key, *self.columns, *self.optional)
        return tuple(dict.fromkeys(c.lower() for c in named if c))

    def shows(self, column: str) -> bool:
        return not self.personal and column.lower() not in self._private


class Row(dict[str, str]):
    """One record: lower-case column name -> stripped text.  ``row[column]`` takes the
    column in any case and is ``""`` for a column the file does not have; ``line`` is the
    line it starts on, ``overflow`` whether it has values beyond the header's last column.
    (A dict, so that reading a cell is one lookup in C.)"""

    __slots__ = ("line", "overflow")
    line: int
    overflow: bool

    @classmethod
    def of(
        cls, line: int, cells: Iterable[tuple[str, str]] | Mapping[str, str], overflow: bool = False
    ) -> Row:
        row = cls(cells)  # dict's own constructor (an export makes one per line)
        row.line = line
        row.overflow = overflow
        return row

    def __missing__(self, column: str) -> str:
        name = column.lower()
        return dict.get(self, name, "") if name != column else ""

    @property
    def cells(self) -> Mapping[str, str]:
        return self


@dataclass(frozen=True)
class Table:
    spec: TableSpec
    rows: tuple[Row, ...]


def file_issue(spec: TableSpec, message: str, column: str | None = None) -> Issue:
    return Issue(spec.file, None, column, "R-DATA-FILE", message)


def read_table(
    directory: Path, spec: TableSpec, unread: set[str]
) -> tuple[Table | None, Issue | None]:
    """The rows of one file, or ``None`` and at most one issue saying why it was not read."""
    path = directory / spec.file
    if not path.is_file():
        missing = "the file is missing, and it is required" if spec.required_file else None
        return None, file_issue(spec, missing) if missing else None
    if blocked := [n for n in spec.needs if n in unread]:
        reason = f"its rows link through {blocked[0]}.csv, which is missing or was not read"
        return None, file_issue(spec, f"{NOT_READ}: {reason}")
    return read_csv(path, spec)


def read_csv(path: Path, spec: TableSpec) -> tuple[Table | None, Issue | None]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(_records(handle.read()))
    except UnicodeDecodeError:
        return None, file_issue(spec, f"{NOT_READ}: it is not UTF-8 text")
    except csv.Error as error:
        return None, file_issue(spec, f"{NOT_READ}: it is not valid CSV ({error})")
    except OSError as error:  # a permission, a directory of that name
        return None, file_issue(spec, f"{NOT_READ}: it cannot be opened ({error.strerror})")
    if not records:
        return None, file_issue(spec, f"{NOT_READ}: it has no header row")
    return _table(spec, records)


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted value may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    for cells in reader:
        yield line, cells
        line = reader.line_num + 1


def _table(
    spec: TableSpec, records: list[tuple[int, list[str]]]
) -> tuple[Table | None, Issue | None]:
    names = [cell.strip().lower() for cell in records[0][1]]
    names = [spec.renames.get(n, n) for n in names]
    while names and not names[-1]:
        names.pop()  # blank trailing columns, as spreadsheets leave them
    doubled = sorted({n for n in names if n and names.count(n) > 1})
    if doubled:
        columns = ", ".join(doubled)
        return None, file_issue(spec, f"{NOT_READ}: it has column {columns} twice", columns)
    missing = [c for c in spec.columns if c.lower() not in names]
    if missing:
        columns = ", ".join(spec.label(c) or c for c in missing)
        return None, file_issue(spec, f"{NOT_READ}: it has no column {columns}", columns)
    width = len(names)
    named = all(names)
    strip = str.strip
    rows = []
    for line, cells in records[1:]:
        if "".join(cells).strip():  # not a blank line (every cell blank)
            if named:
                row = Row(zip(names, map(strip, cells), strict=False))
            else:
                row = Row((n, c.strip()) for n, c in zip(names, cells, strict=False) if n)
            row.line = line
            row.overflow = len(cells) > width and any(c.strip() for c in cells[width:])
            rows.append(row)
    return Table(spec, tuple(rows)), None


def lines_text(lines: Sequence[int]) -> str:
    return ("row " if len(lines) == 1 else "rows ") + ", ".join(map(str, lines))


@dataclass(slots=True)
class RowCheck:
    """Collects every issue on one row; the row publishes only if there are no errors."""

    spec: TableSpec
    row: Row
    latest: date  # the last date an export may hold (extract date + tolerance)
    duplicates: Mapping[str, tuple[int, ...]]
    repeat_of: int | None = None  # the line of an identical row earlier in the file
    issues: list[Issue] = field(default_factory=list)
    ranges: DateRanges = DEFAULT_RANGES  # the plausible range of each kind of date

    def __post_init__(self) -> None:
        if self.row.overflow:
            self.add(None, "R-DATA-FILE", "the row has more values than the header has columns")
        if self.row and max(map(len, self.row.values())) > MAX_VALUE:
            self._too_long()

    def _too_long(self) -> None:
        """R-DATA-LENGTH: a value longer than any identifier or code of the event contract
        (never quoted: only its length is said)."""
        for column in self.spec.read_columns:
            size = len(self.row[column])
            if size > MAX_VALUE:
                message = f"is {size} characters long; at most {MAX_VALUE} are accepted"
                self.add(column, "R-DATA-LENGTH", message)

    @property
    def ok(self) -> bool:
        return not self.issues or not any(i.severity == "error" for i in self.issues)

    def add(self, column: str | None, rule: str, message: str) -> None:
        label = self.spec.label(column)
        self.issues.append(Issue(self.spec.file, self.row.line, label, rule, message))

    def warn(self, column: str | None, rule: str, message: str) -> None:
        label = self.spec.label(column)
        issue = Issue(self.spec.file, self.row.line, label, rule, message, "warning")
        self.issues.append(issue)

    def quoted(self, column: str, text: str) -> str:
        return f"{text!r} " if self.spec.shows(column) else ""

    def required(self, column: str) -> str:
        text = self.row[column]
        if not text:
            self.add(column, "R-DATA-REQUIRED", "is blank, and a value is required")
        return text

    def key(self) -> str:
        """The primary key: required, and on one row only (R-DATA-DUPLICATE)."""
        column = self.spec.key
        value = self.required(column)
        lines = self.duplicates.get(value, ())
        if len(lines) > 1:
            others = lines_text([n for n in lines if n != self.row.line])
            message = f"{self.quoted(column, value)}is also on {others}: every copy is rejected"
            self.add(column, "R-DATA-DUPLICATE", message)
        return value

    def parsed_date(
        self,
        column: str,
        *,
        required: bool = False,
        planned: bool = False,
        kind: DateKind | None = None,
    ) -> date | None:
        """A date in the plausible range of its ``kind`` (a fact's by default; ``planned``:
        a scheduled date, which may be after the extract's last date)."""
        text = self.required(column) if required else self.row[column]
        try:
            value = parse_date(text)
        except ValueError as error:
            message = str(error) if self.spec.shows(column) else f"is not a date ({FORMATS})"
            self.add(column, "R-DATA-DATE", message)
            return None
        if value is not None:
            kind = kind or ("scheduled" if planned else "fact")
            problem = self.ranges.problem(kind, value, self.latest)
            if problem is not None:
                rule, message = problem
                self.add(column, rule, f"{self.quoted(column, text)}{message}")
        return value

    def code(self, column: str, codes: Mapping[str, _T]) -> _T | None:
        text = self.row[column]
        if not text:
            return None
        if text.upper() not in codes:
            known = "/".join(codes)
            self.add(column, "R-DATA-CODE", f"{self.quoted(column, text)}is not one of {known}")
        return codes.get(text.upper())

    def not_before(self, column: str, value: date | None, other: str, earlier: date | None) -> None:
        if value is not None and earlier is not None and value < earlier:
            shown = f"{value} " if self.spec.shows(column) else ""
            self.add(column, "R-DATA-ORDER", f"{shown}is before {other} {earlier}".strip())

    def needs(self, column: str, given: str, because: str) -> None:
        """``column`` must be filled in when ``given`` is (an outcome without its date, ...)."""
        if self.row[given] and not self.row[column]:
            self.add(column, "R-DATA-REQUIRED", f"is blank but {given} is given: {because}")


def checks(table: Table, latest: date, ranges: DateRanges = DEFAULT_RANGES) -> Iterator[RowCheck]:
    """A :class:`RowCheck` per row, knowing which key values are on more than one row.

    A row identical to an earlier one (every cell the same) is a *repeat*: exports and
    spreadsheet merges duplicate rows, and reading it once loses nothing.  Rows sharing a key
    but differing are duplicates, and every copy is rejected: which one is right is unknown.
    """
    key = table.spec.key
    first: dict[tuple[str, ...], int] = {}
    repeats: dict[int, int] = {}
    lines: dict[str, list[int]] = {}
    for row in table.rows:
        content = tuple(row.values())  # the file's column order, the same on every row
        if content in first:
            repeats[row.line] = first[content]
            continue
        first[content] = row.line
        if key:
            lines.setdefault(row[key], []).append(row.line)
    duplicates = {k: tuple(v) for k, v in lines.items() if k and len(v) > 1}
    for row in table.rows:
        yield RowCheck(table.spec, row, latest, duplicates, repeats.get(row.line), ranges=ranges)


def repeat_issue(check: RowCheck) -> Issue:
    message = f"is the same as row {check.repeat_of}: read once"
    return Issue(check.spec.file, check.row.line, None, "R-DATA-REPEAT", message, "warning")
