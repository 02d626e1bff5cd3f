"""WCAG 2.2 AA in a real browser: every page of the alerts service checked by axe-core (npm,
run inside Debian's Chromium by Playwright) at 1400 px and 390 px with no violations and
nothing scrolling sideways at 390 px; and a caseworker's whole journey done with the keyboard
alone (Tab, Enter and Space, typing into fields): sign in, filter, open an alert,
acknowledge, snooze with a date, reassign, with the focus order and a visible focus checked
at every step. Alerts arrive the real way (flag records and journey snapshots on the
embedded broker, consumed by a real ``casewatch serve alerts``). Screenshots go to
``tests/e2e/artifacts/a11y-*.png``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.alerts.config import AlertSettings
from services.alerts.web.auth import mint_token
from services.alerts.web.words import long_date
from services.cli import all_topics
from services.runtime.broker import EmbeddedBroker, ensure_topics
from services.runtime.settings import Settings
from tests.e2e.axe import axe_source, axe_violations, describe, install_axe
from tests.e2e.test_inbox_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    TODAY,
    alerts_service,
    browser_or_skip,
    get_json,
)
from tests.e2e.test_inbox_lists_browser import publish, records
from tests.integration.conftest import poll_until, service_env

pytestmark = pytest.mark.integration

WIDE = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
WAIT_ALERT = f"{200:032x}"  # LL-0200: a long wait, with the child's journey and guidance
SOON_ALERT = f"{202:032x}"  # LL-0202: due in 4 days; snoozed by the page sweep
UNKNOWN_ALERT = "f" * 32

# What the focus shows: GOV.UK's yellow (#fd0) as a background, or an outline or box shadow.
_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const all = Array.from(document.querySelectorAll('*'));
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
    && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(s.outlineColor);
  const r = el.getBoundingClientRect();
  return {
    position: all.indexOf(el),
    tag: el.tagName.toLowerCase(),
    id: el.id,
    name: el.getAttribute('name') || '',
    text: (el.innerText || el.value || '').trim().split('\\n')[0].slice(0, 60),
    visible: outline || s.boxShadow !== 'none' || s.backgroundColor === 'rgb(255, 221, 0)',
    onScreen: r.width > 0 && r.height > 0,
  };
}"""


@dataclass(frozen=True)
class Stack:
    url: str
    tokens: dict[str, str]
    admin: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The broker and a real alerts service holding the lists test's 65 alerts."""
    tmp = tmp_path_factory.mktemp("a11y")
    data = tmp / "data"
    with EmbeddedBroker(log_path=tmp / "broker.log") as broker:
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        names, compacted = all_topics(settings)
        ensure_topics(broker.bootstrap, 2, names, compacted)
        env = service_env(broker, data, CASEWATCH_PARTITIONS="2")
        env["CASEWATCH_ALERTS_TEAM_MANAGERS"] = '{"north": "mgr-north"}'
        publish(broker.bootstrap, settings)
        with alerts_service(env, tmp / "alerts.log") as url:
            config = AlertSettings()
            admin = mint_token(config, data, subject="e2e-admin", roles=["admin"])
            poll_until(
                lambda: (
                    get_json(f"{url}/alerts/summary", admin)["total"] == len(records())
                    and get_json(f"{url}/alerts/{WAIT_ALERT}/journey", admin)["journey"]
                    and "autism" in get_json(f"{url}/alerts/{WAIT_ALERT}", admin)["title"]
                ),
                timeout=60,
                what="every alert and the journeys from the broker",
            )
            tokens = {
                "caseworker": mint_token(
                    config, data, subject="cw-01", roles=["caseworker"], team="north"
                ),
                "manager": mint_token(
                    config, data, subject="mgr-north", roles=["manager"], team="north"
                ),
                "admin": admin,
            }
            yield Stack(url, tokens, admin)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_playwright = browser_or_skip()
    axe_source()  # installs axe-core with npm if needed; skips (fails in CI) without it
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# ---------------------------------------------------------------------------------------------
# Every page, checked by axe at both widths

