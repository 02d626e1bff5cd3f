"""The Liquidlogic SSD CSV adapter: one export directory in, events and issues out.

An export is one CSV per SSD table (``ssd-tables.md``).  Requests reach a child only through
``ssd_send``, and a named plan reaches its request only through ``ssd_ehcp_assessment``, so
the tables are read parents first and each row is checked against the rows it links to.

Checks are rules.md §7 (R-DATA): every issue on a row is reported, a row with any issue
publishes nothing, and every other row still publishes.  A row whose parent was rejected is
rejected too, with an R-DATA-LINK issue saying why.  Nothing is silently fixed.

Messages about ``ssd_person`` never quote its values (names, dates of birth and UPNs are
personal data), and no message quotes a person id; other values are quoted to help the
integrator find them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    Event,
    Payload,
    PersonRegistered,
    PlanCeased,
    PlanIssued,
    RequestDecided,
    RequestOutcome,
    ReviewDecided,
    ReviewMeetingHeld,
    ReviewOutcome,
    make_event,
)
from services.ingest.dates import FORMATS, parse_date
from services.ingest.identity import person_key

_T = TypeVar("_T")

# --- what a reading gives back -------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem found in an export: where it is, which R-DATA rule, and what is wrong.

    ``row`` is the line number in the file (the header is line 1); ``None`` for the file.
    """

    file: str
    row: int | None
    column: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        column = f" {self.column}" if self.column else ""
        return f"{where}{column}: {self.message} [{self.rule}]"


@dataclass
class ExportReading:
    """The events of every accepted row, and every issue of every rejected row or file."""

    events: list[Event]
    issues: list[Issue]
    rows_read: int
    rows_rejected: int


# --- the tables ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """What the adapter needs from one SSD table."""

    name: str
    key: str  # primary key column
    columns: tuple[str, ...]  # SSD columns read; a file without one of them is not read
    optional: tuple[str, ...] = ()  # extension columns: blank when absent
    needs: tuple[str, ...] = ()  # tables its rows link through
    required_file: bool = False
    personal: bool = False  # no value of this file ever appears in a message
    private: frozenset[str] = frozenset()  # further columns whose values never appear

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def shows(self, column: str) -> bool:
        return not self.personal and column not in self.private


PERSON = TableSpec(
    "ssd_person",
    key="pers_person_id",
    columns=("pers_person_id", "pers_dob"),
    optional=("caseworker_id", "team"),
    required_file=True,
    personal=True,
)
SEND = TableSpec(
    "ssd_send",
    key="send_table_id",
    columns=("send_table_id", "send_person_id"),
    needs=("ssd_person",),
    private=frozenset({"send_person_id"}),
)
REQUESTS = TableSpec(
    "ssd_ehcp_requests",
    key="ehcr_ehcp_request_id",
    columns=(
        "ehcr_ehcp_request_id",
        "ehcr_send_table_id",
        "ehcr_ehcp_req_date",
        "ehcr_ehcp_req_outcome_date",
        "ehcr_ehcp_req_outcome",
    ),
    needs=("ssd_send",),
)
ASSESSMENTS = TableSpec(
    "ssd_ehcp_assessment",
    key="ehca_ehcp_assessment_id",
    columns=(
        "ehca_ehcp_assessment_id",
        "ehca_ehcp_request_id",
        "ehca_ehcp_assessment_outcome_date",
        "ehca_ehcp_assessment_outcome",
        "ehca_ehcp_assessment_exceptions",
    ),
    needs=("ssd_ehcp_requests",),
)
NAMED_PLANS = TableSpec(
    "ssd_ehcp_named_plan",
    key="ehcn_named_plan_id",
    columns=(
        "ehcn_named_plan_id",
        "ehcn_ehcp_asmt_id",
        "ehcn_named_plan_start_date",
        "ehcn_named_plan_ceased_date",
        "ehcn_named_plan_ceased_reason",
    ),
    needs=("ssd_ehcp_assessment",),
)
ACTIVE_PLANS = TableSpec(
    "ssd_ehcp_active_plans",
    key="ehcp_active_ehcp_id",
    columns=("ehcp_active_ehcp_id", "ehcp_ehcp_request_id", "ehcp_active_ehcp_last_review_date"),
    optional=("ReviewMeeting", "ReviewOutcome"),
    needs=("ssd_ehcp_requests", "ssd_ehcp_named_plan"),
)
TABLES = (PERSON, SEND, REQUESTS, ASSESSMENTS, NAMED_PLANS, ACTIVE_PLANS)

