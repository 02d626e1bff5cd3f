"""The Liquidlogic SSD CSV adapter: one export directory in, events and issues out.

An export is one CSV per SSD table (``ssd_tables``).  Requests reach a child only through
``ssd_send``, and a named plan reaches its request only through ``ssd_ehcp_assessment``, so
the tables are read parents first and each row is checked against the rows it links to.

Checks are rules.md §7 (R-DATA): every issue on a row is reported, a row with any error
publishes nothing, and every other row still publishes.  A row whose parent was rejected is
rejected too, with an R-DATA-LINK issue saying why.  Nothing is silently fixed.

Messages about ``ssd_person`` never quote its values (names, dates of birth and UPNs are
personal data), and no message quotes a person id; other values are quoted to help the
integrator find them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    Event,
    PlanCeased,
    PlanIssued,
    RequestDecided,
)
from services.ingest.codes import (
    CEASE_REASONS,
    EXCEPTION_FLAGS,
    LA_CODE,
    REQUEST_OUTCOMES,
    REVIEW_OUTCOMES,
    active_plan_facts,
    review_facts,
)
from services.ingest.csvtable import RowCheck, Table, TableSpec, lines_text, read_table
from services.ingest.dates import DEFAULT_RANGES, DateRanges
from services.ingest.issues import ExportReading, Issue
from services.ingest.linking import IdentityLinker
from services.ingest.ssd.link import Index, Link, Parent, link_to, plans_by_request, put
from services.ingest.ssd.more import assignments, identifier_checks, needs, persons, placements
from services.ingest.ssd.reading import SsdReading
from services.ingest.ssd.tables import (
    ACTIVE_PLANS,
    ASSESSMENTS,
    ASSIGNMENTS,
    NAMED_PLANS,
    PERSON,
    PLACEMENTS,
    REQUESTS,
    SEN_NEED,
    SEND,
    TABLES,
)

__all__ = ["ExportReading", "Issue", "read_ssd_export"]


def _sends(reading: SsdReading, table: Table, persons: Index) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        send_id = check.key()
        person = link_to(check, "send_person_id", persons, PERSON)
        given = any(check.row[c] for c in ("send_upn", "send_uln", "send_upn_unknown"))
        identifier_checks(check, {"send_upn": "upn", "send_uln": "uln"}, "send_upn_unknown")
        if person is not None and not person.has_upn and not given:
            check.warn(None, "R-DATA-UPN", "no UPN, ULN or UPN-unknown reason")
        if reading.accept(check) and person is not None:
            identifiers = [("upn", check.row["send_upn"]), ("uln", check.row["send_uln"])]
            conflicts = reading.linker.link(person.person_key, identifiers)
            reading.conflict(check, conflicts)
        put(index, send_id, check, person if check.ok else None)
    return index


def _requests(reading: SsdReading, table: Table, sends: Index) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        request_id = check.key()
        send = link_to(check, "ehcr_send_table_id", sends, SEND)
        received = check.parsed_date("ehcr_ehcp_req_date", required=True)
        decided = check.parsed_date("ehcr_ehcp_req_outcome_date")
        outcome = check.code("ehcr_ehcp_req_outcome", REQUEST_OUTCOMES)
        mediation = check.code("RequestMediation", EXCEPTION_FLAGS)
        tribunal = check.code("RequestTribunal", EXCEPTION_FLAGS)
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
                    request_id=request_id,
                    outcome=outcome,
                    decided_on=decided,
                    mediation=mediation,
                    tribunal=tribunal,
                )
                reading.emit(REQUESTS, request_id, link.person_key, decided or received, decision)
        put(index, request_id, check, link, request_id)
    return index


def _assessments(reading: SsdReading, table: Table, requests: Index) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        assessment_id = check.key()
        request = link_to(check, "ehca_ehcp_request_id", requests, REQUESTS)
        outcome_on = check.parsed_date("ehca_ehcp_assessment_outcome_date")
        outcome = check.code("ehca_ehcp_assessment_outcome", REQUEST_OUTCOMES)
        exception = check.code("ehca_ehcp_assessment_exceptions", EXCEPTION_FLAGS)
        flags = [check.code(column, EXCEPTION_FLAGS) for column in ASSESSMENTS.optional]
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
                mediation=flags[0],
                tribunal=flags[1],
                other_mediation=flags[2],
                other_tribunal=flags[3],
            )
            on = outcome_on or received
            reading.emit(ASSESSMENTS, assessment_id, request.person_key, on, completed)
        request_id = check.row["ehca_ehcp_request_id"]
        put(index, assessment_id, check, request if accepted else None, request_id)
    return index


def _named_plans(reading: SsdReading, table: Table, assessments: Index) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        plan_id = check.key()
        assessment = link_to(check, "ehcn_ehcp_asmt_id", assessments, ASSESSMENTS)
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
            link = assessment._replace(plan_id=plan_id, issued_on=issued, ceased=bool(ceased))
            owner = link.person_key
            plan = PlanIssued(plan_id=plan_id, request_id=link.request_id, issued_on=issued)
            reading.emit(NAMED_PLANS, plan_id, owner, issued, plan)
            if ceased is not None:
                ended = PlanCeased(plan_id=plan_id, ceased_on=ceased, reason=reason)
                reading.emit(NAMED_PLANS, plan_id, owner, ceased, ended)
        parent = assessments.get(check.row["ehcn_ehcp_asmt_id"])
        put(index, plan_id, check, link, parent.request_id if parent else "")
    return index


def _plan_of(check: RowCheck, requests: Index, plans: dict[str, list[Parent]]) -> Link | None:
    """The named plan an active-plan row is about: the one issued on its request."""
    column = "ehcp_ehcp_request_id"
    request = link_to(check, column, requests, REQUESTS)
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
        plan_rows = f"{NAMED_PLANS.file} {lines_text(rejected)} (request {request_id!r})"
        check.add(column, "R-DATA-LINK", f"{plan_rows} was rejected, so this row is too")
        return None
    links = [plan.link for plan in candidates if plan.link is not None]
    # a re-issued plan: the one in force, else the latest
    return max(links, key=lambda link: (not link.ceased, link.issued_on, link.plan_id))


def _active_plans(reading: SsdReading, table: Table, requests: Index, plans: Index) -> Index:
    index: Index = {}
    by_request = plans_by_request(plans)
    for check in reading.checks(table):
        active_id = check.key()
        plan = _plan_of(check, requests, by_request)
        decided = check.parsed_date("ehcp_active_ehcp_last_review_date")
        meeting = check.parsed_date("ReviewMeeting")
        outcome = check.code("ReviewOutcome", REVIEW_OUTCOMES)
        draft = check.parsed_date("ReviewDraft")
        due = check.parsed_date("PhaseTransferDueDate", planned=True)
        final = check.parsed_date("PhaseTransferFinalDate")
        transfer_la = check.row["TransferLA"].upper()
        if transfer_la and not LA_CODE.fullmatch(transfer_la):
            message = f"{transfer_la!r} is not a 3-digit LA code or XXX"
            check.add("TransferLA", "R-DATA-CODE", message)
        check.needs(
            "ehcp_active_ehcp_last_review_date",
            "ReviewOutcome",
            "a review outcome needs the date of the decision",
        )
        started = plan.issued_on if plan is not None else None
        check.not_before("ehcp_active_ehcp_last_review_date", decided, "the plan start", started)
        check.not_before("ReviewMeeting", meeting, "the plan start", started)
        check.not_before("ReviewDraft", draft, "the plan start", started)
        accepted = reading.accept(check) and plan is not None
        if accepted and plan is not None:
            assert plan.plan_id is not None
            facts = [
                *review_facts(plan.plan_id, decided, meeting, outcome),
                *active_plan_facts(
                    plan.plan_id,
                    plan_start=started,
                    draft=draft,
                    transfer_due=due,
                    transfer_final=final,
                    transfer_la=transfer_la,
                ),
            ]
            for on, payload in facts:
                reading.emit(ACTIVE_PLANS, active_id, plan.person_key, on, payload)
        put(index, active_id, check, plan if accepted else None)
    return index


def _read_tables(directory: Path, reading: SsdReading) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    unread: set[str] = set()
    for spec in TABLES:
        table, issue = read_table(directory, spec, unread)
        if issue is not None:
            reading.result.issues.append(issue)
        if table is None:
            unread.add(spec.name)
        else:
            tables[spec.name] = table
            reading.result.read_scope(reading.source_system, spec.name)
    return tables


def read_ssd_export(
    directory: Path,
    *,
    secret: str,
    extracted_at: datetime,
    source_system: str = "liquidlogic",
    future_tolerance_days: int = 0,
    date_ranges: DateRanges = DEFAULT_RANGES,
    linker: IdentityLinker | None = None,
    progress: Callable[[int, int], None] | None = None,
    sink: Callable[[Event, bytes], None] | None = None,
) -> ExportReading:
    """Read the SSD CSVs in ``directory`` as of ``extracted_at`` (an aware datetime).

    Dates after ``extracted_at``'s date plus ``future_tolerance_days`` are R-DATA-FUTURE.
    Reading the same files twice gives the same events with the same ids.  ``linker`` links
    identities across sources (a fresh one per reading by default); ``progress`` is called
    with (rows checked, rows in all files) as the reading goes; ``sink`` with every event and
    its message (``envelope.event_json``'s bytes) as soon as its row is accepted (a person's
    event comes last: several files add to it).
    """
    if extracted_at.tzinfo is None:
        raise ValueError("extracted_at must be timezone-aware")
    latest = extracted_at.date() + timedelta(days=future_tolerance_days)
    reading = SsdReading(
        linker or IdentityLinker(secret), source_system, extracted_at, latest, progress, sink
    )
    reading.ranges = date_ranges
    tables = _read_tables(directory, reading)
    reading.total = sum(len(t.rows) for t in tables.values())

    def rows(spec: TableSpec) -> Table:
        return tables.get(spec.name, Table(spec, ()))

    people = persons(reading, rows(PERSON))
    sends = _sends(reading, rows(SEND), people)
    requests = _requests(reading, rows(REQUESTS), sends)
    assessments = _assessments(reading, rows(ASSESSMENTS), requests)
    plans = _named_plans(reading, rows(NAMED_PLANS), assessments)
    actives = _active_plans(reading, rows(ACTIVE_PLANS), requests, plans)
    needs(reading, rows(SEN_NEED), actives)
    placements(reading, rows(PLACEMENTS), people)
    assignments(reading, rows(ASSIGNMENTS), people)
    return reading.finish()
