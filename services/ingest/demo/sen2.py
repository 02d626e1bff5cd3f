"""The synthetic authority as a DfE SEN2 person-level return (XML, the 2026 schema's order).

The same children and facts as the SSD export: ingesting either gives the same journeys.
Elements follow the XSD's sequence; the file validates against the 2026 schema (and with
``year=2025``, the 2025 one, where ``LastReview`` comes before ``ReviewOutcome``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from lxml import etree

from services.ingest.demo.types import DemoChild, names, uln, upn

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


def _active(requests: Element, child: DemoChild, year: int) -> None:
    plan, extras = child.plan, child.extras
    assert plan is not None
    active = _add(requests, "ActivePlans")
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


def _requests(person: Element, child: DemoChild, year: int) -> None:
    requests = _add(person, "Requests")
    _add(requests, "ReceivedDate", child.received)
    if child.decision is not None:
        outcome, decided = child.decision
        _add(requests, "RequestOutcomeDate", decided)
        _add(requests, "RequestOutcome", outcome)
    if child.assessment is None:
        return
    outcome, on, exception = child.assessment
    assessment = _add(requests, "Assessment")
    _maybe(assessment, "AssessmentOutcome", outcome)
    _maybe(assessment, "AssessmentOutcomeDate", on)
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


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _person(persons: Element, child: DemoChild, year: int, today: date) -> None:
    forename, surname = names(child)
    person = _add(persons, "Person")
    _add(person, "Surname", surname)
    _add(person, "Forename", forename)
    _add(person, "PersonBirthDate", child.born)
    _add(person, "Sex", ("F", "M")[child.number % 2])
    _add(person, "Ethnicity", ETHNICITIES[child.number % len(ETHNICITIES)])
    _add(person, "UPN", upn(child))
    if _age(child.born, today) >= 16:  # a young person's ULN (Learning Records Service)
        _maybe(person, "UniqueLearnerNumber", uln(child))
    _requests(person, child, year)


def write_sen2(
    path: Path,
    children: Sequence[DemoChild],
    *,
    today: date,
    la_code: str = DEMO_LA,
    year: int = 2026,
) -> None:
    message = etree.Element("Message")
    _header(message, today, la_code, year)
    if children:
        persons = _add(message, "Persons")
        for child in children:
            _person(persons, child, year, today)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        etree.tostring(message, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )
