"""R-NCY, R-PHASE-UPCOMING, R-PHASE-MISSED, R-PFA-Y9 and R-AGE-25: the worked examples of
rules.md §1 and §4 and hand-built edges."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.events import (
    PersonLeft,
    PersonRegistered,
    PhaseTransfer,
    PlanAmended,
    PlanCeased,
    PlanIssued,
    ReviewDecided,
    ReviewMeetingHeld,
)
from services.journeys.domain.calendar import academic_year, birthday_in
from services.journeys.domain.journey import fold
from services.journeys.domain.pack import DEFAULT_PACK, RulePack, TransitionClocks
from services.journeys.domain.rules import clocks as rule_clocks
from services.journeys.domain.rules import evaluate
from services.journeys.domain.rules.transition import (
    academic_years_in_ncy,
    age25_max_end,
    ncy_on,
)
from tests.factories import PERSON, ev

PHASE = ("R-PHASE-UPCOMING", "R-PHASE-MISSED")


def child(dob: date | None, recorded_on: date = date(2020, 1, 1), **kw):
    """The person fact, recorded (``recorded_at``) on ``recorded_on``."""
    return ev(PersonRegistered(child_ref="C1", date_of_birth=dob, **kw), on=recorded_on)


def plan(issued_on: date, plan_id: str = "P1"):
    return ev(PlanIssued(plan_id=plan_id, issued_on=issued_on))


def open_flags(events, as_of, rules=PHASE, pack: RulePack = DEFAULT_PACK):
    flags = evaluate(fold(PERSON, events), as_of, pack).values()
    return sorted((f.rule_id, f.severity, f.subject, f.due_on) for f in flags if f.rule_id in rules)


def with_transition(**changes) -> RulePack:
    return DEFAULT_PACK.model_copy(
        update={"version": "test", "transition": TransitionClocks(**changes)}
    )


def upcoming(due: date, plan_id: str = "P1"):
    return ("R-PHASE-UPCOMING", "warning", f"plan:{plan_id}:phase:{due.isoformat()}", due)


def missed(due: date, plan_id: str = "P1"):
    return ("R-PHASE-MISSED", "breach", f"plan:{plan_id}:phase:{due.isoformat()}", due)


# --- R-NCY ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "ncy"),
    [(date(2016, 8, 31), 5), (date(2015, 9, 1), 5), (date(2016, 9, 1), 4)],
)
def test_ncy_worked_examples(dob: date, ncy: int) -> None:
    # rules.md §1: on 2025-10-01, DOB 2016-08-31 and 2015-09-01 are NCY 5; 2016-09-01 is NCY 4
    assert ncy_on(fold(PERSON, [child(dob)]), date(2025, 10, 1)) == ncy


def test_recorded_year_group_overrides_from_the_date_it_applies() -> None:
    # formula: Year 6 in 2025/26; recorded as Year 5 (held back) from 1 Sept 2025
    j = fold(
        PERSON,
        [child(date(2015, 3, 10), recorded_year_group=5, year_group_recorded_on=date(2025, 9, 1))],
    )
    assert ncy_on(j, date(2025, 8, 31)) == 5  # Year 5 by the formula in 2024/25
    assert ncy_on(j, date(2025, 10, 1)) == 5  # Year 5 again
    assert ncy_on(j, date(2026, 9, 1)) == 6
    assert academic_years_in_ncy(j, 5) == [2024, 2025]
    assert academic_years_in_ncy(j, 6) == [2026]


def test_recorded_year_group_without_its_date_applies_from_when_the_person_was_recorded() -> None:
    j = fold(PERSON, [child(date(2015, 3, 10), date(2025, 10, 1), recorded_year_group=5)])
    assert ncy_on(j, date(2025, 9, 30)) == 6  # the formula until it was recorded
    assert ncy_on(j, date(2025, 10, 1)) == 5
    assert academic_years_in_ncy(j, 6) == [2026]  # the year is the one the child finishes in


def test_recorded_year_group_without_date_of_birth_applies_on_every_date() -> None:
    j = fold(PERSON, [child(None, recorded_year_group=8, year_group_recorded_on=date(2025, 9, 1))])
    assert ncy_on(j, date(2024, 10, 1)) == 7
    assert ncy_on(j, date(2026, 10, 1)) == 9


def test_ncy_unknown_without_date_of_birth_or_recorded_year_group() -> None:
    assert ncy_on(fold(PERSON, [child(None)]), date(2025, 10, 1)) is None
    assert ncy_on(fold(PERSON, [plan(date(2024, 1, 1))]), date(2025, 10, 1)) is None
    assert academic_years_in_ncy(fold(PERSON, [child(None)]), 6) == []


days = st.dates(min_value=date(1995, 1, 1), max_value=date(2035, 12, 31))


@given(
    days,
    st.one_of(st.none(), st.integers(min_value=-3, max_value=14)),
    st.one_of(st.none(), days),
    days,
)
def test_ncy_changes_only_on_1_september_or_when_the_override_applies(
    dob: date, year_group: int | None, recorded_from: date | None, on: date
) -> None:
    j = fold(
        PERSON,
        [
            child(
                dob,
                date(2020, 5, 5),
                recorded_year_group=year_group,
                year_group_recorded_on=recorded_from,
            )
        ],
    )
    nxt = date.fromordinal(on.toordinal() + 1)
    before, after = ncy_on(j, on), ncy_on(j, nxt)
    assert before is not None and after is not None
    if year_group is not None and nxt == (recorded_from or date(2020, 5, 5)):
        return  # the recorded year group starts to apply: any step
    assert after - before == (1 if (nxt.month, nxt.day) == (9, 1) else 0)


# --- R-PHASE-UPCOMING and R-PHASE-MISSED ---------------------------------------------------

Y6_DOB = date(2015, 3, 10)  # Year 6 in 2025/26: transfer 1 Sept 2026, plan named by 15 Feb 2026
Y6_DUE = date(2026, 2, 15)


def year6(*more):
    return [child(Y6_DOB), plan(date(2022, 5, 1)), *more]


def test_year_6_upcoming_from_1_september_then_missed_after_15_february() -> None:
    events = year6()
    assert open_flags(events, date(2025, 8, 31)) == []
    assert open_flags(events, date(2025, 9, 1)) == [upcoming(Y6_DUE)]
    assert open_flags(events, date(2026, 2, 15)) == [upcoming(Y6_DUE)]
    assert open_flags(events, date(2026, 2, 16)) == [missed(Y6_DUE)]
    assert open_flags(events, date(2026, 8, 31)) == [missed(Y6_DUE)]
    assert open_flags(events, date(2026, 9, 1)) == []  # the child has moved on


def test_year_11_plan_due_31_march() -> None:
    events = [child(date(2010, 1, 20)), plan(date(2020, 1, 10))]  # Year 11 in 2025/26
    due = date(2026, 3, 31)
    assert open_flags(events, date(2025, 9, 1)) == [upcoming(due)]
    assert open_flags(events, date(2026, 3, 31)) == [upcoming(due)]
    assert open_flags(events, date(2026, 4, 1)) == [missed(due)]


def test_31_august_and_1_september_births_transfer_a_year_apart() -> None:
    born_31_aug = [child(date(2014, 8, 31)), plan(date(2020, 1, 10))]
    born_1_sep = [child(date(2014, 9, 1)), plan(date(2020, 1, 10))]
    assert open_flags(born_31_aug, date(2024, 10, 1)) == [upcoming(date(2025, 2, 15))]
    assert open_flags(born_1_sep, date(2024, 10, 1)) == []
    assert open_flags(born_1_sep, date(2025, 10, 1)) == [upcoming(date(2026, 2, 15))]


def test_child_held_back_transfers_a_year_later() -> None:
    held_back = child(Y6_DOB, recorded_year_group=5, year_group_recorded_on=date(2025, 9, 1))
    events = [held_back, plan(date(2022, 5, 1))]
    assert open_flags(events, date(2025, 10, 1)) == []
    assert open_flags(events, date(2026, 3, 1)) == []
    assert open_flags(events, date(2026, 9, 1)) == [upcoming(date(2027, 2, 15))]


def test_child_held_back_during_year_6_has_one_transfer_not_two() -> None:
    # recorded as Year 5 in January: the child finishes 2025/26 in Year 5
    held_back = child(Y6_DOB, recorded_year_group=5, year_group_recorded_on=date(2026, 1, 10))
    events = [held_back, plan(date(2022, 5, 1))]
    assert open_flags(events, date(2025, 10, 1)) == []
    assert open_flags(events, date(2026, 10, 1)) == [upcoming(date(2027, 2, 15))]


def test_child_moved_up_transfers_a_year_early() -> None:
    moved_up = child(
        date(2016, 3, 10), recorded_year_group=6, year_group_recorded_on=date(2025, 9, 1)
    )
    assert open_flags([moved_up, plan(date(2022, 5, 1))], date(2025, 10, 1)) == [upcoming(Y6_DUE)]


def test_final_naming_the_setting_by_15_february_meets_the_deadline() -> None:
    final = ev(
        PhaseTransfer(
            plan_id="P1",
            transfer_due_on=Y6_DUE,
            final_on=date(2026, 1, 20),
            next_setting="100001",
        )
    )
    events = year6(final)
    assert open_flags(events, date(2026, 1, 19)) == [upcoming(Y6_DUE)]  # not known yet
    assert open_flags(events, date(2026, 1, 20)) == []
    assert open_flags(events, date(2026, 3, 1)) == []


def test_late_final_resolves_the_breach_from_its_date() -> None:
    events = year6(ev(PhaseTransfer(plan_id="P1", final_on=date(2026, 4, 10))))
    assert open_flags(events, date(2026, 4, 9)) == [missed(Y6_DUE)]
    assert open_flags(events, date(2026, 4, 10)) == []


def test_amended_plan_naming_the_next_setting_counts_a_plain_amendment_does_not() -> None:
    naming = ev(PlanAmended(plan_id="P1", amended_on=date(2026, 2, 1), names_next_setting=True))
    plain = ev(PlanAmended(plan_id="P1", amended_on=date(2026, 2, 1)))
    assert open_flags(year6(naming), date(2026, 3, 1)) == []
    assert open_flags(year6(plain), date(2026, 3, 1)) == [missed(Y6_DUE)]


def test_final_before_the_transfer_year_counts_only_within_the_configured_lead() -> None:
    # named at the Year 5 review, July 2025
    early = ev(PlanAmended(plan_id="P1", amended_on=date(2025, 7, 1), names_next_setting=True))
    assert open_flags(year6(early), date(2025, 9, 1)) == [upcoming(Y6_DUE)]
    lead = with_transition(upcoming_lead_months=3)
    assert open_flags(year6(early), date(2025, 9, 1), pack=lead) == []


def test_child_repeating_year_6_needs_a_final_for_each_transfer() -> None:
    # Year 6 in 2024/25 (final named Jan 2025), then recorded as Year 6 again from Sept 2025
    repeats = child(
        date(2014, 3, 10), recorded_year_group=6, year_group_recorded_on=date(2025, 9, 1)
    )
    first_final = ev(PhaseTransfer(plan_id="P1", final_on=date(2025, 1, 20)))
    events = [repeats, plan(date(2020, 1, 10)), first_final]
    assert open_flags(events, date(2024, 10, 1)) == [upcoming(date(2025, 2, 15))]
    assert open_flags(events, date(2025, 3, 1)) == []
    assert open_flags(events, date(2025, 10, 1)) == [upcoming(Y6_DUE)]


def test_final_for_an_earlier_transfer_does_not_count() -> None:
    # the Reception transfer's final (2019) cannot name the secondary school
    old = ev(PhaseTransfer(plan_id="P1", final_on=date(2019, 1, 20)))
    old_plan = [child(Y6_DOB), plan(date(2018, 5, 1)), old]
    assert open_flags(old_plan, date(2026, 3, 1)) == [missed(Y6_DUE)]


def test_final_for_another_plan_does_not_count() -> None:
    other = ev(PhaseTransfer(plan_id="P2", final_on=date(2026, 1, 20)))
    journey_wide = ev(PhaseTransfer(final_on=date(2026, 1, 20)), record="r2")
    assert open_flags(year6(other), date(2026, 3, 1)) == [missed(Y6_DUE)]
    assert open_flags(year6(journey_wide), date(2026, 3, 1)) == []


def test_ceased_plan_stops_the_transfer_clocks() -> None:
    events = year6(ev(PlanCeased(plan_id="P1", ceased_on=date(2026, 1, 10), reason=3)))
    assert open_flags(events, date(2026, 1, 9)) == [upcoming(Y6_DUE)]
    assert open_flags(events, date(2026, 1, 10)) == []
    assert open_flags(events, date(2026, 3, 1)) == []


def test_child_leaving_the_la_stops_every_clock() -> None:
    events = year6(ev(PersonLeft(left_on=date(2026, 1, 5), reason="moved LA")))
    assert open_flags(events, date(2026, 1, 4)) == [upcoming(Y6_DUE)]
    assert evaluate(fold(PERSON, events), date(2026, 1, 5), DEFAULT_PACK) == {}


def test_plan_issued_during_the_transfer_year_has_no_transfer_clock() -> None:
    events = [child(Y6_DOB), plan(date(2025, 10, 1))]
    assert open_flags(events, date(2025, 11, 1)) == []
    assert open_flags(events, date(2026, 3, 1)) == []


def test_no_transfer_clock_without_a_year_group() -> None:
    assert open_flags([child(None), plan(date(2020, 1, 1))], date(2025, 10, 1)) == []


def test_plan_not_yet_issued_on_as_of_has_no_clock() -> None:
    assert open_flags([child(Y6_DOB), plan(date(2022, 5, 1))], date(2022, 4, 1)) == []


def test_each_plan_in_force_has_its_own_transfer() -> None:
    events = [*year6(), plan(date(2023, 1, 10), "P2")]
    assert open_flags(events, date(2025, 9, 1)) == [upcoming(Y6_DUE), upcoming(Y6_DUE, "P2")]


def test_entering_reception_due_15_february() -> None:
    events = [child(date(2021, 3, 10)), plan(date(2024, 3, 1))]  # nursery (NCY -1) in 2024/25
    assert open_flags(events, date(2024, 9, 1)) == [upcoming(date(2025, 2, 15))]


def test_infant_to_junior_only_where_the_pack_says_schools_are_separate() -> None:
    events = [child(date(2018, 3, 10)), plan(date(2023, 1, 10))]  # Year 2 in 2024/25
    assert open_flags(events, date(2024, 10, 1)) == []
    split = with_transition(infant_junior=True)
    assert open_flags(events, date(2024, 10, 1), pack=split) == [upcoming(date(2025, 2, 15))]


def test_upcoming_lead_months_open_the_flag_early() -> None:
    pack = with_transition(upcoming_lead_months=3)
    assert open_flags(year6(), date(2025, 5, 31), pack=pack) == []
    assert open_flags(year6(), date(2025, 6, 1), pack=pack) == [upcoming(Y6_DUE)]


def test_post_16_move_due_on_the_recorded_due_date() -> None:
    # Year 13 in 2025/26; a move to another college on 12 Jan 2026 (Reg 18(2)): the LA
    # records PhaseTransferDueDate 12 Aug 2025, 5 months before
    move = ev(PhaseTransfer(plan_id="P1", transfer_due_on=date(2025, 8, 12)))
    events = [child(date(2008, 1, 20)), plan(date(2019, 3, 1)), move]
    due = date(2025, 8, 12)
    assert open_flags(events, date(2025, 1, 11)) == []
    assert open_flags(events, date(2025, 1, 12)) == [upcoming(due)]  # 12 months before
    assert open_flags(events, date(2025, 8, 12)) == [upcoming(due)]
    assert open_flags(events, date(2025, 8, 13)) == [missed(due)]
    assert open_flags(events, date(2026, 1, 12)) == []  # the move


def test_post_16_move_met_by_its_final() -> None:
    move = PhaseTransfer(plan_id="P1", transfer_due_on=date(2025, 8, 12))
    final = ev(move.model_copy(update={"final_on": date(2025, 9, 1)}), on=date(2025, 9, 2))
    events = [child(date(2008, 1, 20)), plan(date(2019, 3, 1)), ev(move), final]
    # the final's record replaces the first one, and the move stays known until the final is
    assert open_flags(events, date(2025, 8, 31)) == [missed(date(2025, 8, 12))]
    assert open_flags(events, date(2025, 9, 1)) == []


@pytest.mark.parametrize("recorded_due", [date(2026, 3, 31), date(2026, 9, 1)])
def test_year_11_phase_transfer_record_is_not_a_post_16_move(recorded_due: date) -> None:
    # a Year 11 pupil's PhaseTransferDueDate (31 March, or the move itself as some exports
    # give it) is the Reg 18(1) transfer, found by year group: one transfer, due 31 March
    move = ev(PhaseTransfer(plan_id="P1", transfer_due_on=recorded_due))
    events = [child(date(2010, 1, 20)), plan(date(2020, 1, 10)), move]
    assert open_flags(events, date(2025, 10, 1)) == [upcoming(date(2026, 3, 31))]
    assert open_flags(events, date(2026, 4, 1)) == [missed(date(2026, 3, 31))]


def test_transfer_flags_are_statutory() -> None:
    flags = evaluate(fold(PERSON, year6()), date(2026, 3, 1), DEFAULT_PACK).values()
    assert all(f.statutory for f in flags if f.rule_id in PHASE)


# --- R-PFA-Y9 -----------------------------------------------------------------------------

PFA = ("R-PFA-Y9",)
Y9_DOB = date(2012, 1, 20)  # Year 9 in 2025/26
Y9_REVIEW_DUE = date(2026, 6, 20)  # last review decided 20 June 2025


def year9(*more):
    return [
        child(Y9_DOB),
        plan(date(2020, 6, 10)),
        ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 6, 20), outcome="M")),
        *more,
    ]


def pfa_due(due: date = Y9_REVIEW_DUE):
    return ("R-PFA-Y9", "warning", "plan:P1:pfa:2025", due)


def meeting(on: date, pfa_focus: bool | None):
    return ev(ReviewMeetingHeld(plan_id="P1", meeting_on=on, pfa_focus=pfa_focus))


def test_year_9_pfa_review_due_from_1_september() -> None:
    events = year9()
    assert open_flags(events, date(2025, 8, 31), PFA) == []
    assert open_flags(events, date(2025, 9, 1), PFA) == [pfa_due()]
    assert open_flags(events, date(2026, 8, 31), PFA) == [pfa_due()]
    assert open_flags(events, date(2026, 9, 1), PFA) == []  # Year 10


def test_pfa_review_held_in_year_9_resolves_it() -> None:
    events = year9(meeting(date(2026, 5, 10), True))
    assert open_flags(events, date(2026, 5, 9), PFA) == [pfa_due()]
    assert open_flags(events, date(2026, 5, 10), PFA) == []


def test_review_without_recorded_pfa_focus_does_not_resolve_it() -> None:
    assert open_flags(year9(meeting(date(2026, 5, 10), None)), date(2026, 6, 1), PFA) == [pfa_due()]


def test_pfa_review_in_year_8_does_not_count_for_year_9() -> None:
    assert open_flags(year9(meeting(date(2025, 5, 1), True)), date(2025, 9, 1), PFA) == [pfa_due()]


def test_year_9_due_date_is_the_review_due_as_year_9_began() -> None:
    # a decision during Year 9 (after a meeting without the focus) does not move it
    decided = ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 11, 1), outcome="M"))
    assert open_flags(year9(decided), date(2025, 12, 1), PFA) == [pfa_due()]


def test_year_9_due_date_follows_the_last_review_before_year_9() -> None:
    events = [*year9(), ev(ReviewDecided(plan_id="P1", decided_on=date(2025, 8, 1), outcome="M"))]
    assert open_flags(events, date(2025, 9, 1), PFA) == [pfa_due(date(2026, 8, 1))]


def test_review_overdue_as_year_9_begins_is_due_on_1_september_of_year_9() -> None:
    # issue 12: a plan issued in August 2022 with no review since, for a child whose Year 9 is
    # 2026/27, was flagged "PfA review due 26 August 2023" — a date in Year 5
    events = [
        child(date(2012, 9, 9)),
        plan(date(2022, 8, 26)),
        meeting(date(2026, 8, 31), None),
        ev(ReviewDecided(plan_id="P1", decided_on=date(2026, 9, 12), outcome="M")),
    ]
    due = ("R-PFA-Y9", "warning", "plan:P1:pfa:2026", date(2026, 9, 1))
    assert open_flags(events, date(2026, 8, 31), PFA) == []
    assert open_flags(events, date(2026, 9, 1), PFA) == [due]
    assert open_flags(events, date(2026, 12, 5), PFA) == [due]  # one id all year


def test_year_9_years_ahead_is_dated_in_year_9() -> None:
    # a child in Year 0 with a plan: the upcoming Year 9 clock is dated 1 September 2034, not
    # the plan's first review in 2024
    events = [child(date(2020, 11, 30)), plan(date(2023, 10, 12))]
    clocks = [
        c
        for c in rule_clocks(fold(PERSON, events), date(2026, 12, 5), DEFAULT_PACK)
        if c.rule_id == "R-PFA-Y9"
    ]
    assert [(c.subject, c.due_on) for c in clocks] == [("plan:P1:pfa:2034", date(2034, 9, 1))]


def test_plan_issued_in_year_9_has_no_year_9_review() -> None:
    assert open_flags([child(Y9_DOB), plan(date(2025, 10, 1))], date(2026, 6, 1), PFA) == []


def test_review_held_in_year_10_without_pfa_focus_is_a_quality_flag() -> None:
    events = year9(
        ev(ReviewDecided(plan_id="P1", decided_on=date(2026, 6, 1), outcome="M")),
        meeting(date(2026, 11, 10), False),
    )
    quality = ("R-PFA-Y9", "advisory", "review:P1:2026-11-10:pfa", date(2027, 6, 1))
    assert open_flags(events, date(2026, 11, 9), PFA) == []
    assert open_flags(events, date(2026, 11, 10), PFA) == [quality]
    assert open_flags(events, date(2027, 11, 9), PFA) == [quality]
    assert open_flags(events, date(2027, 11, 10), PFA) == []  # 12 months on
    flags = evaluate(fold(PERSON, events), date(2026, 12, 1), DEFAULT_PACK).values()
    assert [f.statutory for f in flags if f.rule_id == "R-PFA-Y9"] == [False]


def test_quality_flag_closes_at_the_review_decision() -> None:
    events = year9(
        meeting(date(2026, 11, 10), False),
        ev(ReviewDecided(plan_id="P1", decided_on=date(2026, 12, 1), outcome="A")),
    )
    assert len(open_flags(events, date(2026, 11, 30), PFA)) == 1
    assert open_flags(events, date(2026, 12, 1), PFA) == []


def test_no_quality_flag_before_year_9_or_when_focus_not_recorded() -> None:
    year8_meeting = year9(meeting(date(2025, 3, 1), False))
    assert open_flags(year8_meeting, date(2025, 3, 2), PFA) == []
    unrecorded = year9(meeting(date(2026, 11, 10), None))
    assert open_flags(unrecorded, date(2026, 11, 11), PFA) == []


def test_pfa_from_ncy_is_read_from_the_pack() -> None:
    pack = with_transition(pfa_from_ncy=10)
    assert open_flags(year9(), date(2025, 10, 1), PFA, pack) == []
    flags = open_flags(year9(), date(2026, 10, 1), PFA, pack)
    assert [f[2] for f in flags] == ["plan:P1:pfa:2026"]


# --- R-AGE-25 -----------------------------------------------------------------------------

AGE = ("R-AGE-25",)


def test_29_february_birthday_runs_to_31_july_after_turning_25() -> None:
    # turns 25 on 28 Feb 2025 (common year): maximum end 31 July 2025
    events = [child(date(2000, 2, 29)), plan(date(2018, 1, 10))]
    end = date(2025, 7, 31)
    prompt = ("R-AGE-25", "warning", "plan:P1:age25", end)
    overrun = ("R-AGE-25", "breach", "plan:P1:overrun", end)
    assert open_flags(events, date(2024, 7, 30), AGE) == []
    assert open_flags(events, date(2024, 7, 31), AGE) == [prompt]
    assert open_flags(events, date(2025, 7, 31), AGE) == [prompt]
    assert open_flags(events, date(2025, 8, 1), AGE) == [overrun]
    assert open_flags(events, date(2027, 1, 1), AGE) == [overrun]


def test_ceasing_the_plan_stops_the_overrun() -> None:
    events = [
        child(date(2000, 2, 29)),
        plan(date(2018, 1, 10)),
        ev(PlanCeased(plan_id="P1", ceased_on=date(2025, 7, 20), reason=1)),
    ]
    assert open_flags(events, date(2025, 8, 1), AGE) == []


@pytest.mark.parametrize(
    ("dob", "max_end"),
    [
        (date(2000, 2, 29), date(2025, 7, 31)),
        (date(2000, 7, 31), date(2025, 7, 31)),  # turns 25 on the last day of the year
        (date(2000, 8, 1), date(2026, 7, 31)),  # turns 25 in the next year; = day before 26
        (date(2000, 8, 15), date(2026, 7, 31)),  # an August birthday: never before turning 25
        (date(2001, 1, 1), date(2026, 7, 31)),
    ],
)
def test_age_25_maximum_end(dob: date, max_end: date) -> None:
    assert age25_max_end(dob, DEFAULT_PACK) == max_end


def test_age_25_academic_year_end_is_read_from_the_pack() -> None:
    pack = with_transition(age25_end_month=8, age25_end_day=31)
    assert age25_max_end(date(2000, 3, 1), pack) == date(2025, 8, 31)
    assert age25_max_end(date(2000, 9, 1), pack) == date(2026, 8, 31)  # day before 26th


def test_no_age_25_clock_without_date_of_birth() -> None:
    assert open_flags([child(None), plan(date(2018, 1, 10))], date(2030, 1, 1), AGE) == []


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=31),
)
def test_age_25_end_is_after_turning_25_and_before_turning_26(
    dob: date, month: int, day: int
) -> None:
    end = age25_max_end(dob, with_transition(age25_end_month=month, age25_end_day=day))
    assert birthday_in(dob.year + 25, dob) <= end < birthday_in(dob.year + 26, dob)
    assert end > dob


# --- anchors: due dates never before the dates they derive from ---------------------------


@given(st.dates(min_value=date(1995, 1, 1), max_value=date(2025, 12, 31)))
def test_transfer_due_dates_fall_in_the_transfer_year(dob: date) -> None:
    events = [child(dob), plan(date(1995, 1, 1))]
    split = with_transition(infant_junior=True)
    journey = fold(PERSON, events)
    for ncy, due_month in ((-1, 2), (2, 2), (6, 2), (11, 3)):
        (year,) = academic_years_in_ncy(journey, ncy)
        assert year == academic_year(dob) + 5 + ncy
        flags = open_flags(events, date(year, 9, 1), pack=split)
        assert [f[3] for f in flags] == [date(year + 1, due_month, 15 if due_month == 2 else 31)]
        assert flags[0][3] > dob
