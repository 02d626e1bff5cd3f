"""A caseworker and a manager work a full inbox in Chromium (Playwright, Debian's headless
browser), at 1400 px and at 390 px: filters where one select is left at All, search by
reference, pages, the summary, guidance from the rule pack, plain words, a refused snooze
that keeps its date, reassignment from the team's caseworkers, the manager's caseload
forecast and the children with no caseworker. Alerts arrive the real way (flag records and
journey snapshots on the embedded broker, consumed by a real ``casewatch serve alerts``).
Screenshots go to ``tests/e2e/artifacts/``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from schemas.flags import FlagRecord
from schemas.journeys import ChildFacts, ClockView, JourneySnapshot, TimelineEntry
from services.alerts.config import AlertSettings
from services.alerts.web.auth import mint_token
from services.cli import all_topics
from services.journeys.domain.calendar import add_months
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings
from tests.e2e.test_inbox_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    NOW,
    TODAY,
    alerts_service,
    browser_or_skip,
    flag,
    get_json,
)
from tests.integration.conftest import poll_until, service_env

pytestmark = pytest.mark.integration

WIDE = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}


def key(n: int) -> str:
    return f"pk-e2e-list-{n:04d}-aaaaaaaaaaaa"


def records() -> list[FlagRecord]:
    found = [
        flag(
            100 + n,
            f"LL-{n:04d}",
            key(n),
            "cw-01",
            subject=f"plan:PLAN{n:05d}",
            due_on=TODAY - timedelta(days=n),
        )
        for n in range(1, 61)  # 60 lapsed reviews: more than a page
    ]
    found += [
        flag(
            200,
            "LL-0200",
            key(200),
            "cw-01",
            rule_id="R-WAIT",
            subject="referral:HR00187-1:3m",
            due_on=TODAY - timedelta(days=12),
        ),
        flag(
            201,
            "LL-0201",
            key(201),
            "cw-01",
            rule_id="R-ISSUE-20W",
            subject="request:R201",
            exception=True,
            due_on=TODAY - timedelta(days=5),
        ),
        flag(
            202,
            "LL-0202",
            key(202),
            "cw-01",
            rule_id="R-PFA-Y9",
            severity="warning",
            subject="plan:PLAN00244:pfa:2026",
            due_on=TODAY + timedelta(days=4),
        ),
        flag(203, "LL-0203", key(203), "cw-02", due_on=TODAY - timedelta(days=3)),
        flag(204, "LL-0204", key(204), None, due_on=TODAY - timedelta(days=2)),
    ]
    return found


def journeys() -> list[JourneySnapshot]:
    """Two children whose facts, timeline and clocks agree with each other and with their
    alerts (the rule pack's dates: a review 12 months after the last, autism 3 months, salt
    and paediatrics 126 days), so the pages a person looks at are plausible. LL-0200's clocks
    fall due in 10, 40 and 70 days: one in each of the forecast's 4 / 8 / 12 weeks."""
    autism_due = TODAY - timedelta(days=12)  # its R-WAIT alert (flag 200)
    autism_received = add_months(autism_due, -3)
    salt_received = TODAY - timedelta(days=126 - 10)
    paeds_received = TODAY - timedelta(days=126 - 40)
    review_due = TODAY + timedelta(days=70)
    last_review = add_months(review_due, -12)
    plan_issued = add_months(last_review, -12)

    def entry(on: date, kind: str, summary: str) -> TimelineEntry:
        return TimelineEntry(on=on, kind=kind, summary=summary)

    def clock(rule: str, subject: str, due: date) -> ClockView:
        return ClockView(
            rule_id=rule, subject=subject, due_on=due, state="open" if due < TODAY else "upcoming"
        )

    child_200 = JourneySnapshot(
        person_key=key(200),
        child_ref="LL-0200",
        caseworker_id="cw-01",
        team="north",
        as_of=TODAY,
        next_deadline=TODAY + timedelta(days=10),
        timeline=sorted(
            [
                entry(plan_issued, "plan.issued", "EHC plan P200 issued"),
                entry(last_review, "review.decided", "Annual review decision: maintain"),
                entry(
                    autism_received,
                    "referral.received",
                    "Referral to autism diagnostic assessment (CYP) received",
                ),
                entry(
                    paeds_received,
                    "referral.received",
                    "Referral to consultant-led community paediatrics received",
                ),
                entry(
                    salt_received,
                    "referral.received",
                    "Referral to speech and language therapy received",
                ),
            ],
            key=lambda e: e.on,
            reverse=True,
        ),
        clocks=[
            clock("R-WAIT", "referral:HR00187-1:3m", autism_due),
            clock("R-WAIT", "referral:HR00188-1:126d", salt_received + timedelta(days=126)),
            clock("R-WAIT", "referral:HR00189-1:126d", paeds_received + timedelta(days=126)),
            clock("R-AR-DUE", "plan:P200", review_due),
            clock("R-WAIT", "referral:HR00188-1:364d", salt_received + timedelta(days=364)),
        ],
        child=ChildFacts(
            year_group=8,
            setting="URN 100001",
            plan_id="P200",
            plan_start_on=plan_issued,
            last_review_on=last_review,
            review_due_on=review_due,
            referral_services={
                "HR00187-1": "autism",
                "HR00188-1": "salt",
                "HR00189-1": "paediatrics",
            },
        ),
        updated_at=NOW,
    )
    due_204 = TODAY + timedelta(days=10)
    child_204 = JourneySnapshot(
        person_key=key(204),
        child_ref="LL-0204",
        caseworker_id=None,
        team="north",
        as_of=TODAY,
        next_deadline=due_204,
        timeline=[entry(add_months(due_204, -12), "plan.issued", "EHC plan P204 issued")],
        clocks=[clock("R-AR-DUE", "plan:P204", due_204)],
        child=ChildFacts(
            year_group=5,
            plan_id="P204",
            plan_start_on=add_months(due_204, -12),
            review_due_on=due_204,
        ),
        updated_at=NOW,
    )
    return [child_200, child_204]


