"""Transition clocks (rules.md §1, §4; Regs 2, 18, 20(6), 46; CFA s46; CoP 8.9).

R-NCY (the year group every transition rule reads), R-PHASE-UPCOMING, R-PHASE-MISSED,
R-PFA-Y9 and R-AGE-25.

The person fact (date of birth, recorded year group) carries no date of its own: it is known
on every date, so the year groups read here depend on the journey alone, never on ``as_of``.
An academic year's year group is the one the child *finishes* it in (the NCY on 31 August):
a year group recorded out of cohort during a year re-places the child for that whole year, so
a child held back in January of Year 6 transfers once, a year later. A child who repeats the
last year of a phase has two transfers, each with its own window (``Transfer``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from services.journeys.domain.calendar import (
    academic_year,
    academic_year_end,
    academic_year_start,
    add_months,
    birthday_in,
    national_curriculum_year,
    ncy_from_recorded,
    next_on_or_after,
)
from services.journeys.domain.clocks import Clock
from services.journeys.domain.journey import (
    Journey,
    PlanView,
    memo,
    per_journey,
    person,
    person_recorded_on,
    phase_transfers,
    remember,
)
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules.review import plans_in_force, review_due, reviews_here

DAY = timedelta(days=1)

POST16_FROM_NCY = 12  # Reg 18(2) moves are between post-16 institutions: Year 12 onwards
POST16_MOVE_MONTHS = 5  # Reg 18(2): amended at least 5 months before the move
COHORT_MONTHS = 12  # Reg 18: "within 12 months of a transfer"


# --- R-NCY ------------------------------------------------------------------------------


def ncy_on(journey: Journey, on: date) -> int | None:
    """R-NCY (rules.md §1; Reg 2(1) "year 9" is the cohort year): the NCY on ``on``.

    ``NCY = ay(on) - ay(dob) - 5``, except that a year group recorded out of cohort
    (``recorded_year_group``) overrides the formula from the date it applies
    (``year_group_recorded_on``, else the date the person fact was recorded) and moves up on
    each 1 September. With no date of birth the recorded year group is used on every date.
    None when neither is known.
    """
    known, born, recorded = _ncy_basis(journey)
    if not known:
        return None
    if recorded is not None and (born is None or on >= recorded[1]):
        return ncy_from_recorded(on, *recorded)
    if born is None:
        return None
    return national_curriculum_year(on, born)


@per_journey
def _ncy_basis(journey: Journey) -> tuple[bool, date | None, tuple[int, date] | None]:
    """What ``ncy_on`` reads, once per journey: a person known, date of birth, recorded year
    group."""
    who = person(journey)
    if who is None:
        return False, None, None
    return True, who.date_of_birth, recorded_year_group(journey)


def recorded_year_group(journey: Journey) -> tuple[int, date] | None:
    """R-NCY: the year group recorded out of cohort and the date from which it applies
    (``year_group_recorded_on``, else the date the person fact was recorded)."""
    who = person(journey)
    if who is None or who.recorded_year_group is None:
        return None
    recorded_from = who.year_group_recorded_on or person_recorded_on(journey)
    return None if recorded_from is None else (who.recorded_year_group, recorded_from)


def academic_years_in_ncy(journey: Journey, ncy: int) -> list[int]:
    """R-NCY: the academic years the child finishes in year group ``ncy`` (usually one; two
    for a child held back in it; none when the year group is unknown)."""
    found = remember(
        memo(journey),
        (academic_years_in_ncy, ncy),
        lambda: tuple(_academic_years_in_ncy(journey, ncy)),
    )
    return list(found)


def _academic_years_in_ncy(journey: Journey, ncy: int) -> list[int]:
    who = person(journey)
    if who is None:
        return []
    candidates = set()
    if who.date_of_birth is not None:
        candidates.add(academic_year(who.date_of_birth) + 5 + ncy)
    recorded = recorded_year_group(journey)
    if recorded is not None:
        candidates.add(academic_year(recorded[1]) + ncy - recorded[0])
    return sorted(y for y in candidates if ncy_on(journey, academic_year_end(y)) == ncy)


# --- R-PHASE-UPCOMING, R-PHASE-MISSED ------------------------------------------------------


@dataclass(frozen=True)
class PhaseMove:
    """A transfer between phases (Reg 2) a plan must be amended for (Reg 18)."""

    ncy: int  # the year group the child leaves the phase from
    due_month: int
    due_day: int


# Reg 18(1): the plan is amended to name the next setting by 15 February of the calendar year
# of the transfer, 31 March for secondary to post-16: dates in law, not pack thresholds.
RECEPTION = PhaseMove(-1, 2, 15)  # early years -> school
INFANT_JUNIOR = PhaseMove(2, 2, 15)  # only where infant and junior schools are separate
PRIMARY_SECONDARY = PhaseMove(6, 2, 15)
SECONDARY_POST16 = PhaseMove(11, 3, 31)


@dataclass(frozen=True)
class Transfer:
    """One plan's transfer: the cohort year starts (1 Sept of the transfer year, or 12 months
    before a post-16 move), the plan is due amended, the child moves."""

    plan: PlanView
    cohort_from: date
    phase_due: date
    transfer_on: date
    lead_months: int = 0  # the pack's upcoming_lead_months
    # R-PHASE-UPCOMING opens: the cohort year's start less the pack's lead
    opens_on: date = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "opens_on", add_months(self.cohort_from, -self.lead_months))

    @property
    def subject(self) -> str:
        return f"plan:{self.plan.plan_id}:phase:{self.phase_due.isoformat()}"


def phase_moves(pack: RulePack) -> tuple[PhaseMove, ...]:
    """Reg 2 transfers between phases; infant -> junior where the pack says schools split.
    Middle-school systems are configured per setting and not modelled here."""
    if pack.transition.infant_junior:
        return (RECEPTION, INFANT_JUNIOR, PRIMARY_SECONDARY, SECONDARY_POST16)
    return (RECEPTION, PRIMARY_SECONDARY, SECONDARY_POST16)


def transfers(journey: Journey, as_of: date, pack: RulePack) -> list[Transfer]:
    """R-PHASE: every transfer of the plans in force on ``as_of``, met or not."""
    return _year_group_transfers(journey, as_of, pack) + _post16_moves(journey, as_of, pack)


def outstanding_transfers(journey: Journey, as_of: date, pack: RulePack) -> list[Transfer]:
    """R-PHASE: transfers of plans in force with no final amended plan naming the next
    setting known on ``as_of``."""
    found = remember(  # R-PHASE-UPCOMING and R-PHASE-MISSED both ask
        memo(journey),
        (outstanding_transfers, as_of, id(pack)),
        lambda: (pack, tuple(_outstanding_transfers(journey, as_of, pack))),
    )
    if found[0] is not pack:  # another pack at the same address: not the same question
        return _outstanding_transfers(journey, as_of, pack)
    return list(found[1])


def _outstanding_transfers(journey: Journey, as_of: date, pack: RulePack) -> list[Transfer]:
    return [
        t
        for t in transfers(journey, as_of, pack)
        if not final_names_next_setting(journey, t, as_of)
    ]


def _year_group_transfers(journey: Journey, as_of: date, pack: RulePack) -> list[Transfer]:
    """Reg 18(1): a child finishing academic year Y in the phase's last year group moves on
    1 Sept Y+1; the plan must name the new setting by 15 Feb (31 Mar post-16) of Y+1."""
    found = []
    for move in phase_moves(pack):
        for year in academic_years_in_ncy(journey, move.ncy):
            due = date(year + 1, move.due_month, move.due_day)
            cohort_from, moves_on = academic_year_start(year), academic_year_start(year + 1)
            found += _plan_transfers(journey, as_of, pack, None, (cohort_from, due, moves_on))
    return found


def _post16_moves(journey: Journey, as_of: date, pack: RulePack) -> list[Transfer]:
    """Reg 18(2): a move between post-16 institutions "at any other time": the plan amended
    at least 5 months before the move. Met by the record's final once that is known.

    ``transfer_due_on`` is SEN2 PhaseTransferDueDate, "due date for any amended plan" (SEN2
    guide item 5.6a): the phase_due itself. The move is taken as phase_due + 5 months, the
    earliest that due date allows; it closes R-PHASE-MISSED. Only for a young person in
    Year 12 or above the day before the due date: a Year 11 pupil's record is the Reg 18(1)
    transfer, which the year group already gives.
    """
    found = []
    for pt in phase_transfers(journey):
        due = pt.transfer_due_on
        ncy = ncy_on(journey, due - DAY) if due is not None else None
        if due is None or ncy is None or ncy < POST16_FROM_NCY:
            continue
        moves_on = add_months(due, POST16_MOVE_MONTHS)
        cohort_from = add_months(moves_on, -COHORT_MONTHS)
        found += _plan_transfers(journey, as_of, pack, pt.plan_id, (cohort_from, due, moves_on))
    return found


def _plan_transfers(
    journey: Journey,
    as_of: date,
    pack: RulePack,
    plan_id: str | None,
    dates: tuple[date, date, date],
) -> list[Transfer]:
    """The transfer (cohort year start, phase_due, move) for each plan in force that started
    before its cohort year."""
    cohort_from, phase_due, transfer_on = dates
    lead = pack.transition.upcoming_lead_months
    return [
        Transfer(p, cohort_from, phase_due, transfer_on, lead)
        for p in plans_in_force(journey, as_of)
        if plan_id in (None, p.plan_id) and p.start_on < cohort_from
    ]


def final_names_next_setting(journey: Journey, t: Transfer, as_of: date) -> bool:
    """A final amended plan naming the next setting, known on ``as_of``: SEN2
    PhaseTransferFinalDate, or an amendment marked as naming it.

    A final counts for this transfer when it (or the phase transfer's due date) falls in the
    transfer window, from the day R-PHASE-UPCOMING opens to the move: an LA that names
    settings at the review before the transfer year sets ``upcoming_lead_months`` to reach it.
    The window keeps a final for one transfer from meeting another (a child repeating the
    last year of a phase has two).
    """

    def within(d: date | None) -> bool:
        return d is not None and t.opens_on <= d <= t.transfer_on

    finals = [
        pt.final_on
        for pt in phase_transfers(journey)
        if pt.final_on is not None
        and pt.plan_id in (None, t.plan.plan_id)
        and (within(pt.final_on) or within(pt.transfer_due_on))
    ]
    finals += [
        a.amended_on for a in t.plan.amendments if a.names_next_setting and within(a.amended_on)
    ]
    return any(d <= as_of for d in finals)


def phase_upcoming(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-PHASE-UPCOMING (Reg 18; rules.md §4): from 1 Sept of the transfer year (less the
    pack's ``upcoming_lead_months``) until phase_due, while the plan does not yet name the
    next setting. Due date: phase_due (15 Feb, 31 Mar, or 5 months before a post-16 move)."""
    return [
        Clock(
            "R-PHASE-UPCOMING",
            "warning",
            t.subject,
            t.phase_due,
            opens_on=t.opens_on,
            closes_on=t.phase_due + DAY,
        )
        for t in outstanding_transfers(journey, as_of, pack)
    ]


def phase_missed(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-PHASE-MISSED (Reg 18(1), 18(2); SEN2 PhaseTransferFinalDate): breach iff no final
    amended plan naming the next setting on or before phase_due. Open from phase_due + 1 to
    the transfer itself; a late final resolves it from its date. Due date: phase_due."""
    return [
        Clock(
            "R-PHASE-MISSED",
            "breach",
            t.subject,
            t.phase_due,
            opens_on=t.phase_due + DAY,
            closes_on=t.transfer_on,
        )
        for t in outstanding_transfers(journey, as_of, pack)
    ]


# --- R-PFA-Y9 -----------------------------------------------------------------------------


def pfa_y9(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-PFA-Y9 (CoP 8.9; Reg 20(6)): from Year 9 every review must focus on preparing for
    adulthood. "Year 9 PfA review due" (warning) and, for a review held in Year 9 or above
    explicitly without that focus, a quality flag (advisory)."""
    return _pfa_review_due(journey, as_of, pack) + _pfa_focus_missing(journey, as_of, pack)


def _pfa_review_due(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """For a plan in force since before Year 9 began: open through the Year 9 academic year
    while no review meeting with a PfA focus has been held in it.

    Due date (:func:`pfa_review_due`): the review due in Year 9, never before 1 September of
    Year 9. It stays fixed through the year, so the flag keeps one id.
    """
    found = []
    for year in academic_years_in_ncy(journey, pack.transition.pfa_from_ncy):
        starts = academic_year_start(year)
        for p in plans_in_force(journey, as_of):
            if p.start_on >= starts or _pfa_review_held(p, year, as_of):
                continue
            due = pfa_review_due(p, year, as_of, pack)
            found.append(
                Clock(
                    "R-PFA-Y9",
                    "warning",
                    f"plan:{p.plan_id}:pfa:{year}",
                    due,
                    opens_on=starts,
                    closes_on=academic_year_start(year + 1),
                )
            )
    return found


def pfa_review_due(plan: PlanView, year: int, as_of: date, pack: RulePack) -> date:
    """R-PFA-Y9 (rules.md §4, §6): the review that must carry the PfA focus is the one due in
    Year 9 (academic year ``year``): ``review_due`` as Year 9 began (reviews known on 31 Aug
    before it, or on ``as_of`` if earlier: only facts known on ``as_of`` are read). A review
    already overdue when Year 9 begins is due at once, and its PfA focus with it: 1 September
    of Year 9, never a date before the child was in Year 9 (an anchor years old gave dates
    in Year 5). Nor after Year 9's last day: an old LA's anchor dated after the transfer
    (R-DATA) could put it there."""
    starts = academic_year_start(year)
    due = review_due(plan, min(as_of, starts - DAY), pack)
    return min(max(due, starts), academic_year_end(year))


def _pfa_review_held(plan: PlanView, year: int, as_of: date) -> bool:
    return any(
        m.pfa_focus is True and m.meeting_on <= as_of and academic_year(m.meeting_on) == year
        for m in plan.review_meetings
    )


def _pfa_focus_missing(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """Quality flag (advisory): a review meeting held in NCY >= 9 with ``pfa_focus`` recorded
    as False (None is "not recorded" and raises nothing). Open from the meeting until the
    LA's review decision after it is known, and at most 12 months (the next review cycle).
    Due date: the ``review_due`` that meeting answered."""
    return [
        Clock(
            "R-PFA-Y9",
            "advisory",
            f"review:{p.plan_id}:{held.isoformat()}:pfa",
            review_due(p, held - DAY, pack),
            opens_on=held,
            closes_on=add_months(held, 12),
            statutory=False,
        )
        for p in plans_in_force(journey, as_of)
        for held in _meetings_without_pfa_focus(journey, p, as_of, pack)
    ]


def _meetings_without_pfa_focus(
    journey: Journey, plan: PlanView, as_of: date, pack: RulePack
) -> list[date]:
    """Meetings known on ``as_of``, held in NCY >= pfa_from_ncy with the focus recorded as
    False, and no review decision known on or after them."""
    decided = reviews_here(plan, as_of)
    found = []
    for m in plan.review_meetings:
        held, ncy = m.meeting_on, ncy_on(journey, m.meeting_on)
        if (
            m.pfa_focus is False
            and plan.start_on <= held <= as_of
            and ncy is not None
            and ncy >= pack.transition.pfa_from_ncy
            and not any(d >= held for d in decided)
        ):
            found.append(held)
    return found


# --- R-AGE-25 -----------------------------------------------------------------------------


def age25_max_end(date_of_birth: date, pack: RulePack) -> date:
    """R-AGE-25 (CFA s46; Reg 46): the latest date a plan can be maintained to.

    The end of the academic year in which the young person turns 25, that year ending on the
    pack's ``age25_end_month/day`` (31 July for further education, Reg 46(1)(a)): the first
    such date on or after the 25th birthday, so an August birthday runs to the next 31 July.
    Never past the day before the 26th birthday. 29 Feb birthdays fall on 28 Feb in common
    years (rules.md §1).
    """
    t = pack.transition
    turns_25 = birthday_in(date_of_birth.year + 25, date_of_birth)
    year_end = next_on_or_after(turns_25, t.age25_end_month, t.age25_end_day)
    return min(year_end, birthday_in(date_of_birth.year + 26, date_of_birth) - DAY)


def age_25(journey: Journey, as_of: date, pack: RulePack) -> list[Clock]:
    """R-AGE-25 (CFA s46): a prompt (warning) from ``age25_prompt_months`` before the maximum
    end until it, then a breach while the plan is still in force. Due date: the maximum end."""
    who = person(journey)
    if who is None or who.date_of_birth is None:
        return []
    max_end = age25_max_end(who.date_of_birth, pack)
    prompt_from = add_months(max_end, -pack.transition.age25_prompt_months)
    found = []
    for p in plans_in_force(journey, as_of):
        found += [
            Clock(
                "R-AGE-25",
                "warning",
                f"plan:{p.plan_id}:age25",
                max_end,
                opens_on=prompt_from,
                closes_on=max_end + DAY,
            ),
            Clock("R-AGE-25", "breach", f"plan:{p.plan_id}:overrun", max_end, max_end + DAY),
        ]
    return found
