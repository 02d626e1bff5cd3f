"""The managers' view end to end: the synthetic authority through Kafka (Tansu), the journeys
worker, the alerts service and the lag exporter, scraped by a real Prometheus (the Debian
package) loading deploy/prometheus/rules. Every PromQL expression of every dashboard panel
and rule is evaluated through Prometheus's HTTP API and must return data, and the board's
headline numbers must equal what ``casewatch replay --measures`` computes from the same
export with the same pure code. No exposition may name a child."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from deploy.grafana import generate
from services.cli import all_topics
from services.ingest.demo.authority import write_demo_export
from services.ingest.ssd.adapter import read_ssd_export
from services.runtime.broker import EmbeddedBroker, ensure_topics, free_port, wait_for_port
from services.runtime.settings import Settings
from tests.integration.conftest import (
    TEST_PERSON_KEY_SECRET,
    casewatch_process,
    poll_until,
    service_env,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
TODAY = date.today()
CHILDREN = 150
# Dashboard variables, as Grafana would substitute them with "All" selected.
VARIABLES = {"$__rate_interval": "1m", "$team": ".*"}


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is not installed: .ci/run must apt-get install prometheus")
        pytest.skip("prometheus not installed (apt-get install prometheus)")
    return found


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


class Prometheus:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def query(self, expr: str) -> list[dict[str, object]] | None:
        """The instant query's result; None on an error (a bad expression fails the test)."""
        body = json.loads(get(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"))
        assert body["status"] == "success", (expr, body)
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"value": data["result"]}]
        result: list[dict[str, object]] = data["result"]
        return result

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        if not result:
            return None
        return float(result[0]["value"][1])  # type: ignore[index]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A Prometheus config dir and port; the test writes the scrape targets."""
    port = free_port()
    yield tmp_path / "prometheus", port


def write_prometheus_config(directory: Path, targets: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(f) for f in RULE_FILES],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def split_comparison(expr: str) -> list[str]:
    """``signal OP threshold`` -> [signal, threshold], split at the top-level comparison
    (outside brackets and quotes), with any ``on()``/``group_left()`` modifier dropped."""
    depth, quoted = 0, False
    for i, ch in enumerate(expr):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "({[":
            depth += 1
        elif not quoted and ch in ")}]":
            depth -= 1
        elif not quoted and depth == 0 and ch.isspace():
            found = re.match(r"\s+(==|!=|>=|<=|>|<)\s+", expr[i:])
            if found:
                right = expr[i + found.end() :]
                right = re.sub(r"^(on|ignoring)\s*\([^)]*\)\s*", "", right)
                right = re.sub(r"^group_(left|right)\s*(\([^)]*\))?\s*", "", right)
                return [expr[:i].strip(), right.strip()]
    return [expr]


def test_alert_expressions_split_into_signal_and_threshold() -> None:
    assert split_comparison('sum by (r) (increase(x{a="<"}[1h])) > 0') == [
        'sum by (r) (increase(x{a="<"}[1h]))',
        "0",
    ]
    assert split_comparison("a:b < on() group_left() c:d") == ["a:b", "c:d"]
    assert split_comparison("sum(a) / sum(b)") == ["sum(a) / sum(b)"]


def expressions() -> list[tuple[str, str]]:
    """(where, PromQL) for every dashboard target and every recording and alerting rule."""
    found = []
    for board, panel, expr in _dashboard_targets():
        for name, value in VARIABLES.items():
            expr = expr.replace(name, value)
        found.append((f"{board}: {panel}", expr))
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("record") or rule["alert"]
                parts = [rule["expr"]] if "record" in rule else split_comparison(rule["expr"])
                assert "alert" not in rule or len(parts) == 2, f"{name}: not `signal OP threshold`"
                found += [(f"{path.name}: {name}", p) for p in parts]
    return found


def _dashboard_targets() -> Iterator[tuple[str, str, str]]:
    for path in sorted(generate.OUT.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                yield board["title"], panel["title"], target["expr"]


def replay_headline(export: Path, env: dict[str, str]) -> dict[str, float | None]:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "replay", str(export), "--measures",
         "--format", "json", "--as-of", TODAY.isoformat()],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    headline: dict[str, float | None] = json.loads(result.stdout)["headline"]
    return headline