_BROKEN = """<!DOCTYPE html><html><head></head><body>
<p style="color:#bbb;background:#fff">Pale grey words on white</p>
<input type="text" name="unlabelled"><a href="/x"></a></body></html>"""


def test_axe_reports_what_breaks_wcag(chromium: Any) -> None:
    """The checker itself: on a page that breaks the rules, axe (as these tests load and run
    it) reports each break, so its silence on the service's pages means something."""
    context = chromium.new_context(viewport=WIDE)
    install_axe(context)
    page = context.new_page()
    try:
        page.set_content(_BROKEN)
        found = {v["id"] for v in axe_violations(page)}
    finally:
        context.close()
    expected = {"color-contrast", "label", "link-name", "html-has-lang", "document-title"}
    assert expected <= found, found


def keep_screenshot(page: Any, path: Path) -> None:
    """An artifact for a person to look at, not what the test holds: Chromium's capture
    sometimes answers "Unable to capture screenshot" under load (seen twice in 17 x 2 pages
    on a loaded 2-core machine); one retry, then a note in place of the picture."""
    for _ in range(2):
        try:
            page.screenshot(path=str(path))
            return
        except Exception as exc:  # playwright's Error; the page itself is still checked
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
            page.wait_for_timeout(500)
    path.with_suffix(".txt").write_text(f"screenshot not captured: {reason}\n")


def test_every_page_passes_axe_at_1400_and_390_px(stack: Stack, chromium: Any) -> None:
    url = stack.url
    found: list[str] = []
    sideways: list[str] = []
    checked: list[str] = []
    for width, viewport in (("1400", WIDE), ("390", PHONE)):
        for role, pages in _pages(url, stack.tokens).items():
            context = chromium.new_context(viewport=viewport)
            install_axe(context)
            page = context.new_page()
            if role != "signed-out":
                page.goto(f"{url}/login?token={stack.tokens[role]}")
            for name, (expected_status, visit) in pages.items():
                status = visit(page)
                where = f"{name} at {width} px"
                assert status == expected_status, f"{where}: HTTP {status}"
                keep_screenshot(page, ARTIFACTS / f"a11y-{name}-{width}.png")  # first screen
                if violations := axe_violations(page):
                    found.append(describe(where, violations))
                if width == "390" and (over := _sideways(page)):
                    sideways.append(f"{where}: {over}")
                checked.append(where)
            context.close()
    assert len(checked) == 2 * sum(len(p) for p in _pages(url, stack.tokens).values())
    assert not found, "axe-core found WCAG 2.2 AA violations:\n" + "\n".join(found)
    assert not sideways, "pages scroll sideways at 390 px:\n" + "\n".join(sideways)


Visit = Callable[[Any], int]


