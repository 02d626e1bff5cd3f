"""deploy/ is checked by the real tools: promtool, amtool, docker-compose and the Kubernetes
schemas. In CI (CI=true) a missing tool fails the test; .ci/run installs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.grafana import generate
from services.journeys.domain.measures import MEASURES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
COMPOSE_ENV = {
    "CASEWATCH_PERSON_KEY_SECRET": "test-secret",
    "POSTGRES_PASSWORD": "test-password",
    "GRAFANA_ADMIN_PASSWORD": "test-password",
}


def tool(name: str) -> str:
    """The binary's path; CI must have it (.ci/run installs it), elsewhere a skip says why."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed: .ci/run must apt-get install it")
        pytest.skip(f"{name} not installed (apt-get install prometheus docker-compose)")
    return found


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# --- Prometheus and Alertmanager --------------------------------------------------------------


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-k8s.yml"])
def test_promtool_checks_the_prometheus_config_and_its_rule_files(config: str) -> None:
    out = run(tool("promtool"), "check", "config", config, cwd=PROMETHEUS)
    assert f"{len(RULE_FILES)} rule files found" in out


def test_promtool_checks_every_rule_file() -> None:
    out = run(tool("promtool"), "check", "rules", *map(str, RULE_FILES))
    assert out.count("SUCCESS") == len(RULE_FILES)


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    out = run(tool("promtool"), "test", "rules", *map(str, tests))
    assert "SUCCESS" in out and "FAILED" not in out


def test_amtool_checks_the_alertmanager_config() -> None:
    run(tool("amtool"), "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml"))


def alert_rules() -> list[dict[str, object]]:
    return [
        r
        for f in RULE_FILES
        for g in yaml.safe_load(f.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    ]


def test_the_issue_s_alerts_exist_and_are_routed() -> None:
    names = {r["alert"] for r in alert_rules()}
    assert {
        "CasewatchTwentyWeekRateBelowTarget",
        "CasewatchSourceQuiet",
        "CasewatchDeadLettersGrowing",
        "CasewatchConsumerLagHigh",
    } <= names
    receivers = {
        r["name"]
        for r in yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())[
            "receivers"
        ]
    }
    assert receivers == {"managers", "operations"}
    assert all(r["labels"]["audience"] in {"managers", "operations"} for r in alert_rules())  # type: ignore[index]


# --- Grafana --------------------------------------------------------------------------------


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    for path, body in generate.rendered().items():
        assert path.exists(), f"{path.name} missing: run python -m deploy.grafana.generate"
        assert path.read_text() == body, (
            f"{path.name} differs: run python -m deploy.grafana.generate"
        )
    assert {p.name for p in generate.OUT.glob("*.json")} == {p.name for p in generate.rendered()}


