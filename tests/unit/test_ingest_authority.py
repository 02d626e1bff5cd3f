"""``casewatch ingest`` and the source authority table; the health mapping's confinement."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from schemas.events import Event, PlanCeased, ReferralReceived, make_event
from services.ingest.authority import entitled_only, refuse_unentitled
from services.ingest.envelope import event_json
from services.ingest.issues import ExportReading
from tests.factories import at
from tests.unit.test_health_adapter import MAPPING, read, write

ON_DATE = date(2025, 3, 4)


def event(source: str, payload: object, record: str) -> Event:
    return make_event(
        source_system=source,
        source_record_key=record,
        person_key="pk-ingest-authority-0001",
        occurred_at=at(ON_DATE),
        recorded_at=datetime(2025, 6, 30, tzinfo=UTC),
        payload=payload,
    )


def test_an_adapter_s_fact_its_source_may_not_state_is_a_per_record_error() -> None:
    referral = ReferralReceived(referral_id="H1", service="autism", received_on=ON_DATE)
    ceased = PlanCeased(plan_id="P1", ceased_on=ON_DATE)
    good = event("health-autism", referral, "health_referrals:ab:H1")
    bad = event("health-autism", ceased, "health_referrals:ab:H2")
    reading = refuse_unentitled(ExportReading([good, bad], [], 2, 0))
    assert reading.events == [good]
    assert reading.rows_rejected == 1
    (issue,) = reading.issues
    assert (issue.rule, issue.severity, issue.file) == (
        "R-DATA-AUTHORITY",
        "error",
        "health_referrals",
    )
    assert issue.message == (
        "health_referrals:ab:H2: a health source ('health-autism') may not assert "
        "plan.ceased; not published"
    )
    sent: list[Event] = []
    sink = entitled_only(lambda e, _: sent.append(e))
    for e in (good, bad):
        sink(e, event_json(e))
    assert sent == [good]  # an SSD export streamed while read never sends the refused one


def test_a_person_record_is_named_without_its_person_id() -> None:
    from schemas.events import PersonRegistered

    moved = PersonRegistered(child_ref="P-1001", caseworker_id="cw-9")
    reading = refuse_unentitled(
        ExportReading([event("sen2", moved, "ssd_person:P-1001")], [], 1, 0)
    )
    (issue,) = reading.issues
    assert "P-1001" not in issue.message
    assert issue.message.startswith("a ssd_person record: a sen2_return source ('sen2')")


def test_the_health_mapping_must_name_a_health_source(tmp_path: Path) -> None:
    mapping = "source_system: liquidlogic\n" + MAPPING
    reading = read(write(tmp_path, "9990000001,HR1,ASD-DIAG,2024-10-01,,", mapping=mapping))
    (issue,) = reading.issues
    assert issue.rule == "R-DATA-FILE" and reading.events == []
    assert "'liquidlogic' is not a health source" in issue.message
    named = "source_system: health-camhs\n" + MAPPING
    reading = read(write(tmp_path, "9990000018,HR1,ASD-DIAG,2024-10-01,,", mapping=named))
    assert reading.issues == [] and {e.source_system for e in reading.events} == {"health-camhs"}


@pytest.mark.parametrize("file", ["../outside.csv", "/etc/passwd", "sub/../../outside.csv", ""])
def test_the_mapping_s_file_stays_in_its_folder(tmp_path: Path, file: str) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (tmp_path / "outside.csv").write_text("NHS No,Ref,Service,Received,Seen,Closed\n")
    mapping = f"file: {file!r}\n" + MAPPING
    reading = read(write(export, "9990000001,HR1,ASD-DIAG,2024-10-01,,", mapping=mapping))
    (issue,) = reading.issues
    assert issue.rule == "R-DATA-FILE" and "inside the export's folder" in issue.message
    assert reading.events == []


def test_a_link_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    outside = tmp_path / "outside.csv"
    outside.write_text(
        "NHS No,Ref,Service,Received,Seen,Closed\n9990000001,HR1,ASD-DIAG,2024-10-01,,\n"
    )
    (export / "linked.csv").symlink_to(outside)
    write(export, mapping="file: linked.csv\n" + MAPPING)
    reading = read(export)
    (issue,) = reading.issues
    assert issue.rule == "R-DATA-FILE" and "leads outside" in issue.message
    assert reading.events == []
    inside = "file: sub/referrals.csv\n" + MAPPING  # a folder inside is fine
    (export / "sub").mkdir()
    (export / "sub" / "referrals.csv").write_text(outside.read_text())
    write(export, mapping=inside)
    assert len(read(export).events) == 1


def test_a_health_extract_states_referrals_to_its_own_service_only(tmp_path: Path) -> None:
    """A mapping naming health-salt reads a file with an autism row and a salt row: the
    autism referral is a per-record R-DATA-AUTHORITY error, the salt one is published."""
    named = "source_system: health-salt\n" + MAPPING
    rows = ("9990000018,HR1,ASD-DIAG,2024-10-01,,", "9990000018,HR2,slt,2024-10-02,,")
    reading = refuse_unentitled(read(write(tmp_path, *rows, mapping=named)))
    assert [(e.event_type, e.payload.service) for e in reading.events] == [  # type: ignore[union-attr]
        ("referral.received", "salt")
    ]
    (issue,) = reading.issues
    assert (issue.rule, issue.severity) == ("R-DATA-AUTHORITY", "error")
    assert "own service only, not to 'autism'" in issue.message
    assert "9990000018" not in issue.message