def _pages(url: str, tokens: dict[str, str]) -> dict[str, dict[str, tuple[int, Visit]]]:
    """Per role, each page by name: the HTTP status it must answer and how to get there."""

    def go(path: str) -> Visit:
        def visit(page: Any) -> int:
            response = page.goto(url + path)
            assert response is not None
            return int(response.status)

        return visit

    def refused_sign_in(page: Any) -> int:
        page.goto(f"{url}/login")
        page.get_by_label("Access token").fill("not-a-token")
        with page.expect_response(f"{url}/login") as answer:
            page.get_by_role("button", name="Sign in").click()
        return int(answer.value.status)

    def sign_in_link_from_elsewhere(page: Any) -> int:
        link = f"{url}/login?token={tokens['caseworker']}"
        response = page.goto(link, referer="https://elsewhere.example/")
        assert response is not None and page.locator("h1").inner_text() == "Sign in to casewatch?"
        return int(response.status)

    def refused_snooze(page: Any) -> int:
        page.goto(f"{url}/inbox/alerts/{WAIT_ALERT}")
        page.get_by_label("Snooze until").fill((TODAY + timedelta(days=120)).strftime("%d/%m/%Y"))
        page.get_by_label("Reason", exact=True).fill("Family away")
        with page.expect_response(re.compile(r".*/snooze$")) as answer:
            page.get_by_role("button", name="Snooze").click()
        assert "at most 90 days" in page.get_by_role("alert").inner_text()
        return int(answer.value.status)

    def snoozed(page: Any) -> int:
        page.goto(f"{url}/inbox/alerts/{SOON_ALERT}")
        if page.get_by_label("Snooze until").count():  # the first width snoozes it
            page.get_by_label("Snooze until").fill((TODAY + timedelta(days=10)).isoformat())
            page.get_by_label("Reason", exact=True).fill("School trip this week")
            page.get_by_role("button", name="Snooze").click()
            page.wait_for_url("**?done=snoozed")
        else:
            page.goto(f"{url}/inbox/alerts/{SOON_ALERT}?done=snoozed")
        assert "Snoozed until" in page.locator("main").inner_text()
        return 200

    return {
        "signed-out": {
            "sign-in": (200, go("/login")),
            "sign-in-refused": (401, refused_sign_in),
            "sign-in-link-from-elsewhere": (200, sign_in_link_from_elsewhere),
            "not-found-address": (404, go("/no-such-page")),
        },
        "caseworker": {
            "inbox": (200, go("/inbox")),
            "inbox-filtered-page-2": (200, go("/inbox?rule=R-AR-DUE&severity=&page=2")),
            "inbox-no-match": (200, go("/inbox?q=no-such-child")),
            "alert": (200, go(f"/inbox/alerts/{WAIT_ALERT}")),
            "alert-refused-snooze": (422, refused_snooze),
            "alert-snoozed": (200, snoozed),
            "forbidden-team": (403, go("/team")),
            "not-found-alert": (404, go(f"/inbox/alerts/{UNKNOWN_ALERT}")),
        },
        "manager": {
            "team": (200, go("/team")),
            "team-queue": (200, go("/team?queue=team")),
            "team-unallocated": (200, go("/team/unallocated")),
            "caseworker-inbox": (200, go("/inbox?caseworker=cw-01&sort=child")),
        },
        "admin": {
            "admin-index": (200, go("/")),
            "all-teams": (200, go("/team")),
        },
    }


def _sideways(page: Any) -> str:
    width, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return "" if width <= client else f"scrollWidth {width} > clientWidth {client}"


# ---------------------------------------------------------------------------------------------
# The caseworker's whole journey by keyboard


