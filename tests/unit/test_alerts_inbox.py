"""Casework through the inbox pages and the JSON API: acknowledge, snooze, reassign, the
child's journey behind an alert, and the team view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from schemas.journeys import ClockView, JourneySnapshot, TimelineEntry
from services.alerts.config import AlertSettings
from services.alerts.domain.escalation import EscalationPolicy
from services.alerts.store.casework import Act
from services.alerts.store.store import AlertStore
from services.alerts.web.app import create_app
from services.alerts.web.auth import mint_token
from services.runtime.settings import Settings
from tests.unit.test_alert_store import PERSON, fid, flag

TODAY = date(2026, 3, 2)
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}")
    store.apply_many(
        [
            flag(n=1, child_ref="CHILD-1"),
            flag(n=2, rule_id="R-ISSUE-20W", subject="request:R2", child_ref="CHILD-1"),
            flag(n=3, severity="warning", person_key="pk-other-00000003", child_ref="CHILD-3"),
        ]
    )
    store.apply_journeys(
        [
            (
                PERSON,
                JourneySnapshot(
                    person_key=PERSON,
                    child_ref="CHILD-1",
                    caseworker_id="cw-ana",
                    team="north",
                    as_of=TODAY,
                    next_deadline=date(2026, 4, 20),
                    timeline=[
                        TimelineEntry(on=date(2021, 5, 20), kind="plan.issued", summary="Plan P1"),
                        TimelineEntry(on=date(2025, 2, 5), kind="review.decided", summary=SCRIPT),
                    ],
                    clocks=[
                        ClockView(
                            rule_id="R-AR-DUE",
                            subject="plan:P1",
                            due_on=date(2026, 2, 5),
                            state="open",
                            flag_id=fid(1),
                        ),
                        ClockView(  # the next deadline: the earliest due date not yet passed
                            rule_id="R-AR-DECISION-4W",
                            subject="review:P1:2026-03-23",
                            due_on=date(2026, 4, 20),
                            state="upcoming",
                        ),
                    ],
                    updated_at=datetime(2026, 3, 1, tzinfo=UTC),
                ),
            )
        ]
    )
    yield store
    store.close()


@pytest.fixture
def config() -> AlertSettings:
    return AlertSettings(team_managers={"north": "mgr-north"})


@pytest.fixture
def app_client(tmp_path: Path, store: AlertStore, config: AlertSettings) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, store, consume=False, clock=lambda: TODAY, config=config)
    with TestClient(app) as client:
        yield client


def sign_in(client: TestClient, tmp_path: Path, config: AlertSettings, *roles: str) -> str:
    """Sign the test browser in; the page's CSRF token."""
    subject = "mgr-north" if "manager" in roles else "cw-ana"
    token = mint_token(config, tmp_path, subject=subject, roles=roles, team="north")
    client.get("/login", params={"token": token})
    return client.get("/inbox").text.split('name="csrf_token" value="')[1].split('"')[0]


@pytest.fixture
def browser(
    app_client: TestClient, tmp_path: Path, config: AlertSettings
) -> tuple[TestClient, str]:
    return app_client, sign_in(app_client, tmp_path, config, "caseworker")


def test_the_alert_page_shows_the_journey_behind_it(browser: tuple[TestClient, str]) -> None:
    client, _ = browser
    page = client.get(f"/inbox/alerts/{fid(1)}").text
    assert "<h1>Annual review overdue</h1>" in page
    assert "<h2>The child&rsquo;s journey</h2>" in page
    assert "<strong>Next deadline:</strong> 20 April 2026" in page
    assert "<caption>Statutory clocks</caption>" in page
    assert page.index("5 February 2025") < page.index("20 May 2021")  # newest first
    assert SCRIPT not in page and "&lt;script&gt;" in page
    for field in ["ack-reason", "snooze-until", "snooze-reason", "reassign-caseworker"]:
        assert f'<label class="label" for="{field}">' in page
    assert 'min="2026-03-03"' in page  # a snooze ends after today
    assert "<caption>History of this alert, newest first</caption>" in page
    assert PERSON not in page


def test_acknowledge_and_snooze_from_the_page(browser: tuple[TestClient, str]) -> None:
    client, csrf = browser
    base = f"/inbox/alerts/{fid(1)}"
    done = client.post(f"{base}/acknowledge", data={"csrf_token": csrf, "reason": "on it"})
    assert "You acknowledged this alert." in done.text
    again = client.post(f"{base}/acknowledge", data={"csrf_token": csrf})
    assert "Nothing changed" in again.text

    other = f"/inbox/alerts/{fid(2)}"
    refused = client.post(f"{other}/snooze", data={"csrf_token": csrf, "until": "2026-03-09"})
    assert refused.status_code == 422
    assert "There is a problem" in refused.text and "a reason is required" in refused.text
    bad_date = client.post(
        f"{other}/snooze", data={"csrf_token": csrf, "until": "soon", "reason": "x"}
    )
    assert bad_date.status_code == 422 and "like 31/03/2026" in bad_date.text
    assert 'value="soon"' in bad_date.text and ">x</textarea>" in bad_date.text  # kept
    reason = f"waiting for the school {SCRIPT}"
    snoozed = client.post(
        f"{other}/snooze", data={"csrf_token": csrf, "until": "2026-03-09", "reason": reason}
    )
    assert "You snoozed this alert." in snoozed.text
    assert "Snoozed until 9 March 2026" in snoozed.text
    assert SCRIPT not in snoozed.text

    inbox = client.get("/inbox").text
    assert "Snoozed until 9 March 2026</strong>" in inbox
    assert "Acknowledged</strong>" in inbox
    details = {a["flag_id"]: a for a in client.get("/alerts").json()}
    assert details[fid(1)]["status"] == "acknowledged"
    assert details[fid(2)]["snoozed_until"] == "2026-03-09"


