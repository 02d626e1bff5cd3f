"""The SSD CSV adapter on small hand-written exports: what it publishes and what it reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    PersonRegistered,
    PlanCeased,
    PlanIssued,
    RequestDecided,
    ReviewDecided,
    ReviewMeetingHeld,
)
from services.ingest.identity import person_key
from services.ingest.ssd.adapter import ExportReading, Issue, read_ssd_export
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate

SECRET = "test-secret"
EXTRACTED = datetime(2025, 6, 30, 18, 0, tzinfo=UTC)

PERSON_HEADER = "pers_person_id,pers_forename,pers_surname,pers_upn,pers_dob,caseworker_id,team"
SEND_HEADER = "send_table_id,send_person_id,send_upn,send_uln,send_upn_unknown"
REQUEST_HEADER = (
    "ehcr_ehcp_request_id,ehcr_send_table_id,ehcr_ehcp_req_date,"
    "ehcr_ehcp_req_outcome_date,ehcr_ehcp_req_outcome"
)
ASSESSMENT_HEADER = (
    "ehca_ehcp_assessment_id,ehca_ehcp_request_id,ehca_ehcp_assessment_outcome_date,"
    "ehca_ehcp_assessment_outcome,ehca_ehcp_assessment_exceptions"
)
PLAN_HEADER = (
    "ehcn_named_plan_id,ehcn_ehcp_asmt_id,ehcn_named_plan_start_date,"
    "ehcn_named_plan_ceased_date,ehcn_named_plan_ceased_reason"
)
ACTIVE_HEADER = (
    "ehcp_active_ehcp_id,ehcp_ehcp_request_id,ehcp_active_ehcp_last_review_date,"
    "ReviewMeeting,ReviewOutcome"
)


def clean_export() -> dict[str, list[str]]:
    """Two children: 1001 with a plan and a review, 1002 with a request in progress."""
    return {
        "ssd_person": [
            PERSON_HEADER,
            "1001,Ada,Example,A123456789012,2015-03-04,cw-01,north",
            "1002,Bo,Sample,,2016-05-04,,",
        ],
        "ssd_send": [SEND_HEADER, "S1,1001,A123456789012,,", "S2,1002,,,UN2"],
        "ssd_ehcp_requests": [
            REQUEST_HEADER,
            "R1,S1,2023-01-10,2023-02-14,Y",
            "R2,S2,2025-03-01,,",
        ],
        "ssd_ehcp_assessment": [ASSESSMENT_HEADER, "A1,R1,2023-05-20,Y,0"],
        "ssd_ehcp_named_plan": [PLAN_HEADER, "NP1,A1,2023-05-20,,"],
        "ssd_ehcp_active_plans": [ACTIVE_HEADER, "AP1,R1,2024-05-02,2024-04-10,M"],
    }


def write_export(
    directory: Path, tables: dict[str, list[str]], *, bom: bool = False, crlf: bool = False
) -> Path:
    for name, lines in tables.items():
        text = ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")
        (directory / f"{name}.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return directory


def subdir(parent: Path, name: str) -> Path:
    path = parent / name
    path.mkdir()
    return path


def read(directory: Path, **options: int) -> ExportReading:
    return read_ssd_export(directory, secret=SECRET, extracted_at=EXTRACTED, **options)


def where(issues: list[Issue]) -> list[tuple[str, int | None, str | None, str]]:
    return [(i.file, i.row, i.column, i.rule) for i in issues]


def payloads(reading: ExportReading) -> list[object]:
    return [e.payload for e in reading.events]


def key(person_id: str) -> str:
    return person_key(SECRET, "liquidlogic", person_id)


# --- a clean export ------------------------------------------------------------------------


def test_clean_export_publishes_the_facts(tmp_path: Path) -> None:
    reading = read(write_export(tmp_path, clean_export()))
    assert reading.issues == []
    assert (reading.rows_read, reading.rows_rejected) == (9, 0)
    assert payloads(reading) == [
        PersonRegistered(
            child_ref="1001", date_of_birth=date(2015, 3, 4), caseworker_id="cw-01", team="north"
        ),
        PersonRegistered(child_ref="1002", date_of_birth=date(2016, 5, 4)),
        AssessmentRequested(request_id="R1", received_on=date(2023, 1, 10)),
        RequestDecided(request_id="R1", outcome="Y", decided_on=date(2023, 2, 14)),
        AssessmentRequested(request_id="R2", received_on=date(2025, 3, 1)),
        AssessmentCompleted(request_id="R1", outcome="Y", outcome_on=date(2023, 5, 20)),
        PlanIssued(plan_id="NP1", request_id="R1", issued_on=date(2023, 5, 20)),
        ReviewDecided(
            plan_id="NP1", decided_on=date(2024, 5, 2), outcome="M", meeting_on=date(2024, 4, 10)
        ),
        ReviewMeetingHeld(plan_id="NP1", meeting_on=date(2024, 4, 10)),
    ]


def test_envelopes_carry_keys_not_identifiers(tmp_path: Path) -> None:
    reading = read(write_export(tmp_path, clean_export()))
    by_type = {e.event_type: e for e in reading.events}
    assert {e.person_key for e in reading.events} == {key("1001"), key("1002")}
    assert by_type["person.registered"].occurred_at == EXTRACTED
    assert by_type["plan.issued"].source_record_key == "ssd_ehcp_named_plan:NP1"
    assert by_type["plan.issued"].occurred_at == datetime(2023, 5, 20, tzinfo=UTC)
    assert by_type["review.decided"].source_record_key == "ssd_ehcp_active_plans:AP1"
    assert all(
        e.recorded_at == EXTRACTED and e.source_system == "liquidlogic" for e in reading.events
    )


def test_reading_twice_gives_identical_event_ids(tmp_path: Path) -> None:
    directory = write_export(tmp_path, clean_export())
    first, second = read(directory), read(directory)
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]
    assert len({e.event_id for e in first.events}) == len(first.events)


def test_review_decision_anchors_the_annual_review_through_the_plan_link(tmp_path: Path) -> None:
    reading = read(write_export(tmp_path, clean_export()))
    child = [e for e in reading.events if e.person_key == key("1001")]
    journey = fold(key("1001"), child)

    def review_flags(on: date) -> list[tuple[str, str, date]]:
        flags = evaluate(journey, on, DEFAULT_PACK).values()
        return [(f.rule_id, f.subject, f.due_on) for f in flags if f.rule_id == "R-AR-DUE"]

    assert review_flags(date(2025, 5, 2)) == []
    assert review_flags(date(2025, 5, 3)) == [("R-AR-DUE", "plan:NP1", date(2025, 5, 2))]


# --- what integrators' files look like -----------------------------------------------------


def test_bom_crlf_uppercase_headers_and_mixed_date_shapes(tmp_path: Path) -> None:
    tables = clean_export()
    tables = {name: [lines[0].upper() + ",,", *lines[1:]] for name, lines in tables.items()}
    tables["ssd_person"][1] = "1001,Ada,Example,A123456789012,2015-03-04 00:00:00.000,cw-01,north,,"
    tables["ssd_ehcp_requests"][1] = "R1,S1,10/01/2023,2023-02-14T00:00:00,Y"
    tables["ssd_ehcp_named_plan"][1] = "NP1,A1,20/05/2023,, "
    reading = read(write_export(tmp_path, tables, bom=True, crlf=True))
    assert reading.issues == []
    clean = read(write_export(subdir(tmp_path, "clean"), clean_export()))
    assert [e.event_id for e in reading.events] == [e.event_id for e in clean.events]


def test_blank_lines_and_short_rows_are_tolerated(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_requests"] = [
        REQUEST_HEADER,
        "R1,S1,2023-01-10,2023-02-14,Y",
        "",
        "R2,S2,2025-03-01",
    ]
    reading = read(write_export(tmp_path, tables))
    assert reading.issues == []
    assert AssessmentRequested(request_id="R2", received_on=date(2025, 3, 1)) in payloads(reading)


def test_values_past_the_last_column_reject_the_row(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_requests"][2] = "R2,S2,2025-03-01,,,surprise"
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [("ssd_ehcp_requests.csv", 3, None, "R-DATA-FILE")]


def test_line_numbers_count_lines_inside_quoted_values(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_person"][1] = '1001,"Ada\nMay",Example,,2015-03-04,cw-01,north'
    tables["ssd_person"][2] = "1002,Bo,Sample,,2016-13-04,,"
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues)[0] == ("ssd_person.csv", 4, "pers_dob", "R-DATA-DATE")


# --- rejected rows -------------------------------------------------------------------------


def test_bad_rows_are_reported_and_the_rest_still_publish(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_requests"].append("R3,S2,31/02/2024,,")
    tables["ssd_ehcp_active_plans"].append("AP2,R1,2025-05-01,,X")
    reading = read(write_export(tmp_path, tables, bom=True, crlf=True))
    assert where(reading.issues) == [
        ("ssd_ehcp_requests.csv", 4, "ehcr_ehcp_req_date", "R-DATA-DATE"),
        ("ssd_ehcp_active_plans.csv", 3, "ReviewOutcome", "R-DATA-CODE"),
    ]
    assert str(reading.issues[0]) == (
        "ssd_ehcp_requests.csv:4 ehcr_ehcp_req_date: "
        "'31/02/2024' is not a date that exists: day is out of range for month [R-DATA-DATE]"
    )
    assert "'X' is not one of M/A/C" in str(reading.issues[1])
    assert (reading.rows_read, reading.rows_rejected) == (11, 2)
    clean = read(write_export(subdir(tmp_path, "clean"), clean_export()))
    assert payloads(reading) == payloads(clean)


def test_every_issue_on_a_row_is_reported(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_requests"][2] = "R2,S9,2025-13-01,2025-07-09,Q"
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_ehcp_requests.csv", 3, "ehcr_send_table_id", "R-DATA-LINK"),
        ("ssd_ehcp_requests.csv", 3, "ehcr_ehcp_req_date", "R-DATA-DATE"),
        ("ssd_ehcp_requests.csv", 3, "ehcr_ehcp_req_outcome_date", "R-DATA-FUTURE"),
        ("ssd_ehcp_requests.csv", 3, "ehcr_ehcp_req_outcome", "R-DATA-CODE"),
    ]
    assert reading.rows_rejected == 1


def test_person_messages_never_quote_personal_data(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_person"].append("1003,Cy,Specimen,J987654321098,31/02/2014,cw-02,south")
    tables["ssd_person"].append("1004,Di,Placeholder,,2031-01-01,cw-02,south")
    tables["ssd_person"].append("1001,Ada,Example,A123456789012,2015-03-05,cw-01,north")
    reading = read(write_export(tmp_path, tables))
    person_issues = [i for i in reading.issues if i.file == "ssd_person.csv"]
    assert where(person_issues) == [
        ("ssd_person.csv", 2, "pers_person_id", "R-DATA-DUPLICATE"),
        ("ssd_person.csv", 4, "pers_dob", "R-DATA-DATE"),
        ("ssd_person.csv", 5, "pers_dob", "R-DATA-FUTURE"),
        ("ssd_person.csv", 6, "pers_person_id", "R-DATA-DUPLICATE"),
    ]
    text = "\n".join(str(i) for i in reading.issues)
    for personal in (
        "1001",
        "1003",
        "1004",
        "Ada",
        "Cy",
        "Specimen",
        "Placeholder",
        "31/02",
        "2014",
        "2031",
        "2015-03-04",
        "2015-03-05",
        "B987654321098",
        "A123456789012",
    ):
        assert personal not in text


def test_rows_of_a_rejected_person_are_rejected_with_a_link_issue(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_person"][1] = "1001,Ada,Example,A123456789012,not a date,cw-01,north"
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_person.csv", 2, "pers_dob", "R-DATA-DATE"),
        ("ssd_send.csv", 2, "send_person_id", "R-DATA-LINK"),
        ("ssd_ehcp_requests.csv", 2, "ehcr_send_table_id", "R-DATA-LINK"),
        ("ssd_ehcp_assessment.csv", 2, "ehca_ehcp_request_id", "R-DATA-LINK"),
        ("ssd_ehcp_named_plan.csv", 2, "ehcn_ehcp_asmt_id", "R-DATA-LINK"),
        ("ssd_ehcp_active_plans.csv", 2, "ehcp_ehcp_request_id", "R-DATA-LINK"),
    ]
    assert "ssd_ehcp_requests.csv row 2 (ehcr_ehcp_request_id 'R1') was rejected" in str(
        reading.issues[3]
    )
    assert {e.person_key for e in reading.events} == {key("1002")}


def test_unknown_parents_are_link_issues(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_send"].append("S3,9999,,,")
    tables["ssd_ehcp_named_plan"].append("NP2,A9,2024-01-01,,")
    tables["ssd_ehcp_active_plans"].append("AP2,R2,2025-05-01,,M")
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_send.csv", 4, "send_person_id", "R-DATA-LINK"),
        ("ssd_ehcp_named_plan.csv", 3, "ehcn_ehcp_asmt_id", "R-DATA-LINK"),
        ("ssd_ehcp_active_plans.csv", 3, "ehcp_ehcp_request_id", "R-DATA-LINK"),
    ]
    assert "9999" not in str(reading.issues[0])  # a person id, even in ssd_send
    assert "no ssd_ehcp_named_plan.csv row belongs to request 'R2'" in str(reading.issues[2])


def test_duplicate_keys_reject_every_copy_and_their_children(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_assessment"].append("A1,R1,2023-05-21,Y,0")
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_ehcp_assessment.csv", 2, "ehca_ehcp_assessment_id", "R-DATA-DUPLICATE"),
        ("ssd_ehcp_assessment.csv", 3, "ehca_ehcp_assessment_id", "R-DATA-DUPLICATE"),
        ("ssd_ehcp_named_plan.csv", 2, "ehcn_ehcp_asmt_id", "R-DATA-LINK"),
        ("ssd_ehcp_active_plans.csv", 2, "ehcp_ehcp_request_id", "R-DATA-LINK"),
    ]
    assert "'A1' is also on row 3" in reading.issues[0].message
    assert "rows 2, 3" in reading.issues[2].message


@pytest.mark.parametrize(
    ("table", "line", "column", "rule"),
    [
        (
            "ssd_ehcp_requests",
            "R3,S2,2025-03-01,2025-02-01,N",
            "ehcr_ehcp_req_outcome_date",
            "R-DATA-ORDER",
        ),
        (
            "ssd_ehcp_requests",
            "R3,S2,2025-03-01,2025-03-09,",
            "ehcr_ehcp_req_outcome",
            "R-DATA-REQUIRED",
        ),
        ("ssd_ehcp_requests", "R3,S2,,,", "ehcr_ehcp_req_date", "R-DATA-REQUIRED"),
        ("ssd_ehcp_requests", "R3,S2,2025-07-01,,", "ehcr_ehcp_req_date", "R-DATA-FUTURE"),
        (
            "ssd_ehcp_assessment",
            "A3,R2,2025-02-01,N,0",
            "ehca_ehcp_assessment_outcome_date",
            "R-DATA-ORDER",
        ),
        ("ssd_ehcp_assessment", "A3,R2,,A,2", "ehca_ehcp_assessment_exceptions", "R-DATA-CODE"),
        ("ssd_ehcp_assessment", "A3,R2,,Z,0", "ehca_ehcp_assessment_outcome", "R-DATA-CODE"),
        ("ssd_ehcp_named_plan", "NP2,A2,,,", "ehcn_named_plan_start_date", "R-DATA-REQUIRED"),
        (
            "ssd_ehcp_named_plan",
            "NP2,A2,2023-06-01,2023-05-01,2",
            "ehcn_named_plan_ceased_date",
            "R-DATA-ORDER",
        ),
        (
            "ssd_ehcp_named_plan",
            "NP2,A2,2023-06-01,2024-05-01,10",
            "ehcn_named_plan_ceased_reason",
            "R-DATA-CODE",
        ),
        (
            "ssd_ehcp_named_plan",
            "NP2,A2,2023-06-01,,3",
            "ehcn_named_plan_ceased_date",
            "R-DATA-REQUIRED",
        ),
        (
            "ssd_ehcp_active_plans",
            "AP2,R1,2023-05-01,,M",
            "ehcp_active_ehcp_last_review_date",
            "R-DATA-ORDER",
        ),
        (
            "ssd_ehcp_active_plans",
            "AP2,R1,,,M",
            "ehcp_active_ehcp_last_review_date",
            "R-DATA-REQUIRED",
        ),
        ("ssd_ehcp_active_plans", ",R1,2024-05-02,,M", "ehcp_active_ehcp_id", "R-DATA-REQUIRED"),
    ],
)
def test_rules_md_consistency_checks(
    tmp_path: Path, table: str, line: str, column: str, rule: str
) -> None:
    tables = clean_export()
    tables["ssd_ehcp_assessment"].append("A2,R2,,,0")  # R2's assessment, in progress
    tables[table].append(line)
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [(f"{table}.csv", len(tables[table]), column, rule)]


def test_future_tolerance_allows_dates_just_after_the_extract(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_requests"][2] = "R2,S2,2025-07-02,,"
    directory = write_export(tmp_path, tables)
    assert read(directory, future_tolerance_days=1).issues != []
    assert read(directory, future_tolerance_days=2).issues == []


# --- mapping details -----------------------------------------------------------------------


def test_exception_flag_and_cease(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_assessment"][1] = "A1,R1,2023-07-20,Y,1"
    tables["ssd_ehcp_named_plan"][1] = "NP1,A1,2023-07-20,2025-01-31,5"
    reading = read(write_export(tmp_path, tables))
    assert reading.issues == []
    found = payloads(reading)
    assert (
        AssessmentCompleted(
            request_id="R1", outcome="Y", outcome_on=date(2023, 7, 20), exception=True
        )
        in found
    )
    assert PlanCeased(plan_id="NP1", ceased_on=date(2025, 1, 31), reason=5) in found


def test_assessment_without_outcome_publishes_nothing_but_links(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_assessment"].append("A2,R2,,,0")
    reading = read(write_export(tmp_path, tables))
    assert reading.issues == []
    assert not any(
        isinstance(p, AssessmentCompleted) and p.request_id == "R2" for p in payloads(reading)
    )


def test_meeting_after_the_last_decision_is_a_pending_review(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_active_plans"][1] = "AP1,R1,2024-05-02,2025-05-20,"
    reading = read(write_export(tmp_path, tables))
    found = payloads(reading)
    assert ReviewDecided(plan_id="NP1", decided_on=date(2024, 5, 2)) in found
    assert ReviewMeetingHeld(plan_id="NP1", meeting_on=date(2025, 5, 20)) in found


def test_active_plan_resolves_to_the_plan_in_force_on_its_request(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_assessment"].append("A2,R1,2024-09-01,Y,0")
    tables["ssd_ehcp_named_plan"][1] = "NP1,A1,2023-05-20,2024-08-31,5"
    tables["ssd_ehcp_named_plan"].append("NP2,A2,2024-09-01,,")
    tables["ssd_ehcp_active_plans"][1] = "AP1,R1,2025-06-01,,A"
    reading = read(write_export(tmp_path, tables))
    assert reading.issues == []
    assert ReviewDecided(plan_id="NP2", decided_on=date(2025, 6, 1), outcome="A") in payloads(
        reading
    )


# --- files ---------------------------------------------------------------------------------


def test_missing_column_is_one_clear_issue(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_ehcp_active_plans"] = [
        "ehcp_active_ehcp_id,ehcp_ehcp_request_id,ReviewMeeting",
        "AP1,R1,2024-04-10",
    ]
    reading = read(write_export(tmp_path, tables))
    assert reading.issues == [
        Issue(
            "ssd_ehcp_active_plans.csv",
            None,
            "ehcp_active_ehcp_last_review_date",
            "R-DATA-FILE",
            "the file was not read: it has no column ehcp_active_ehcp_last_review_date",
        )
    ]
    assert not any(e.source_record_key.startswith("ssd_ehcp_active_plans") for e in reading.events)
    assert reading.rows_read == 8


def test_unreadable_person_file_stops_the_files_that_link_through_it(tmp_path: Path) -> None:
    tables = clean_export()
    tables["ssd_person"] = ["pers_person_id,pers_forename", "1001,Ada"]
    reading = read(write_export(tmp_path, tables))
    assert where(reading.issues) == [
        ("ssd_person.csv", None, "pers_dob", "R-DATA-FILE"),
        ("ssd_send.csv", None, None, "R-DATA-FILE"),
        ("ssd_ehcp_requests.csv", None, None, "R-DATA-FILE"),
        ("ssd_ehcp_assessment.csv", None, None, "R-DATA-FILE"),
        ("ssd_ehcp_named_plan.csv", None, None, "R-DATA-FILE"),
        ("ssd_ehcp_active_plans.csv", None, None, "R-DATA-FILE"),
    ]
    assert str(reading.issues[1]) == (
        "ssd_send.csv: the file was not read: its rows link through ssd_person.csv, "
        "which is missing or was not read [R-DATA-FILE]"
    )
    assert reading.events == []


def test_missing_person_file(tmp_path: Path) -> None:
    reading = read(tmp_path)
    assert [str(i) for i in reading.issues] == [
        "ssd_person.csv: the file is missing, and it is required [R-DATA-FILE]"
    ]


def test_only_a_person_file_is_a_valid_export(tmp_path: Path) -> None:
    reading = read(write_export(tmp_path, {"ssd_person": clean_export()["ssd_person"]}))
    assert reading.issues == []
    assert len(reading.events) == 2


def test_non_utf8_file_is_one_issue(tmp_path: Path) -> None:
    write_export(tmp_path, clean_export())
    (tmp_path / "ssd_ehcp_active_plans.csv").write_bytes(
        ACTIVE_HEADER.encode() + b"\nAP1,R1,2024-05-02,,M \xa3\n"
    )
    reading = read(tmp_path)
    assert where(reading.issues) == [("ssd_ehcp_active_plans.csv", None, None, "R-DATA-FILE")]
    assert "UTF-8" in reading.issues[0].message


def test_naive_extract_time_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone"):
        read_ssd_export(tmp_path, secret=SECRET, extracted_at=datetime(2025, 6, 30))
