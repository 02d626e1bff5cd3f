"""The SEN2 XML adapter: a DfE person-level return in, events and issues out.

The return is validated against the (patched, see ``sen2_schema``) XSD of its year.  A schema
error inside a ``Person`` rejects that person; one outside (the header) is reported and the
persons are still read.  Then rules.md §7 checks run per ``Requests`` module: a module with
an error publishes nothing, and the person's other modules still publish.

Who a person is: their UPN, else ULN, else (a child under 6 with neither) a keyed hash of
name and date of birth; linked through :class:`IdentityLinker`.  The case-system export is
the record for any child it names: SEN2 has no record ids, so its requests cannot be
matched to the case system's, and stating them again would double every clock.  Such
persons are skipped and counted in one warning.  A person no case system names gets a
``person.registered`` with a pseudonymous ``child_ref`` (``SEN2-…``), never a UPN.

The return's LA code and reference date are kept in ``ExportReading.header``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from lxml import etree

from schemas.events import PersonRegistered
from services.ingest.dates import DEFAULT_RANGES, DateRanges
from services.ingest.identifiers import postcode_fault, uln_fault, upn_fault
from services.ingest.issues import ExportReading, Issue
from services.ingest.linking import Identifier, IdentityLinker, demographic
from services.ingest.sen2 import fields
from services.ingest.sen2.person import (
    SOURCE_SYSTEM,
    Element,
    PersonFacts,
    RequestsCheck,
    Sen2Reading,
    read_requests,
    text,
)
from services.ingest.sen2.schema import parser, schema_errors, year_of

SCOPES = ("Person", "Requests", "Assessment", "NamedPlan", "ActivePlans", "PlacementDetail")


def read_sen2_return(
    path: Path,
    *,
    secret: str,
    extracted_at: datetime,
    linker: IdentityLinker | None = None,
    year: int | None = None,
    future_tolerance_days: int = 0,
    date_ranges: DateRanges = DEFAULT_RANGES,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReading:
    """Read the SEN2 return at ``path`` as of ``extracted_at`` (an aware datetime)."""
    if extracted_at.tzinfo is None:
        raise ValueError("extracted_at must be timezone-aware")
    result = ExportReading([], [], 0, 0)
    try:
        tree = etree.parse(str(path), parser())
    except (OSError, etree.XMLSyntaxError) as error:
        reason = getattr(error, "msg", None) or type(error).__name__
        message = f"the file was not read: it is not well-formed XML ({reason})"
        result.issues.append(Issue(path.name, None, None, "R-DATA-FILE", message))
        return result
    if getattr(tree.docinfo, "doctype", ""):  # lxml-stubs lack DocInfo.doctype
        message = "the file was not read: a return has no DOCTYPE (entities are not expanded)"
        result.issues.append(Issue(path.name, None, None, "R-DATA-FILE", message))
        return result
    year = year or year_of(tree)
    result.header.update(_header(tree, year))
    faults: dict[tuple[int, int], list[Issue]] = {}  # (person, Requests module or 0)
    for line, where, message in schema_errors(tree, year):
        severity = fields.severity(where, message, _repeated(tree, where))
        issue = Issue(path.name, line, where, "R-SEN2-SCHEMA", message, severity)
        record, person, module = fields.where(where)
        if record == "header":
            result.issues.append(issue)
        else:
            faults.setdefault((person, module), []).append(issue)
    for scope in SCOPES:
        result.read_scope(SOURCE_SYSTEM, scope)
    latest = extracted_at.date() + timedelta(days=future_tolerance_days)
    reading = Sen2Reading(path.name, extracted_at, latest, result, tree, date_ranges)
    persons = tree.findall("Persons/Person")
    linker = linker or IdentityLinker(secret)
    skipped = 0
    for number, person in enumerate(persons, start=1):
        if progress is not None and number % 1000 == 0:
            progress(number, len(persons))
        skipped += _person(reading, linker, person, number, faults)
    if skipped:
        message = (
            f"{skipped} persons are named by a case-system export already: that export is "
            "their record, and their SEN2 modules were not published"
        )
        result.issues.append(Issue(path.name, None, None, "R-SEN2-LINKED", message, "warning"))
    return result


def _header(tree: etree._ElementTree, year: int) -> dict[str, str]:
    found = {
        "la_code": text(tree.find("Header/Source"), "LEA"),
        "reference_date": text(tree.find("Header/CollectionDetails"), "ReferenceDate"),
        "collection_year": text(tree.find("Header/CollectionDetails"), "Year"),
        "schema_year": str(year),
    }
    return {k: v for k, v in found.items() if v}


def _identifiers(person: Element, born: date | None) -> list[Identifier]:
    """UPN and ULN; name and date of birth only for a young person with neither."""
    shared = [("upn", text(person, "UPN")), ("uln", text(person, "UniqueLearnerNumber"))]
    found = [(kind, value) for kind, value in shared if value]
    if found:
        return found
    named = demographic(text(person, "Forename"), text(person, "Surname"), born)
    return [named] if named is not None else []


def _person(
    reading: Sen2Reading,
    linker: IdentityLinker,
    person: Element,
    number: int,
    faults: dict[tuple[int, int], list[Issue]],
) -> int:
    """Read one person; 1 if it was skipped as a case-system child, else 0."""
    result = reading.result
    requests = person.findall("Requests")
    result.rows_read += 1 + len(requests)
    check = RequestsCheck(reading, list(faults.get((number, 0), [])), personal=True)
    born = check.date_of(person, "PersonBirthDate")
    _identifier_checks(check, person)
    if not check.ok:
        result.issues.extend(check.issues)
        result.rows_rejected += 1 + len(requests)
        return 0
    resolution = linker.resolve(None, _identifiers(person, born))
    if resolution.person_key is None:
        check.add(person, "R-DATA-IDENTITY", resolution.message())
        result.issues.extend(check.issues)
        result.rows_rejected += 1 + len(requests)
        return 0
    result.issues.extend(check.issues)
    key = resolution.person_key
    if linker.named_by_a_system(key):
        return 1
    facts = PersonFacts(key, _reference(linker.secret, key), reading)
    for index, module in enumerate(requests, start=1):
        issues = read_requests(facts, module, index, faults.get((number, index), []))
        result.issues.extend(issues)
        result.rows_rejected += any(i.severity == "error" for i in issues)
    registered = PersonRegistered(
        child_ref=facts.ref,
        date_of_birth=born,
        primary_need=facts.needs.get(1),
        secondary_need=facts.needs.get(2),
    )
    facts.facts.insert(0, ("Person:" + facts.ref, None, registered))
    facts.publish()
    return 0


def _identifier_checks(check: RequestsCheck, person: Element) -> None:
    """UPN, ULN and postcode shapes (warnings: no clock reads them; a UPN or ULN still links
    the child)."""
    if not any(text(person, t) for t in ("UPN", "UniqueLearnerNumber", "UPNunknown")):
        check.add(person, "R-DATA-UPN", "no UPN, ULN or UPN-unknown reason", "warning")
    for tag, rule, fault in (
        ("UPN", "R-DATA-UPN", upn_fault),
        ("UniqueLearnerNumber", "R-DATA-ULN", uln_fault),
        ("PostCode", "R-DATA-POSTCODE", postcode_fault),
    ):
        element = person.find(tag)
        value = text(person, tag)
        if element is not None and value and (why := fault(value)) is not None:
            check.add(element, rule, why, "warning")


def _repeated(tree: etree._ElementTree, where: str) -> bool:
    """Whether the element at ``where`` has a sibling of its own name."""
    try:
        found = tree.xpath(where)
    except etree.XPathError:
        return False
    if not isinstance(found, list) or not found or not isinstance(found[0], etree._Element):
        return False
    element = found[0]
    parent = element.getparent()
    return parent is not None and len(parent.findall(element.tag)) > 1


def _reference(secret: str, key: str) -> str:
    """A pseudonymous reference for a child no case system names (not the person key)."""
    digest = hmac.new(secret.encode(), f"sen2-ref:{key}".encode(), hashlib.sha256).hexdigest()
    return f"SEN2-{digest[:10].upper()}"
