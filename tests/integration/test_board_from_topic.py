"""``casewatch report board`` from the running system: an export ingested into the real
broker, then the pack drawn up from ``casewatch.events`` (no ``--export``) says exactly what
the pack drawn up from the export itself says."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from services.cli import all_topics
from services.ingest.demo.authority import write_demo_export
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings
from tests.e2e.test_board_pack import Cells
from tests.integration.conftest import service_env

pytestmark = pytest.mark.integration
TODAY = date(2026, 11, 20)


def casewatch(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def figures(html: Path) -> dict[str, tuple[str, bool]]:
    parser = Cells()
    parser.feed(html.read_text())
    return parser.found


def test_the_pack_from_the_event_log_equals_the_pack_from_the_export(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    settings = Settings(kafka_bootstrap=broker.bootstrap)
    names, compacted = all_topics(settings)
    ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
    env = service_env(broker, tmp_path / "data")
    export = tmp_path / "export"
    write_demo_export(export, children=120, seed=11, today=TODAY)
    ingested = casewatch(["ingest", "export", str(export)], env)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr

    board = ["report", "board", "--year", "2026", "--today", TODAY.isoformat(), "--no-pdf"]
    live = casewatch([*board, "--out", str(tmp_path / "live")], env)
    assert live.returncode == 0, live.stdout + live.stderr
    assert "board-2026.html" in live.stdout
    offline = casewatch([*board, "--export", str(export), "--out", str(tmp_path / "off")], env)
    assert offline.returncode == 0, offline.stdout + offline.stderr

    from_log = figures(tmp_path / "live" / "board-2026.html")
    from_export = figures(tmp_path / "off" / "board-2026.html")
    shared = {k for k in from_export if not k.startswith("quality.")}
    assert len(shared) > 150
    assert {k: from_log[k] for k in shared} == {k: from_export[k] for k in shared}
    # the event log holds exactly the facts the export read: the same count per source
    facts = {k: v for k, v in from_log.items() if k.endswith(".facts")}
    assert facts == {k: v for k, v in from_export.items() if k.endswith(".facts")}


def test_no_broker_is_exit_2_naming_it(tmp_path: Path) -> None:
    env = {"CASEWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:9", "CASEWATCH_DATA_DIR": str(tmp_path)}
    done = casewatch(["report", "board", "--month", "2026-10", "--out", str(tmp_path)], env)
    assert done.returncode == 2
    assert "cannot read the event log" in done.stderr and "127.0.0.1:9" in done.stderr
