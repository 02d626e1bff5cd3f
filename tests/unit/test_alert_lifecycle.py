"""The alert lifecycle, working days and the digest, as plain values."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime

import pytest

from services.alerts.domain.escalation import EscalationPolicy
from services.alerts.domain.lifecycle import (
    LIVE,
    STATUSES,
    CaseworkInvalid,
    CaseworkRefused,
    check_snooze_until,
    checked_reason,
    status_after,
)
from services.alerts.domain.workdays import add_working_days, is_working_day
from services.alerts.notify.digest import digests_from
from services.alerts.store.store import Activity


@pytest.mark.parametrize(
    ("status", "casework", "after"),
    [
        ("open", "acknowledged", "acknowledged"),
        ("escalated", "acknowledged", "acknowledged"),
        ("snoozed", "acknowledged", "acknowledged"),
        ("acknowledged", "snoozed", "snoozed"),
        ("open", "escalated", "escalated"),
        ("snoozed", "woke", "open"),
        ("escalated", "reassigned", "escalated"),
        ("acknowledged", "reassigned", "acknowledged"),
    ],
)
def test_allowed_casework(status: str, casework: str, after: str) -> None:
    assert status_after(status, casework) == after  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "casework"),
    [
        ("resolved", "acknowledged"),
        ("resolved", "snoozed"),
        ("resolved", "reassigned"),
        ("acknowledged", "escalated"),
        ("escalated", "escalated"),
        ("snoozed", "escalated"),
        ("open", "woke"),
    ],
)
def test_refused_casework(status: str, casework: str) -> None:
    with pytest.raises(CaseworkRefused):
        status_after(status, casework)  # type: ignore[arg-type]


def test_only_the_journey_resolves_an_alert() -> None:
    assert "resolved" in STATUSES and "resolved" not in LIVE
    for casework in ("acknowledged", "snoozed", "reassigned", "escalated", "woke"):
        for status in LIVE:
            with contextlib.suppress(CaseworkRefused):
                assert status_after(status, casework) != "resolved"  # type: ignore[arg-type]


def test_reasons_and_snooze_dates() -> None:
    assert checked_reason("  waiting  ", required=True) == "waiting"
    assert checked_reason("", required=False) is None
    for bad in ["", "   "]:
        with pytest.raises(CaseworkInvalid):
            checked_reason(bad, required=True)
    with pytest.raises(CaseworkInvalid):
        checked_reason("x" * 501, required=False)
    today = date(2026, 3, 2)
    check_snooze_until(date(2026, 3, 3), today, 90)
    check_snooze_until(date(2026, 5, 31), today, 90)
    for bad in [today, date(2026, 3, 1), date(2026, 6, 1)]:
        with pytest.raises(CaseworkInvalid):
            check_snooze_until(bad, today, 90)


def test_working_days_skip_weekends_and_england_and_wales_bank_holidays() -> None:
    assert not is_working_day(date(2026, 4, 3))  # Good Friday
    assert not is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not is_working_day(date(2026, 12, 28))  # Boxing Day (substitute)
    assert not is_working_day(date(2026, 4, 4))  # Saturday
    assert is_working_day(date(2026, 3, 17))  # St Patrick's Day: Northern Ireland only
    assert add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert add_working_days(date(2026, 8, 28), 1) == date(2026, 9, 1)  # late summer holiday
    assert add_working_days(date(2026, 12, 24), 2) == date(2026, 12, 30)
    assert add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)


def test_escalation_day_is_counted_from_the_london_date() -> None:
    policy = EscalationPolicy({"breach": 1})
    late_evening = datetime(2026, 4, 2, 23, 30, tzinfo=UTC)  # 00:30 on Good Friday in London
    assert policy.escalates_on("breach", late_evening) == date(2026, 4, 7)
    assert policy.escalates_on("advisory", late_evening) is None
    assert policy.manager_of(None) is None


def test_digests_count_new_and_escalated_alerts_per_person() -> None:
    def did(action: str, rule: str, caseworker: str | None, team: str = "north") -> Activity:
        escalated_to = "mgr-north" if action == "escalated" else None
        return Activity(0, action, rule, caseworker, team, escalated_to)

    digests = digests_from(
        [
            did("opened", "R-AR-DUE", "cw-ana"),
            did("reopened", "R-AR-DUE", "cw-ana"),
            did("opened", "R-ISSUE-20W", "cw-ana"),
            did("opened", "R-AR-DUE", None),  # team queue → the manager hears
            did("opened", "R-AR-DUE", None, team="nowhere"),  # no manager: nobody to tell
            did("escalated", "R-AR-DUE", "cw-ben"),
        ],
        "http://inbox.test",
        {"north": "mgr-north"},
    )
    by_person = {d.recipient: d for d in digests}
    assert sorted(by_person) == ["cw-ana", "cw-ben", "mgr-north"]
    ana = by_person["cw-ana"]
    assert (dict(ana.new), dict(ana.escalated)) == ({"R-AR-DUE": 2, "R-ISSUE-20W": 1}, {})
    assert ana.subject == "casewatch: 3 new alerts"
    assert "  - Annual review overdue (R-AR-DUE): 2" in ana.text()
    assert "Open your alerts: http://inbox.test/inbox" in ana.text()
    manager = by_person["mgr-north"]
    assert (dict(manager.new), dict(manager.escalated)) == ({"R-AR-DUE": 1}, {"R-AR-DUE": 1})
    assert manager.inbox_url == "http://inbox.test/team"
    assert by_person["cw-ben"].subject == "casewatch: 0 new alerts, 1 escalated"
