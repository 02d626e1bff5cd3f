"""SSD and health faults in fields no clock reads warn and keep the record (issue 12 item 2);
a fault in a field a clock reads still rejects it.  The same classification as SEN2's
(``services/ingest/sen2/fields.py``), over the same identifier checks (``identifiers``)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from schemas.events import PersonRegistered, PlacementRecorded, ReferralReceived
from services.ingest.identifiers import (
    identifier_fault,
    nhs_fault,
    nhs_with_check,
    uln_with_check,
    upn_unknown_fault,
    upn_with_check,
)
from tests.unit.test_health_adapter import read as read_health
from tests.unit.test_health_adapter import write as write_health
from tests.unit.test_ssd_adapter import clean_export, key, payloads, read, write_export
from tests.unit.test_ssd_extensions import PLACEMENT_HEADER

SEND_HEADER = "send_table_id,send_person_id,send_upn,send_uln,send_upn_unknown"
PERSON_HEADER = (
    "pers_person_id,pers_forename,pers_surname,pers_upn,pers_dob,caseworker_id,team,"
    "pers_single_unique_id,pers_upn_unknown"
)
GOOD_UPN = upn_with_check("123456789013")
BAD_UPN = ("A" if GOOD_UPN[0] != "A" else "B") + GOOD_UPN[1:]  # a wrong check letter
GOOD_ULN = "9276308686"  # HESA's worked example
BAD_ULN = "9276308687"
GOOD_NHS = "9434765919"  # NHS Digital's published example
BAD_NHS = "9434765910"


def severities(issues: list[object]) -> list[tuple[object, ...]]:
    return [(i.file, i.row, i.column, i.rule, i.severity) for i in issues]  # type: ignore[attr-defined]


def test_faulty_identifiers_in_ssd_warn_and_keep_the_child(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_person"] = [
        PERSON_HEADER,
        f"1001,Ada,Example,{BAD_UPN},2015-03-04,cw-01,north,{BAD_NHS},",
        "1002,Bo,Sample,,2016-05-04,,,,UN4",
    ]
    tables["ssd_send"] = [SEND_HEADER, f"S1,1001,{GOOD_UPN},{BAD_ULN},", "S2,1002,,,UN2"]
    reading = read(write_export(tmp_path, tables))
    assert severities(reading.issues) == [
        ("ssd_person.csv", 2, "pers_upn", "R-DATA-UPN", "warning"),
        ("ssd_person.csv", 2, "pers_single_unique_id", "R-DATA-NHS", "warning"),
        ("ssd_person.csv", 3, "pers_upn_unknown", "R-DATA-UPN", "warning"),
        ("ssd_send.csv", 2, "send_uln", "R-DATA-ULN", "warning"),
    ]
    assert reading.rows_rejected == 0
    registered = {e.person_key for e in reading.events if isinstance(e.payload, PersonRegistered)}
    assert registered == {key("1001"), key("1002")}  # both kept, with every request
    (tmp_path / "clean").mkdir()
    clean = read(write_export(tmp_path / "clean", clean_export()))
    assert len(reading.events) == len(clean.events)  # nothing dropped for the warnings
    text = " ".join(str(i) for i in reading.issues)
    for value in (BAD_UPN, BAD_NHS, BAD_ULN, "UN4", "1001", "1002"):
        assert value not in text


def test_a_clock_field_still_rejects_its_row(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_requests"][2] = "R2,S2,2025-02-30,,"  # an impossible received date
    reading = read(write_export(tmp_path, tables))
    assert [(i.rule, i.severity) for i in reading.issues] == [("R-DATA-DATE", "error")]
    assert reading.rows_rejected == 1


def test_placement_faults_warn_and_leave_that_placement_out(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_placements"] = [
        PLACEMENT_HEADER,
        "1001,123456,,,1,2023-09-01,",
        "1001,12345,,,1,2024-09-01,",  # a 5-digit URN
        "1001,,1234567,,1,2024-09-01,",  # a 7-digit UKPRN
        "1001,,,XYZ,1,2024-09-01,",
        "1001,,,EHE,7,2024-09-01,",
        "1002,,,,1,2024-09-01,",
        "9999,,,OTH,1,,",  # a child the export does not hold: still an error
    ]
    reading = read(write_export(tmp_path, tables))
    assert severities(reading.issues) == [
        ("ssd_placements.csv", 3, "URN", "R-DATA-CODE", "warning"),
        ("ssd_placements.csv", 4, "UKPRN", "R-DATA-CODE", "warning"),
        ("ssd_placements.csv", 5, "SENSetting", "R-DATA-CODE", "warning"),
        ("ssd_placements.csv", 6, "PlacementRank", "R-DATA-CODE", "warning"),
        ("ssd_placements.csv", 7, None, "R-DATA-REQUIRED", "warning"),
        ("ssd_placements.csv", 8, "person_id", "R-DATA-LINK", "error"),
    ]
    assert all("placement not recorded" in i.message for i in reading.issues[:-1])
    assert reading.rows_rejected == 1
    placed = [p for p in payloads(reading) if isinstance(p, PlacementRecorded)]
    assert [p.setting for p in placed] == ["123456"]


def test_a_health_identifier_fault_warns_and_the_referral_is_published(tmp_path: Path) -> None:
    reading = read_health(
        write_health(
            tmp_path, f"{BAD_NHS},HR1,ASD-DIAG,2024-10-01,,", f"{GOOD_NHS},HR2,SLT,2024-10-01,,"
        )
    )
    assert [(i.row, i.column, i.rule, i.severity) for i in reading.issues] == [
        (2, "NHS No", "R-DATA-NHS", "warning")
    ]
    assert BAD_NHS not in str(reading.issues[0])
    referrals = [e.payload for e in reading.events if isinstance(e.payload, ReferralReceived)]
    assert [r.referral_id for r in referrals] == ["HR1", "HR2"]
    assert reading.rows_rejected == 0


def test_a_health_clock_field_still_rejects(tmp_path: Path) -> None:
    reading = read_health(write_health(tmp_path, f"{GOOD_NHS},HR1,ASD-DIAG,2024-13-01,,"))
    assert [(i.rule, i.severity) for i in reading.issues] == [("R-DATA-DATE", "error")]
    assert (reading.events, reading.rows_rejected) == ([], 1)


@given(st.from_regex(r"[0-9]{9}", fullmatch=True))
def test_nhs_numbers_with_their_check_digit_pass_and_any_other_last_digit_fails(nine: str) -> None:
    number = nhs_with_check(nine)
    if number is None:  # 11 - sum % 11 == 10: no NHS number has these nine digits
        assert all(nhs_fault(nine + d) is not None for d in "0123456789")
        return
    assert nhs_fault(number) is None
    assert nhs_fault(f"{number[:3]} {number[3:6]} {number[6:]}") is None
    assert all(nhs_fault(nine + d) is not None for d in "0123456789" if d != number[9])


def test_identifier_kinds_and_unknown_codes() -> None:
    assert identifier_fault("uln", GOOD_ULN) is None
    assert identifier_fault("uln", BAD_ULN) == (
        "R-DATA-ULN",
        "the ULN's check digit (digit 10) does not match digits 1-9",
    )
    assert identifier_fault("upn", BAD_UPN)[0] == "R-DATA-UPN"  # type: ignore[index]
    assert identifier_fault("nhs", "12345") == ("R-DATA-NHS", "an NHS number is 10 digits")
    assert identifier_fault("liquidlogic", "anything") is None
    assert uln_with_check("927630868") == GOOD_ULN
    assert upn_unknown_fault("un9") is None and upn_unknown_fault("UN4") is not None
