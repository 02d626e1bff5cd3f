"""A caseworker uses the inbox in a real browser (Debian's headless Chromium, driven by
Playwright): signs in with the link ``casewatch up`` prints, sees only their own alerts, opens
a child's journey, acknowledges one alert with the keyboard and snoozes another with a
reason; the state survives a restart of the service (a real uvicorn process on a SQLite
file). Screenshots go to ``tests/e2e/artifacts/``.

Alerts arrive the real way: flag records and a journey snapshot published to the embedded
broker, consumed by the service."""

from __future__ import annotations

import functools
import http.server
import json
import os
import socketserver
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from schemas.flags import FlagRecord
from schemas.journeys import ClockView, JourneySnapshot, TimelineEntry
from services.alerts.config import AlertSettings
from services.alerts.web.auth import mint_token
from services.cli import all_topics
from services.runtime.broker import EmbeddedBroker, ensure_topics, wait_for_port
from services.runtime.settings import Settings
from tests.integration.conftest import casewatch_process, poll_until, service_env

pytestmark = pytest.mark.integration

CHROMIUM = Path(os.environ.get("CASEWATCH_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
TODAY = date.today()
NOW = datetime.now(UTC)
MINE = {"LL-1001": "pk-e2e-child-1001-aaaaaaaa", "LL-1002": "pk-e2e-child-1002-bbbbbbbb"}
THEIRS = {"LL-2001": "pk-e2e-child-2001-cccccccc"}


def browser_or_skip() -> Any:
    """Playwright's sync API, or a skip (a failure in CI, where the browser must be there)."""
    reason = ""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = reason or "playwright is not installed (pip install -e '.[dev]')"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(reason)
    return sync_playwright


def flag(n: int, child_ref: str, person_key: str, caseworker: str, **extra: Any) -> FlagRecord:
    values: dict[str, Any] = {
        "flag_id": f"{n:032x}",
        "status": "raised",
        "rule_id": "R-AR-DUE",
        "rule_pack_version": "2026.1",
        "severity": "breach",
        "statutory": True,
        "person_key": person_key,
        "child_ref": child_ref,
        "caseworker_id": caseworker,
        "team": "north",
        "subject": f"plan:P{n}",
        "due_on": TODAY - timedelta(days=30 - n),
        "as_of": TODAY,
        "changed_at": NOW,
    }
    return FlagRecord.model_validate({**values, **extra})


def journey(child_ref: str, person_key: str) -> JourneySnapshot:
    return JourneySnapshot(
        person_key=person_key,
        child_ref=child_ref,
        caseworker_id="cw-01",
        team="north",
        as_of=TODAY,
        next_deadline=TODAY + timedelta(days=40),
        timeline=[
            TimelineEntry(on=date(2021, 5, 20), kind="plan.issued", summary="EHC plan P1 issued"),
            TimelineEntry(
                on=TODAY - timedelta(days=400),
                kind="review.decided",
                summary="Annual review decided: plan maintained",
            ),
        ],
        clocks=[
            ClockView(
                rule_id="R-AR-DUE",
                subject="plan:P1",
                due_on=TODAY - timedelta(days=29),
                state="open",
            )
        ],
        updated_at=NOW,
    )


def publish(bootstrap: str, settings: Settings) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    records = [
        flag(1, "LL-1001", MINE["LL-1001"], "cw-01"),
        flag(2, "LL-1002", MINE["LL-1002"], "cw-01", rule_id="R-ISSUE-20W", subject="request:R2"),
        flag(3, "LL-2001", THEIRS["LL-2001"], "cw-02"),
    ]
    for record in records:
        producer.send(
            settings.topic_flags,
            key=record.flag_id.encode(),
            value=record.model_dump_json().encode(),
        )
    snapshot = journey("LL-1001", MINE["LL-1001"])
    producer.send(
        settings.topic_journeys,
        key=snapshot.person_key.encode(),
        value=snapshot.model_dump_json().encode(),
    )
    producer.flush(timeout=10)
    producer.close()


def get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@contextmanager
def alerts_service(env: dict[str, str], log: Path) -> Iterator[str]:
    with casewatch_process(["serve", "alerts"], env, log):
        port = int(env["CASEWATCH_ALERTS_PORT"])
        wait_for_port("127.0.0.1", port, timeout=30)
        yield f"http://127.0.0.1:{port}"


def test_a_caseworker_works_their_inbox_in_a_browser(tmp_path: Path) -> None:
    sync_playwright = browser_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    data = tmp_path / "data"
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        names, compacted = all_topics(settings)
        ensure_topics(broker.bootstrap, 2, names, compacted)
        env = service_env(broker, data, CASEWATCH_PARTITIONS="2")
        env["CASEWATCH_ALERTS_TEAM_MANAGERS"] = '{"north": "mgr-north"}'
        publish(broker.bootstrap, settings)
        config = AlertSettings()
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = chromium.new_page(viewport={"width": 1100, "height": 1400})
                with alerts_service(env, tmp_path / "alerts-1.log") as url:
                    admin = mint_token(config, data, subject="e2e-admin", roles=["admin"])
                    poll_until(
                        lambda: (
                            len(get_json(f"{url}/alerts", admin)) == 3
                            and get_json(f"{url}/alerts/{1:032x}", admin)["caseworker_id"]
                            == "cw-01"
                            and get_json(f"{url}/alerts/{1:032x}/journey", admin)["journey"]
                        ),
                        timeout=45,
                        what="three alerts and a journey from the broker",
                    )
                    work_the_inbox(
                        page,
                        url,
                        mint_token(
                            config, data, subject="cw-01", roles=["caseworker"], team="north"
                        ),
                    )
                    other = mint_token(
                        config, data, subject="cw-02", roles=["caseworker"], team="north"
                    )
                    a_link_from_another_site(chromium, url, other, tmp_path / "site")
                with alerts_service(env, tmp_path / "alerts-2.log") as url:
                    after_restart(page, url)
            finally:
                chromium.close()


def work_the_inbox(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/login?token={token}")  # the link `casewatch up` prints
    assert page.url == f"{url}/inbox"  # the token left the address bar
    assert page.locator("h1").inner_text() == "My open alerts"
    table = page.locator("table").first.inner_text()
    assert "LL-1001" in table and "LL-1002" in table
    assert "LL-2001" not in page.content()  # cw-02's child

    page.get_by_role("link", name="LL-1001").click()
    assert page.locator("h1").inner_text() == "Annual review overdue"
    assert page.get_by_role("heading", name="The child\u2019s journey").is_visible()
    timeline = page.get_by_role("list", name="Events, newest first").inner_text()
    assert "Annual review decided: plan maintained" in timeline
    assert "EHC plan P1 issued" in timeline
    page.screenshot(path=str(ARTIFACTS / "alert-with-journey.png"), full_page=True)

    page.get_by_label("Note (optional)").focus()  # acknowledge with the keyboard alone
    page.keyboard.type("Phoned the school; review booked")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Acknowledge"
    page.keyboard.press("Enter")
    page.wait_for_url("**?done=acknowledged")
    assert "You acknowledged this alert." in page.get_by_role("status").inner_text()

    page.goto(f"{url}/inbox")
    page.get_by_role("link", name="LL-1002").click()
    until = TODAY + timedelta(days=14)
    page.get_by_label("Snooze until").fill(until.isoformat())
    page.get_by_label("Reason", exact=True).fill("Family away; school confirms draft next week")
    page.get_by_role("button", name="Snooze").click()
    page.wait_for_url("**?done=snoozed")
    assert "You snoozed this alert." in page.get_by_role("status").inner_text()

    assert page.goto(f"{url}/inbox/alerts/{3:032x}").status == 404  # another caseworker's child
    assert "LL-2001" not in page.content()


def a_link_from_another_site(chromium: Any, url: str, token: str, folder: Path) -> None:
    """Login CSRF by link: a page on another site (localhost, not 127.0.0.1) links to
    ``/login?token=`` of an account it controls. Clicking it signs nothing in; the page
    names the account, and only the person's own press of its button signs in."""
    folder.mkdir()
    (folder / "index.html").write_text(
        f'<!doctype html><html lang="en"><title>x</title><body>'
        f'<a href="{url}/login?token={token}">Your casewatch alerts</a></body></html>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as site:
        threading.Thread(target=site.serve_forever, daemon=True).start()
        context = chromium.new_context()
        try:
            page = context.new_page()
            page.goto(f"http://localhost:{site.server_address[1]}/index.html")
            page.get_by_role("link", name="Your casewatch alerts").click()
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == "Sign in to casewatch?"
            assert "cw-02 (caseworker)" in page.locator("main").inner_text()
            assert not [c for c in context.cookies() if c["name"] == "casewatch_session"]
            page.screenshot(path=str(ARTIFACTS / "sign-in-link-from-another-site.png"))
            page.get_by_role("button", name="Sign in as cw-02").click()
            page.wait_for_url(f"{url}/inbox")
            assert [c for c in context.cookies() if c["name"] == "casewatch_session"]
        finally:
            context.close()
            site.shutdown()


def after_restart(page: Any, url: str) -> None:
    page.goto(f"{url}/inbox")  # the session cookie outlives the process
    assert page.locator("h1").inner_text() == "My open alerts"
    needs_action = page.locator("table", has=page.locator("caption", has_text="most urgent"))
    assert "Acknowledged" in needs_action.inner_text()
    snoozed = needs_action.locator("tr", has=page.locator("text=Snoozed until"))
    assert "LL-1002" in snoozed.inner_text()
    page.screenshot(path=str(ARTIFACTS / "inbox-after-restart.png"), full_page=True)
    page.get_by_role("link", name="LL-1002").click()
    history = page.locator("table", has=page.locator("caption", has_text="History")).inner_text()
    assert "Snoozed" in history and "Family away" in history and "cw-01" in history
