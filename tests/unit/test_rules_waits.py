"""R-WAIT: the service waits of rules.md §5, with the pack's thresholds, and hand-built edges."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.events import ReferralClosed, ReferralFirstContact, ReferralReceived
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK, ServiceWait, WaitThreshold
from services.journeys.domain.rules import evaluate, next_deadline
from services.journeys.domain.rules.waits import long_waits, wait_due
from tests.factories import PERSON, ev


def referral(service: str, received_on: date, referral_id: str = "R1"):
    return ev(ReferralReceived(referral_id=referral_id, service=service, received_on=received_on))


def waits(events, as_of, pack=DEFAULT_PACK):
    flags = evaluate(fold(PERSON, events), as_of, pack).values()
    return sorted(
        (f.subject, f.severity, f.statutory, f.due_on) for f in flags if f.rule_id == "R-WAIT"
    )


def test_camhs_four_weeks_is_a_proposed_standard() -> None:
    events = [referral("camhs", date(2025, 3, 3))]
    assert waits(events, date(2025, 3, 31)) == []
    assert waits(events, date(2025, 4, 1)) == [
        ("referral:R1:28d", "warning", False, date(2025, 3, 31))
    ]


def test_salt_warning_at_18_weeks_breach_at_52_weeks() -> None:
    events = [referral("salt", date(2024, 1, 8))]
    week18, week52 = date(2024, 5, 13), date(2025, 1, 6)
    assert waits(events, week18) == []
    assert waits(events, week18 + timedelta(days=1)) == [
        ("referral:R1:126d", "warning", False, week18)
    ]
    assert waits(events, week52 + timedelta(days=1)) == [
        ("referral:R1:126d", "warning", False, week18),
        ("referral:R1:364d", "breach", False, week52),
    ]


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2024, 11, 30), date(2025, 2, 28)),  # common year: clamps to 28 Feb
        (date(2023, 11, 30), date(2024, 2, 29)),  # leap year: 29 Feb
        (date(2025, 5, 31), date(2025, 8, 31)),
        (date(2025, 1, 15), date(2025, 4, 15)),
    ],
)
def test_autism_assessment_within_3_calendar_months(received: date, due: date) -> None:
    events = [referral("autism", received)]
    assert waits(events, due) == []
    assert waits(events, due + timedelta(days=1)) == [("referral:R1:3m", "breach", True, due)]


def test_paediatrics_18_weeks_referral_to_treatment() -> None:
    events = [referral("paediatrics", date(2025, 1, 6))]
    assert waits(events, date(2025, 5, 12)) == []
    assert waits(events, date(2025, 5, 13)) == [
        ("referral:R1:126d", "breach", True, date(2025, 5, 12))
    ]


def test_first_contact_stops_the_wait_from_its_date() -> None:
    events = [
        referral("camhs", date(2025, 3, 3)),
        ev(ReferralFirstContact(referral_id="R1", contact_on=date(2025, 4, 20))),
    ]
    assert waits(events, date(2025, 4, 19)) == [
        ("referral:R1:28d", "warning", False, date(2025, 3, 31))
    ]
    assert next_deadline(fold(PERSON, events), date(2025, 4, 10), DEFAULT_PACK) == date(2025, 4, 20)
    assert waits(events, date(2025, 4, 20)) == []


def test_contact_within_the_threshold_never_raises() -> None:
    events = [
        referral("autism", date(2025, 1, 15)),
        ev(ReferralFirstContact(referral_id="R1", contact_on=date(2025, 3, 1))),
    ]
    assert waits(events, date(2025, 12, 1)) == []


def test_closure_stops_the_wait() -> None:
    events = [
        referral("salt", date(2024, 1, 8)),
        ev(ReferralClosed(referral_id="R1", closed_on=date(2024, 6, 1))),
    ]
    assert len(waits(events, date(2024, 5, 31))) == 1
    assert waits(events, date(2024, 6, 1)) == []


def test_referral_not_yet_received_on_as_of_has_no_clock() -> None:
    journey = fold(PERSON, [referral("camhs", date(2025, 3, 3))])
    assert long_waits(journey, date(2025, 3, 2), DEFAULT_PACK) == []


def test_unknown_service_has_no_clock() -> None:
    assert waits([referral("dentistry", date(2020, 1, 1))], date(2025, 1, 1)) == []


def test_each_referral_has_its_own_clock() -> None:
    events = [referral("camhs", date(2025, 3, 3)), referral("camhs", date(2025, 3, 10), "R2")]
    assert [s for s, *_ in waits(events, date(2025, 5, 1))] == [
        "referral:R1:28d",
        "referral:R2:28d",
    ]


def test_council_can_override_a_wait_in_its_pack() -> None:
    local = ServiceWait(
        name="CAMHS",
        standard="local 6 weeks",
        status="local",
        thresholds=(WaitThreshold(days=42, severity="breach"),),
    )
    pack = DEFAULT_PACK.model_copy(
        update={"version": "council-1", "waits": {**DEFAULT_PACK.waits, "camhs": local}}
    )
    events = [referral("camhs", date(2025, 3, 3))]
    assert waits(events, date(2025, 4, 14), pack) == []
    assert waits(events, date(2025, 4, 15), pack) == [
        ("referral:R1:42d", "breach", False, date(2025, 4, 14))
    ]


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    st.sampled_from(sorted(DEFAULT_PACK.waits)),
)
def test_wait_due_dates_are_never_before_the_referral(received: date, service: str) -> None:
    for threshold in DEFAULT_PACK.waits[service].thresholds:
        due = wait_due(received, threshold)
        assert due > received
        if threshold.days is not None:
            assert (due - received).days == threshold.days
