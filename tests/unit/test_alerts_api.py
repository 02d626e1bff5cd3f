"""The alerts HTTP API and inbox pages, on a SQLite store filled directly (no consumer),
read by an administrator (who sees every alert)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from schemas.flags import FlagRecord
from services.alerts.config import AlertSettings
from services.alerts.metrics import AlertMetrics
from services.alerts.store.store import AlertStore
from services.alerts.web.app import create_app
from services.alerts.web.auth import mint_token
from services.runtime.settings import Settings

TODAY = date(2026, 3, 2)
T0 = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
PERSON = "pk-0123456789abcdef"
SCRIPT = "<script>alert(1)</script>"


def fid(n: int) -> str:
    return f"{n:032x}"


def flag(status: str = "raised", *, n: int = 1, at: datetime = T0, **changes: object) -> FlagRecord:
    values: dict[str, object] = {
        "flag_id": fid(n),
        "status": status,
        "rule_id": "R-AR-DUE",
        "rule_pack_version": "2026.1",
        "severity": "breach",
        "statutory": True,
        "person_key": PERSON,
        "child_ref": f"CHILD-{n}",
        "caseworker_id": "cw-ana",
        "team": "north",
        "subject": f"plan:P{n}",
        "due_on": date(2026, 2, 5),
        "as_of": at.date(),
        "changed_at": at,
    }
    return FlagRecord.model_validate({**values, **changes})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}")
    for record in [
        flag(n=1),
        flag(n=2, caseworker_id="cw-ben", child_ref=SCRIPT, due_on=date(2026, 1, 10)),
        flag(
            n=3,
            rule_id="R-ISSUE-20W",
            due_on=date(2026, 3, 1),
            exception=True,
            subject="request:R9",
        ),
        flag(n=4, rule_id="R-NEW-RULE", severity="advisory", statutory=False, team="south"),
        flag(n=5, caseworker_id="cw-ben"),
        flag("resolved", n=5, at=T0 + timedelta(days=1), caseworker_id="cw-ben"),
        flag(n=6, caseworker_id=None, due_on=date(2026, 3, 10)),
    ]:
        store.apply(record)
    yield store
    store.close()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def client(tmp_path: Path, store: AlertStore, registry: CollectorRegistry) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path)
    config = AlertSettings()
    app = create_app(
        settings, store, consume=False, registry=registry, clock=lambda: TODAY, config=config
    )
    admin = mint_token(config, tmp_path, subject="admin-1", roles=["admin"])
    with TestClient(app, headers={"Authorization": f"Bearer {admin}"}) as client:
        yield client


def test_lists_open_alerts_most_urgent_first(client: TestClient) -> None:
    alerts = client.get("/alerts").json()
    assert [a["flag_id"] for a in alerts] == [fid(2), fid(1), fid(4), fid(3), fid(6)]


def test_filters_alerts_by_caseworker_and_team(client: TestClient) -> None:
    ana = client.get("/alerts", params={"caseworker": "cw-ana"}).json()
    assert [a["flag_id"] for a in ana] == [fid(1), fid(4), fid(3)]
    ben = client.get("/alerts", params={"caseworker": "cw-ben"}).json()
    assert [a["flag_id"] for a in ben] == [fid(2)]  # fid(5) is resolved
    south = client.get("/alerts", params={"team": "south"}).json()
    assert [a["flag_id"] for a in south] == [fid(4)]


def test_an_alert_in_json(client: TestClient) -> None:
    (alert,) = [a for a in client.get("/alerts").json() if a["flag_id"] == fid(1)]
    assert alert == {
        "flag_id": fid(1),
        "rule_id": "R-AR-DUE",
        "rule_title": "Annual review overdue",
        "title": "Annual review overdue",
        "about": "EHC plan P1",
        "severity": "breach",
        "level": "breach",
        "level_label": "Statutory breach",
        "statutory": True,
        "child_ref": "CHILD-1",
        "caseworker_id": "cw-ana",
        "team": "north",
        "subject": "plan:P1",
        "due_on": "2026-02-05",
        "days_overdue": 25,
        "exception": False,
        "first_raised_at": "2026-02-20T09:00:00Z",
        "status": "open",
        "snoozed_until": None,
        "escalated_to": None,
    }


def test_days_overdue_come_from_the_clock_and_titles_fall_back_to_the_id(
    client: TestClient,
) -> None:
    by_id = {a["flag_id"]: a for a in client.get("/alerts").json()}
    assert by_id[fid(3)]["days_overdue"] == 1
    assert by_id[fid(6)]["days_overdue"] == -8  # not due yet
    assert by_id[fid(3)]["rule_title"] == "Final EHC plan not issued within 20 weeks"
    assert by_id[fid(4)]["rule_title"] == "R-NEW-RULE"


def test_json_never_carries_the_person_key(client: TestClient) -> None:
    assert PERSON not in client.get("/alerts").text


def test_openapi_documents_the_alert_model(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/alerts"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["items"]["$ref"].endswith("/AlertView")
    assert "days_overdue" in schema["components"]["schemas"]["AlertView"]["properties"]


def test_inbox_page_is_an_accessible_table(client: TestClient) -> None:
    response = client.get("/inbox", params={"caseworker": "cw-ana"})
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="en">' in page
    assert "<h1>Open alerts for cw-ana</h1>" in page
    assert '<table class="responsive">' in page
    assert "<caption>Showing 1 to 3 of 3 alerts, most urgent first</caption>" in page
    for heading in ["Alert", "Child", "Due date", "Days overdue", "Severity", "Status"]:
        assert f">{heading}</th>" in page
    assert page.count('<th scope="col"') == 6
    assert '<label class="label" for="rule">Rule</label>' in page
    assert "Annual review overdue" in page and "CHILD-1" in page
    assert '<time datetime="2026-02-05">5 February 2026</time>' in page
    assert "CHILD-2" not in page  # cw-ben's


def test_inbox_notes_the_20_week_exception(client: TestClient) -> None:
    page = client.get("/inbox/cw-ana").text
    assert page.count("Reg 10(4) exception: the 20-week time limit does not apply.") == 1
    (row,) = [r for r in page.split("<tr>")[1:] if "Final EHC plan not issued within" in r]
    assert "Exception recorded</strong>" in row
    assert "breach" not in row.lower()  # the limit does not apply: never called a breach


def test_inbox_escapes_what_it_shows(client: TestClient) -> None:
    page = client.get("/inbox", params={"caseworker": "cw-ben"}).text
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = client.get("/inbox", params={"caseworker": "<b>x</b>"}).text
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_an_empty_inbox_says_so(client: TestClient) -> None:
    page = client.get("/inbox/cw-nobody").text
    assert "<h1>Open alerts for cw-nobody</h1>" in page
    assert "There are no open alerts." in page
    assert "<table>" not in page


def test_index_links_caseworkers_to_their_inboxes(client: TestClient) -> None:
    page = client.get("/").text
    assert "<h1>Open alerts by caseworker</h1>" in page
    for caseworker, n in (("cw-ana", 3), ("cw-ben", 1)):
        assert (
            f'<a href="/inbox?caseworker={caseworker}">{caseworker}</a></td>'
            f'<td class="numeric" data-label="Open alerts">{n}</td>'
        ) in page
        inbox = client.get("/inbox", params={"caseworker": caseworker}).text
        assert f"of {n} alert" in inbox  # the count opens as many
    assert '<a href="/team">All 5 open alerts, every team</a>' in page
    assert "1 open alert is in a team queue</a>" in page
    assert "Showing 1 to 1 of 1 alert," in client.get("/team?queue=team").text


@pytest.mark.parametrize("path", ["/", "/inbox/cw-ana", "/alerts", "/healthz", "/metrics", "/nope"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_metrics_count_open_alerts_by_rule_and_severity(
    client: TestClient, registry: CollectorRegistry
) -> None:
    text = client.get("/metrics").text
    assert 'casewatch_alerts_open{rule="R-AR-DUE",severity="breach"} 3.0' in text
    assert 'casewatch_alerts_open{rule="R-NEW-RULE",severity="advisory"} 1.0' in text
    assert "casewatch_alerts_transitions_total" in text
    assert "casewatch_alert_flags_undecodable_total 0.0" in text
    for personal in [PERSON, "CHILD-", "cw-ana", "cw-ben", "north"]:
        assert personal not in text
    labels = {"rule": "R-ISSUE-20W", "severity": "breach"}
    assert registry.get_sample_value("casewatch_alerts_open", labels) == 1


def test_a_rule_with_nothing_open_stays_at_zero(
    client: TestClient, store: AlertStore, registry: CollectorRegistry
) -> None:
    client.get("/metrics")
    store.apply(flag("resolved", n=3, at=T0 + timedelta(days=2), rule_id="R-ISSUE-20W"))
    client.get("/metrics")
    labels = {"rule": "R-ISSUE-20W", "severity": "breach"}
    assert registry.get_sample_value("casewatch_alerts_open", labels) == 0


def test_transitions_are_counted_by_rule() -> None:
    registry = CollectorRegistry()
    metrics = AlertMetrics(registry)
    records = [flag(n=1), flag(n=1), flag("resolved", n=1), flag(n=2, rule_id="R-ISSUE-20W")]
    metrics.count_transitions(records, ["opened", "unchanged", "resolved", "reopened"])

    def value(rule: str, transition: str) -> float | None:
        labels = {"rule": rule, "transition": transition}
        return registry.get_sample_value("casewatch_alerts_transitions_total", labels)

    assert (value("R-AR-DUE", "opened"), value("R-AR-DUE", "resolved")) == (1, 1)
    assert value("R-ISSUE-20W", "reopened") == 1
    assert value("R-AR-DUE", "unchanged") is None
