"""Bounded values and plausible dates at ingest: per-record errors naming file, row and field.

Every value an adapter reads is at most ``MAX_VALUE`` characters, so no accepted fact can
make a journey too large; every date is in the plausible range of its kind and written with
ASCII digits.  A bad value rejects its record (and those linked through it), never the run.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from schemas.events import EVENT_ADAPTER, Event
from services.ingest.api.app import create_app
from services.ingest.api.tokens import mint_token
from services.ingest.config import IngestSettings
from services.ingest.csvtable import MAX_VALUE
from services.ingest.dates import DateRanges, scheduled_limit
from services.ingest.demo.authority import write_demo_export
from services.ingest.envelope import event_json
from services.ingest.export import read_export
from services.ingest.issues import ExportReading
from services.ingest.publisher import PublishReport
from services.ingest.sen2.adapter import read_sen2_return
from services.ingest.ssd.tables import TABLES
from services.runtime.settings import Settings

TODAY = date(2025, 11, 3)
FULL_WIDTH = {ord(str(d)): 0xFF10 + d for d in range(10)}  # "2" -> U+FF12 FULLWIDTH DIGIT TWO


def wide(digits: str) -> str:
    return digits.translate(FULL_WIDTH)


EXTRACTED = datetime.combine(TODAY, time(18), tzinfo=UTC)
SECRET = "demo-secret"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    write_demo_export(directory, children=30, seed=3, today=TODAY)
    return directory


def copy_of(demo: Path, into: Path) -> Path:
    for path in demo.glob("*.*"):
        (into / path.name).write_bytes(path.read_bytes())
    return into


def rows_of(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def set_cell(path: Path, column: str, value: str, line: int = 2) -> None:
    """Put ``value`` in ``column`` of the record on ``line`` (the header is line 1)."""
    rows = rows_of(path)
    names = [c.lower() for c in rows[0]]
    if column.lower() not in names:  # an optional column the file leaves out: add it
        rows = [[*row, ""] for row in rows]
        rows[0][-1] = column
        names.append(column.lower())
    rows[line - 1][names.index(column.lower())] = value
    write_rows(path, rows)


def read(directory: Path, **options: object) -> ExportReading:
    return read_export(directory, secret=SECRET, extracted_at=EXTRACTED, **options)  # type: ignore[arg-type]


def issues_at(reading: ExportReading, rule: str) -> list[tuple[str, int | None, str | None]]:
    return [(i.file, i.row, i.column) for i in reading.issues if i.rule == rule]


def every_event_is_within_the_contract(events: list[Event]) -> None:
    for event in events:
        raw = event_json(event)
        assert EVENT_ADAPTER.validate_json(raw) == event
        assert len(raw) < 4_000  # a bounded fact: strings at most 256 characters


def test_six_very_long_request_ids_are_six_rejected_records(demo: Path, tmp_path: Path) -> None:
    """The adversarial run's export: six 120,000-character request ids."""
    directory = copy_of(demo, tmp_path)
    requests = directory / "ssd_ehcp_requests.csv"
    rows = rows_of(requests)
    for row in rows[1:7]:
        row[0] = "R" * 120_000
    write_rows(requests, rows)
    reading = read(directory)
    assert issues_at(reading, "R-DATA-LENGTH") == [
        ("ssd_ehcp_requests.csv", line, "ehcr_ehcp_request_id") for line in range(2, 8)
    ]
    (issue, *_) = [i for i in reading.issues if i.rule == "R-DATA-LENGTH"]
    assert f"is 120000 characters long; at most {MAX_VALUE}" in issue.message
    assert "RRRR" not in str(issue)  # the value itself is never quoted
    every_event_is_within_the_contract(reading.events)
    assert not any("R" * 1000 in e.source_record_key for e in reading.events)


READ_COLUMNS = [
    (spec.file, column) for spec in TABLES for column in spec.read_columns if column != ""
]


@pytest.mark.parametrize(("file", "column"), READ_COLUMNS)
def test_a_value_too_long_in_any_column_read_rejects_its_row(
    demo: Path, tmp_path: Path, file: str, column: str
) -> None:
    directory = copy_of(demo, tmp_path)
    set_cell(directory / file, column, "7" * (MAX_VALUE + 1))
    reading = read(directory)
    found = issues_at(reading, "R-DATA-LENGTH")
    assert [(f, r) for f, r, c in found] == [(file, 2)]
    assert found[0][2] is not None and found[0][2].lower() == column
    every_event_is_within_the_contract(reading.events)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(length=st.integers(min_value=MAX_VALUE + 1, max_value=300_000))