def test_reassigning_away_leaves_the_caseload(browser: tuple[TestClient, str]) -> None:
    client, csrf = browser
    url = f"/inbox/alerts/{fid(1)}/reassign"
    empty = client.post(url, data={"csrf_token": csrf, "to": "caseworker", "caseworker_id": " "})
    assert empty.status_code == 422 and "choose a caseworker" in empty.text
    moved = client.post(
        url, data={"csrf_token": csrf, "to": "caseworker", "caseworker_id": "cw-ben"}
    )
    assert moved.url.path == "/inbox"
    assert "You reassigned the alert. It is no longer in this list." in moved.text
    assert 'role="status"' in moved.text  # announced, not only shown
    assert client.get(f"/inbox/alerts/{fid(1)}").status_code == 404
    assert "You reassigned" not in client.get("/inbox").text


def test_a_mistyped_address_gets_a_page_and_the_api_keeps_json(
    browser: tuple[TestClient, str],
) -> None:
    client, _ = browser
    page = client.get("/inbxo")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text and "<h1>Page not found</h1>" in page.text
    assert "<title>Page not found \u2013 casewatch</title>" in page.text
    api = client.get("/alerts/x/y/z")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    wrong_method = client.put("/inbox")
    assert wrong_method.status_code == 405


def test_the_json_api_does_the_same_casework(
    app_client: TestClient, tmp_path: Path, config: AlertSettings, store: AlertStore
) -> None:
    token = mint_token(config, tmp_path, subject="cw-ana", roles=["caseworker"], team="north")
    headers = {"Authorization": f"Bearer {token}"}
    ack = app_client.post(f"/alerts/{fid(1)}/acknowledge", json={"reason": "ok"}, headers=headers)
    assert ack.status_code == 200
    assert [h["action"] for h in ack.json()["history"]] == ["opened", "acknowledged"]
    assert ack.json()["history"][-1]["actor"] == "cw-ana"
    far = {"until": "2026-09-01", "reason": "later"}
    assert app_client.post(f"/alerts/{fid(2)}/snooze", json=far, headers=headers).status_code == 422
    queue = app_client.post(
        f"/alerts/{fid(3)}/reassign", json={"caseworker_id": None}, headers=headers
    )
    assert queue.status_code == 200 and queue.json()["caseworker_id"] is None
    assert queue.json()["routing"] == "manual"
    store.apply(flag("resolved", n=2, at=datetime(2026, 3, 3, tzinfo=UTC), rule_id="R-ISSUE-20W"))
    gone = app_client.post(f"/alerts/{fid(2)}/acknowledge", json={}, headers=headers)
    assert gone.status_code == 409


def test_the_team_view_shows_escalations_and_the_queue(
    app_client: TestClient, tmp_path: Path, config: AlertSettings, store: AlertStore
) -> None:
    store.reassign(fid(3), Act("mgr-north", TODAY, datetime.now(UTC)), caseworker_id=None)
    store.sweep(
        Act("casewatch", date(2026, 3, 5), datetime.now(UTC)),
        EscalationPolicy({"breach": 2}, {"north": "mgr-north"}),
    )
    sign_in(app_client, tmp_path, config, "manager")
    page = app_client.get("/team").text
    assert "<h1>Team north</h1>" in page
    assert '<a href="/team?status=escalated">Escalated alerts</a>' in page
    assert '<a href="/team?queue=team">1 alert in the team queue, nobody assigned</a>' in page
    assert '<a href="/inbox?caseworker=cw-ana">cw-ana</a>' in page
    escalated = app_client.get("/team", params={"status": "escalated"}).text
    assert "Showing 1 to 2 of 2 alerts," in escalated and "CHILD-1" in escalated
    queue = app_client.get("/team", params={"queue": "team"}).text
    assert "<h1>Team north: team queue</h1>" in queue and "CHILD-3" in queue
    only_warnings = app_client.get("/team", params={"severity": "warning"}).text
    assert "CHILD-3" in only_warnings and "CHILD-1" not in only_warnings
    assert '<option value="warning" selected>' in only_warnings


def test_openapi_documents_the_casework(app_client: TestClient) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    for action in ["acknowledge", "snooze", "reassign"]:
        assert "post" in paths[f"/alerts/{{flag_id}}/{action}"]
    assert "get" in paths["/alerts/{flag_id}/journey"]
    assert not any(path.startswith("/inbox") for path in paths)
