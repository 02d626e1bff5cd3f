"""Contract tests of the alert store, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from schemas.flags import FlagRecord
from services.alerts.store.store import AlertStore

PG_URL = os.environ.get(
    "CASEWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PERSON = "pk-0123456789abcdef"
CHILD = "CHILD-0042"


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
        "child_ref": CHILD,
        "caseworker_id": "cw-ana",
        "team": "north",
        "subject": f"plan:P{n}",
        "due_on": date(2026, 2, 5),
        "as_of": at.date(),
        "changed_at": at,
    }
    return FlagRecord.model_validate({**values, **changes})


class AlertStoreContract:
    """What every backend of the alert store must do. Subclasses provide ``make_store``."""

    @pytest.fixture
    def make_store(self) -> Callable[[], AlertStore]:
        raise NotImplementedError

    @pytest.fixture
    def store(self, make_store: Callable[[], AlertStore]) -> AlertStore:
        return make_store()

    def test_a_raised_flag_opens_an_alert(self, store: AlertStore) -> None:
        assert store.apply(flag()) == "opened"
        alert = store.get(fid(1))
        assert alert is not None
        assert (alert.status, alert.times_raised, alert.resolved_at) == ("open", 1, None)
        assert (alert.rule_id, alert.severity, alert.statutory) == ("R-AR-DUE", "breach", True)
        assert (alert.person_key, alert.child_ref, alert.caseworker_id) == (PERSON, CHILD, "cw-ana")
        assert (alert.team, alert.subject, alert.due_on) == ("north", "plan:P1", date(2026, 2, 5))
        assert alert.first_raised_at == alert.last_changed_at == T0
        assert [a.flag_id for a in store.open_alerts()] == [fid(1)]

    def test_raising_an_open_alert_again_changes_nothing(self, store: AlertStore) -> None:
        store.apply(flag())
        assert store.apply(flag()) == "unchanged"
        assert store.apply(flag(at=T0 + timedelta(days=1))) == "unchanged"
        alert = store.get(fid(1))
        assert alert is not None and alert.times_raised == 1 and alert.last_changed_at == T0
        assert len(store.open_alerts()) == 1
        assert len(store.history(fid(1))) == 1

    def test_resolving_an_open_alert(self, store: AlertStore) -> None:
        store.apply(flag())
        later = T0 + timedelta(days=3)
        assert store.apply(flag("resolved", at=later)) == "resolved"
        alert = store.get(fid(1))
        assert alert is not None
        assert (alert.status, alert.resolved_at, alert.last_changed_at) == (
            "resolved",
            later,
            later,
        )
        assert store.open_alerts() == [] and store.counts() == {}
        assert store.apply(flag("resolved", at=later + timedelta(days=1))) == "unchanged"

    def test_raising_a_resolved_alert_reopens_it(self, store: AlertStore) -> None:
        store.apply(flag())
        store.apply(flag("resolved", at=T0 + timedelta(days=1)))
        assert store.apply(flag(at=T0 + timedelta(days=2))) == "reopened"
        alert = store.get(fid(1))
        assert alert is not None
        assert (alert.status, alert.times_raised, alert.resolved_at) == ("open", 2, None)
        assert alert.first_raised_at == T0

    def test_a_resolved_flag_never_raised_is_kept_but_not_open(self, store: AlertStore) -> None:
        assert store.apply(flag("resolved")) == "unchanged"
        alert = store.get(fid(1))
        assert alert is not None
        assert (alert.status, alert.times_raised, alert.first_raised_at) == ("resolved", 0, None)
        assert store.open_alerts() == []
        assert [c.status for c in store.history(fid(1))] == ["resolved"]
        assert store.apply(flag(at=T0 + timedelta(days=1))) == "opened"

    def test_a_replayed_older_record_changes_nothing(self, store: AlertStore) -> None:
        batch = [flag(), flag("resolved", at=T0 + timedelta(days=1))]
        assert store.apply_many(batch) == ["opened", "resolved"]
        assert store.apply_many(batch) == ["unchanged", "unchanged"]  # re-delivered batch
        alert = store.get(fid(1))
        assert alert is not None and (alert.status, alert.times_raised) == ("resolved", 1)
        assert [c.status for c in store.history(fid(1))] == ["open", "resolved"]

    def test_history_has_a_row_per_change_only(self, store: AlertStore) -> None:
        days = [T0 + timedelta(days=d) for d in range(5)]
        statuses = ["raised", "raised", "resolved", "resolved", "raised"]
        store.apply_many([flag(s, at=at) for s, at in zip(statuses, days, strict=True)])
        history = store.history(fid(1))
        assert [(c.status, c.changed_at) for c in history] == [
            ("open", days[0]),
            ("resolved", days[2]),
            ("open", days[4]),
        ]
        assert [c.as_of for c in history] == [days[0].date(), days[2].date(), days[4].date()]

    def test_details_follow_the_newest_record(self, store: AlertStore) -> None:
        store.apply(flag())
        later = T0 + timedelta(hours=1)
        store.apply(flag(at=later, caseworker_id="cw-ben", exception=True))
        alert = store.get(fid(1))
        assert alert is not None and (alert.caseworker_id, alert.exception) == ("cw-ben", True)

    def test_open_alerts_most_urgent_first(self, store: AlertStore) -> None:
        store.apply_many(
            [
                flag(n=1, due_on=date(2026, 2, 10)),
                flag(n=2, due_on=date(2026, 1, 5), severity="warning"),
                flag(n=3, due_on=date(2026, 1, 5), severity="breach"),
                flag(n=4, due_on=date(2025, 12, 1), severity="advisory", statutory=False),
            ]
        )
        assert [a.flag_id for a in store.open_alerts()] == [fid(4), fid(3), fid(2), fid(1)]

    def test_filters_by_caseworker_and_team(self, store: AlertStore) -> None:
        store.apply_many(
            [
                flag(n=1, caseworker_id="cw-ana", team="north"),
                flag(n=2, caseworker_id="cw-ben", team="north"),
                flag(n=3, caseworker_id="cw-ana", team="south"),
                flag(n=4, caseworker_id=None, team=None),
            ]
        )
        assert [a.flag_id for a in store.open_alerts(caseworker_id="cw-ana")] == [fid(1), fid(3)]
        assert [a.flag_id for a in store.open_alerts(team="north")] == [fid(1), fid(2)]
        assert [a.flag_id for a in store.open_alerts(caseworker_id="cw-ana", team="south")] == [
            fid(3)
        ]
        assert store.open_alerts(caseworker_id="cw-nobody") == []
        assert len(store.open_alerts()) == 4
        assert store.counts_by_caseworker() == {"cw-ana": 2, "cw-ben": 1, None: 1}

    def test_counts_open_alerts_by_rule(self, store: AlertStore) -> None:
        store.apply_many(
            [
                flag(n=1),
                flag(n=2, severity="warning"),
                flag(n=3, rule_id="R-ISSUE-20W"),
                flag(n=4, rule_id="R-ISSUE-20W"),
                flag("resolved", n=4, at=T0 + timedelta(days=1), rule_id="R-ISSUE-20W"),
            ]
        )
        assert store.counts() == {"R-AR-DUE": 2, "R-ISSUE-20W": 1}
        assert store.counts_by_rule_and_severity() == {
            ("R-AR-DUE", "breach"): 1,
            ("R-AR-DUE", "warning"): 1,
            ("R-ISSUE-20W", "breach"): 1,
        }

    def test_times_keep_their_instant_across_time_zones(self, store: AlertStore) -> None:
        summer = datetime(2026, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
        store.apply(flag(at=summer))
        alert = store.get(fid(1))
        assert alert is not None and alert.first_raised_at == summer
        assert alert.first_raised_at.utcoffset() == timedelta(0)

    def test_an_alert_repr_shows_no_personal_data(self, store: AlertStore) -> None:
        store.apply(flag())
        assert PERSON not in repr(store.get(fid(1)))
        assert CHILD not in repr(store.get(fid(1)))

    def test_concurrent_appliers_open_one_alert(self, make_store: Callable[[], AlertStore]) -> None:
        appliers = [make_store() for _ in range(6)]
        start = threading.Barrier(len(appliers))

        def apply(store: AlertStore) -> str:
            start.wait()
            return store.apply(flag())

        with ThreadPoolExecutor(len(appliers)) as pool:
            outcomes = Counter(pool.map(apply, appliers))
        assert outcomes == {"opened": 1, "unchanged": len(appliers) - 1}
        alert = appliers[0].get(fid(1))
        assert alert is not None and alert.times_raised == 1
        assert len(appliers[0].history(fid(1))) == 1

    def test_concurrent_batches_in_opposite_orders(
        self, make_store: Callable[[], AlertStore]
    ) -> None:
        records = [flag(n=n) for n in range(1, 41)]
        batches = [records, records[::-1], records[::2], records[1::2]]
        appliers = [make_store() for _ in batches]
        start = threading.Barrier(len(batches))

        def apply(pair: tuple[AlertStore, list[FlagRecord]]) -> list[str]:
            start.wait()
            return list(pair[0].apply_many(pair[1]))

        with ThreadPoolExecutor(len(batches)) as pool:
            outcomes = Counter(
                t for ts in pool.map(apply, zip(appliers, batches, strict=True)) for t in ts
            )
        assert outcomes["opened"] == len(records)
        assert len(appliers[0].open_alerts()) == len(records)


class TestSQLiteAlertStore(AlertStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[Callable[[], AlertStore]]:
        stores: list[AlertStore] = []

        def make() -> AlertStore:
            stores.append(AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}"))
            return stores[-1]

        yield make
        for store in stores:
            store.close()


@pytest.fixture(scope="module")
def postgres_url() -> str:
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg")
    engine = create_engine(PG_URL)
    try:
        engine.connect().close()
    except OperationalError:
        pytest.skip(f"PostgreSQL not reachable at {make_url(PG_URL).host}")
    finally:
        engine.dispose()
    return PG_URL


class TestPostgresAlertStore(AlertStoreContract):
    @pytest.fixture
    def make_store(self, postgres_url: str) -> Iterator[Callable[[], AlertStore]]:
        """Stores on a schema of their own, dropped afterwards: runs never see each other."""
        schema = f"alerts_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(postgres_url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
        stores: list[AlertStore] = []

        def make() -> AlertStore:
            stores.append(AlertStore(url.render_as_string(hide_password=False)))
            return stores[-1]

        yield make
        for store in stores:
            store.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh alert store URL on each backend (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'alerts.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    schema = f"alerts_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
