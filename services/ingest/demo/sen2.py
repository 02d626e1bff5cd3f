"""The synthetic authority as a DfE SEN2 person-level return (XML, the 2026 schema's order).

The same children and facts as the SSD export: ingesting either gives the same journeys.
Elements follow the XSD's sequence; the file validates against the 2026 schema (and with
``year=2025``, the 2025 one, where ``LastReview`` comes before ``ReviewOutcome``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from lxml import etree

from services.ingest.demo.history import (
    BAD_POSTCODE,
    impossible,
    wrong_check_digit,
    wrong_check_letter,
)
from services.ingest.demo.types import (
    ASSESSMENT_FLAGS,
    REQUEST_FLAGS,
    DemoChild,
    DemoRequest,
    Flag,
    names,
    uln,
    upn,
    upn_unknown,
)

DEMO_LA = "358"  # Trafford: an LA outside London, which the published XSD would refuse
SEN2_FILE = "sen2_return.xml"
ETHNICITIES = ("WBRI", "WIRI", "ABRI", "BAFR", "WROM", "OLAM")

Element = etree._Element


def _add(parent: Element, tag: str, value: object | None = None) -> Element:
    element = etree.SubElement(parent, tag)
    if value is not None:
        element.text = value.isoformat() if isinstance(value, date) else str(value)
    return element


def _maybe(parent: Element, tag: str, value: object | None) -> None:
    if value is not None and value != "":
        _add(parent, tag, value)


def census_day(today: date) -> date:
    """SEN2's reference date: the January census day (the third Thursday of January) of the
    latest collection on or before ``today``."""
    for year in (today.year, today.year - 1):
        first = date(year, 1, 1)
        day = first + timedelta(days=(3 - first.weekday()) % 7 + 14)
        if day <= today:
            return day
    raise AssertionError("unreachable: last January's census day is before today")


def _header(message: Element, today: date, la_code: str, year: int) -> None:
    header = _add(message, "Header")
    collection = _add(header, "CollectionDetails")
    _add(collection, "Collection", "SEN2")
    _add(collection, "Year", year)
    _add(collection, "ReferenceDate", census_day(today))
    source = _add(header, "Source")
    for tag, value in (
        ("SourceLevel", "L"),
        ("LEA", la_code),
        ("SoftwareCode", "casewatch-demo"),
        ("Release", "1"),
        ("SerialNo", "001"),
        ("DateTime", datetime.combine(today, time(18), tzinfo=UTC).isoformat()),
        ("DMO", "Y"),
        ("DCO", "Y"),
        ("DSCO", "Y"),
    ):
        _add(source, tag, value)


def _flags(parent: Element, flags: frozenset[Flag], which: tuple[Flag, ...]) -> None:
    for flag in which:
        _add(parent, flag, 1 if flag in flags else 0)


def _active(requests: Element, child: DemoChild, year: int) -> None:
    plan, extras = child.plan, child.extras
    assert plan is not None
    active = _add(requests, "ActivePlans")
    _maybe(active, "TransferLA", extras.transfer_la)
    if extras.setting:
        detail = _add(active, "PlacementDetail")
        _add(detail, "URN" if extras.setting.isdigit() else "SENSetting", extras.setting)
        _add(detail, "PlacementRank", 1)
        _add(detail, "EntryDate", plan.start)
    for rank, need in enumerate(extras.needs, start=1):
        element = _add(active, "SENneed")
        _add(element, "SENtype", need)
        _add(element, "SENtypeRank", rank)
    _maybe(active, "ReviewMeeting", plan.meeting)
    if year == 2025:
        _maybe(active, "LastReview", plan.last_review)
    _maybe(active, "ReviewOutcome", plan.review_outcome)
    _maybe(active, "PhaseTransferDueDate", extras.phase_due)
    _maybe(active, "PhaseTransferFinalDate", extras.phase_final)
    if year != 2025:
        _maybe(active, "LastReview", plan.last_review)


def _earlier(person: Element, earlier: DemoRequest, impossible_date: bool) -> None:
    """A refused request before the one in force (its own ``Requests`` module)."""
    requests = _add(person, "Requests")
    _add(requests, "ReceivedDate", earlier.received)
    decided = impossible(earlier.decided) if impossible_date else earlier.decided
    _add(requests, "RequestOutcomeDate", decided)
    _add(requests, "RequestOutcome", "N")
    _flags(requests, earlier.flags, REQUEST_FLAGS)


def _requests(person: Element, child: DemoChild, year: int) -> None:
    requests = _add(person, "Requests")
    _add(requests, "ReceivedDate", child.received)
    if child.decision is not None:
        outcome, decided = child.decision
        _add(requests, "RequestOutcomeDate", decided)
        _add(requests, "RequestOutcome", outcome)
        _flags(requests, child.flags, REQUEST_FLAGS)
    if child.assessment is None:
        return
    outcome, on, exception = child.assessment
    assessment = _add(requests, "Assessment")
    _maybe(assessment, "AssessmentOutcome", outcome)
    _maybe(assessment, "AssessmentOutcomeDate", on)
    if outcome:
        _flags(assessment, child.flags, ASSESSMENT_FLAGS)
    _add(assessment, "Week20", 1 if exception else 0)
    plan = child.plan
    if plan is not None:
        named = _add(assessment, "NamedPlan")
        _add(named, "StartDate", plan.start)
        if child.extras.setting:  # SEN2 4.7: the setting the plan names
            detail = _add(named, "PlanDetail")
            setting = child.extras.setting
            _add(detail, "URN" if setting.isdigit() else "SENSetting", setting)
            _add(detail, "PlacementRank", 1)
        _maybe(named, "CeaseDate", plan.ceased)
        _maybe(named, "CeaseReason", plan.cease_reason)
        if plan.ceased is None:
            _active(requests, child, year)


def _person(persons: Element, child: DemoChild, year: int, faults: frozenset[str]) -> None:
    forename, surname = names(child)
    person = _add(persons, "Person")
    _add(person, "Surname", surname)
    _add(person, "Forename", forename)
    _add(person, "PersonBirthDate", child.born)
    _add(person, "Sex", ("F", "M")[child.number % 2])
    _add(person, "Ethnicity", ETHNICITIES[child.number % len(ETHNICITIES)])
    if "postcode" in faults:
        _add(person, "PostCode", BAD_POSTCODE)
    found_upn, found_uln = upn(child), uln(child)  # a young person's ULN: the LRS's
    _maybe(person, "UPN", wrong_check_letter(found_upn) if "upn" in faults else found_upn)
    _maybe(
        person,
        "UniqueLearnerNumber",
        wrong_check_digit(found_uln) if "uln" in faults else found_uln,
    )
    _maybe(person, "UPNunknown", upn_unknown(child))
    for earlier in child.earlier:
        _earlier(person, earlier, "date" in faults)
    _requests(person, child, year)


def write_sen2(
    path: Path,
    children: Sequence[DemoChild],
    *,
    today: date,
    la_code: str = DEMO_LA,
    year: int = 2026,
    faults: Mapping[int, frozenset[str]] | None = None,
) -> None:
    """The return of ``children`` (with ``faults``: ``history.messy_faults``)."""
    faults = faults or {}
    message = etree.Element("Message")
    _header(message, today, la_code, year)
    if children:
        persons = _add(message, "Persons")
        for child in children:
            _person(persons, child, year, faults.get(child.number, frozenset()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        etree.tostring(message, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )
