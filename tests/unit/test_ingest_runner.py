"""``casewatch ingest`` without a broker: snapshot diffing, reports, exit codes, all-or-nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import TracebackType

import pytest

from schemas.events import Event
from services.ingest.config import IngestSettings
from services.ingest.envelope import event_json
from services.ingest.publisher import PublishReport
from services.ingest.runner import IngestOptions, run_ingest
from services.runtime.settings import Settings
from tests.unit.test_ssd_adapter import clean_export, write_export


class FakePublisher:
    """Keeps what it was given; fails the events whose ids are in ``failing``."""

    def __init__(self, sent: list[Event], failing: int = 0) -> None:
        self.sent, self.failing, self.count = sent, failing, 0

    def send(self, event: Event, value: bytes | None = None) -> None:
        # a message encoded while reading is the event's message (canonical payload)
        assert value is None or value == event_json(event)
        self.sent.append(event)
        self.count += 1

    def finish(self) -> PublishReport:
        count, self.count = self.count, 0
        return PublishReport(count - self.failing, self.failing) if count else PublishReport(0, 0)

    def __enter__(self) -> FakePublisher:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


class Run:
    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings(data_dir=tmp_path / "data")
        self.ingest = IngestSettings(state_path=tmp_path / "state.sqlite")
        self.sent: list[Event] = []

    def __call__(
        self, path: Path, kind: str = "ssd", failing: int = 0, **options: object
    ) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = run_ingest(
            self.settings,
            IngestOptions(kind=kind, path=path, **options),  # type: ignore[arg-type]
            ingest=self.ingest,
            publisher=lambda keep: FakePublisher(self.sent, failing),  # type: ignore[arg-type,return-value]
            out=out,
            err=err,
        )
        return code, out.getvalue(), err.getvalue()


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


def export(tmp_path: Path, name: str = "export", **changes: list[str]) -> Path:
    directory = tmp_path / name
    directory.mkdir(exist_ok=True)
    return write_export(directory, {**clean_export(), **changes})


def test_a_repeated_run_publishes_nothing(run: Run, tmp_path: Path) -> None:
    path = export(tmp_path)
    code, out, _ = run(path)
    assert code == 0
    assert out.splitlines()[-1] == (
        "9 rows read, 0 rejected; 0 events unchanged since the last run; 9 events published"
    )
    first = list(run.sent)
    code, out, _ = run(path)
    assert (code, run.sent) == (0, first)
    assert out.endswith("9 events unchanged since the last run; 0 events published\n")


def test_only_changed_facts_are_published_and_missing_records_reported(
    run: Run, tmp_path: Path
) -> None:
    run(export(tmp_path))
    tables = clean_export()
    tables["ssd_ehcp_requests"] = [tables["ssd_ehcp_requests"][0], "R1,S1,2023-01-10,2023-02-15,Y"]
    del tables["ssd_ehcp_assessment"]  # a file not given is not a deletion
    changed = write_export(tmp_path / "export", tables)
    (changed / "ssd_ehcp_assessment.csv").unlink()
    (changed / "ssd_ehcp_named_plan.csv").unlink()
    (changed / "ssd_ehcp_active_plans.csv").unlink()
    before = len(run.sent)
    code, out, _ = run(changed)
    fresh = run.sent[before:]
    assert [e.event_type for e in fresh] == ["request.decided"]
    gone = [line for line in out.splitlines() if "R-INGEST-GONE" in line]
    assert gone == [
        "ssd_ehcp_requests: 1 ssd_ehcp_requests records published from liquidlogic before are "
        "not in this export (R2): deleted upstream? Their facts stay on the journeys until a "
        "correction (a cease, a withdrawal) is exported [R-INGEST-GONE] (warning)"
    ]
    assert code == 0  # a warning rejects nothing
    code, out, _ = run(changed)
    assert "R-INGEST-GONE" not in out  # reported once


def test_dry_run_publishes_and_remembers_nothing(run: Run, tmp_path: Path) -> None:
    path = export(tmp_path)
    code, out, _ = run(path, dry_run=True)
    assert (code, run.sent) == (0, [])
    assert out.endswith("9 events to publish (dry run)\n")
    run(path)
    assert len(run.sent) == 9


def test_rejected_rows_exit_1_and_the_rest_publish(run: Run, tmp_path: Path) -> None:
    path = export(tmp_path, ssd_person=[*clean_export()["ssd_person"], "1003,Cy,X,,31/02/2014,,"])
    code, out, _ = run(path)
    assert code == 1
    assert "ssd_person.csv:4 pers_dob: is not a date" in out
    assert len(run.sent) == 9


def test_all_or_nothing_publishes_nothing_when_anything_is_rejected(
    run: Run, tmp_path: Path
) -> None:
    path = export(tmp_path, ssd_person=[*clean_export()["ssd_person"], "1003,Cy,X,,31/02/2014,,"])
    code, out, _ = run(path, all_or_nothing=True)
    assert (code, run.sent) == (1, [])
    assert "--all-or-nothing: the export has errors, so nothing was published" in out
    code, _, _ = run(export(tmp_path, "clean"), all_or_nothing=True)
    assert (code, len(run.sent)) == (0, 9)


def test_a_failed_publish_exits_2_and_is_published_again_next_time(
    run: Run, tmp_path: Path
) -> None:
    path = export(tmp_path)
    code, _, _ = run(path, failing=1)
    assert code == 2
    code, _, _ = run(path)
    assert (code, len(run.sent)) == (0, 18)


def test_json_and_csv_reports(run: Run, tmp_path: Path) -> None:
    path = export(
        tmp_path, ssd_ehcp_requests=[*clean_export()["ssd_ehcp_requests"], "R3,S2,2025-13-01,,"]
    )
    code, out, _ = run(path, report="json", dry_run=True)
    body = json.loads(out)
    assert body["summary"]["rows_rejected"] == 1
    assert body["issues"] == [
        {
            "file": "ssd_ehcp_requests.csv",
            "row": 4,
            "field": "ehcr_ehcp_req_date",
            "rule": "R-DATA-DATE",
            "severity": "error",
            "message": "'2025-13-01' is not a date that exists: month must be in 1..12",
        }
    ]
    code, out, err = run(path, report="csv", dry_run=True)
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["file"], r["row"], r["field"], r["rule"]) for r in rows] == [
        ("ssd_ehcp_requests.csv", "4", "ehcr_ehcp_req_date", "R-DATA-DATE")
    ]
    assert "rows read" in err


def test_republish_sends_every_fact_again(run: Run, tmp_path: Path) -> None:
    path = export(tmp_path)
    run(path)
    run(path, republish=True)
    assert len(run.sent) == 18


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    from services.ingest.progress import ProgressBar

    quiet = io.StringIO()
    ProgressBar("reading", quiet)(5, 10)
    assert quiet.getvalue() == ""  # not a terminal
    shown = io.StringIO()
    bar = ProgressBar("reading", shown, force=True)
    bar(10, 10)
    bar.close()
    assert shown.getvalue().startswith("\rreading    [##############################] 10/10")
    assert shown.getvalue().endswith("\n")
