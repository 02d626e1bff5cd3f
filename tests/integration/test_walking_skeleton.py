"""The whole path on real parts: SSD export → kafka-python → Tansu → faust worker → flags →
alerts service (SQLite) → JSON API and inbox.  Processes are real; polling has deadlines."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.alerts.config import AlertSettings
from services.alerts.web.auth import mint_token
from services.cli import all_topics
from services.ingest.identity import person_key
from services.journeys.domain.calendar import add_months
from services.runtime.broker import EmbeddedBroker, ensure_topics, wait_for_port
from services.runtime.settings import Settings
from tests.integration.conftest import casewatch_process, poll_until, read_topic, service_env

pytestmark = pytest.mark.integration

TODAY = date.today()
LAPSED_DECISION = add_months(TODAY - timedelta(days=30), -12)  # review_due was 30 days ago
RECENT_DECISION = add_months(TODAY, -1)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def tiny_export(directory: Path, *, bad_rows: bool = False) -> Path:
    """Two children with plans: Ada's review lapsed 30 days ago, Ben's was decided last month."""
    directory.mkdir(parents=True, exist_ok=True)
    iso = date.isoformat
    write_csv(
        directory / "ssd_person.csv",
        ["pers_person_id", "pers_forename", "pers_surname", "pers_dob", "caseworker_id", "team"],
        [
            ["P-ADA", "Ada", "Lovelace", "2014-12-10", "cw-ada", "north"],
            ["P-BEN", "Benjamin", "Britten", "2013-11-22", "cw-ben", "north"],
        ],
    )
    write_csv(
        directory / "ssd_send.csv",
        ["send_table_id", "send_person_id"],
        [["S1", "P-ADA"], ["S2", "P-BEN"]],
    )
    write_csv(
        directory / "ssd_ehcp_requests.csv",
        [
            "ehcr_ehcp_request_id",
            "ehcr_send_table_id",
            "ehcr_ehcp_req_date",
            "ehcr_ehcp_req_outcome_date",
            "ehcr_ehcp_req_outcome",
        ],
        [
            ["R1", "S1", "2021-01-04", "2021-02-10", "Y"],
            ["R2", "S2", "2021-03-01", "2021-04-05", "Y"],
        ],
    )
    write_csv(
        directory / "ssd_ehcp_assessment.csv",
        [
            "ehca_ehcp_assessment_id",
            "ehca_ehcp_request_id",
            "ehca_ehcp_assessment_outcome_date",
            "ehca_ehcp_assessment_outcome",
            "ehca_ehcp_assessment_exceptions",
        ],
        [["A1", "R1", "2021-05-20", "Y", "0"], ["A2", "R2", "2021-07-15", "Y", "0"]],
    )
    write_csv(
        directory / "ssd_ehcp_named_plan.csv",
        [
            "ehcn_named_plan_id",
            "ehcn_ehcp_asmt_id",
            "ehcn_named_plan_start_date",
            "ehcn_named_plan_ceased_date",
            "ehcn_named_plan_ceased_reason",
        ],
        [["NP1", "A1", "2021-05-20", "", ""], ["NP2", "A2", "2021-07-15", "", ""]],
    )
    active = [
        ["AP1", "R1", iso(LAPSED_DECISION), iso(LAPSED_DECISION - timedelta(days=20)), "M"],
        ["AP2", "R2", iso(RECENT_DECISION), iso(RECENT_DECISION - timedelta(days=14)), "A"],
    ]
    if bad_rows:
        active[1][2] = "31/02/2024"  # not a date
    write_csv(
        directory / "ssd_ehcp_active_plans.csv",
        [
            "ehcp_active_ehcp_id",
            "ehcp_ehcp_request_id",
            "ehcp_active_ehcp_last_review_date",
            "ReviewMeeting",
            "ReviewOutcome",
        ],
        active,
    )
    return directory


def get_json(url: str, token: str | None = None) -> object:
    with urllib.request.urlopen(_request(url, token), timeout=5) as response:
        return json.load(response)


def get_text(url: str, token: str | None = None) -> str:
    with urllib.request.urlopen(_request(url, token), timeout=5) as response:
        return str(response.read().decode())


def _request(url: str, token: str | None) -> urllib.request.Request:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return urllib.request.Request(url, headers=headers)


def token_for(data_dir: Path, subject: str, role: str) -> str:
    """A token signed by the alerts service's own key (it made it in ``data_dir`` at start)."""
    return mint_token(AlertSettings(), data_dir, subject=subject, roles=[role], team="north")


def metric(metrics_url: str, name: str, **labels: str) -> float:
    """Sum of one metric over the label sets that carry ``labels``, as Prometheus scrapes it."""
    total = 0.0
    for found, value in re.findall(rf"^{name}(\{{[^}}]*\}})? (\S+)$", get_text(metrics_url), re.M):
        if all(f'{k}="{v}"' in found for k, v in labels.items()):
            total += float(value)
    return total


