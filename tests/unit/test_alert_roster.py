"""Routing and reassignment take only roster entries, on SQLite and PostgreSQL alike: an
unknown caseworker routes to the team queue and is reported; a journey naming nobody on the
roster never takes an alert away from its owner; reassignment refuses anyone else."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from services.alerts.config import AlertSettings
from services.alerts.metrics import AlertMetrics
from services.alerts.store.store import AlertStore, CaseworkRefused
from services.alerts.web.app import create_app
from services.alerts.web.auth import mint_token
from services.runtime.roster import Member, Roster
from services.runtime.settings import Settings
from tests.unit.test_alert_casework import OPENED, act, snapshot
from tests.unit.test_alert_store import fid, flag, postgres_url, store_url

__all__ = ["postgres_url", "store_url"]

ROSTER = [
    Member("cw-ana", "north", "caseworker"),
    Member("cw-ben", "north", "caseworker"),
    Member("cw-cat", "south", "caseworker"),
    Member("mgr-north", "north", "manager"),
]
HOSTILE = ["cw-09\r\nBcc: x@evil.test", "x" * 100_000, 'north"><script>']
DAY = date(2026, 4, 7)


@pytest.fixture
def store(store_url: str) -> Iterator[AlertStore]:
    store = AlertStore(store_url, Roster(ROSTER))
    yield store
    store.close()


def owner(store: AlertStore, n: int = 1) -> tuple[str | None, str | None]:
    alert = store.get(fid(n))
    assert alert is not None
    return alert.caseworker_id, alert.team


def test_flags_are_routed_only_to_people_and_teams_on_the_roster(
    store: AlertStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        store.apply_many(
            [
                flag(n=1),  # cw-ana, north: on the roster
                flag(n=2, caseworker_id="cw-evil"),  # unknown: north's queue
                flag(n=3, caseworker_id="cw-cat", team="north"),  # cw-cat is in south
                flag(n=4, caseworker_id="cw-evil", team="nowhere"),  # nobody on the roster
                flag(n=5, caseworker_id=HOSTILE[0]),
                flag(n=6, caseworker_id=None, team=HOSTILE[2]),
            ]
        )
    assert [owner(store, n) for n in range(1, 7)] == [
        ("cw-ana", "north"),
        (None, "north"),
        ("cw-cat", "south"),
        (None, None),  # seen by admins only, and reported
        (None, "north"),
        (None, None),
    ]
    assert store.roster.refused() == {
        ("routing", "unknown_caseworker"): 3,
        ("routing", "unknown_team"): 2,
    }
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == [
        "routing: 3 unknown caseworker, 2 unknown team not on the roster (an unknown "
        "caseworker goes to the team queue; an alert naming nobody on the roster keeps its "
        "owner)"
    ]
    assert "cw-evil" not in caplog.text and "nowhere" not in caplog.text


def test_a_journey_naming_nobody_on_the_roster_leaves_the_alert_with_its_owner(
    store: AlertStore,
) -> None:
    """The attack: a ``person.updated`` naming cw-evil in team nowhere hid a breach from
    cw-01 and their manager."""
    store.apply(flag())
    store.apply_journeys([("pk-0123456789abcdef", snapshot("cw-evil", "nowhere"))])
    assert owner(store) == ("cw-ana", "north")
    store.apply_journeys([("pk-0123456789abcdef", snapshot("cw-evil", "north", at=later()))])
    assert owner(store) == (None, "north")  # an unknown caseworker: the team's queue
    store.apply_journeys([("pk-0123456789abcdef", snapshot("cw-ben", "north", at=later(2)))])
    assert owner(store) == ("cw-ben", "north")
    assert [r.action for r in store.history(fid(1))] == ["opened", "rerouted", "rerouted"]


def later(hours: int = 1) -> datetime:
    return OPENED + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("x" * 100_000, "a caseworker ID is 1 to 64 letters"),
        (HOSTILE[0], "a caseworker ID is 1 to 64 letters"),
        ("cw-nobody", "that caseworker is not on the roster"),
        ("mgr-north", "that caseworker is not on the roster"),
        ("cw-cat", "that caseworker is not in team north"),
    ],
)
def test_reassignment_refuses_anyone_not_on_the_roster_in_the_alerts_team(
    store: AlertStore, target: str, says: str
) -> None:
    store.apply(flag())
    with pytest.raises(CaseworkRefused, match=says) as refused:
        store.reassign(fid(1), act(DAY), caseworker_id=target)
    assert target not in str(refused.value) or target == "cw-cat"
    assert owner(store) == ("cw-ana", "north")
    assert [r.action for r in store.history(fid(1))] == ["opened"]
    assert sum(store.roster.refused().values()) == 1


def test_reassignment_to_a_rostered_caseworker_or_the_queue(store: AlertStore) -> None:
    store.apply(flag())
    assert store.reassign(fid(1), act(DAY), caseworker_id="cw-ben")
    assert owner(store) == ("cw-ben", "north")
    assert store.reassign(fid(1), act(DAY), caseworker_id=None)
    assert owner(store) == (None, "north")
    assert store.roster.refused() == {}


def test_an_alert_with_no_team_takes_the_team_of_its_new_caseworker(store: AlertStore) -> None:
    store.apply(flag(caseworker_id=None, team="nowhere"))
    assert owner(store) == (None, None)
    assert store.reassign(fid(1), act(DAY), caseworker_id="cw-cat")
    assert owner(store) == ("cw-cat", "south")


def test_an_open_roster_refuses_only_malformed_values(tmp_path: Path) -> None:
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}")
    try:
        store.apply_many(
            [flag(n=1, caseworker_id="cw-new", team="east"), flag(n=2, team=HOSTILE[2])]
        )
        assert owner(store, 1) == ("cw-new", "east")
        assert owner(store, 2) == ("cw-ana", None)  # the caseworker holds; the team is refused
        with pytest.raises(CaseworkRefused, match="a caseworker ID is"):
            store.reassign(fid(1), act(DAY), caseworker_id=HOSTILE[1])
        assert store.reassign(fid(1), act(DAY), caseworker_id="cw-other")
    finally:
        store.close()


def test_refusals_are_a_metric_without_values(store: AlertStore) -> None:
    registry = CollectorRegistry()
    AlertMetrics(registry).watch_roster(store.roster, registry)
    store.apply(flag(caseworker_id=HOSTILE[0]))
    value = registry.get_sample_value(
        "casewatch_roster_refusals_total", {"use": "routing", "reason": "unknown_caseworker"}
    )
    assert value == 1.0


def test_the_api_answers_a_reassignment_off_the_roster_with_422(tmp_path: Path) -> None:
    """The adversarial run's 100,000-character id and a caseworker who does not exist."""
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}", Roster(ROSTER))
    store.apply(flag())
    config = AlertSettings()
    app = create_app(
        Settings(data_dir=tmp_path), store, consume=False, clock=lambda: DAY, config=config
    )
    admin = mint_token(config, tmp_path, subject="admin-1", roles=["admin"])
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {admin}"}) as client:
            for target, says in [
                ("x" * 100_000, "a caseworker ID is"),
                ("cw-nobody", "not on the roster"),
            ]:
                answer = client.post(f"/alerts/{fid(1)}/reassign", json={"caseworker_id": target})
                assert answer.status_code == 422
                assert says in answer.text and "xxxx" not in answer.text
            moved = client.post(f"/alerts/{fid(1)}/reassign", json={"caseworker_id": "cw-ben"})
            assert moved.status_code == 200 and moved.json()["caseworker_id"] == "cw-ben"
            metrics = client.get("/metrics").text
            assert 'casewatch_roster_refusals_total{reason="malformed",use="reassign"} 1.0' in (
                metrics
            )
    finally:
        store.close()
