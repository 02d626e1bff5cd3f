"""The inbox's lists: empty parameters mean all, search by reference, pages with totals,
sort and status, the summary, one severity vocabulary, plain words, the manager's forecast
and the children with no caseworker (JSON API and pages, on SQLite)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from schemas.journeys import ChildFacts, ClockView, JourneySnapshot
from services.alerts.config import AlertSettings
from services.alerts.notify.digest import digests_from
from services.alerts.store.caseload import EVERYTHING
from services.alerts.store.listing import LEVEL, level_of
from services.alerts.store.store import Activity, AlertStore
from services.alerts.store.tables import AlertRow
from services.alerts.web.app import create_app
from services.alerts.web.auth import mint_token
from services.alerts.web.words import Words
from services.journeys.domain.pack import DEFAULT_PACK
from services.runtime.settings import Settings
from tests.unit.test_alert_store import fid, flag

TODAY = date(2026, 3, 2)
AT = datetime(2026, 3, 1, tzinfo=UTC)


def snapshot(
    key: str, ref: str, caseworker: str | None, *clocks: ClockView, **child: object
) -> JourneySnapshot:
    return JourneySnapshot(
        person_key=key,
        child_ref=ref,
        caseworker_id=caseworker,
        team="north",
        as_of=TODAY,
        clocks=list(clocks),
        child=ChildFacts.model_validate(child) if child else None,
        updated_at=AT,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}")
    records = [
        flag(
            n=n,
            child_ref=f"LL-{n:04d}",
            person_key=f"pk-{n:016d}",
            due_on=TODAY - timedelta(days=n),
        )
        for n in range(1, 61)  # 60 lapsed reviews for cw-ana
    ]
    records += [
        flag(
            n=61, rule_id="R-ISSUE-20W", subject="request:R61", exception=True, child_ref="LL-0061"
        ),
        flag(
            n=62,
            rule_id="R-AR-WARN",
            severity="advisory",
            statutory=False,
            child_ref="LL-0062",
            due_on=TODAY + timedelta(days=3),
        ),
        flag(
            n=63,
            rule_id="R-WAIT",
            subject="referral:HR00187-1:3m",
            child_ref="LL-0063",
            person_key="pk-wait",
        ),
        flag(n=64, caseworker_id="cw-ben", child_ref="50%_OFF", subject="plan:PLAN00244"),
        flag(n=65, caseworker_id=None, child_ref="LL-0065", person_key="pk-queue"),
    ]
    store.apply_many(records)
    upcoming = ClockView(
        rule_id="R-AR-DUE", subject="plan:P9", due_on=TODAY + timedelta(days=20), state="upcoming"
    )
    later = ClockView(
        rule_id="R-AR-DUE", subject="plan:P8", due_on=TODAY + timedelta(days=50), state="upcoming"
    )
    store.apply_journeys(
        [
            (
                "pk-wait",
                snapshot(
                    "pk-wait",
                    "LL-0063",
                    "cw-ana",
                    upcoming,
                    later,
                    referral_services={"HR00187-1": "autism"},
                    year_group=4,
                ),
            ),
            ("pk-queue", snapshot("pk-queue", "LL-0065", None, upcoming, plan_id="P9")),
            (
                "pk-only-wait",
                snapshot(
                    "pk-only-wait",
                    "LL-0099",
                    None,
                    ClockView(
                        rule_id="R-WAIT", subject="referral:X:3m", due_on=TODAY, state="open"
                    ),
                ),
            ),
        ]
    )
    yield store
    store.close()


@pytest.fixture
def client(tmp_path: Path, store: AlertStore) -> Iterator[TestClient]:
    config = AlertSettings(team_managers={"north": "mgr-north"})
    app = create_app(
        Settings(data_dir=tmp_path), store, consume=False, clock=lambda: TODAY, config=config
    )
    admin = mint_token(config, tmp_path, subject="admin-1", roles=["admin"])
    with TestClient(app, headers={"Authorization": f"Bearer {admin}"}) as client:
        yield client


def ids(response: object) -> list[str]:
    return [a["flag_id"] for a in response.json()]  # type: ignore[attr-defined]


def test_empty_parameters_mean_all(client: TestClient) -> None:
    everything = ids(client.get("/alerts", params={"per_page": 200}))
    assert len(everything) == 65
    blank = {
        "severity": "",
        "rule": "",
        "status": "",
        "q": "",
        "sort": "",
        "page": "",
        "caseworker": "",
        "team": "",
    }
    assert ids(client.get("/alerts", params={**blank, "per_page": 200})) == everything
    reviews = client.get("/alerts", params={"rule": "R-AR-DUE", "severity": "", "per_page": 200})
    assert len(reviews.json()) == 62  # 60 + cw-ben's + the queue's
    page = client.get(
        "/inbox", params={"caseworker": "cw-ana", "rule": "R-AR-DUE", "severity": ""}
    ).text
    assert "Showing 1 to 50 of 60 alerts" in page


def test_search_by_child_or_case_reference(client: TestClient) -> None:
    assert ids(client.get("/alerts", params={"q": "ll-0007"})) == [fid(7)]  # any case
    assert ids(client.get("/alerts", params={"q": " PLAN00244 "})) == [fid(64)]  # a subject's id
    assert ids(client.get("/alerts", params={"q": "50%_"})) == [fid(64)]  # % and _ are literal
    assert ids(client.get("/alerts", params={"q": "%"})) == [fid(64)]
    assert client.get("/alerts", params={"q": "nobody"}).json() == []
    page = client.get("/inbox", params={"caseworker": "cw-ana", "q": "LL-0007"}).text
    assert "Showing 1 to 1 of 1 alert" in page and 'value="LL-0007"' in page


def test_pages_carry_their_totals(client: TestClient) -> None:
    first = client.get("/alerts", params={"per_page": 20})
    assert len(first.json()) == 20
    assert first.headers["x-total-count"] == "65" and first.headers["x-total-pages"] == "4"
    assert 'rel="next"' in first.headers["link"] and "page=2" in first.headers["link"]
    last = client.get("/alerts", params={"per_page": 20, "page": 4})
    assert len(last.json()) == 5 and last.headers["x-page"] == "4"
    seen = [
        i
        for p in range(1, 5)
        for i in ids(client.get("/alerts", params={"per_page": 20, "page": p}))
    ]
    assert sorted(seen) == sorted(
        ids(client.get("/alerts", params={"per_page": 200}))
    )  # no gaps, no repeats
    beyond = client.get("/alerts", params={"per_page": 20, "page": 9})
    assert beyond.json() == [] and beyond.headers["x-total-count"] == "65"
    assert len(client.get("/alerts").json()) == 50  # the default page


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("per_page", "0"),
        ("per_page", "201"),
        ("page", "0"),
        ("page", "two"),
        ("severity", "dire"),
        ("sort", "size"),
        ("status", "done"),
    ],
)
def test_the_api_names_a_parameter_it_cannot_read(
    client: TestClient, name: str, value: str
) -> None:
    response = client.get("/alerts", params={name: value})
    assert response.status_code == 422 and response.json()["detail"].startswith(name)


def test_html_pages_link_every_page(client: TestClient) -> None:
    first = client.get("/inbox", params={"caseworker": "cw-ana", "per_page": 25}).text
    assert "Showing 1 to 25 of 63 alerts" in first
    assert 'aria-current="page"' in first and "page=3" in first and 'rel="next"' in first
    second = client.get("/inbox", params={"caseworker": "cw-ana", "per_page": 25, "page": 3}).text
    assert "Showing 51 to 63 of 63 alerts" in second
    past = client.get("/inbox", params={"caseworker": "cw-ana", "page": 99}).text
    assert "Showing 51 to 63 of 63 alerts" in past  # past the end: the last page


def test_sort_and_status(client: TestClient) -> None:
    by_child = client.get("/alerts", params={"sort": "child", "per_page": 200}).json()
    refs = [a["child_ref"] for a in by_child]
    assert refs == sorted(refs)
    urgent = client.get("/alerts", params={"sort": "urgency", "per_page": 200}).json()
    levels = [a["level"] for a in urgent]
    assert levels == sorted(levels, key=["breach", "warning", "exception", "guidance"].index)
    assert client.get("/alerts", params={"status": "snoozed"}).json() == []


def test_the_summary_counts_the_whole_list(client: TestClient) -> None:
    counts = client.get("/alerts/summary", params={"caseworker": "cw-ana"}).json()
    assert counts["total"] == 63
    assert counts["by_level"] == {"breach": 60, "exception": 1, "guidance": 1, "warning": 1}
    assert counts["due_in_next_7_days"] == 1  # the advisory review warning, due in 3 days
    page = client.get("/inbox", params={"caseworker": "cw-ana", "severity": "guidance"}).text
    assert "63 open alerts</h2>" in page  # the summary is of the inbox, not the filter
    assert '<span class="count">60</span> statutory breaches' in page


def test_one_severity_vocabulary_in_sql_and_python(store: AlertStore) -> None:
    combos = itertools.product(
        ("breach", "warning", "advisory"), (True, False), (True, False), ("R-AR-DUE", "R-WAIT")
    )
    with store._sessions() as session:
        for n, (severity, statutory, exception, rule) in enumerate(combos, start=100):
            row = session.get(AlertRow, fid(1))
            assert row is not None
            row.severity, row.statutory, row.exception, row.rule_id = (
                severity,
                statutory,
                exception,
                rule,
            )
            session.flush()
            in_sql = session.scalar(select(LEVEL).where(AlertRow.flag_id == fid(1)))
            assert in_sql == level_of(severity, statutory, exception, rule), (
                n,
                severity,
                statutory,
                exception,
                rule,
            )
            if not statutory or severity == "advisory" or rule == "R-WAIT" or exception:
                assert in_sql != "breach"  # only a statutory duty is ever a breach
        session.rollback()


def test_plain_words_for_titles_and_subjects(client: TestClient) -> None:
    (wait,) = client.get("/alerts", params={"q": "LL-0063"}).json()
    assert wait["title"] == "Long wait for autism diagnostic assessment (CYP): NICE guidance"
    assert (
        wait["about"]
        == "Referral HR00187-1 to autism diagnostic assessment (CYP): the 3-month wait"
    )
    assert wait["level_label"] == "Warning"  # a health standard, not a statutory breach
    words = Words(DEFAULT_PACK)
    child = ChildFacts(year_group=6)
    assert words.about("R-PFA-Y9", "plan:PLAN00244:pfa:2026") == (
        "EHC plan PLAN00244: preparing-for-adulthood review, school year 2026 to 2027"
    )
    assert words.title("R-PHASE-MISSED", "plan:P1:phase:2027-02-15", child) == (
        "Plan not amended in time for the move from primary to secondary school"
    )
    assert words.title("R-PHASE-UPCOMING", "plan:P1:phase:2027-03-31") == (
        "Plan to amend for the move from secondary school to post-16"
    )
    assert words.title("R-AGE-25", "plan:P1:age25") != words.title("R-AGE-25", "plan:P1:overrun")
    assert words.about("R-AR-STEPS", "review:P1:2026-01-10:notice") == (
        "Annual review of EHC plan P1, meeting on 10 January 2026: meeting notice"
    )
    assert words.about("R-WAIT", "referral:R1:126d") == "Referral R1 to a service: the 18-week wait"


def test_the_alert_page_gives_guidance_and_the_child(client: TestClient, tmp_path: Path) -> None:
    page = client.get(f"/inbox/alerts/{fid(63)}").text
    assert "What the standard says" in page and "NICE quality standard QS51" in page
    assert "Next step" in page and "first appointment" in page
    assert "Year 4" in page
    review = client.get(f"/inbox/alerts/{fid(3)}").text
    assert "What the law requires" in review and "Children and Families Act 2014, s44" in review
    assert "3 days overdue" in review


def test_the_managers_forecast_and_the_children_with_no_caseworker(
    client: TestClient, store: AlertStore
) -> None:
    loads = {
        load.caseworker_id: load for load in store.caseload_forecast(EVERYTHING, "north", TODAY)
    }
    ana = loads["cw-ana"]
    assert (ana.open_alerts, ana.breaches) == (63, 60)
    assert ana.overdue == 62  # the reviews, the 20 weeks and the wait; not the warning ahead
    assert ana.due_within == {4: 1, 8: 2, 12: 2}  # pk-wait's clocks in 20 and 50 days
    children = store.unallocated_children(EVERYTHING, "north")
    assert [c.child_ref for c in children] == ["LL-0065"]  # a wait alone is not casework
    assert children[0].flag_id == fid(65)
    page = client.get("/team", params={"team": "north"}).text
    assert "1 child with no caseworker" in page and "Due within 12 weeks" in page
    queue = client.get("/team/unallocated", params={"team": "north"}).text
    assert "LL-0065" in queue and "LL-0099" not in queue
    assert store.caseworkers_in_team("north") == ["cw-ana", "cw-ben"]


def test_a_refused_snooze_keeps_the_date_and_uk_dates_are_read(
    client: TestClient, tmp_path: Path
) -> None:
    config = AlertSettings(team_managers={"north": "mgr-north"})
    token = mint_token(config, tmp_path, subject="cw-ana", roles=["caseworker"], team="north")
    browser = TestClient(client.app)
    browser.get("/login", params={"token": token})
    page = browser.get(f"/inbox/alerts/{fid(1)}").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert '<option value="cw-ben">cw-ben</option>' in page  # reassign from the team's list
    far = browser.post(
        f"/inbox/alerts/{fid(1)}/snooze",
        data={"csrf_token": csrf, "until": "01/09/2026", "reason": "family away"},
    )
    assert far.status_code == 422 and "at most 90 days" in far.text
    assert 'value="01/09/2026"' in far.text and ">family away</textarea>" in far.text
    ok = browser.post(
        f"/inbox/alerts/{fid(1)}/snooze",
        data={"csrf_token": csrf, "until": "09/03/2026", "reason": "family away"},
    )
    assert "Snoozed until 9 March 2026" in ok.text


def test_the_digest_says_what_each_rule_requires_and_names_no_child() -> None:
    activity = [Activity(1, "opened", "R-AR-DUE", "cw-ana", "north", None)]
    (digest,) = digests_from(activity, "http://inbox", {"north": "mgr-north"})
    text = digest.text()
    assert "Requires: An EHC plan must be reviewed at least every 12 months" in text
    assert "Reference: Children and Families Act 2014, s44" in text and "Next step:" in text
    assert "LL-" not in text


def test_a_deadline_still_ahead_is_due_not_overdue_in_the_unallocated_queue() -> None:
    """The queue's "next deadline" is a clock's date: ahead of today it reads "Annual review
    due", behind (a snapshot not yet refreshed) "Annual review overdue"."""
    from datetime import date

    from services.alerts.store.listing import UnallocatedChild
    from services.alerts.web.page_team import unallocated_page
    from services.alerts.web.pages import Viewer

    today = date(2026, 12, 5)

    def child(ref: str, due: date) -> UnallocatedChild:
        return UnallocatedChild(ref, "north", due, "R-AR-DUE", 0, None, person_key="pk")

    children = [
        child("LL-1", date(2026, 12, 15)),
        child("LL-2", today),
        child("LL-3", date(2026, 12, 1)),
    ]
    viewer = Viewer("mgr-north", frozenset({"manager"}), "north")
    page = unallocated_page("north", children, 1, 50, {}, viewer, today)
    assert "Annual review due: 15 December 2026" in page
    assert "Annual review due: 5 December 2026" in page
    assert "Annual review overdue: 1 December 2026" in page
    assert page.count("overdue") == 1
