"""The managers' measures: what one journey contributes on a date, and how sums behave."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import (
    AssessmentCompleted,
    AssessmentRequested,
    PersonLeft,
    PersonRegistered,
    PhaseTransfer,
    PlanIssued,
    ReferralFirstContact,
    ReferralReceived,
    RequestDecided,
    ReviewDecided,
    ReviewMeetingHeld,
)
from services.ingest.demo.authority import write_demo_export
from services.ingest.ssd.adapter import read_ssd_export
from services.journeys.domain import measures as m
from services.journeys.domain.journey import Journey, fold
from services.journeys.domain.pack import DEFAULT_PACK
from services.journeys.domain.rules import evaluate
from services.journeys.replay import journeys_of
from tests.factories import PERSON, ev

PACK = DEFAULT_PACK
D = timedelta(days=1)


def journey(*payloads: object, dob: date = date(2015, 3, 1), team: str = "north") -> Journey:
    person = PersonRegistered(child_ref="C1", date_of_birth=dob, team=team)
    return fold(PERSON, [ev(person, on=date(2010, 1, 1)), *(ev(p) for p in payloads)])


def counts(j: Journey, on: date, name: str) -> dict[tuple[str, ...], int]:
    c = m.contribution(j, on, PACK)
    return {labels: n for (n_, labels), n in c.counts.items() if n_ == name}


# --- R-ISSUE-20W: open requests by week band, and plans issued within 20 weeks ------------


@pytest.mark.parametrize(
    ("days", "band"),
    [(0, "0-6w"), (42, "0-6w"), (43, "6-16w"), (112, "6-16w"), (113, "16-20w"), (140, "16-20w"),
     (141, "20-52w"), (364, "20-52w"), (365, "52w+")],
)  # fmt: skip
def test_open_request_band_counts_days_since_received(days: int, band: str) -> None:
    received = date(2025, 1, 6)
    j = journey(AssessmentRequested(request_id="R1", received_on=received))
    on = received + timedelta(days=days)
    assert counts(j, on, m.ASSESSMENTS_OPEN.name) == {("north", band, "false"): 1}


def test_past_20_weeks_band_is_exactly_the_open_20_week_flag() -> None:
    received = date(2025, 1, 6)
    j = journey(AssessmentRequested(request_id="R1", received_on=received))
    for days in (140, 141):
        on = received + timedelta(days=days)
        flagged = [f for f in evaluate(j, on, PACK).values() if f.rule_id == "R-ISSUE-20W"]
        past = m.headline(m.totals([m.contribution(j, on, PACK)])).open_20w_breaches
        assert past == len(flagged) == (1 if days == 141 else 0)


def test_a_closed_pathway_is_not_open() -> None:
    received = date(2025, 1, 6)
    j = journey(
        AssessmentRequested(request_id="R1", received_on=received),
        RequestDecided(request_id="R1", outcome="N", decided_on=received + 30 * D),
    )
    assert counts(j, received + 60 * D, m.ASSESSMENTS_OPEN.name) == {}


def test_plans_issued_are_published_with_and_without_exceptions() -> None:
    """rules.md §2: every timeliness figure both ways; the DfE headline drops exceptions."""
    on = date(2025, 12, 1)
    late_exception = journey(
        AssessmentRequested(request_id="R1", received_on=date(2025, 1, 6)),
        AssessmentCompleted(
            request_id="R1", outcome="Y", outcome_on=date(2025, 7, 1), exception=True
        ),
        PlanIssued(plan_id="P1", request_id="R1", issued_on=date(2025, 7, 1)),
    )
    on_time = journey(
        AssessmentRequested(request_id="R2", received_on=date(2025, 1, 6)),
        PlanIssued(plan_id="P2", request_id="R2", issued_on=date(2025, 1, 6) + 140 * D),
    )
    late = journey(
        AssessmentRequested(request_id="R3", received_on=date(2025, 1, 6)),
        PlanIssued(plan_id="P3", request_id="R3", issued_on=date(2025, 1, 6) + 141 * D),
    )
    assert counts(late_exception, on, m.PLANS_ISSUED.name) == {("north", "false", "true"): 1}
    assert counts(on_time, on, m.PLANS_ISSUED.name) == {("north", "true", "false"): 1}
    h = m.headline(m.totals(m.contribution(j, on, PACK) for j in (late_exception, on_time, late)))
    assert h.plans_issued_12m == 3
    assert h.issued_within_20w == pytest.approx(1 / 3)
    assert h.issued_within_20w_excluding_exceptions == pytest.approx(1 / 2)


def test_twelve_month_window_is_365_days_and_next_change_says_when_it_ends() -> None:
    issued = date(2025, 3, 1)
    j = journey(
        AssessmentRequested(request_id="R1", received_on=date(2024, 12, 1)),
        PlanIssued(plan_id="P1", request_id="R1", issued_on=issued),
    )
    assert counts(j, issued + 364 * D, m.PLANS_ISSUED.name) == {("north", "true", "false"): 1}
    assert counts(j, issued + 365 * D, m.PLANS_ISSUED.name) == {}
    assert m.contribution(j, issued + 300 * D, PACK).next_change <= issued + 365 * D  # type: ignore[operator]
    refused_on = date(2025, 2, 10)  # a refusal: no clocks, only the window moves
    refused = journey(
        AssessmentRequested(request_id="R1", received_on=date(2025, 1, 6)),
        RequestDecided(request_id="R1", outcome="N", decided_on=refused_on),
        dob=date(2019, 3, 1),
    )
    # the SEN2 figures' calendar years move on 1 January, before the 12 months end
    assert m.contribution(refused, refused_on, PACK).next_change == date(2026, 1, 1)
    after_new_year = m.contribution(refused, date(2026, 1, 1), PACK)
    assert after_new_year.next_change == date(2025, 1, 6) + 365 * D  # the request leaves


def test_decisions_and_review_decisions_are_timed_from_request_and_meeting() -> None:
    on = date(2025, 12, 1)
    j = journey(
        AssessmentRequested(request_id="R1", received_on=date(2025, 1, 6)),
        RequestDecided(request_id="R1", outcome="Y", decided_on=date(2025, 1, 6) + 43 * D),
        PlanIssued(plan_id="P1", request_id="R1", issued_on=date(2025, 5, 1)),
        ReviewMeetingHeld(plan_id="P1", meeting_on=date(2025, 10, 1)),
        ReviewDecided(plan_id="P1", decided_on=date(2025, 10, 29)),  # meeting + 28: on time
    )
    assert counts(j, on, m.DECISIONS.name) == {("north", "false"): 1}
    assert counts(j, on, m.REVIEW_DECISIONS.name) == {("north", "true"): 1}


# --- R-AR-DUE: overdue reviews ------------------------------------------------------------


def test_overdue_reviews_are_the_open_r_ar_due_flags_by_days_overdue() -> None:
    j = journey(PlanIssued(plan_id="P1", issued_on=date(2024, 1, 10)))  # review due 2025-01-10
    assert counts(j, date(2025, 1, 10), m.REVIEWS_OVERDUE.name) == {}
    assert counts(j, date(2025, 1, 11), m.REVIEWS_OVERDUE.name) == {
        ("north", "R-AR-DUE", "0-4w"): 1
    }
    assert counts(j, date(2025, 2, 8), m.REVIEWS_OVERDUE.name) == {
        ("north", "R-AR-DUE", "4-12w"): 1
    }
    assert counts(j, date(2026, 1, 11), m.REVIEWS_OVERDUE.name) == {
        ("north", "R-AR-DUE", "52w+"): 1
    }
    flags = counts(j, date(2025, 6, 1), m.FLAGS_OPEN.name)
    assert flags[("north", "R-AR-DUE", "breach")] == 1


def test_a_child_who_left_counts_in_past_timeliness_but_in_nothing_open() -> None:
    j = journey(
        AssessmentRequested(request_id="R1", received_on=date(2024, 9, 2)),
        PlanIssued(plan_id="P1", request_id="R1", issued_on=date(2025, 1, 6)),
        PersonLeft(left_on=date(2025, 3, 1)),
    )
    c = m.contribution(j, date(2025, 6, 1), PACK)
    timeliness = {m.PLANS_ISSUED.name, m.SEN2_NUMERATOR.name, m.SEN2_DENOMINATOR.name}
    assert {name for name, _ in c.counts} == timeliness


# --- transitions ----------------------------------------------------------------------------


def test_year_6_cohort_is_due_until_15_february_then_overdue_unless_named() -> None:
    """R-PHASE: NCY 6 in 2025/26 moves on 1 Sept 2026; the plan must name the setting by
    15 Feb 2026."""
    dob = date(2014, 10, 1)  # NCY 6 in academic year 2025
    plan = PlanIssued(plan_id="P1", issued_on=date(2022, 5, 1))
    j = journey(plan, ReviewDecided(plan_id="P1", decided_on=date(2025, 4, 1)), dob=dob)
    cohort = m.TRANSITION_COHORT.name
    assert counts(j, date(2025, 8, 31), cohort).get(("north", "primary-secondary", "due")) is None
    assert counts(j, date(2025, 9, 1), cohort)[("north", "primary-secondary", "due")] == 1
    assert counts(j, date(2026, 2, 16), cohort)[("north", "primary-secondary", "overdue")] == 1
    named = journey(
        plan,
        ReviewDecided(plan_id="P1", decided_on=date(2025, 4, 1)),
        PhaseTransfer(plan_id="P1", transfer_due_on=date(2026, 9, 1), final_on=date(2026, 2, 1)),
        dob=dob,
    )
    assert counts(named, date(2026, 2, 16), cohort)[("north", "primary-secondary", "done")] == 1


def test_year_9_pfa_cohort_is_done_once_a_pfa_review_is_held() -> None:
    dob = date(2011, 10, 1)  # NCY 9 in academic year 2025
    base = (
        PlanIssued(plan_id="P1", issued_on=date(2020, 5, 1)),
        ReviewDecided(plan_id="P1", decided_on=date(2025, 3, 1)),  # review due 2026-03-01
    )
    cohort = m.TRANSITION_COHORT.name
    j = journey(*base, dob=dob)
    assert counts(j, date(2025, 10, 1), cohort)[("north", "year9-pfa", "due")] == 1
    assert counts(j, date(2026, 3, 2), cohort)[("north", "year9-pfa", "overdue")] == 1
    held = journey(
        *base,
        ReviewMeetingHeld(plan_id="P1", meeting_on=date(2026, 1, 10), pfa_focus=True),
        dob=dob,
    )
    assert counts(held, date(2026, 3, 2), cohort)[("north", "year9-pfa", "done")] == 1


# --- R-WAIT ---------------------------------------------------------------------------------


def test_waits_open_by_band_and_completed_against_the_standard() -> None:
    received = date(2025, 1, 6)
    waiting = journey(ReferralReceived(referral_id="F1", service="autism", received_on=received))
    assert counts(waiting, received + 100 * D, m.WAITS_OPEN.name) == {("autism", "13-18w"): 1}
    seen = journey(
        ReferralReceived(referral_id="F1", service="autism", received_on=received),
        ReferralFirstContact(referral_id="F1", contact_on=date(2025, 4, 6)),  # 3 months to the day
        ReferralReceived(referral_id="F2", service="unlisted-clinic", received_on=received),
    )
    c = m.contribution(seen, date(2025, 5, 1), PACK)
    assert c.counts[(m.WAITS_COMPLETED.name, ("autism", "true"))] == 1
    assert c.counts[(m.WAITS_OPEN.name, ("other", "13-18w"))] == 1  # unknown codes: bounded
    assert c.observations == (((m.WAIT_DAYS.name, ("autism",)), 90.0),)
    t = m.totals([c])
    (h,) = t.histograms.values()
    assert (h.count, h.total, h.buckets[m.WAIT_BUCKETS.index(91.0)]) == (1, 90.0, 1)


# --- sums, change dates, purity -------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> tuple[list[Journey], date, object]:
    today = date(2026, 11, 23)
    out = Path(__import__("tempfile").mkdtemp()) / "demo"
    summary = write_demo_export(out, children=150, seed=11, today=today)
    reading = read_ssd_export(out, secret="s", extracted_at=datetime(2026, 11, 23, tzinfo=UTC))
    return journeys_of(reading.events), today, summary


def test_demo_authority_headline_is_what_was_built(
    demo: tuple[list[Journey], date, object],
) -> None:
    journeys, today, summary = demo
    h = m.headline(m.totals(m.contribution(j, today, PACK) for j in journeys))
    assert h.overdue_reviews == summary.lapsed_reviews  # type: ignore[attr-defined]
    assert h.open_20w_breaches == summary.open_20w_breaches  # type: ignore[attr-defined]
    assert h.issued_within_20w is not None and 0.2 < h.issued_within_20w < 0.9


def test_partition_sums_add_up_to_the_whole(demo: tuple[list[Journey], date, object]) -> None:
    journeys, today, _ = demo
    whole = m.totals(m.contribution(j, today, PACK) for j in journeys)
    parts = [m.totals(m.contribution(j, today, PACK) for j in journeys[i::3]) for i in range(3)]
    merged = m.Totals()
    for p in parts:
        merged.merge(p)
    assert {k: v for k, v in merged.counts.items() if v} == {
        k: v for k, v in whole.counts.items() if v
    }
    assert m.headline(merged) == m.headline(whole)


def test_subtracting_a_contribution_undoes_it(demo: tuple[list[Journey], date, object]) -> None:
    journeys, today, _ = demo
    t = m.Totals()
    c = [m.contribution(j, today, PACK) for j in journeys[:20]]
    for x in c:
        t.add(x)
    for x in c:
        t.subtract(x)
    assert set(t.counts.values()) <= {0}
    assert all(h.count == 0 and not any(h.buckets) for h in t.histograms.values())


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 149), offset=st.integers(-400, 400), probe=st.floats(0, 1))
def test_contribution_is_constant_until_next_change(
    demo: tuple[list[Journey], date, object], index: int, offset: int, probe: float
) -> None:
    """The contract that lets the worker recompute only journeys whose change is due."""
    journeys, today, _ = demo
    j = journeys[index % len(journeys)]
    on = today + timedelta(days=offset)
    c = m.contribution(j, on, PACK)
    later = c.next_change or on + timedelta(days=400)
    assert later > on
    probe_on = on + timedelta(days=int(probe * ((later - on).days - 1)))
    same = m.contribution(j, probe_on, PACK)
    assert (same.counts, same.observations) == (c.counts, c.observations)


def test_labels_never_carry_a_child(demo: tuple[list[Journey], date, object]) -> None:
    journeys, today, _ = demo
    t = m.totals(m.contribution(j, today, PACK) for j in journeys)
    values = {v for _, labels in [*t.counts, *t.histograms] for v in labels}
    keys = {j.person_key for j in journeys}
    assert not values & keys
    assert not any(v.startswith("7000") for v in values)  # the demo's case-system references


def test_the_domain_module_imports_no_adapters() -> None:
    tree = ast.parse(Path(m.__file__).read_text())
    imported = {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in (n.names if isinstance(n, ast.Import) else [n])  # type: ignore[attr-defined]
    }
    for forbidden in ("prometheus_client", "faust", "kafka", "aiokafka", "fastapi", "sqlalchemy"):
        assert not any(i.split(".")[0] == forbidden for i in imported), forbidden
