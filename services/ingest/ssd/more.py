"""The SSD files that describe a child rather than a request: persons, needs, placements and
caseworker assignments.  Needs and assignments add to the child's person fact."""

from __future__ import annotations

import re
from dataclasses import replace

from schemas.events import PlacementRecorded
from services.ingest.codes import RANKS, SEN_SETTINGS, SEN_TYPES, placement_id
from services.ingest.csvtable import RowCheck, Table
from services.ingest.identifiers import identifier_fault, upn_unknown_fault
from services.ingest.linking import demographic
from services.ingest.ssd.link import Index, Link, link_to, put
from services.ingest.ssd.reading import PersonDraft, SsdReading
from services.ingest.ssd.tables import ACTIVE_PLANS, PERSON, PLACEMENTS

_URN = re.compile(r"\d{6}")
_UKPRN = re.compile(r"\d{8}")


def identifier_checks(check: RowCheck, columns: dict[str, str], unknown: str) -> None:
    """UPN, ULN and NHS number shapes and check characters, and the UPN-unknown code: warnings
    (no clock reads them; the value still links the child).  Values are never quoted."""
    for column, kind in columns.items():
        value = check.row[column]
        fault = identifier_fault(kind, value) if value else None
        if fault is not None:
            check.warn(column, *fault)
    code = check.row[unknown]
    if code and (why := upn_unknown_fault(code)) is not None:
        check.warn(unknown, "R-DATA-UPN", why)


def persons(reading: SsdReading, table: Table) -> Index:
    index: Index = {}
    for check in reading.checks(table):
        person_id = check.key()
        born = check.parsed_date("pers_dob", kind="birth")
        identifier_checks(
            check, {"pers_upn": "upn", "pers_single_unique_id": "nhs"}, "pers_upn_unknown"
        )
        link = None
        if reading.accept(check):
            row = check.row
            own = (reading.source_system, person_id)
            shared = [("upn", row["pers_upn"]), ("nhs", row["pers_single_unique_id"])]
            named = demographic(row["pers_forename"], row["pers_surname"], born)
            shared += [named] if named is not None else []
            resolution = reading.linker.resolve(own, shared)
            reading.conflict(check, resolution.conflicts)
            assert resolution.person_key is not None  # a record with its own id always has one
            has_upn = bool(row["pers_upn"] or row["pers_upn_unknown"])
            link = Link(resolution.person_key, has_upn=has_upn)
            caseworker, team = row["caseworker_id"] or None, row["team"] or None
            reading.drafts[link.person_key] = PersonDraft(person_id, born, caseworker, team)
        put(index, person_id, check, link)
    return index


def needs(reading: SsdReading, table: Table, actives: Index) -> None:
    """SEN2 5.8: at most one need of each rank (1 primary, 2 secondary) per active plan."""
    ranked: dict[tuple[str, int], int] = {}
    for check in reading.checks(table):
        check.key()
        active_id = check.row["senn_active_ehcp_id"]
        active = link_to(check, "senn_active_ehcp_id", actives, ACTIVE_PLANS)
        check.required("senn_active_ehcp_need_type")
        need = check.code("senn_active_ehcp_need_type", SEN_TYPES)
        check.required("senn_active_ehcp_need_rank")
        rank = check.code("senn_active_ehcp_need_rank", RANKS)
        if rank is not None and active_id:
            earlier = ranked.setdefault((active_id, rank), check.row.line)
            if earlier != check.row.line:
                message = (
                    f"active plan {active_id!r} already has a rank {rank} need on row {earlier}"
                )
                check.add("senn_active_ehcp_need_rank", "R-DATA-NEED", message)
        if reading.accept(check) and active is not None and need and rank:
            draft = reading.drafts.get(active.person_key)
            if draft is not None:
                draft.needs[rank] = need


def _setting(check: RowCheck) -> str:
    """Exactly one of URN, UKPRN or SENSetting (SEN2 5.7a-c)."""
    urn, ukprn, setting = (check.row[c] for c in ("URN", "UKPRN", "SENSetting"))
    given = [c for c, v in (("URN", urn), ("UKPRN", ukprn), ("SENSetting", setting)) if v]
    if len(given) != 1:
        message = f"give exactly one of URN, UKPRN or SENSetting ({len(given)} given)"
        check.add(None, "R-DATA-REQUIRED", message)
    elif urn and not _URN.fullmatch(urn):
        check.add("URN", "R-DATA-CODE", f"{urn!r} is not a URN (6 digits)")
    elif ukprn and not _UKPRN.fullmatch(ukprn):
        check.add("UKPRN", "R-DATA-CODE", f"{ukprn!r} is not a UKPRN (8 digits)")
    elif setting and setting.upper() not in SEN_SETTINGS:
        known = "/".join(SEN_SETTINGS)
        check.add("SENSetting", "R-DATA-CODE", f"{setting!r} is not one of {known}")
    return urn or ukprn or setting.upper()


def _placement_faults_warn(check: RowCheck) -> bool:
    """No clock reads a placement: its faults are warnings and it is not recorded (SEN2's
    R-DATA-PLACEMENT); only a link to an unknown or rejected child stays an error.  True
    when the placement has a fault."""
    faulty = False
    for n, issue in enumerate(check.issues):
        if issue.severity == "error" and issue.rule not in ("R-DATA-LINK", "R-DATA-FILE"):
            message = f"{issue.message} (placement not recorded)"
            check.issues[n] = replace(issue, message=message, severity="warning")
            faulty = True
    return faulty


def placements(reading: SsdReading, table: Table, people: Index) -> None:
    for check in reading.checks(table):
        person = link_to(check, "person_id", people, PERSON)
        setting = _setting(check)
        check.required("PlacementRank")
        rank = check.code("PlacementRank", RANKS)
        entry = check.parsed_date("EntryDate")
        leaving = check.parsed_date("LeavingDate")
        check.not_before("LeavingDate", leaving, "the entry date", entry)
        faulty = _placement_faults_warn(check)
        if reading.accept(check) and person is not None and rank is not None and not faulty:
            own = check.row["placement_id"] or placement_id(setting, rank, entry)
            placement = PlacementRecorded(
                placement_id=own, setting=setting, rank=rank, entry_on=entry, leaving_on=leaving
            )
            record = f"{check.row['person_id']}:{own}"
            reading.emit(PLACEMENTS, record, person.person_key, entry, placement)


def assignments(reading: SsdReading, table: Table, people: Index) -> None:
    """The caseworker of each child: the assignment with the latest from date wins (rows are
    never dated after the extract: that is R-DATA-FUTURE)."""
    for check in reading.checks(table):
        person = link_to(check, "person_id", people, PERSON)
        caseworker = check.required("caseworker_id")
        start = check.parsed_date("from_date", required=True)
        if reading.accept(check) and person is not None and start is not None:
            draft = reading.drafts.get(person.person_key)
            if draft is not None and (draft.assigned_from is None or start >= draft.assigned_from):
                draft.caseworker_id = caseworker
                draft.team = check.row["team"] or None
                draft.assigned_from = start
