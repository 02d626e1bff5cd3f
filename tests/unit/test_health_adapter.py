"""The health referral adapter: local columns and codes through the mapping file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from schemas.events import ReferralClosed, ReferralFirstContact, ReferralReceived
from services.ingest.health.adapter import read_health_referrals
from services.ingest.identity import person_key
from services.ingest.issues import ExportReading
from services.ingest.linking import IdentityLinker

SECRET = "test-secret"
EXTRACTED = datetime(2025, 6, 30, 18, 0, tzinfo=UTC)
MAPPING = """
person: {column: NHS No, identifier: nhs}
columns:
  referral_id: Ref
  service: Service
  referral_date: Received
  first_contact: Seen
  closed: Closed
services:
  ASD-DIAG: autism
  slt: salt
"""
HEADER = "NHS No,Ref,Service,Received,Seen,Closed"


def write(directory: Path, *rows: str, mapping: str = MAPPING) -> Path:
    (directory / "health_mapping.yaml").write_text(mapping)
    (directory / "health_referrals.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    return directory


def read(directory: Path, linker: IdentityLinker | None = None) -> ExportReading:
    return read_health_referrals(directory, secret=SECRET, extracted_at=EXTRACTED, linker=linker)


def test_referrals_become_wait_events_keyed_by_nhs_number(tmp_path: Path) -> None:
    reading = read(
        write(
            tmp_path,
            "9990000018,HR1,ASD-DIAG,2024-10-01,2025-03-03,",
            "999 000 0026,HR2,SLT,01/02/2025,,2025-04-01",
        )
    )
    assert reading.issues == []
    assert [e.payload for e in reading.events] == [
        ReferralReceived(referral_id="HR1", service="autism", received_on=date(2024, 10, 1)),
        ReferralFirstContact(referral_id="HR1", contact_on=date(2025, 3, 3)),
        ReferralReceived(referral_id="HR2", service="salt", received_on=date(2025, 2, 1)),
        ReferralClosed(referral_id="HR2", closed_on=date(2025, 4, 1)),
    ]
    assert reading.events[0].person_key == person_key(SECRET, "nhs", "9990000018")
    assert reading.events[2].person_key == person_key(SECRET, "nhs", "9990000026")


def test_referrals_reach_the_case_system_child_with_that_nhs_number(tmp_path: Path) -> None:
    linker = IdentityLinker(SECRET)
    linker.resolve(("liquidlogic", "1001"), [("nhs", "9990000018")])
    reading = read(write(tmp_path, "9990000018,HR1,ASD-DIAG,2024-10-01,,"), linker)
    assert {e.person_key for e in reading.events} == {person_key(SECRET, "liquidlogic", "1001")}


def test_unknown_services_and_bad_rows_are_reported_and_good_rows_publish(tmp_path: Path) -> None:
    reading = read(
        write(
            tmp_path,
            "9990000018,HR1,ASD-DIAG,2024-10-01,2024-09-01,",
            "9990000018,HR2,PHYSIO,2024-10-01,,",
            "9990000018,HR3,OT-KIDS,2024-10-01,,",
            ",HR4,SLT,2024-10-01,,",
            "9990000026,HR5,SLT,2024-10-01,,",
        )
    )
    assert [(i.row, i.column, i.rule, i.severity) for i in reading.issues] == [
        (2, "Seen", "R-DATA-ORDER", "error"),
        (3, "Service", "R-DATA-SERVICE", "error"),
        (4, "Service", "R-DATA-SERVICE", "error"),
        (5, "NHS No", "R-DATA-REQUIRED", "error"),
        (None, "Service", "R-DATA-SERVICE", "warning"),
    ]
    assert (
        reading.issues[-1].message == "service codes not in the mapping file: 'OT-KIDS', 'PHYSIO'"
    )
    assert "999" not in " ".join(str(i) for i in reading.issues)  # never an NHS number
    assert [e.payload.referral_id for e in reading.events] == ["HR5"]  # type: ignore[union-attr]
    assert (reading.rows_read, reading.rows_rejected) == (5, 4)


def test_a_missing_local_column_is_named_as_the_file_has_it(tmp_path: Path) -> None:
    (tmp_path / "health_mapping.yaml").write_text(MAPPING)
    (tmp_path / "health_referrals.csv").write_text("NHS No,Ref,Service\n9990000018,HR1,SLT\n")
    reading = read(tmp_path)
    assert [str(i) for i in reading.issues] == [
        "health_referrals.csv Received: the file was not read: it has no column Received "
        "[R-DATA-FILE]"
    ]


def test_a_mapping_to_a_service_the_rule_pack_lacks_is_refused(tmp_path: Path) -> None:
    reading = read(write(tmp_path, mapping=MAPPING.replace("salt", "dentistry")))
    assert len(reading.issues) == 1
    assert reading.issues[0].file == "health_mapping.yaml"
    assert "['dentistry'] are not in the rule pack" in reading.issues[0].message


def test_a_missing_mapping_file(tmp_path: Path) -> None:
    reading = read(tmp_path)
    assert [str(i) for i in reading.issues] == [
        "health_mapping.yaml: the mapping file is missing [R-DATA-FILE]"
    ]
