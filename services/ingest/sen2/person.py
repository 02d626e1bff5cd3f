"""One SEN2 ``Person`` and its ``Requests`` modules as events (SEN2 modules 1 to 5).

SEN2 carries no record ids, so ids are derived from what identifies a record within one
child: a request by its ``ReceivedDate`` (``SEN2-2024-01-10``), its plan from the request
(``SEN2-2024-01-10-PLAN``), a placement by setting, rank and entry date.  The facts are the
ones the SSD adapter states for the same items (``codes``), so both formats of one authority
fold to the same journeys.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TypeVar

from lxml import etree

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    Payload,
    PlacementRecorded,
    PlanCeased,
    PlanIssued,
    RequestDecided,
    ReviewOutcome,
    SenType,
)
from services.ingest.codes import (
    CEASE_REASONS,
    LA_CODE,
    RANKS,
    REQUEST_OUTCOMES,
    REVIEW_OUTCOMES,
    SEN_TYPES,
    active_plan_facts,
    placement_id,
    review_facts,
)
from services.ingest.envelope import envelope
from services.ingest.issues import ExportReading, Issue, Severity

SOURCE_SYSTEM = "sen2"
Element = etree._Element
_T = TypeVar("_T")


def text(element: Element | None, tag: str) -> str:
    found = element.find(tag) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


@dataclass
class Sen2Reading:
    """What one return's persons add up to."""

    file: str
    extracted_at: datetime
    latest: date
    result: ExportReading
    tree: etree._ElementTree

    def where(self, element: Element) -> tuple[int | None, str]:
        line: int | None = element.sourceline  # type: ignore[assignment]
        return line, self.tree.getpath(element)


# xs:date: YYYY-MM-DD, with an optional time zone (which a calendar date ignores)
_XS_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?")
_FLAGS: Mapping[str, bool] = {"1": True, "0": False}


@dataclass
class RequestsCheck:
    """Every issue of one ``Requests`` module (or its ``Person``): errors reject it.

    ``issues`` starts with the module's schema issues; a check of this reader at an element
    the schema already faulted (as severely) is not reported twice.  Every value a clock
    reads is checked here too, so a schema fault that only warns never hides a bad value.
    """

    reading: Sen2Reading
    issues: list[Issue] = field(default_factory=list)
    personal: bool = False  # never quote values (the Person module)

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    def add(self, element: Element, rule: str, message: str, severity: Severity = "error") -> None:
        line, path = self.reading.where(element)
        for known in self.issues:
            said = known.column == path and known.rule == "R-SEN2-SCHEMA"
            if said and (known.severity == "error" or severity == "warning"):
                return  # the schema said it already
        self.issues.append(Issue(self.reading.file, line, path, rule, message, severity))

    def date_of(self, parent: Element | None, tag: str, *, planned: bool = False) -> date | None:
        element = parent.find(tag) if parent is not None else None
        if element is None or not (element.text or "").strip():
            return None
        found = _XS_DATE.fullmatch((element.text or "").strip())
        try:
            value = date.fromisoformat(found.group(1)) if found else None
        except ValueError:
            value = None
        if value is None:
            self.add(element, "R-DATA-DATE", "is not a date that exists (YYYY-MM-DD)")
            return None
        if value > self.reading.latest and not planned:
            shown = "" if self.personal else f"{value} "
            latest = f"{self.reading.latest}, the last date the return can hold"
            self.add(element, "R-DATA-FUTURE", f"{shown}is after {latest}")
        return value

    def code(self, parent: Element | None, tag: str, codes: Mapping[str, _T]) -> _T | None:
        """The code ``tag`` holds, or None; a value not in ``codes`` is an error."""
        element = parent.find(tag) if parent is not None else None
        value = (element.text or "").strip() if element is not None else ""
        if element is None or not value:
            return None
        if value not in codes:
            self.add(element, "R-DATA-CODE", f"{value!r} is not one of {'/'.join(codes)}")
            return None
        return codes[value]

    def not_before(
        self, parent: Element | None, tag: str, value: date | None, other: str, earlier: date | None
    ) -> None:
        if parent is not None and value is not None and earlier is not None and value < earlier:
            element = parent.find(tag)
            assert element is not None
            self.add(element, "R-DATA-ORDER", f"{value} is before {other} {earlier}")

    def needs(self, parent: Element | None, tag: str, given: str, because: str) -> None:
        if parent is not None and text(parent, given) and not text(parent, tag):
            self.add(parent, "R-DATA-REQUIRED", f"{tag} is missing but {given} is given: {because}")