def test_a_long_health_referral_value_is_rejected_by_name(
    demo: Path, tmp_path: Path, length: int
) -> None:
    directory = copy_of(demo, tmp_path)
    set_cell(directory / "health_referrals.csv", "Referral Ref", "H" * length)
    reading = read(directory)
    assert issues_at(reading, "R-DATA-LENGTH") == [("health_referrals.csv", 2, "Referral Ref")]
    every_event_is_within_the_contract(reading.events)


# --- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "column", "text", "rule"),
    [
        ("ssd_ehcp_requests.csv", "ehcr_ehcp_req_date", wide("2024") + "-01-02", "R-DATA-DATE"),
        ("ssd_ehcp_requests.csv", "ehcr_ehcp_req_date", "0001-01-01", "R-DATA-RANGE"),
        ("ssd_ehcp_requests.csv", "ehcr_ehcp_req_date", "1999-12-31", "R-DATA-RANGE"),
        ("ssd_person.csv", "pers_dob", "1989-12-31", "R-DATA-RANGE"),
        ("ssd_person.csv", "pers_dob", "01/01/0001", "R-DATA-RANGE"),
        ("ssd_person.csv", "pers_dob", "2025-11-04", "R-DATA-FUTURE"),
        ("ssd_placements.csv", "EntryDate", "0001-01-01 00:00:00", "R-DATA-RANGE"),
        ("health_referrals.csv", "Date Received", "0001-01-01", "R-DATA-RANGE"),
        ("health_referrals.csv", "Date Received", "2024-0" + wide("1") + "-02", "R-DATA-DATE"),
    ],
)
def test_dates_out_of_range_or_not_ascii_reject_their_row_by_name(
    demo: Path, tmp_path: Path, file: str, column: str, text: str, rule: str
) -> None:
    directory = copy_of(demo, tmp_path)
    set_cell(directory / file, column, text)
    reading = read(directory)
    found = [(i.file, i.row, i.column) for i in reading.issues if i.rule == rule]
    assert found == [(file, 2, column)]
    # no clock reads a placement: its faults are warnings (docs/ingest.md); others reject
    severity = "warning" if file == "ssd_placements.csv" else "error"
    assert [i.severity for i in reading.issues if i.rule == rule] == [severity]


def test_a_transfer_due_next_september_is_accepted_but_not_one_in_a_lifetime(
    demo: Path, tmp_path: Path
) -> None:
    directory = copy_of(demo, tmp_path)
    path = directory / "ssd_ehcp_active_plans.csv"
    rows = rows_of(path)
    index = [c.lower() for c in rows[0]].index("phasetransferduedate")
    rows[1][index] = "2026-09-01"
    rows[2][index] = "2046-09-01"
    write_rows(path, rows)
    reading = read(directory)
    assert [(i.row, i.column) for i in reading.errors if i.rule == "R-DATA-RANGE"] == [
        (3, "PhaseTransferDueDate")
    ]
    assert "the furthest a scheduled date may be planned" in reading.errors[0].message
    due = [e for e in reading.events if e.event_type == "phase.transfer"]
    assert date(2026, 9, 1) in [e.payload.transfer_due_on for e in due]  # type: ignore[union-attr]


def test_configured_ranges_are_applied(demo: Path, tmp_path: Path) -> None:
    directory = copy_of(demo, tmp_path)
    set_cell(directory / "ssd_person.csv", "pers_dob", "1985-06-01")
    assert issues_at(read(directory), "R-DATA-RANGE") == [("ssd_person.csv", 2, "pers_dob")]
    ranges = IngestSettings(birth_not_before=date(1980, 1, 1)).date_ranges()
    assert issues_at(read(directory, date_ranges=ranges), "R-DATA-RANGE") == []


def test_sen2_dates_out_of_range_are_rejected_by_path(demo: Path, tmp_path: Path) -> None:
    text = (demo / "sen2" / "sen2_return.xml").read_text(encoding="utf-8")
    first = text.index("<ReceivedDate>") + len("<ReceivedDate>")
    changed = text[:first] + "0001-01-01" + text[first + 10 :]
    path = tmp_path / "sen2_return.xml"
    path.write_text(changed, encoding="utf-8")
    reading = read_sen2_return(path, secret=SECRET, extracted_at=EXTRACTED)
    (issue,) = [i for i in reading.errors if i.rule == "R-DATA-RANGE"]
    assert issue.column is not None and issue.column.endswith("/ReceivedDate")
    assert "is before 2000-01-01" in issue.message


