"""``--metrics-textfile``: a run's issues by source, rule and severity where Prometheus sees
them (node-exporter's textfile collector), with bounded labels and no value of a record."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from services.ingest.config import IngestSettings
from services.ingest.demo.authority import write_demo_export
from services.ingest.metrics import RULES
from services.ingest.runner import IngestOptions, run_ingest
from services.runtime.settings import Settings


def samples(path: Path) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def run(tmp_path: Path, kind: str, path: Path, textfile: Path) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    options = IngestOptions(
        kind=kind, path=path, dry_run=True, report="json", metrics_textfile=textfile
    )
    code = run_ingest(
        Settings(data_dir=tmp_path / "data"),
        options,
        ingest=IngestSettings(state_path=tmp_path / "state.sqlite"),
        out=out,
        err=io.StringIO(),
    )
    report: dict[str, object] = json.loads(out.getvalue())
    return code, report


def test_the_textfile_counts_the_report_by_rule_and_severity(tmp_path: Path) -> None:
    today = date.today()
    write_demo_export(tmp_path / "x", children=200, seed=8, today=today, messy=True)
    textfile = tmp_path / "textfile" / "ingest-ssd.prom"
    code, report = run(tmp_path, "ssd", tmp_path / "x", textfile)
    assert code == 1  # the impossible date rejected a request
    issues = report["issues"]
    assert isinstance(issues, list)
    expected = Counter((i["rule"], i["severity"]) for i in issues)
    found = samples(textfile)
    by_rule = {
        (labels["rule"], labels["severity"]): value
        for labels, value in found["casewatch_ingest_last_run_issues"]
    }
    assert {k: v for k, v in by_rule.items() if v} == dict(expected)
    assert {("R-DATA-UPN", "warning"), ("R-DATA-DATE", "error")} <= set(expected)
    # every known rule is there, 0 when the run had none: a clean run is 0, not no data
    assert {(r, s) for r, severities in RULES.items() for s in severities} <= set(by_rule)
    assert all(labels["source"] == "ssd" for labels, _ in found["casewatch_ingest_last_run_issues"])
    records = {labels["outcome"]: v for labels, v in found["casewatch_ingest_last_run_records"]}
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert records["rejected"] == summary["rows_rejected"] > 0
    assert records["read"] == summary["rows_read"]
    assert found["casewatch_ingest_last_run_exit_code"] == [({"source": "ssd"}, 1.0)]


def test_the_textfile_holds_no_value_of_a_record(tmp_path: Path) -> None:
    today = date.today()
    write_demo_export(tmp_path / "x", children=100, seed=3, today=today, messy=True)
    textfile = tmp_path / "ingest-sen2.prom"
    run(tmp_path, "sen2", tmp_path / "x" / "sen2" / "sen2_return.xml", textfile)
    labels = {
        value
        for values in samples(textfile).values()
        for found, _ in values
        for value in found.values()
    }
    allowed = {"sen2", "error", "warning", "read", "rejected", "published"}
    assert labels - allowed <= set(RULES)  # only rule ids beyond those: no UPN, name, path


def test_a_clean_run_writes_zeros_and_replaces_the_last_file(tmp_path: Path) -> None:
    today = date.today()
    textfile = tmp_path / "ingest-ssd.prom"
    write_demo_export(tmp_path / "messy", children=100, seed=3, today=today, messy=True)
    run(tmp_path, "ssd", tmp_path / "messy", textfile)
    assert any(v for _, v in samples(textfile)["casewatch_ingest_last_run_issues"])
    write_demo_export(tmp_path / "clean", children=100, seed=3, today=today)
    code, _ = run(tmp_path, "ssd", tmp_path / "clean", textfile)
    assert code == 0
    assert not any(v for _, v in samples(textfile)["casewatch_ingest_last_run_issues"])
    assert [p.name for p in tmp_path.glob("ingest-ssd.prom*")] == ["ingest-ssd.prom"]