# SEN2 code lists (rules.md §7)
REQUEST_OUTCOMES: Mapping[str, RequestOutcome] = {c: c for c in ("Y", "N", "A", "W", "H")}
REVIEW_OUTCOMES: Mapping[str, ReviewOutcome] = {c: c for c in ("M", "A", "C")}
CEASE_REASONS: Mapping[str, int] = {str(n): n for n in range(1, 10)}
EXCEPTION_FLAGS: Mapping[str, bool] = {"1": True, "0": False}


@dataclass(frozen=True)
class Row:
    line: int
    cells: Mapping[str, str]  # lower-case column name -> stripped text
    overflow: bool = False  # values beyond the header's last column

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column.lower(), "")


@dataclass(frozen=True)
class Table:
    spec: TableSpec
    rows: tuple[Row, ...]


NOT_READ = "the file was not read"


def _file_issue(spec: TableSpec, message: str, column: str | None = None) -> Issue:
    return Issue(spec.file, None, column, "R-DATA-FILE", message)


def read_table(
    directory: Path, spec: TableSpec, unread: set[str]
) -> tuple[Table | None, Issue | None]:
    """The rows of one file, or ``None`` and at most one issue saying why it was not read."""
    path = directory / spec.file
    if not path.is_file():
        missing = "the file is missing, and it is required" if spec.required_file else None
        return None, _file_issue(spec, missing) if missing else None
    if blocked := [n for n in spec.needs if n in unread]:
        reason = f"its rows link through {blocked[0]}.csv, which is missing or was not read"
        return None, _file_issue(spec, f"{NOT_READ}: {reason}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = list(_records(handle.read()))
    except UnicodeDecodeError:
        return None, _file_issue(spec, f"{NOT_READ}: it is not UTF-8 text")
    except csv.Error as error:
        return None, _file_issue(spec, f"{NOT_READ}: it is not valid CSV ({error})")
    if not records:
        return None, _file_issue(spec, f"{NOT_READ}: it has no header row")
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
    while names and not names[-1]:
        names.pop()  # blank trailing columns, as spreadsheets leave them
    doubled = sorted({n for n in names if n and names.count(n) > 1})
    if doubled:
        columns = ", ".join(doubled)
        return None, _file_issue(spec, f"{NOT_READ}: it has column {columns} twice", columns)
    missing = [c for c in spec.columns if c.lower() not in names]
    if missing:
        columns = ", ".join(missing)
        return None, _file_issue(spec, f"{NOT_READ}: it has no column {columns}", columns)
    rows = []
    for line, cells in records[1:]:
        if any(cell.strip() for cell in cells):
            values = {n: c.strip() for n, c in zip(names, cells, strict=False) if n}
            overflow = any(c.strip() for c in cells[len(names) :])
            rows.append(Row(line, values, overflow))
    return Table(spec, tuple(rows)), None


# --- checking one row ----------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """What a row hands down to the rows that link to it."""

    person_key: str
    request_id: str | None = None
    received_on: date | None = None
    plan_id: str | None = None
    issued_on: date | None = None
    ceased: bool = False


@dataclass(frozen=True)
class Parent:
    """A row as seen by the rows that link to it; ``link`` is ``None`` if it was rejected."""

    lines: tuple[int, ...]
    link: Link | None
    request_id: str = ""  # the request it belongs to, as written, even when rejected


Index = dict[str, Parent]


def _lines(lines: Sequence[int]) -> str:
    return ("row " if len(lines) == 1 else "rows ") + ", ".join(map(str, lines))


@dataclass
class RowCheck:
    """Collects every issue on one row; the row publishes only if there are none."""

    spec: TableSpec
    row: Row
    latest: date  # the last date an export may hold (extract date + tolerance)
    duplicates: Mapping[str, tuple[int, ...]]
    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.row.overflow:
            self.add(None, "R-DATA-FILE", "the row has more values than the header has columns")

    @property
    def ok(self) -> bool:
        return not self.issues

    def add(self, column: str | None, rule: str, message: str) -> None:
        self.issues.append(Issue(self.spec.file, self.row.line, column, rule, message))

    def _quoted(self, column: str, text: str) -> str:
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
            others = _lines([n for n in lines if n != self.row.line])
            message = f"{self._quoted(column, value)}is also on {others}: every copy is rejected"
            self.add(column, "R-DATA-DUPLICATE", message)
        return value

    def parsed_date(self, column: str, *, required: bool = False) -> date | None:
        text = self.required(column) if required else self.row[column]
        try:
            value = parse_date(text)
        except ValueError as error:
            message = str(error) if self.spec.shows(column) else f"is not a date ({FORMATS})"
            self.add(column, "R-DATA-DATE", message)
            return None
        if value is not None and value > self.latest:
            latest = f"{self.latest}, the last date the extract can hold"
            message = f"{self._quoted(column, text)}is after {latest}"
            self.add(column, "R-DATA-FUTURE", message)
        return value

    def code(self, column: str, codes: Mapping[str, _T]) -> _T | None:
        text = self.row[column]
        if not text:
            return None
        if text.upper() not in codes:
            known = "/".join(codes)
            self.add(column, "R-DATA-CODE", f"{self._quoted(column, text)}is not one of {known}")
        return codes.get(text.upper())

    def not_before(self, column: str, value: date | None, other: str, earlier: date | None) -> None:
        if value is not None and earlier is not None and value < earlier:
            self.add(column, "R-DATA-ORDER", f"{value} is before {other} {earlier}")

    def needs(self, column: str, given: str, because: str) -> None:
        """``column`` must be filled in when ``given`` is (an outcome without its date, ...)."""
        if self.row[given] and not self.row[column]:
            self.add(column, "R-DATA-REQUIRED", f"is blank but {given} is given: {because}")

    def link(self, column: str, parents: Index, parent: TableSpec) -> Link | None:
        """The accepted parent row ``column`` names: required, known and not rejected."""
        value = self.required(column)
        if not value:
            return None
        found = parents.get(value)
        named = f"{parent.key} {self._quoted(column, value)}".rstrip()
        if found is None:
            self.add(column, "R-DATA-LINK", f"no {parent.file} row has this {named}")
            return None
        if found.link is None:
            lines = _lines(found.lines)
            message = f"{parent.file} {lines} ({named}) was rejected, so this row is too"
            self.add(column, "R-DATA-LINK", message)
        return found.link


# --- reading an export ---------------------------------------------------------------------


@dataclass
class _Reading:
    secret: str
    source_system: str
    extracted_at: datetime
    latest: date
    events: list[Event] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    rows_read: int = 0
    rows_rejected: int = 0

    def checks(self, table: Table) -> Iterator[RowCheck]:
        keys: dict[str, list[int]] = {}
        for row in table.rows:
            keys.setdefault(row[table.spec.key], []).append(row.line)
        duplicates = {k: tuple(v) for k, v in keys.items() if k and len(v) > 1}
        for row in table.rows:
            yield RowCheck(table.spec, row, self.latest, duplicates)

    def accept(self, check: RowCheck) -> bool:
        """Record the row's issues; True when it may publish."""
        self.rows_read += 1
        if check.issues:
            self.rows_rejected += 1
            self.issues.extend(check.issues)
        return check.ok

    def emit(
        self, spec: TableSpec, key: str, owner: str, on: date | None, payload: Payload
    ) -> None:
        occurred = datetime.combine(on, time(), tzinfo=UTC) if on else self.extracted_at
        event = make_event(
            source_system=self.source_system,
            source_record_key=f"{spec.name}:{key}",
            person_key=owner,
            occurred_at=occurred,
            recorded_at=self.extracted_at,
            payload=payload,
        )
        self.events.append(event)


def _put(index: Index, key: str, check: RowCheck, link: Link | None, request_id: str = "") -> None:
    if not key:
        return
    if key in index:  # a duplicate: every copy was rejected
        index[key] = Parent((*index[key].lines, check.row.line), None, request_id)
    else:
        index[key] = Parent((check.row.line,), link if check.ok else None, request_id)


def _persons(reading: _Reading, table: Table) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        person_id = check.key()
        born = check.parsed_date("pers_dob")
        link = None
        if reading.accept(check):
            link = Link(person_key(reading.secret, reading.source_system, person_id))
            registered = PersonRegistered(
                child_ref=person_id,
                date_of_birth=born,
                caseworker_id=check.row["caseworker_id"] or None,
                team=check.row["team"] or None,
            )
            reading.emit(PERSON, person_id, link.person_key, None, registered)
        _put(index, person_id, check, link)
    return index


def _sends(reading: _Reading, table: Table, persons: Index) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        send_id = check.key()
        person = check.link("send_person_id", persons, PERSON)
        accepted = reading.accept(check)
        _put(index, send_id, check, person if accepted else None)
    return index


def _requests(reading: _Reading, table: Table, sends: Index) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        request_id = check.key()
        send = check.link("ehcr_send_table_id", sends, SEND)
        received = check.parsed_date("ehcr_ehcp_req_date", required=True)
        decided = check.parsed_date("ehcr_ehcp_req_outcome_date")
        outcome = check.code("ehcr_ehcp_req_outcome", REQUEST_OUTCOMES)
        check.needs(
            "ehcr_ehcp_req_outcome", "ehcr_ehcp_req_outcome_date", "a decision needs its outcome"
        )
        check.not_before("ehcr_ehcp_req_outcome_date", decided, "the received date", received)
        link = None
        if reading.accept(check) and send is not None and received is not None:
            link = Link(send.person_key, request_id=request_id, received_on=received)
            requested = AssessmentRequested(request_id=request_id, received_on=received)
            reading.emit(REQUESTS, request_id, link.person_key, received, requested)
            if outcome is not None:
                decision = RequestDecided(
                    request_id=request_id, outcome=outcome, decided_on=decided
                )
                reading.emit(REQUESTS, request_id, link.person_key, decided or received, decision)
        _put(index, request_id, check, link, request_id)
    return index


def _assessments(reading: _Reading, table: Table, requests: Index) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        assessment_id = check.key()
        request = check.link("ehca_ehcp_request_id", requests, REQUESTS)
        outcome_on = check.parsed_date("ehca_ehcp_assessment_outcome_date")
        outcome = check.code("ehca_ehcp_assessment_outcome", REQUEST_OUTCOMES)
        exception = check.code("ehca_ehcp_assessment_exceptions", EXCEPTION_FLAGS)
        check.needs(
            "ehca_ehcp_assessment_outcome",
            "ehca_ehcp_assessment_outcome_date",
            "an outcome date needs its outcome",
        )
        received = request.received_on if request is not None else None
        column = "ehca_ehcp_assessment_outcome_date"
        check.not_before(column, outcome_on, "the request's received date", received)
        accepted = reading.accept(check)
        if accepted and request is not None and outcome is not None:
            assert request.request_id is not None
            completed = AssessmentCompleted(
                request_id=request.request_id,
                outcome=outcome,
                outcome_on=outcome_on,
                exception=bool(exception),
            )
            on = outcome_on or received
            reading.emit(ASSESSMENTS, assessment_id, request.person_key, on, completed)
        request_id = check.row["ehca_ehcp_request_id"]
        _put(index, assessment_id, check, request if accepted else None, request_id)
    return index


def _named_plans(reading: _Reading, table: Table, assessments: Index) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        plan_id = check.key()
        assessment = check.link("ehcn_ehcp_asmt_id", assessments, ASSESSMENTS)
        issued = check.parsed_date("ehcn_named_plan_start_date", required=True)
        ceased = check.parsed_date("ehcn_named_plan_ceased_date")
        reason = check.code("ehcn_named_plan_ceased_reason", CEASE_REASONS)
        check.needs(
            "ehcn_named_plan_ceased_date",
            "ehcn_named_plan_ceased_reason",
            "a cease reason needs the date the plan ended",
        )
        check.not_before("ehcn_named_plan_ceased_date", ceased, "the plan start date", issued)
        link = None
        if reading.accept(check) and assessment is not None and issued is not None:
            link = replace(assessment, plan_id=plan_id, issued_on=issued, ceased=bool(ceased))
            owner = link.person_key
            plan = PlanIssued(plan_id=plan_id, request_id=link.request_id, issued_on=issued)
            reading.emit(NAMED_PLANS, plan_id, owner, issued, plan)
            if ceased is not None:
                ended = PlanCeased(plan_id=plan_id, ceased_on=ceased, reason=reason)
                reading.emit(NAMED_PLANS, plan_id, owner, ceased, ended)
        parent = assessments.get(check.row["ehcn_ehcp_asmt_id"])
        _put(index, plan_id, check, link, parent.request_id if parent else "")
    return index


def _plans_by_request(plans: Index) -> dict[str, list[Parent]]:
    grouped: dict[str, list[Parent]] = {}
    for plan in plans.values():
        if plan.request_id:
            grouped.setdefault(plan.request_id, []).append(plan)
    return grouped


def _plan_of(check: RowCheck, requests: Index, plans: dict[str, list[Parent]]) -> Link | None:
    """The named plan an active-plan row is about: the one issued on its request."""
    column = "ehcp_ehcp_request_id"
    request = check.link(column, requests, REQUESTS)
    if request is None or request.request_id is None:
        return None
    request_id = request.request_id
    candidates = plans.get(request_id, [])
    if not candidates:
        message = f"no {NAMED_PLANS.file} row belongs to request {request_id!r}"
        check.add(column, "R-DATA-LINK", f"{message} (through {ASSESSMENTS.file})")
        return None
    rejected = sorted(line for plan in candidates if plan.link is None for line in plan.lines)
    if rejected:
        plan_rows = f"{NAMED_PLANS.file} {_lines(rejected)} (request {request_id!r})"
        message = f"{plan_rows} was rejected, so this row is too"
        check.add(column, "R-DATA-LINK", message)
        return None
    links = [plan.link for plan in candidates if plan.link is not None]
    # a re-issued plan: the one in force, else the latest
    return max(links, key=lambda link: (not link.ceased, link.issued_on, link.plan_id))


def _active_plans(reading: _Reading, table: Table, requests: Index, plans: Index) -> None:
    by_request = _plans_by_request(plans)
    for check in reading.checks(table):
        active_id = check.key()
        plan = _plan_of(check, requests, by_request)
        decided = check.parsed_date("ehcp_active_ehcp_last_review_date")
        meeting = check.parsed_date("ReviewMeeting")
        outcome = check.code("ReviewOutcome", REVIEW_OUTCOMES)
        check.needs(
            "ehcp_active_ehcp_last_review_date",
            "ReviewOutcome",
            "a review outcome needs the date of the decision",
        )
        started = plan.issued_on if plan is not None else None
        check.not_before("ehcp_active_ehcp_last_review_date", decided, "the plan start", started)
        check.not_before("ReviewMeeting", meeting, "the plan start", started)
        if reading.accept(check) and plan is not None:
            _emit_review(reading, active_id, plan, decided, meeting, outcome)


def _emit_review(
    reading: _Reading,
    active_id: str,
    plan: Link,
    decided: date | None,
    meeting: date | None,
    outcome: ReviewOutcome | None,
) -> None:
    assert plan.plan_id is not None
    if decided is not None:
        # a meeting after the last decision is the next review, whose decision is pending
        held = meeting if meeting is not None and meeting <= decided else None
        decision = ReviewDecided(
            plan_id=plan.plan_id, decided_on=decided, outcome=outcome, meeting_on=held
        )
        reading.emit(ACTIVE_PLANS, active_id, plan.person_key, decided, decision)
    if meeting is not None:
        held_event = ReviewMeetingHeld(plan_id=plan.plan_id, meeting_on=meeting)
        reading.emit(ACTIVE_PLANS, active_id, plan.person_key, meeting, held_event)


def _read_tables(directory: Path, reading: _Reading) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    unread: set[str] = set()
    for spec in TABLES:
        table, issue = read_table(directory, spec, unread)
        if issue is not None:
            reading.issues.append(issue)
        if table is None:
            unread.add(spec.name)
        else:
            tables[spec.name] = table
    return tables


def read_ssd_export(
    directory: Path,
    *,
    secret: str,
    extracted_at: datetime,
    source_system: str = "liquidlogic",
    future_tolerance_days: int = 0,
) -> ExportReading:
    """Read the SSD CSVs in ``directory`` as of ``extracted_at`` (an aware datetime).

    Dates after ``extracted_at``'s date plus ``future_tolerance_days`` are R-DATA-FUTURE.
    Reading the same files twice gives the same events with the same ids.
    """
    if extracted_at.tzinfo is None:
        raise ValueError("extracted_at must be timezone-aware")
    latest = extracted_at.date() + timedelta(days=future_tolerance_days)
    reading = _Reading(secret, source_system, extracted_at, latest)
    tables = _read_tables(directory, reading)

    def rows(spec: TableSpec) -> Table:
        return tables.get(spec.name, Table(spec, ()))

    persons = _persons(reading, rows(PERSON))
    sends = _sends(reading, rows(SEND), persons)
    requests = _requests(reading, rows(REQUESTS), sends)
    assessments = _assessments(reading, rows(ASSESSMENTS), requests)
    plans = _named_plans(reading, rows(NAMED_PLANS), assessments)
    _active_plans(reading, rows(ACTIVE_PLANS), requests, plans)
    return ExportReading(reading.events, reading.issues, reading.rows_read, reading.rows_rejected)