def test_the_whole_casework_journey_by_keyboard(stack: Stack, chromium: Any) -> None:
    """Sign in, filter, open an alert, acknowledge, snooze with a date and reassign, using
    only Tab, Enter and Space (and typing into the fields); at every step the focus moves in
    the page's reading order and can be seen."""
    url = stack.url
    context = chromium.new_context(viewport=WIDE)
    page = context.new_page()
    keys = Keys(page)
    try:
        # sign in: skip link first, then the header's link, then the token field
        page.goto(f"{url}/login")
        assert keys.tab()["text"] == "Skip to main content"
        keys.tab_to(lambda f: f["id"] == "token", at_most=3)
        page.keyboard.type(stack.tokens["caseworker"])
        assert keys.tab()["text"] == "Sign in"
        keys.press("Enter")
        page.wait_for_url(f"{url}/inbox")
        page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-1-signed-in.png"))

        # the skip link takes the focus past the header to the main content
        keys.restart()
        assert keys.tab()["text"] == "Skip to main content"
        keys.press("Enter")
        first_in_main = keys.tab()  # past the header's links: the summary's first count
        assert page.evaluate("!!document.activeElement.closest('main section.summary')"), (
            first_in_main
        )

        # filter: type a reference, choose a severity by typing its name, Space on Apply
        keys.tab_to(lambda f: f["id"] == "q", at_most=10)
        page.keyboard.type("LL-000")
        assert keys.tab()["id"] == "rule"
        assert keys.tab()["id"] == "severity"
        page.keyboard.type("Statutory")
        assert page.locator("#severity").input_value() == "breach"
        for expected in ("status", "sort", "per_page"):
            assert keys.tab()["id"] == expected
        assert keys.tab()["text"] == "Apply"
        keys.press("Space")
        page.wait_for_url(re.compile(r".*q=LL-000.*severity=breach.*"))
        caption = page.locator("caption").first.inner_text()
        assert caption.startswith("Showing 1 to 9 of 9 alerts"), caption
        page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-2-filtered.png"))

        # open LL-0003 from the list with Enter
        keys.restart()
        keys.tab_to(lambda f: f["text"].startswith("LL-0003"), at_most=40)
        keys.press("Enter")
        page.wait_for_url(f"**/inbox/alerts/{103:032x}")
        assert page.locator("h1").inner_text() == "Annual review overdue"

        # acknowledge with a note, Space on the button
        keys.restart()
        keys.tab_to(lambda f: f["id"] == "ack-reason", at_most=20)
        page.keyboard.type("Phoned the school; review booked")
        assert keys.tab()["text"] == "Acknowledge"
        page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-3-focus-on-acknowledge.png"))
        keys.press("Space")
        page.wait_for_url("**?done=acknowledged")
        assert page.get_by_role("status").inner_text() == "You acknowledged this alert."
        page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-4-acknowledged.png"))

        # snooze with a date typed as the hint shows it, Enter on the button
        until = TODAY + timedelta(days=14)
        keys.restart()
        keys.tab_to(lambda f: f["id"] == "snooze-until", at_most=20)
        page.keyboard.type(until.strftime("%d/%m/%Y"))
        assert keys.tab()["id"] == "snooze-reason"
        page.keyboard.type("Family away; school confirms the date")
        assert keys.tab()["text"] == "Snooze"
        keys.press("Enter")
        page.wait_for_url("**?done=snoozed")
        assert f"Snoozed until {long_date(until)}" in page.locator("main").inner_text()
        page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-5-snoozed.png"))

        # reassign to cw-02, chosen in the list by typing, Enter on the button
        keys.restart()
        radio = keys.tab_to(lambda f: f["name"] == "to", at_most=20)
        assert page.evaluate("document.activeElement.checked"), radio  # a caseworker, default
        assert keys.tab()["id"] == "reassign-caseworker"
        page.keyboard.type("cw-02")
        assert page.locator("#reassign-caseworker").input_value() == "cw-02"
        assert keys.tab()["id"] == "reassign-reason"
        page.keyboard.type("cw-02 knows the family")
        assert keys.tab()["text"] == "Reassign"
        keys.press("Enter")
        page.wait_for_url("**/inbox?done=reassigned")  # no longer in cw-01's caseload
        assert "You reassigned the alert" in page.get_by_role("status").inner_text()
        assert "LL-0003" not in page.locator("main").inner_text()
        page.screenshot(path=str(ARTIFACTS / "a11y-keyboard-6-reassigned.png"))
    finally:
        context.close()

    done = get_json(f"{url}/alerts/{103:032x}", stack.admin)
    assert (done["status"], done["caseworker_id"]) == ("snoozed", "cw-02")
    assert done["snoozed_until"] == until.isoformat()
    actions = [h["action"] for h in done["history"]]
    assert actions[-3:] == ["acknowledged", "snoozed", "reassigned"], actions
    assert keys.moves > 30  # the journey was walked, not jumped


class Keys:
    """The keyboard, with every focus checked: it moves forward through the page (the
    focus order is the reading order) and it can be seen."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.last = -1
        self.moves = 0

    def restart(self) -> None:
        """A new page: the order starts again from the top."""
        self.last = -1

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def tab(self) -> dict[str, Any]:
        self.page.keyboard.press("Tab")
        focus = self.page.evaluate(_FOCUS)
        assert focus is not None, "Tab left the page"
        assert focus["position"] > self.last, f"the focus went backwards to {focus}"
        assert focus["visible"], f"no visible focus on {focus}"
        assert focus["onScreen"], f"the focus is on something not shown: {focus}"
        self.last = focus["position"]
        self.moves += 1
        return dict(focus)

    def tab_to(self, wanted: Callable[[dict[str, Any]], bool], *, at_most: int) -> dict[str, Any]:
        for _ in range(at_most):
            focus = self.tab()
            if wanted(focus):
                return focus
        raise AssertionError(f"not reached in {at_most} presses of Tab")