@given(
    kind=st.sampled_from(["birth", "fact", "scheduled"]),
    value=st.dates(),
    latest=st.dates(min_value=date(2001, 1, 1), max_value=date(2100, 1, 1)),
    years=st.integers(min_value=0, max_value=50),
)
def test_a_date_is_accepted_exactly_within_the_range_of_its_kind(
    kind: str, value: date, latest: date, years: int
) -> None:
    ranges = DateRanges(scheduled_years=years)
    earliest = ranges.birth_from if kind == "birth" else ranges.facts_from
    furthest = scheduled_limit(latest, years) if kind == "scheduled" else latest
    problem = ranges.problem(kind, value, latest)  # type: ignore[arg-type]
    assert (problem is None) == (earliest <= value <= furthest)
    if problem is not None:
        assert problem[0] == (
            "R-DATA-FUTURE" if value > furthest and kind != "scheduled" else "R-DATA-RANGE"
        )


# --- the HTTP ingest API -------------------------------------------------------------

TOKEN_SECRET = "a-test-secret-of-at-least-32-characters!"


@pytest.fixture
def sent() -> list[Event]:
    return []


@pytest.fixture
def client(tmp_path: Path, sent: list[Event]) -> TestClient:
    def publish(events: Sequence[Event]) -> PublishReport:
        sent.extend(events)
        return PublishReport(len(events), 0)

    config = IngestSettings(state_path=tmp_path / "s.sqlite", token_secret=SecretStr(TOKEN_SECRET))
    return TestClient(create_app(Settings(data_dir=tmp_path), config, publish=publish))


def headers() -> dict[str, str]:
    minted = mint_token(
        TOKEN_SECRET,
        subject="t",
        sources=["*"],
        audience="casewatch-ingest",
        ttl=timedelta(hours=1),
    )
    return {"Authorization": f"Bearer {minted}"}


def request(
    request_id: str = "R1", received_on: str = "2025-01-10", **extra: object
) -> dict[str, object]:
    payload = {"type": "assessment.requested", "request_id": request_id, "received_on": received_on}
    return {"record_key": "requests:R1", "person": {"id": "P1"}, "payload": payload, **extra}


def test_a_3_mb_request_id_is_a_422_naming_the_field(client: TestClient, sent: list[Event]) -> None:
    response = client.post(
        "/v1/sources/ssd/events", json=request("R" * 3_000_000), headers=headers()
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "payload", "assessment.requested", "request_id"]
    assert error["type"] == "string_too_long"
    assert len(response.content) < 2_000 and sent == []


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        (request(received_on="0001-01-01"), ["body", 0, "payload", "received_on"], "R-DATA-RANGE"),
        (request(occurred_on="0001-01-01"), ["body", 0, "occurred_on"], "R-DATA-RANGE"),
        (
            {
                **request(),
                "payload": {
                    "type": "person.registered",
                    "child_ref": "C1",
                    "date_of_birth": "1900-01-01",
                },
            },
            ["body", 0, "payload", "date_of_birth"],
            "R-DATA-RANGE",
        ),
    ],
)
def test_api_dates_out_of_range_are_422_naming_the_field(
    client: TestClient, sent: list[Event], body: dict[str, object], loc: list[object], kind: str
) -> None:
    response = client.post("/v1/sources/ssd/events", json=body, headers=headers())
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert (error["loc"], error["type"]) == (loc, kind)
    assert sent == []


def test_api_accepts_a_transfer_due_next_september(client: TestClient, sent: list[Event]) -> None:
    due = (datetime.now(UTC).date() + timedelta(days=300)).isoformat()
    body = {
        **request(),
        "payload": {"type": "phase.transfer", "plan_id": "P1", "transfer_due_on": due},
    }
    response = client.post("/v1/sources/ssd/events", json=body, headers=headers())
    assert response.status_code == 202, response.text
    assert [e.event_type for e in sent] == ["phase.transfer"]


def test_api_full_width_digits_are_refused(client: TestClient) -> None:
    body = request(received_on=wide("2024") + "-01-02")
    assert client.post("/v1/sources/ssd/events", json=body, headers=headers()).status_code == 422
    person = {**request(), "person": {"nhs": wide("99900000") + "01"}}
    assert client.post("/v1/sources/ssd/events", json=person, headers=headers()).status_code == 422


def test_a_mapping_naming_a_source_system_too_long_is_a_file_issue(
    demo: Path, tmp_path: Path
) -> None:
    directory = copy_of(demo, tmp_path)
    mapping = directory / "health_mapping.yaml"
    mapping.write_text(
        mapping.read_text().replace("source_system: health", "source_system: " + "h" * 65)
    )
    reading = read(directory)
    assert [(i.file, i.rule) for i in reading.errors] == [("health_mapping.yaml", "R-DATA-FILE")]
    assert "source_system" in reading.errors[0].message