def dashboard_exprs() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(generate.OUT.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found.append((path.stem, panel["title"], target["expr"]))
    return found


def test_the_three_dashboards_use_the_provisioned_datasource() -> None:
    source = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uid = source["datasources"][0]["uid"]
    titles = set()
    for path in generate.OUT.glob("*.json"):
        board = json.loads(path.read_text())
        titles.add(board["title"])
        for panel in board["panels"]:
            if panel["type"] not in ("row", "text"):
                assert panel["datasource"]["uid"] == uid, panel["title"]
    assert titles == {"SEND partnership board", "Caseload and transitions", "Pipeline health"}


def known_series() -> set[str]:
    recorded = {
        r["record"]
        for f in RULE_FILES
        for g in yaml.safe_load(f.read_text())["groups"]
        for r in g["rules"]
        if "record" in r
    }
    exported = {m.name for m in MEASURES} | {
        "casewatch_events_total",
        "casewatch_events_dlq_total",
        "casewatch_events_newest_timestamp_seconds",
        "casewatch_flags_total",
        "casewatch_measures_journeys",
        "casewatch_alerts_open",
        "casewatch_consumer_lag",
        "casewatch_consumer_lag_up",
    }
    from services.ingest.issues import ExportReading
    from services.ingest.metrics import run_registry

    textfile = run_registry(ExportReading([], [], 0, 0), "ssd", published=0, exit_code=0)
    exported |= {m.name for m in textfile.collect()}  # --metrics-textfile's
    from prometheus_client import CollectorRegistry

    from services.ingest.api.metrics import IngestApiMetrics

    api = CollectorRegistry()
    IngestApiMetrics(api)
    exported |= {f"{m.name}_total" for m in api.collect()}  # the ingest API's counters
    return recorded | exported


def test_every_series_a_panel_or_rule_reads_is_exported_or_recorded() -> None:
    known = known_series()
    exprs = [e for _, _, e in dashboard_exprs()]
    exprs += [
        str(r["expr"])
        for f in RULE_FILES
        for g in yaml.safe_load(f.read_text())["groups"]
        for r in g["rules"]
    ]
    for expr in exprs:
        unquoted = re.sub(r'"[^"]*"', '""', expr)  # label values are not series
        for name in re.findall(r"[a-z_:]*casewatch[a-z0-9_:]*", unquoted):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in known or base in known, (
                f"{name} in {expr!r} is neither exported nor recorded"
            )


# --- docker-compose ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, object]:
    out = run(
        tool("docker-compose"), "-f", str(ROOT / "docker-compose.yml"), "config", env=COMPOSE_ENV
    )
    parsed: dict[str, object] = yaml.safe_load(out)
    return parsed


def test_compose_is_the_full_single_host_deployment(compose: dict[str, object]) -> None:
    services = compose["services"]
    assert isinstance(services, dict)
    assert set(services) >= {
        "kafka", "topics", "postgres", "journeys", "alerts", "lag-exporter", "ingest", "ingest-api",
        "prometheus", "alertmanager", "grafana", "mailpit",
    }  # fmt: skip
    casewatch = [s for s in services.values() if s.get("image") == "casewatch:latest"]
    assert len(casewatch) >= 5 and all(s["build"] for s in casewatch)  # one Dockerfile
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert services["alerts"]["environment"]["CASEWATCH_ALERTS_DB_URL"].startswith(
        "postgresql+psycopg://"
    )
    for name, service in services.items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond loopback"


def test_compose_mounts_the_provisioning_and_prometheus_scrapes_every_service(
    compose: dict[str, object],
) -> None:
    services = compose["services"]
    assert isinstance(services, dict)
    grafana_mounts = " ".join(str(v) for v in services["grafana"]["volumes"])
    assert (
        "deploy/grafana/provisioning" in grafana_mounts
        and "deploy/grafana/dashboards" in grafana_mounts
    )
    assert "deploy/prometheus" in " ".join(str(v) for v in services["prometheus"]["volumes"])
    scrape = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]
    targets = {t for job in scrape for c in job["static_configs"] for t in c["targets"]}
    assert {"journeys:6066", "alerts:8080", "lag-exporter:9308", "ingest-api:8090"} <= targets
    env = services["journeys"]["environment"]
    assert (
        env["CASEWATCH_WORKER_WEB_PORT"] == "6066"
        and env["CASEWATCH_WORKER_METRICS_HOST"] == "0.0.0.0"
    )
    assert services["lag-exporter"]["environment"]["CASEWATCH_LAG_PORT"] == "9308"


# --- Kubernetes ---------------------------------------------------------------------------------


def manifests() -> list[dict[str, object]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_kubernetes_manifests_validate_offline() -> None:
    import kubernetes_validate

    for doc in manifests():
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_kubernetes_shape_journeys_stateful_alerts_and_ingest_deployments_nightly_cronjob() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in manifests()}  # type: ignore[index]
    journeys = kinds[("StatefulSet", "journeys")]
    spec = journeys["spec"]
    assert isinstance(spec, dict) and spec["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    mounts = spec["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/data"} in mounts  # RocksDB, one volume per pod
    assert ("Deployment", "alerts") in kinds and ("Deployment", "ingest") in kinds
    cron = kinds[("CronJob", "nightly-export")]
    args = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]  # type: ignore[index]
    assert args[:2] == ["ingest", "ssd"]
    listed = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(
        p.name for p in (DEPLOY / "k8s").glob("*.yaml") if p.name != "kustomization.yaml"
    )
