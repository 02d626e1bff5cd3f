"""The SSD adapter's extension columns and files: review drafts, phase transfers, transfers in,
needs, placements, caseworker assignments; repeated rows; identities across tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from schemas.events import (
    PersonRegistered,
    PhaseTransfer,
    PlacementRecorded,
    PlanTransferredIn,
    ReviewDraftIssued,
    event_id_for,
)
from tests.unit.test_ssd_adapter import (
    ACTIVE_HEADER,
    clean_export,
    key,
    payloads,
    read,
    where,
    write_export,
)

NEED_HEADER = (
    "senn_table_id,senn_active_ehcp_id,senn_active_ehcp_need_type,senn_active_ehcp_need_rank"
)
PLACEMENT_HEADER = "person_id,URN,UKPRN,SENSetting,PlacementRank,EntryDate,LeavingDate"
ASSIGNMENT_HEADER = "person_id,caseworker_id,team,from_date"


def person(reading: object, child_ref: str) -> PersonRegistered:
    found = [p for p in payloads(reading) if isinstance(p, PersonRegistered)]  # type: ignore[arg-type]
    return next(p for p in found if p.child_ref == child_ref)


def test_sen2_named_columns_on_active_plans(tmp_path: Path) -> None:
    tables = clean_export()
    extra = ",ReviewDraft,PhaseTransferDueDate,PhaseTransferFinalDate,TransferLA"
    tables["ssd_ehcp_active_plans"] = [
        ACTIVE_HEADER + extra,
        "AP1,R1,2024-05-02,2024-04-10,A,2024-05-20,2025-09-01,2025-02-10,358",
    ]
    reading = read(write_export(tmp_path, tables))
    assert reading.issues == []
    found = payloads(reading)
    assert ReviewDraftIssued(plan_id="NP1", drafted_on=date(2024, 5, 20)) in found
    assert (
        PhaseTransfer(plan_id="NP1", transfer_due_on=date(2025, 9, 1), final_on=date(2025, 2, 10))
        in found
    )
    moved = PlanTransferredIn(
        plan_id="NP1", transferred_on=date(2023, 5, 20), from_la="358", anchor_on=date(2023, 5, 20)
    )
    assert moved in found


def test_a_planned_transfer_may_be_after_the_extract_but_nothing_else_may(tmp_path: Path) -> None:
    tables = clean_export()
    extra = ",ReviewDraft,PhaseTransferDueDate,TransferLA"
    tables["ssd_ehcp_active_plans"] = [
        ACTIVE_HEADER + extra,
        "AP1,R1,2024-05-02,2024-04-10,M,2025-07-20,2025-09-01,35",
    ]
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_ehcp_active_plans.csv", 2, "ReviewDraft", "R-DATA-FUTURE"),
        ("ssd_ehcp_active_plans.csv", 2, "TransferLA", "R-DATA-CODE"),
    ]
    assert str(reading.issues[1]).endswith("'35' is not a 3-digit LA code or XXX [R-DATA-CODE]")


def test_needs_add_to_the_person_fact(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_sen_need"] = [NEED_HEADER, "N1,AP1,ASD,1", "N2,AP1,slcn,2"]
    reading = read(write_export(tmp_path, tables))
    assert reading.issues == []
    ada = person(reading, "1001")
    assert (ada.primary_need, ada.secondary_need) == ("ASD", "SLCN")
    assert person(reading, "1002").primary_need is None


def test_bad_needs_are_refused_and_the_person_still_publishes(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_sen_need"] = [
        NEED_HEADER,
        "N1,AP1,ASD,1",
        "N2,AP1,MLD,1",
        "N3,AP1,XYZ,2",
        "N4,AP9,ASD,1",
    ]
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_sen_need.csv", 3, "senn_active_ehcp_need_rank", "R-DATA-NEED"),
        ("ssd_sen_need.csv", 4, "senn_active_ehcp_need_type", "R-DATA-CODE"),
        ("ssd_sen_need.csv", 5, "senn_active_ehcp_id", "R-DATA-LINK"),
    ]
    assert person(reading, "1001").primary_need == "ASD"


def test_placements(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_placements"] = [
        PLACEMENT_HEADER,
        "1001,123456,,,1,2023-09-01,",
        "1001,,,ehe,2,2024-01-08,2024-07-19",
        "1001,12345678,,,1,2024-09-01,",
        "1002,,,,1,2024-09-01,",
        "9999,,,OTH,1,,",
    ]
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_placements.csv", 4, "URN", "R-DATA-CODE"),
        ("ssd_placements.csv", 5, None, "R-DATA-REQUIRED"),
        ("ssd_placements.csv", 6, "person_id", "R-DATA-LINK"),
    ]
    assert "9999" not in str(reading.issues[2])
    placed = [p for p in payloads(reading) if isinstance(p, PlacementRecorded)]
    assert placed == [
        PlacementRecorded(
            placement_id="123456:1:2023-09-01", setting="123456", entry_on=date(2023, 9, 1)
        ),
        PlacementRecorded(
            placement_id="EHE:2:2024-01-08",
            setting="EHE",
            rank=2,
            entry_on=date(2024, 1, 8),
            leaving_on=date(2024, 7, 19),
        ),
    ]


def test_the_latest_caseworker_assignment_wins(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_caseworker_assignments"] = [
        ASSIGNMENT_HEADER,
        "1001,cw-07,west,2024-01-01",
        "1001,cw-03,south,2025-02-01",
        "1001,cw-05,east,2024-06-01",
        "1002,cw-09,,2031-01-01",
    ]
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_caseworker_assignments.csv", 5, "from_date", "R-DATA-FUTURE")
    ]
    ada, bo = person(reading, "1001"), person(reading, "1002")
    assert (ada.caseworker_id, ada.team) == ("cw-03", "south")
    assert bo.caseworker_id is None


def test_identical_rows_are_read_once_with_a_warning(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_requests"].append(tables["ssd_ehcp_requests"][1])
    reading = read(write_export(tmp_path, tables))
    assert [(i.row, i.rule, i.severity) for i in reading.issues] == [
        (4, "R-DATA-REPEAT", "warning")
    ]
    assert reading.rows_rejected == 0
    clean = read(write_export(tmp_path / ".." / tmp_path.name, clean_export()))
    assert sorted(e.event_id for e in reading.events) == sorted(e.event_id for e in clean.events)


def test_a_child_without_any_upn_information_is_a_warning(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_send"][2] = "S2,1002,,,"
    reading = read(write_export(tmp_path, tables))
    assert [(i.file, i.row, i.rule, i.severity) for i in reading.issues] == [
        ("ssd_send.csv", 3, "R-DATA-UPN", "warning")
    ]
    assert reading.rows_rejected == 0


def test_two_children_claiming_one_upn_are_kept_apart(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_person"][2] = "1002,Bo,Sample,A123456789012,2016-05-04,,"
    reading = read(write_export(tmp_path, tables))
    assert [(i.file, i.row, i.rule, i.severity) for i in reading.issues] == [
        ("ssd_person.csv", 3, "R-DATA-IDENTITY", "warning")
    ]
    assert "UPN already names another child" in reading.issues[0].message
    assert {e.person_key for e in reading.events} == {key("1001"), key("1002")}


def test_person_event_ids_are_those_of_the_first_release() -> None:
    """The optional needs added to PersonRegistered leave events without them unchanged."""
    payload = PersonRegistered(
        child_ref="1001", date_of_birth=date(2015, 3, 4), caseworker_id="cw-01", team="north"
    )
    assert event_id_for("liquidlogic", "ssd_person:1001", payload) == (
        "337e0295517c5ab9a54d7ad2b68d87ec"
    )
    assert "primary_need" not in payload.model_dump_json()