def publish(bootstrap: str, settings: Settings) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for record in records():
        producer.send(
            settings.topic_flags,
            key=record.flag_id.encode(),
            value=record.model_dump_json().encode(),
        )
    for snapshot in journeys():
        producer.send(
            settings.topic_journeys,
            key=snapshot.person_key.encode(),
            value=snapshot.model_dump_json().encode(),
        )
    producer.flush(timeout=10)
    producer.close()


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("document.documentElement.clientWidth"), width


def test_a_full_inbox_worked_in_a_browser(tmp_path: Path) -> None:
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
        with sync_playwright() as playwright, alerts_service(env, tmp_path / "alerts.log") as url:
            admin = mint_token(config, data, subject="e2e-admin", roles=["admin"])
            poll_until(
                lambda: (
                    get_json(f"{url}/alerts/summary", admin)["total"] == len(records())
                    and get_json(f"{url}/alerts/{200:032x}/journey", admin)["journey"]
                    and "autism" in get_json(f"{url}/alerts/{200:032x}", admin)["title"]
                ),
                timeout=60,
                what="every alert and the journeys from the broker",
            )
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                caseworker = mint_token(
                    config, data, subject="cw-01", roles=["caseworker"], team="north"
                )
                page = chromium.new_page(viewport=WIDE)
                page.goto(f"{url}/login?token={caseworker}")
                caseworker_lists(page, url)
                casework(page, url)
                manager = mint_token(
                    config, data, subject="mgr-north", roles=["manager"], team="north"
                )
                page.context.clear_cookies()
                page.goto(f"{url}/login?token={manager}")
                managers_view(page, url)
                phone = chromium.new_page(viewport=PHONE)
                phone.goto(f"{url}/login?token={caseworker}")
                at_390_px(phone, url)
            finally:
                chromium.close()


def caseworker_lists(page: Any, url: str) -> None:
    # 2. the summary of the whole inbox, each count a link to what it counts
    summary = page.locator("section.summary")
    assert summary.get_by_role("heading").inner_text() == "63 open alerts"
    assert (
        "60\nstatutory breaches" in summary.inner_text()
        or "60 statutory breaches" in summary.inner_text()
    )
    page.screenshot(path=str(ARTIFACTS / "lists-inbox-summary-1400.png"), full_page=False)
    # 1. a rule chosen, severity left at All: the form sends severity= and it means all
    page.get_by_label("Rule").select_option("R-AR-DUE")
    page.get_by_role("button", name="Apply").click()
    assert "severity=&" in page.url or page.url.endswith("severity=") or "severity=" in page.url
    assert "Showing 1 to 50 of 60 alerts" in page.locator("caption").first.inner_text()
    page.get_by_role("link", name="Next page").click()
    assert "Showing 51 to 60 of 60 alerts" in page.locator("caption").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "lists-inbox-page-2.png"), full_page=False)
    # search by a case-system reference (the plan id in the subject)
    page.goto(f"{url}/inbox")
    page.get_by_label("Child or case reference").fill("plan00244")
    page.get_by_label("Child or case reference").press("Enter")
    table = page.locator("table").first.inner_text()
    assert "LL-0202" in table and "LL-0001" not in table
    # 4. plain words: a year-9 review named, not plan:PLAN00244:pfa:2026
    assert "preparing-for-adulthood review, school year 2026 to 2027" in table
    assert "plan:PLAN00244" not in page.content()
    # the exception row says so, never "breach"
    page.goto(f"{url}/inbox?q=LL-0201")
    row = page.locator("tbody tr").first.inner_text()
    assert "Exception recorded" in row and "breach" not in row.lower()
    page.get_by_label("Sort by").select_option("child")
    page.get_by_label("Child or case reference").fill("")
    page.get_by_role("button", name="Apply").click()
    assert "sort=child" in page.url