@dataclass
class PersonFacts:
    """The events of one accepted person, in the order they are stated."""

    person_key: str
    ref: str
    reading: Sen2Reading
    facts: list[tuple[str, date | None, Payload]] = field(default_factory=list)
    needs: dict[int, SenType] = field(default_factory=dict)

    def state(self, module: str, key: str, on: date | None, payload: Payload) -> None:
        self.facts.append((f"{module}:{self.ref}:{key}", on, payload))

    def publish(self) -> None:
        for record, on, payload in self.facts:
            occurred = datetime.combine(on, time(), tzinfo=UTC) if on else self.reading.extracted_at
            event = envelope(
                source_system=SOURCE_SYSTEM,
                source_record_key=record,
                person_key=self.person_key,
                occurred_at=occurred,
                recorded_at=self.reading.extracted_at,
                payload=payload,
            )
            self.reading.result.events.append(event)
            self.reading.result.saw(SOURCE_SYSTEM, record)


def read_requests(
    facts: PersonFacts, requests: Element, index: int, schema: list[Issue]
) -> list[Issue]:
    """The events of one ``Requests`` module, stated on ``facts`` unless it has errors
    (``schema``: the module's schema issues, from ``fields``)."""
    check = RequestsCheck(facts.reading, list(schema))
    received = check.date_of(requests, "ReceivedDate")
    decided = check.date_of(requests, "RequestOutcomeDate")
    outcome = check.code(requests, "RequestOutcome", REQUEST_OUTCOMES)
    request_flags = [
        check.code(requests, t, _FLAGS) for t in ("RequestMediation", "RequestTribunal")
    ]
    check.needs(requests, "RequestOutcome", "RequestOutcomeDate", "a decision needs its outcome")
    check.not_before(requests, "RequestOutcomeDate", decided, "the received date", received)
    assessment = requests.find("Assessment")
    outcome_on = check.date_of(assessment, "AssessmentOutcomeDate")
    a_outcome = check.code(assessment, "AssessmentOutcome", REQUEST_OUTCOMES)
    week20 = check.code(assessment, "Week20", _FLAGS)
    assessment_flags = [check.code(assessment, t, _FLAGS) for t in _ASSESSMENT_FLAGS]
    check.not_before(
        assessment, "AssessmentOutcomeDate", outcome_on, "the request's received date", received
    )
    check.needs(
        assessment, "AssessmentOutcome", "AssessmentOutcomeDate", "a date needs its outcome"
    )
    named = assessment.find("NamedPlan") if assessment is not None else None
    start = check.date_of(named, "StartDate")
    ceased = check.date_of(named, "CeaseDate")
    reason = check.code(named, "CeaseReason", CEASE_REASONS)
    check.not_before(named, "CeaseDate", ceased, "the plan start date", start)
    check.needs(named, "CeaseDate", "CeaseReason", "a cease reason needs the date the plan ended")
    active = requests.find("ActivePlans")
    if active is not None and start is None:
        check.add(active, "R-DATA-LINK", "ActivePlans without a NamedPlan StartDate: no plan")
    dates = {
        tag: check.date_of(active, tag, planned=tag == "PhaseTransferDueDate")
        for tag in _ACTIVE_DATES
    }
    review_outcome = check.code(active, "ReviewOutcome", REVIEW_OUTCOMES)
    transfer_la = _transfer_la(check, active)
    for tag in ("LastReview", "ReviewMeeting", "ReviewDraft"):
        check.not_before(active, tag, dates[tag], "the plan start", start)
    check.needs(active, "LastReview", "ReviewOutcome", "a review outcome needs its decision date")
    placements = [_placement(check, p) for p in _all(active, "PlacementDetail")]
    needs = _needs(check, active)
    if not check.ok:
        return check.issues
    key = received.isoformat() if received else f"H{index}"
    request_id = f"SEN2-{key}"
    if received is not None:
        facts.state(
            "Requests",
            key,
            received,
            AssessmentRequested(request_id=request_id, received_on=received),
        )
        if outcome is not None:
            decision = RequestDecided(
                request_id=request_id,
                outcome=outcome,
                decided_on=decided,
                mediation=request_flags[0],
                tribunal=request_flags[1],
            )
            facts.state("Requests", key, decided or received, decision)
        if a_outcome is not None:
            completed = AssessmentCompleted(
                request_id=request_id,
                outcome=a_outcome,
                outcome_on=outcome_on,
                exception=bool(week20),
                mediation=assessment_flags[0],
                tribunal=assessment_flags[1],
                other_mediation=assessment_flags[2],
                other_tribunal=assessment_flags[3],
            )
            facts.state("Assessment", key, outcome_on or received, completed)
    if start is not None:
        plan_id = f"{request_id}-PLAN"
        owner = request_id if received is not None else None
        facts.state(
            "NamedPlan", key, start, PlanIssued(plan_id=plan_id, request_id=owner, issued_on=start)
        )
        if ceased is not None:
            facts.state(
                "NamedPlan",
                key,
                ceased,
                PlanCeased(plan_id=plan_id, ceased_on=ceased, reason=reason),
            )
        if active is not None:
            _active(facts, key, plan_id, start, active, dates, review_outcome, transfer_la)
            for placement in placements:
                if placement is not None:
                    facts.state(
                        "PlacementDetail",
                        f"{key}:{placement.placement_id}",
                        placement.entry_on,
                        placement,
                    )
            facts.needs.update(needs)
    return check.issues


