"""Contract tests of casework on the alert store (lifecycle, routing, escalation, audit,
migrations), run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from schemas.journeys import ClockView, JourneySnapshot, TimelineEntry
from services.alerts.domain.escalation import EscalationPolicy
from services.alerts.store.caseload import Caseload
from services.alerts.store.casework import Act
from services.alerts.store.engine import engine_for
from services.alerts.store.migrate import upgrade_to
from services.alerts.store.store import AlertNotFound, AlertStore, CaseworkRefused
from services.alerts.store.tables import Base
from services.runtime.clock import LONDON
from tests.unit.test_alert_store import PERSON, fid, flag, postgres_url, store_url

__all__ = ["postgres_url", "store_url"]  # fixtures used through the parametrised store_url

MAUNDY_THURSDAY = date(2026, 4, 2)  # Good Friday 3 April and Easter Monday 6 April follow
OPENED = datetime.combine(MAUNDY_THURSDAY, time(9, 30), tzinfo=LONDON)
POLICY = EscalationPolicy(
    after_working_days={"breach": 2, "warning": 5}, managers={"north": "mgr-north"}
)


def act(day: date, actor: str = "cw-ana") -> Act:
    return Act(actor=actor, as_of=day, at=datetime.combine(day, time(12), tzinfo=UTC))


def snapshot(
    caseworker: str | None = "cw-ben", team: str | None = "north", *, at: datetime = OPENED
) -> JourneySnapshot:
    return JourneySnapshot(
        person_key=PERSON,
        child_ref="CHILD-0042",
        caseworker_id=caseworker,
        team=team,
        as_of=at.date(),
        next_deadline=date(2026, 5, 1),
        timeline=[TimelineEntry(on=date(2025, 2, 5), kind="review.decided", summary="Kept")],
        clocks=[
            ClockView(rule_id="R-AR-DUE", subject="plan:P1", due_on=date(2026, 2, 5), state="open")
        ],
        updated_at=at,
    )


@pytest.fixture
def store(store_url: str) -> Iterator[AlertStore]:
    store = AlertStore(store_url)
    yield store
    store.close()


def actions(store: AlertStore, n: int = 1) -> list[tuple[str, str, str]]:
    return [(r.action, r.status, r.actor) for r in store.history(fid(n))]


# -- migrations --------------------------------------------------------------------------


def test_migrations_build_exactly_the_models(store: AlertStore) -> None:
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_opening_again_is_a_no_op(store_url: str, store: AlertStore) -> None:
    store.apply(flag())
    AlertStore(store_url).close()  # upgrade head on an up-to-date database
    assert store.get(fid(1)) is not None


def test_a_store_made_before_migrations_is_adopted(store_url: str) -> None:
    engine = engine_for(store_url)
    upgrade_to(engine, "0001")  # the schema create_all made before this change
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO alerts VALUES (:id, 'R-AR-DUE', '2026.1', 'breach', true, :pk, "
                "'CHILD-1', 'cw-ana', 'north', 'plan:P1', '2026-02-05', false, 'open', "
                ":at, :at, NULL, 1)"
            ),
            {"id": fid(1), "pk": PERSON, "at": datetime(2026, 3, 2, 9, 30)},
        )
        connection.execute(
            text(
                "INSERT INTO alert_events (flag_id, status, as_of, changed_at) "
                "VALUES (:id, 'open', '2026-03-02', :at)"
            ),
            {"id": fid(1), "at": datetime(2026, 3, 2, 9, 30)},
        )
    engine.dispose()
    store = AlertStore(store_url)
    try:
        alert = store.get(fid(1))
        assert alert is not None and (alert.status, alert.routing) == ("open", "journey")
        assert alert.open_since == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
        assert actions(store) == [("opened", "open", "journeys")]
    finally:
        store.close()


# -- lifecycle ---------------------------------------------------------------------------


def test_acknowledging_is_audited_once(store: AlertStore) -> None:
    store.apply(flag())
    assert store.acknowledge(fid(1), act(date(2026, 3, 3)), "calling the school") is True
    assert store.acknowledge(fid(1), act(date(2026, 3, 4))) is False
    alert = store.get(fid(1))
    assert alert is not None
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", "cw-ana")
    last = store.history(fid(1))[-1]
    assert (last.action, last.actor, last.reason, last.as_of) == (
        "acknowledged",
        "cw-ana",
        "calling the school",
        date(2026, 3, 3),
    )
    assert len(store.history(fid(1))) == 2


def test_casework_on_what_is_missing_or_resolved_is_refused(store: AlertStore) -> None:
    with pytest.raises(AlertNotFound):
        store.acknowledge(fid(9), act(date(2026, 3, 3)))
    store.apply_many([flag(), flag("resolved", at=flag().changed_at + timedelta(days=1))])
    with pytest.raises(CaseworkRefused):
        store.acknowledge(fid(1), act(date(2026, 3, 4)))
    with pytest.raises(CaseworkRefused):
        store.reassign(fid(1), act(date(2026, 3, 4)), caseworker_id="cw-ben")


def test_a_snooze_needs_a_reason_and_a_near_future_date(store: AlertStore) -> None:
    store.apply(flag())
    today = date(2026, 3, 3)
    for until, reason in [
        (today + timedelta(days=7), "  "),
        (today, "waiting for the school"),
        (today + timedelta(days=91), "waiting for the school"),
    ]:
        with pytest.raises(CaseworkRefused):
            store.snooze(fid(1), act(today), until=until, reason=reason)
    assert actions(store) == [("opened", "open", "journeys")]


def test_a_snooze_ends_on_its_date_and_restarts_escalation(store: AlertStore) -> None:
    store.apply(flag())
    today = date(2026, 3, 3)
    store.snooze(fid(1), act(today), until=date(2026, 3, 10), reason="family on holiday")
    alert = store.get(fid(1))
    assert alert is not None
    assert (alert.status, alert.snoozed_until) == ("snoozed", date(2026, 3, 10))
    assert alert.snooze_reason == "family on holiday"
    assert store.sweep(act(date(2026, 3, 9)), POLICY).woke == 0
    result = store.sweep(act(date(2026, 3, 10)), POLICY)
    assert (result.woke, result.escalated) == (1, [])  # the count restarts on waking
    alert = store.get(fid(1))
    assert alert is not None and (alert.status, alert.snoozed_until) == ("open", None)
    assert actions(store)[-2:] == [("snoozed", "snoozed", "cw-ana"), ("woke", "open", "casewatch")]
    assert store.history(fid(1))[-2].detail == "until 2026-03-10"


def test_reassignment_holds_against_the_journey_until_the_alert_resolves(
    store: AlertStore,
) -> None:
    store.apply(flag())
    day = date(2026, 3, 3)
    assert store.reassign(fid(1), act(day), caseworker_id="cw-cy", reason="covering") is True
    alert = store.get(fid(1))
    assert alert is not None and (alert.caseworker_id, alert.routing) == ("cw-cy", "manual")
    assert store.history(fid(1))[-1].detail == "from cw-ana (team north) to cw-cy (team north)"

    later = datetime(2026, 3, 4, 9, tzinfo=UTC)
    store.apply_journeys([(PERSON, snapshot("cw-ben", at=later))])
    alert = store.get(fid(1))
    assert alert is not None and alert.caseworker_id == "cw-cy"  # a person chose: it stays

    store.reassign(fid(1), act(day, "mgr-north"), caseworker_id=None)
    alert = store.get(fid(1))
    assert alert is not None and (alert.caseworker_id, alert.team) == (None, "north")
    assert store.history(fid(1))[-1].detail == "from cw-cy (team north) to the north team queue"

    store.apply(flag("resolved", at=later + timedelta(days=1)))
    assert store.apply(flag(at=later + timedelta(days=2))) == "reopened"
    alert = store.get(fid(1))
    assert alert is not None
    assert (alert.status, alert.routing, alert.caseworker_id) == ("open", "journey", "cw-ben")
    assert [a for a, _, _ in actions(store)] == [
        "opened",
        "reassigned",
        "reassigned",
        "resolved",
        "reopened",
    ]


def test_a_reopened_alert_starts_its_casework_again(store: AlertStore) -> None:
    t0 = flag().changed_at
    store.apply(flag())
    store.acknowledge(fid(1), act(date(2026, 3, 3)))
    store.apply(flag("resolved", at=t0 + timedelta(days=2)))
    store.apply(flag(at=t0 + timedelta(days=5)))
    alert = store.get(fid(1))
    assert alert is not None
    assert (alert.status, alert.acknowledged_at, alert.times_raised) == ("open", None, 2)
    assert alert.open_since == t0 + timedelta(days=5)
    assert [s for _, s, _ in actions(store)] == ["open", "acknowledged", "resolved", "open"]


# -- routing -----------------------------------------------------------------------------


def test_alerts_follow_the_journey_when_the_caseworker_changes(store: AlertStore) -> None:
    store.apply_many([flag(n=1), flag(n=2, subject="plan:P2")])
    changes = store.apply_journeys([(PERSON, snapshot("cw-ben"))])
    assert (changes.stored, changes.rerouted) == (1, 2)
    assert {a.caseworker_id for a in store.open_alerts()} == {"cw-ben"}
    rerouted = store.history(fid(1))[-1]
    assert (rerouted.action, rerouted.actor) == ("rerouted", "journeys")
    assert rerouted.detail == "from cw-ana (team north) to cw-ben (team north)"

    older = snapshot("cw-old", at=OPENED - timedelta(days=1))
    assert store.apply_journeys([(PERSON, older)]).stale == 1
    store.apply(flag(n=3, subject="plan:P3"))  # the flag still names cw-ana
    alert = store.get(fid(3))
    assert alert is not None and alert.caseworker_id == "cw-ben"  # the journey wins

    store.apply_journeys([(PERSON, snapshot(None, at=OPENED + timedelta(hours=1)))])
    assert {(a.caseworker_id, a.team) for a in store.open_alerts()} == {(None, "north")}


def test_a_journey_is_stored_and_a_tombstone_forgets_it(store: AlertStore) -> None:
    store.apply_journeys([(PERSON, snapshot())])
    kept = store.journey(PERSON)
    assert kept is not None and kept.timeline[0].kind == "review.decided"
    assert kept.next_deadline == date(2026, 5, 1)
    assert store.apply_journeys([(PERSON, None)]).forgotten == 1
    assert store.journey(PERSON) is None


def test_concurrent_flags_and_snapshots_leave_the_newest_owner(store_url: str) -> None:
    flags, journeys = AlertStore(store_url), AlertStore(store_url)
    start = threading.Barrier(2)
    final = snapshot("cw-final", at=OPENED + timedelta(minutes=20))

    def raise_flags() -> None:
        start.wait()
        for n in range(1, 21):
            flags.apply(flag(n=n, subject=f"plan:P{n}"))

    def publish_snapshots() -> None:
        start.wait()
        for minute in range(20):
            journeys.apply_journeys(
                [(PERSON, snapshot(f"cw-{minute}", at=OPENED + timedelta(minutes=minute)))]
            )
        journeys.apply_journeys([(PERSON, final)])

    threads = [threading.Thread(target=raise_flags), threading.Thread(target=publish_snapshots)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert {a.caseworker_id for a in flags.open_alerts()} == {"cw-final"}
        assert len(flags.open_alerts()) == 20
    finally:
        flags.close()
        journeys.close()


# -- escalation --------------------------------------------------------------------------


def test_escalation_counts_working_days_across_the_easter_weekend(store: AlertStore) -> None:
    store.apply_many(
        [
            flag(n=1, at=OPENED),
            flag(n=2, at=OPENED, severity="warning", subject="plan:P2"),
            flag(n=3, at=OPENED, exception=True, subject="plan:P3"),
            flag(n=4, at=OPENED, subject="plan:P4"),
            flag(n=5, at=OPENED, team="south", subject="plan:P5"),
        ]
    )
    store.acknowledge(fid(4), act(MAUNDY_THURSDAY))
    # Good Friday, Saturday, Sunday, Easter Monday, then Tuesday: one working day only.
    for day in range(3, 8):
        assert store.sweep(act(date(2026, 4, day)), POLICY).escalated == []
    wednesday = date(2026, 4, 8)
    assert store.sweep(act(wednesday), POLICY).escalated == [fid(1), fid(5)]
    first = store.get(fid(1))
    assert first is not None and (first.status, first.escalated_to) == ("escalated", "mgr-north")
    record = store.history(fid(1))[-1]
    assert (record.action, record.actor, record.as_of) == ("escalated", "casewatch", wednesday)
    assert (record.reason, record.detail) == (
        "open and unacknowledged for 2 working days",
        "to mgr-north",
    )
    assert store.history(fid(5))[-1].detail == "to nobody: no manager is configured for team south"
    assert store.sweep(act(date(2026, 4, 9)), POLICY).escalated == []  # once only
    # warning: 5 working days (7, 8, 9, 10, 13 April); the exception never escalates.
    assert store.sweep(act(date(2026, 4, 13)), POLICY).escalated == [fid(2)]
    exception = store.get(fid(3))
    assert exception is not None and exception.status == "open"


def test_an_escalated_alert_can_be_acknowledged(store: AlertStore) -> None:
    store.apply(flag(at=OPENED))
    store.sweep(act(date(2026, 4, 8)), POLICY)
    assert store.acknowledge(fid(1), act(date(2026, 4, 8), "mgr-north")) is True
    alert = store.get(fid(1))
    assert alert is not None and (alert.status, alert.escalated_to) == ("acknowledged", "mgr-north")


def test_lifting_an_exception_restarts_the_escalation_count(store: AlertStore) -> None:
    store.apply(flag(at=OPENED, exception=True))
    lifted = datetime(2026, 4, 13, 10, tzinfo=UTC)  # a Monday
    store.apply(flag(at=lifted, exception=False))
    assert store.sweep(act(date(2026, 4, 14)), POLICY).escalated == []
    assert store.sweep(act(date(2026, 4, 15)), POLICY).escalated == [fid(1)]


# -- reading -----------------------------------------------------------------------------


def test_a_caseload_narrows_every_read(store: AlertStore) -> None:
    store.apply_many(
        [
            flag(n=1, caseworker_id="cw-ana", team="north"),
            flag(n=2, caseworker_id="cw-ben", team="north", subject="plan:P2"),
            flag(n=3, caseworker_id="cw-cy", team="south", subject="plan:P3"),
        ]
    )
    ana, north = Caseload(caseworker_id="cw-ana"), Caseload(team="north")
    assert [a.flag_id for a in store.open_alerts(caseload=ana)] == [fid(1)]
    assert [a.flag_id for a in store.open_alerts(caseload=north)] == [fid(1), fid(2)]
    assert store.open_alerts(caseload=Caseload()) == []
    assert store.get(fid(2), ana) is None and store.get(fid(2), north) is not None
    assert store.counts_by_caseworker(north) == {"cw-ana": 1, "cw-ben": 1}


def test_filters_by_rule_severity_and_status(store: AlertStore) -> None:
    store.apply_many(
        [
            flag(n=1),
            flag(n=2, rule_id="R-ISSUE-20W", subject="request:R2"),
            flag(n=3, severity="warning", subject="plan:P3"),
        ]
    )
    store.acknowledge(fid(3), act(date(2026, 3, 3)))
    assert [a.flag_id for a in store.open_alerts(rule_id="R-ISSUE-20W")] == [fid(2)]
    assert [a.flag_id for a in store.open_alerts(severity="warning")] == [fid(3)]
    assert [a.flag_id for a in store.open_alerts(statuses={"acknowledged"})] == [fid(3)]
    assert store.counts() == {"R-AR-DUE": 2, "R-ISSUE-20W": 1}  # acknowledged is still live


def test_journey_views_are_recorded(store: AlertStore) -> None:
    store.apply(flag())
    alert = store.get(fid(1))
    assert alert is not None
    store.record_journey_view(
        alert, viewer="cw-ana", roles={"caseworker"}, channel="page", at=OPENED
    )
    (view,) = store.journey_views(PERSON)
    assert (view.viewer, view.roles, view.flag_id, view.channel) == (
        "cw-ana",
        "caseworker",
        fid(1),
        "page",
    )


def test_digest_activity_is_reported_once(store: AlertStore) -> None:
    store.apply_many([flag(n=1, at=OPENED), flag(n=2, at=OPENED, caseworker_id=None)])
    store.sweep(act(date(2026, 4, 8)), POLICY)
    newest, activity = store.activity_since_last_digest()
    assert [(a.action, a.caseworker_id, a.escalated_to) for a in activity] == [
        ("opened", "cw-ana", "mgr-north"),
        ("opened", None, "mgr-north"),
        ("escalated", "cw-ana", "mgr-north"),
        ("escalated", None, "mgr-north"),
    ]
    store.record_digest(newest, recipients=2)
    assert store.activity_since_last_digest()[1] == []
    store.apply(flag(n=3, at=OPENED, subject="plan:P3"))
    assert [a.action for a in store.activity_since_last_digest()[1]] == ["opened"]