def casework(page: Any, url: str) -> None:
    page.goto(f"{url}/inbox?q=LL-0200")
    page.get_by_role("link", name="LL-0200").click()
    # 4. the service named, the NICE standard called guidance; 3. guidance from the pack
    assert page.locator("h1").inner_text() == (
        "Long wait for autism diagnostic assessment (CYP): NICE guidance"
    )
    assert page.get_by_role("heading", name="What the standard says").is_visible()
    body = page.locator("main").inner_text()
    assert "NICE quality standard QS51, statement 1" in body and "Next step" in body
    assert "12 days overdue" in body and "Year 8" in body and "URN 100001" in body
    assert "Annual review decision" in body and "review.decided" not in body
    page.screenshot(path=str(ARTIFACTS / "lists-alert-guidance-1400.png"), full_page=True)
    # 5. a snooze refused for being over 90 days keeps its date and reason
    far = (TODAY + timedelta(days=120)).strftime("%d/%m/%Y")
    page.get_by_label("Snooze until").fill(far)
    page.get_by_label("Reason", exact=True).fill("Family away until the new year")
    page.get_by_role("button", name="Snooze").click()
    assert "at most 90 days" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Snooze until").input_value() == far
    assert page.get_by_label("Reason", exact=True).input_value() == "Family away until the new year"
    page.screenshot(path=str(ARTIFACTS / "lists-snooze-refused.png"), full_page=False)
    soon = (TODAY + timedelta(days=10)).strftime("%d/%m/%Y")
    page.get_by_label("Snooze until").fill(soon)
    page.get_by_role("button", name="Snooze").click()
    page.wait_for_url("**?done=snoozed")
    # 5. reassign from the team's caseworkers
    page.goto(f"{url}/inbox?q=LL-0001")
    page.get_by_role("link", name="LL-0001").click()
    options = page.get_by_label("Caseworker", exact=True).locator("option").all_inner_texts()
    assert "cw-02" in options and "cw-01" not in options
    page.get_by_label("Caseworker", exact=True).select_option("cw-02")
    page.get_by_role("button", name="Reassign").click()
    page.wait_for_url("**/inbox?done=reassigned")


def managers_view(page: Any, url: str) -> None:
    page.goto(f"{url}/team")
    assert page.locator("h1").inner_text() == "Team north"
    forecast = page.locator("table", has=page.locator("caption", has_text="deadlines"))
    text = forecast.inner_text()
    assert "cw-01" in text and "cw-02" in text
    row = forecast.locator("tr", has=page.locator("a", has_text="cw-01")).inner_text()
    assert row.split()[1:] == ["62", "59", "61", "1", "2", "3"], row  # 4 / 8 / 12 weeks
    page.screenshot(path=str(ARTIFACTS / "lists-team-forecast-1400.png"), full_page=False)
    page.get_by_role("link", name="1 child with no caseworker").click()
    queue = page.locator("table").inner_text()
    assert "LL-0204" in queue
    due = TODAY + timedelta(days=10)  # its review is ahead: due, not overdue
    assert f"Annual review due: {due.day} {due:%B %Y}" in queue and "overdue" not in queue
    page.screenshot(path=str(ARTIFACTS / "lists-unallocated-1400.png"), full_page=True)


def at_390_px(page: Any, url: str) -> None:
    page.goto(f"{url}/inbox")
    no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "lists-inbox-390.png"), full_page=False)
    page.goto(f"{url}/inbox/alerts/{200:032x}")
    no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "lists-alert-390.png"), full_page=False)