def ingest(kind: str, path: Path, env: dict[str, str], textfiles: Path | None = None) -> None:
    metrics = ["--metrics-textfile", str(textfiles / f"ingest-{kind}.prom")] if textfiles else []
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", kind, str(path), *metrics],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def serve_textfiles(directory: Path) -> int:
    """What node-exporter's textfile collector serves: every *.prom file of ``directory`` on
    /metrics (the collector itself is not on these machines; the files are the CLI's own)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = "".join(p.read_text() for p in sorted(directory.glob("*.prom"))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return int(server.server_address[1])


INGEST_TOKEN_SECRET = "an-e2e-ingest-secret-of-32-characters-or-more"


def post_to_the_ingest_api(port: int) -> None:
    """An integrator's day through the HTTP ingest API: a referral published, one its source
    may not state (health-salt, a camhs referral: 403), one refused by a date rule (422)."""
    from services.ingest.api.tokens import mint_token

    token = mint_token(
        INGEST_TOKEN_SECRET,
        subject="e2e-health-etl",
        sources=["health", "health-salt"],
        audience="casewatch-ingest",
    )

    def post(source: str, service: str, received_on: str) -> int:
        body = {
            "record_key": f"referrals:API-{service}",
            "person": {"id": "API-0001"},
            "payload": {
                "type": "referral.received",
                "referral_id": f"API-{service}",
                "service": service,
                "received_on": received_on,
            },
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/sources/{source}/events",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)

    assert post("health", "autism", TODAY.replace(day=1).isoformat()) == 202
    assert post("health-salt", "camhs", TODAY.replace(day=1).isoformat()) == 403
    assert post("health", "salt", "1899-01-01") == 422


def publish_poison(bootstrap: str, topic: str) -> None:
    """One undecodable message: the DLQ panels and alert must have something to show."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send(topic, key=b"not-a-person-key", value=b"{not json").get(timeout=30)
    producer.close()


def personal_data(export: Path) -> list[str]:
    """Names, dates of birth, UPNs, NHS numbers, case references and person keys of the
    synthetic children."""
    values: set[str] = set()
    with open(export / "ssd_person.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            values |= {f'"{row["pers_person_id"]}"', row["pers_upn"], row["pers_dob"][:10]}
            values |= {f"{row['pers_forename']} {row['pers_surname']}", row["pers_surname"]}
            values.add(row["pers_single_unique_id"])  # the NHS number health referrals carry
    reading = read_ssd_export(export, secret=TEST_PERSON_KEY_SECRET, extracted_at=datetime.now(UTC))
    values |= {e.person_key for e in reading.events}
    return sorted(v for v in values if len(v) >= 4)


def leave_unallocated(export: Path, n: int) -> None:
    """Take the caseworker off the first ``n`` children of the export (their team kept):
    blank in ``ssd_person``, and no row in the assignments table."""
    with open(export / "ssd_person.csv", newline="") as f:
        people = list(csv.DictReader(f))
    firsts = sorted(p["pers_person_id"] for p in people)[:n]
    for p in people:
        if p["pers_person_id"] in firsts:
            p["caseworker_id"] = ""
    with open(export / "ssd_caseworker_assignments.csv", newline="") as f:
        assigned = [a for a in csv.DictReader(f) if a["person_id"] not in firsts]
    for name, rows in (("ssd_person.csv", people), ("ssd_caseworker_assignments.csv", assigned)):
        with open(export / name, newline="") as f:
            fields = next(csv.reader(f))
        with open(export / name, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


def test_every_dashboard_and_rule_expression_returns_data_and_the_board_equals_replay(
    tmp_path: Path, prometheus: tuple[Path, int]
) -> None:
    binary = prometheus_binary()
    prom_dir, prom_port = prometheus
    export = tmp_path / "export"
    write_demo_export(export, children=CHILDREN, seed=7, today=TODAY)
    leave_unallocated(export, 10)  # children awaiting a caseworker: every authority has some
    logs = tmp_path / "logs"
    logs.mkdir()
    with EmbeddedBroker(log_path=logs / "broker.log") as broker:
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        names, compacted = all_topics(settings)
        ensure_topics(broker.bootstrap, settings.partitions, names, compacted)
        env = service_env(
            broker,
            tmp_path / "data",
            CASEWATCH_CLOCK_DATE=TODAY.isoformat(),
            CASEWATCH_LAG_PORT=str(free_port()),
            CASEWATCH_LAG_CACHE_SECONDS="0",
            CASEWATCH_INGEST_PORT=str(free_port()),
            CASEWATCH_INGEST_TOKEN_SECRET=INGEST_TOKEN_SECRET,
            CASEWATCH_INGEST_STATE_PATH=str(tmp_path / "ingest-api.sqlite"),
        )
        ports = {
            "casewatch-journeys": env["CASEWATCH_WORKER_WEB_PORT"],
            "casewatch-alerts": env["CASEWATCH_ALERTS_PORT"],
            "casewatch-lag": env["CASEWATCH_LAG_PORT"],
            "casewatch-ingest-api": env["CASEWATCH_INGEST_PORT"],
        }
        expected = replay_headline(export, env)
        with (
            casewatch_process(["worker"], env, logs / "worker.log"),
            casewatch_process(["serve", "alerts"], env, logs / "alerts.log"),
            casewatch_process(["lag-exporter"], env, logs / "lag.log"),
            casewatch_process(["serve", "ingest"], env, logs / "ingest-api.log"),
        ):
            for port in ports.values():
                wait_for_port("127.0.0.1", int(port), timeout=60)
            textfiles = tmp_path / "textfile"
            ingest("ssd", export, env, textfiles)
            ingest("health", export, env, textfiles)
            ports["casewatch-ingest-textfile"] = str(serve_textfiles(textfiles))
            publish_poison(broker.bootstrap, settings.topic_events)
            post_to_the_ingest_api(int(env["CASEWATCH_INGEST_PORT"]))

            worker_metrics = f"http://127.0.0.1:{ports['casewatch-journeys']}/metrics"

            def worker_overdue() -> bool:
                text = get(worker_metrics)
                found = re.findall(r"^casewatch_reviews_overdue\{[^}]*\} (\S+)$", text, re.M)
                journeys = re.findall(r"^casewatch_measures_journeys (\S+)$", text, re.M)
                return (
                    bool(journeys)
                    and float(journeys[0]) >= CHILDREN
                    and (sum(map(float, found)) == expected["overdue_reviews"])
                )

            poll_until(worker_overdue, timeout=90, what="the worker's measures to settle")

            config = write_prometheus_config(
                prom_dir, {job: f"127.0.0.1:{port}" for job, port in ports.items()}
            )
            proc = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={prom_dir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                stdout=open(logs / "prometheus.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            )  # fmt: skip
            try:
                prom = Prometheus(prom_port)
                poll_until(lambda: _ready(prom), timeout=30, what="Prometheus to be ready")
                check_board_equals_replay(prom, expected)
                check_every_expression_returns_data(prom)
                check_no_personal_data(ports, personal_data(export))
            finally:
                proc.terminate()
                proc.wait(timeout=20)


def _ready(prom: Prometheus) -> bool:
    try:
        return "Ready" in get(f"{prom.url}/-/ready")
    except OSError:
        return False


def check_board_equals_replay(prom: Prometheus, expected: dict[str, float | None]) -> None:
    headline = {
        "casewatch:reviews_overdue:sum": expected["overdue_reviews"],
        "casewatch:ehc_issued_within_20w:ratio": expected["issued_within_20w"],
        "casewatch:ehc_issued_within_20w_excl_exceptions:ratio": expected[
            "issued_within_20w_excluding_exceptions"
        ],
        "casewatch:ehc_decisions_within_6w:ratio": expected["decisions_within_6w"],
        "casewatch:review_decisions_within_4w:ratio": expected["review_decisions_within_4w"],
        "casewatch:ehc_assessments_over_20w:sum": expected["open_20w_breaches"],
    }
    assert all(v is not None for v in headline.values()), expected
    assert expected["overdue_reviews"] and expected["open_20w_breaches"]

    got: dict[str, float | None] = {}

    def matches() -> bool:
        got.update({expr: prom.value(expr) for expr in headline})
        return all(
            g is not None and abs(g - float(headline[e] or 0)) < 1e-9 for e, g in got.items()
        )

    try:
        poll_until(matches, timeout=60, what="the board to equal replay")
    except AssertionError:
        raise AssertionError(f"Prometheus {got} != replay {headline}") from None


def check_every_expression_returns_data(prom: Prometheus) -> None:
    todo = expressions()
    assert len(todo) > 40

    def empty() -> list[tuple[str, str]]:
        return [(where, e) for where, e in todo if not prom.query(e)]

    left: list[tuple[str, str]] = []

    def done() -> bool:
        nonlocal left
        left = empty()
        return not left

    try:
        poll_until(done, timeout=45, what="every expression to return data")
    except AssertionError:
        raise AssertionError(f"no data for: {left}") from None


def check_no_personal_data(ports: dict[str, str], forbidden: list[str]) -> None:
    assert len(forbidden) > CHILDREN
    for job, port in ports.items():
        text = get(f"http://127.0.0.1:{port}/metrics")
        for value in forbidden:
            assert value not in text, f"{value!r} appears in the metrics of {job}"