def ingest(export: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", "ssd", str(export), *extra],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_lapsed_review_reaches_the_caseworker_inbox_once(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    env = service_env(broker, tmp_path / "data", CASEWATCH_WORKER_TIMER_SECONDS="2")
    settings = Settings(kafka_bootstrap=broker.bootstrap)
    names, compacted = all_topics(settings)
    ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
    alerts_url = f"http://127.0.0.1:{env['CASEWATCH_ALERTS_PORT']}"
    metrics_url = f"http://127.0.0.1:{env['CASEWATCH_WORKER_WEB_PORT']}/metrics"
    export = tiny_export(tmp_path / "export")
    logs = tmp_path / "logs"
    logs.mkdir()

    with (
        casewatch_process(["worker"], env, logs / "worker.log"),
        casewatch_process(["serve", "alerts"], env, logs / "alerts.log"),
    ):
        wait_for_port("127.0.0.1", int(env["CASEWATCH_ALERTS_PORT"]), timeout=60)
        admin = token_for(tmp_path / "data", "admin-1", "admin")
        first = ingest(export, env)
        assert first.returncode == 0, first.stdout + first.stderr

        def open_alerts() -> list[dict[str, object]]:
            return get_json(f"{alerts_url}/alerts", admin)  # type: ignore[return-value]

        alerts = poll_until(open_alerts, timeout=90, what="the lapsed-review alert")
        assert [(a["rule_id"], a["child_ref"], a["caseworker_id"]) for a in alerts] == [
            ("R-AR-DUE", "P-ADA", "cw-ada")
        ]
        (alert,) = alerts
        assert alert["due_on"] == (TODAY - timedelta(days=30)).isoformat()
        assert alert["days_overdue"] == 30
        assert get_json(f"{alerts_url}/alerts?caseworker=cw-ben", admin) == []
        ada = token_for(tmp_path / "data", "cw-ada", "caseworker")
        inbox = get_text(f"{alerts_url}/inbox", ada)
        assert "P-ADA" in inbox and "Annual review overdue" in inbox
        ben = token_for(tmp_path / "data", "cw-ben", "caseworker")
        assert get_json(f"{alerts_url}/alerts", ben) == []

        # Re-ingest the same export: same event ids, the worker folds them, nothing new.
        published = int(re.findall(r"(\d+) events", first.stdout)[-1])
        poll_until(
            lambda: metric(metrics_url, "casewatch_events_total") >= published,
            timeout=60,
            what="every published event to be folded",
        )
        swept = metric(metrics_url, "casewatch_sweep_journeys_total")
        # --republish: send every event again (snapshot diffing would send none), so the
        # worker sees the same event ids a second time
        second = ingest(export, env, "--republish")
        assert second.returncode == 0, second.stdout + second.stderr
        poll_until(
            lambda: metric(metrics_url, "casewatch_events_total") >= 2 * published,
            timeout=60,
            what="the re-ingested events to be folded",
        )
        poll_until(
            lambda: metric(metrics_url, "casewatch_sweep_journeys_total") > swept,
            timeout=30,
            what="a clock sweep after the re-ingest",
        )
        again = open_alerts()
        assert [a["flag_id"] for a in again] == [alert["flag_id"]]
        assert again[0]["first_raised_at"] == alert["first_raised_at"]
        # Never a transient flag for Ben while his facts were arriving: one raise in all.
        assert metric(metrics_url, "casewatch_flags_total", status="raised") == 1
        assert metric(metrics_url, "casewatch_flags_total", status="resolved") == 0

        digest = subprocess.run(
            [sys.executable, "-m", "services.cli", "notify", "digest"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert digest.returncode == 0, digest.stdout + digest.stderr
        expositions = {
            "worker metrics": get_text(metrics_url),
            "alerts metrics": get_text(f"{alerts_url}/metrics"),
        }

    # Personal data: no name, date of birth or person key in any log, the ingest output, a
    # notification or a metric exposition.
    secret = env["CASEWATCH_PERSON_KEY_SECRET"]
    forbidden = [
        "Ada",
        "Lovelace",
        "Benjamin",
        "Britten",
        "2014-12-10",
        "2013-11-22",
        person_key(secret, "liquidlogic", "P-ADA"),
        person_key(secret, "liquidlogic", "P-BEN"),
    ]
    outputs = {p.name: p.read_text() for p in logs.iterdir()}
    outputs["ingest"] = first.stdout + first.stderr + second.stdout + second.stderr
    outputs["notify digest"] = digest.stdout + digest.stderr
    notifications = sorted((tmp_path / "data" / "outbox").glob("*.eml"))
    assert [n.name.split("-digest-")[1] for n in notifications] == ["cw-ada.eml"]
    published = {f"outbox/{n.name}": n.read_text() for n in notifications} | expositions
    for name, text in (outputs | published).items():
        for value in forbidden:
            assert value not in text, f"{value!r} leaked into {name}"
    for name, text in published.items():  # the case-system reference is for the inbox only
        assert "P-ADA" not in text, f"the child's reference leaked into {name}"


def test_bad_row_is_reported_and_the_rest_published(broker: EmbeddedBroker, tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap=broker.bootstrap)
    names, compacted = all_topics(settings)
    ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
    env = service_env(broker, tmp_path / "data")
    result = ingest(tiny_export(tmp_path / "export", bad_rows=True), env)
    assert result.returncode == 1  # some rows rejected
    assert "ssd_ehcp_active_plans.csv:3" in result.stdout
    assert "ehcp_active_ehcp_last_review_date" in result.stdout
    assert "R-DATA-DATE" in result.stdout

    types = Counter(
        json.loads(v)["event_type"] for v in read_topic(broker.bootstrap, settings.topic_events)
    )
    # Ben's active-plan row is rejected (no review events for him); everything else arrives.
    assert types["person.registered"] == 2
    assert types["plan.issued"] == 2
    assert types["review.decided"] == 1
    assert types["review.meeting_held"] == 1