_ASSESSMENT_FLAGS = ("AssessmentMediation", "AssessmentTribunal", "OtherMediation", "OtherTribunal")


def _transfer_la(check: RequestsCheck, active: Element | None) -> str:
    """SEN2 5.1: the LA a plan was transferred in from (R-TRANSFER-IN reads it)."""
    element = active.find("TransferLA") if active is not None else None
    value = (element.text or "").strip() if element is not None else ""
    if element is not None and value and not LA_CODE.fullmatch(value):
        check.add(element, "R-DATA-CODE", f"{value!r} is not a 3-digit LA code or XXX")
        return ""
    return value


_ACTIVE_DATES = (
    "LastReview",
    "ReviewMeeting",
    "ReviewDraft",
    "PhaseTransferDueDate",
    "PhaseTransferFinalDate",
)


def _all(parent: Element | None, tag: str) -> list[Element]:
    return parent.findall(tag) if parent is not None else []


def _active(
    facts: PersonFacts,
    key: str,
    plan_id: str,
    start: date,
    active: Element,
    dates: dict[str, date | None],
    outcome: ReviewOutcome | None,
    transfer_la: str,
) -> None:
    stated = [
        *review_facts(plan_id, dates["LastReview"], dates["ReviewMeeting"], outcome),
        *active_plan_facts(
            plan_id,
            plan_start=start,
            draft=dates["ReviewDraft"],
            transfer_due=dates["PhaseTransferDueDate"],
            transfer_final=dates["PhaseTransferFinalDate"],
            transfer_la=transfer_la,
        ),
    ]
    for on, payload in stated:
        facts.state("ActivePlans", key, on, payload)


def _placement(check: RequestsCheck, detail: Element) -> PlacementRecorded | None:
    """A placement (SEN2 5.7), or None with warnings: no clock reads placements."""
    inside = check.reading.where(detail)[1]
    schema = [
        i for i in check.issues if i.column == inside or (i.column or "").startswith(inside + "/")
    ]
    local = RequestsCheck(check.reading, list(schema))
    given = [t for t in ("URN", "UKPRN", "SENSetting") if text(detail, t)]
    rank = local.code(detail, "PlacementRank", RANKS)
    entry = local.date_of(detail, "EntryDate")
    leaving = local.date_of(detail, "LeavingDate")
    local.not_before(detail, "LeavingDate", leaving, "the entry date", entry)
    if not given:
        local.add(detail, "R-DATA-REQUIRED", "give one of URN, UKPRN or SENSetting")
    if not text(detail, "PlacementRank"):
        local.add(detail, "R-DATA-REQUIRED", "PlacementRank is missing")
    for issue in local.issues[len(schema) :]:
        message = f"{issue.message} (placement not recorded)"
        check.issues.append(dataclasses.replace(issue, message=message, severity="warning"))
    if local.issues or rank is None:
        if len(local.issues) == len(schema):  # only the schema's faults: say what they cost
            message = "the placement has schema faults: not recorded"
            check.add(detail, "R-DATA-PLACEMENT", message, "warning")
        return None
    setting = text(detail, given[0])  # SEN2 asks for one; the first named when several are
    return PlacementRecorded(
        placement_id=placement_id(setting, rank, entry),
        setting=setting,
        rank=rank,
        entry_on=entry,
        leaving_on=leaving,
    )


def _needs(check: RequestsCheck, active: Element | None) -> dict[int, SenType]:
    """SEN2 5.8: at most two needs, one of each rank; a faulty need is left out (warning)."""
    found: dict[int, SenType] = {}
    for need in _all(active, "SENneed"):
        kind, rank = SEN_TYPES.get(text(need, "SENtype")), RANKS.get(text(need, "SENtypeRank"))
        if kind is None or rank is None:
            message = "SENneed needs both SENtype and SENtypeRank from their lists: left out"
            check.add(need, "R-DATA-NEED", message, "warning")
        elif rank in found:
            check.add(need, "R-DATA-NEED", f"a second need of rank {rank}: left out", "warning")
        else:
            found[rank] = kind
    return found
