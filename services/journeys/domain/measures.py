"""What one journey contributes to each managers' measure on a date. Pure.

A measure is a number a manager reads on a dashboard (open assessments by week band, plans
issued within 20 weeks in the last 12 months, overdue reviews, …).  Every measure is a *sum
over journeys*: :func:`contribution` says what one child adds on ``as_of``, and
:class:`Totals` adds contributions up (and takes them away again when a journey changes).
Because each figure is a function of current journey state, not a count of events seen,
replaying or redelivering events never double counts, the worker and ``casewatch replay``
compute the same numbers, and several workers' partial sums add up to the authority's.

Labels are bounded: team, need (SEN2 codes), rule, severity, service, phase, band, status
and yes/no flags —
never a person key, child reference, name or date of birth.

``Contribution.next_change`` is the first date after ``as_of`` on which the contribution
could differ with no new event (a band edge, a 12-month window passing, a clock opening or
closing, a future-dated fact coming into force): between two changes a journey's
contribution is constant, so a date change only needs the journeys whose change is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.journeys.domain import sen2_figures as sen2
from services.journeys.domain.calendar import academic_year, academic_year_start
from services.journeys.domain.clocks import Clock, Flag
from services.journeys.domain.journey import (
    Journey,
    PlanView,
    ReferralView,
    fact_dates_after,
    left_on,
    person,
    plans,
    referrals,
    requests,
)
from services.journeys.domain.pack import RulePack
from services.journeys.domain.rules import clocks
from services.journeys.domain.rules.assessment import pathway_closed
from services.journeys.domain.rules.review import plans_in_force
from services.journeys.domain.rules.transition import (
    Transfer,
    academic_years_in_ncy,
    final_names_next_setting,
    pfa_review_due,
    phase_moves,
)
from services.journeys.domain.rules.waits import wait_due

DAY = timedelta(days=1)
WINDOW_DAYS = 365  # "last 12 months": a date d is in the window on as_of iff d <= as_of < d + 365
UNASSIGNED = "unassigned"
OTHER_SERVICE = "other"
UNKNOWN_NEED = "unknown"
MAX_LABEL = 64

# (upper bound in days, band) — a value falls in the first band whose bound it does not exceed.
ASSESSMENT_BANDS = ((42, "0-6w"), (112, "6-16w"), (140, "16-20w"), (364, "20-52w"), (None, "52w+"))
OVERDUE_BANDS = ((28, "0-4w"), (84, "4-12w"), (182, "12-26w"), (364, "26-52w"), (None, "52w+"))
WAIT_BANDS = ((28, "0-4w"), (91, "4-13w"), (126, "13-18w"), (364, "18-52w"), (None, "52w+"))
WAIT_BUCKETS = (7.0, 14.0, 28.0, 42.0, 63.0, 91.0, 126.0, 182.0, 273.0, 364.0, 546.0, 728.0)

PHASE_NAMES = {-1: "reception", 2: "infant-junior", 6: "primary-secondary", 11: "secondary-post16"}
PFA_PHASE = "year9-pfa"
OVERDUE_REVIEW_RULES = ("R-AR-DUE", "R-TRANSFER-IN")

Bands = tuple[tuple[int | None, str], ...]


@dataclass(frozen=True)
class Measure:
    """One metric family. ``buckets`` non-empty: a histogram of observations in days."""

    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


ASSESSMENTS_OPEN = Measure(
    "casewatch_ehc_assessments_open",
    "Open EHC needs assessment requests by weeks since the request was received",
    ("team", "band", "exception"),
)
PLANS_ISSUED = Measure(
    "casewatch_ehc_plans_issued_12m",
    "New EHC plans issued in the last 12 months, by whether within 20 weeks of the request "
    "(R-ISSUE-20W) and whether a Reg 10(4) exception applied",
    ("team", "on_time", "exception"),
)
DECISIONS = Measure(
    "casewatch_ehc_decisions_12m",
    "Decisions whether to assess made in the last 12 months, by whether within 6 weeks "
    "(R-DECIDE-6W)",
    ("team", "on_time"),
)
REVIEW_DECISIONS = Measure(
    "casewatch_review_decisions_12m",
    "Annual review decisions made in the last 12 months with a known meeting date, by whether "
    "within 4 weeks of the meeting (R-AR-DECISION-4W)",
    ("team", "on_time"),
)
REVIEWS_OVERDUE = Measure(
    "casewatch_reviews_overdue",
    "Annual reviews overdue (lapsed plans) by days overdue",
    ("team", "rule", "band"),
)
PLANS_IN_FORCE = Measure(
    "casewatch_plans_in_force",
    "EHC plans in force, by team and primary need (SEN2 SENneed rank 1; unknown if not recorded)",
    ("team", "need"),
)
FLAGS_OPEN = Measure(
    "casewatch_flags_open",
    "Flags open on the monitor's date, by rule and severity",
    ("team", "rule", "severity"),
)
TRANSITION_COHORT = Measure(
    "casewatch_transition_cohort",
    "Children in this year's transition cohorts (phase transfer within 12 months; Year 9 "
    "preparing-for-adulthood review) by status: done, due (on track) or overdue",
    ("team", "phase", "status"),
)
WAITS_OPEN = Measure(
    "casewatch_waits_open",
    "Open waits for health and therapy services by weeks since referral",
    ("service", "band"),
)
WAITS_COMPLETED = Measure(
    "casewatch_waits_completed_12m",
    "Waits ended by a first contact in the last 12 months, by whether within the service's "
    "standard (the rule pack's first threshold)",
    ("service", "within_standard"),
)
UNALLOCATED = Measure(
    "casewatch_children_unallocated",
    "Children with an open EHC needs assessment request or a plan in force and no allocated "
    "caseworker (the peer reviews ask for a single point of contact for every family)",
    ("team",),
)
SEN2_NUMERATOR = Measure(
    "casewatch_sen2_numerator",
    "The DfE's SEN2 timeliness figures (domain/sen2_figures.py): the numerator of each figure "
    "(plans issued within 20 weeks; decisions to assess within 6 weeks) by period "
    "(last_year, year_to_date, rolling_12m)",
    ("team", "figure", "period"),
)
SEN2_DENOMINATOR = Measure(
    "casewatch_sen2_denominator",
    "The DfE's SEN2 timeliness figures: the denominator of each figure (plans issued in the "
    "period; requests received in the period with a decision whether to assess) by period",
    ("team", "figure", "period"),
)
WAIT_DAYS = Measure(
    "casewatch_wait_completed_days",
    "Days from referral to first contact, for waits ended in the last 12 months",
    ("service",),
    WAIT_BUCKETS,
)

MEASURES: tuple[Measure, ...] = (
    ASSESSMENTS_OPEN,
    PLANS_ISSUED,
    DECISIONS,
    REVIEW_DECISIONS,
    REVIEWS_OVERDUE,
    PLANS_IN_FORCE,
    FLAGS_OPEN,
    TRANSITION_COHORT,
    WAITS_OPEN,
    WAITS_COMPLETED,
    WAIT_DAYS,
    UNALLOCATED,
    SEN2_NUMERATOR,
    SEN2_DENOMINATOR,
)

Key = tuple[str, tuple[str, ...]]  # (measure name, label values in the measure's order)


@dataclass(frozen=True)
class Contribution:
    counts: Mapping[Key, int]
    observations: tuple[tuple[Key, float], ...] = ()
    next_change: date | None = None

    @property
    def empty(self) -> bool:
        return not self.counts and not self.observations


EMPTY = Contribution({})


class _Builder:
    """Collects one journey's counts, observations and change dates."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.counts: dict[Key, int] = {}
        self.observations: list[tuple[Key, float]] = []
        self.changes: list[date] = []

    def count(self, measure: Measure, *labels: str, n: int = 1) -> None:
        key = (measure.name, labels)
        self.counts[key] = self.counts.get(key, 0) + n

    def observe(self, measure: Measure, value: float, *labels: str) -> None:
        self.observations.append(((measure.name, labels), value))

    def change_on(self, *dates: date | None) -> None:
        self.changes.extend(d for d in dates if d is not None and d > self.as_of)

    def band(self, bands: Bands, start: date, days: int) -> str:
        """The band of ``days`` (counted from ``start``), noting when the next band begins."""
        for upper, name in bands:
            if upper is None or days <= upper:
                if upper is not None:
                    self.change_on(start + timedelta(days=upper + 1))
                return name
        raise AssertionError("the last band has no upper bound")  # pragma: no cover

    def in_window(self, on: date | None) -> bool:
        """``on`` within the last 12 months, noting the date it leaves the window."""
        if on is None or on > self.as_of:
            return False
        leaves = on + timedelta(days=WINDOW_DAYS)
        self.change_on(leaves)
        return self.as_of < leaves

    def build(self, journey: Journey) -> Contribution:
        self.change_on(*fact_dates_after(journey, self.as_of))
        return Contribution(
            counts=self.counts,
            observations=tuple(self.observations),
            next_change=min(self.changes, default=None),
        )


def _yes(value: bool) -> str:
    return "true" if value else "false"


def team_label(journey: Journey) -> str:
    who = person(journey)
    team = (who.team or "").strip() if who is not None else ""
    return team[:MAX_LABEL] or UNASSIGNED


def contribution(
    journey: Journey, as_of: date, pack: RulePack, found: Sequence[Clock] | None = None
) -> Contribution:
    """What ``journey`` adds to every measure on ``as_of``. ``found``: the journey's clocks
    on ``as_of`` (``rules.clocks``), when the caller has computed them already."""
    out = _Builder(as_of)
    team = team_label(journey)
    left = left_on(journey)
    active = left is None or left > as_of  # the child left: every clock stops (rules.clocks)
    out.change_on(left)
    _timeliness(journey, out, team, pack)
    _sen2(journey, out, team, pack)
    _waits_completed(journey, out, pack)
    if active:
        _open_assessments(journey, out, team)
        _plans_in_force(journey, out, team)
        _unallocated(journey, out, team)
        _open_flags(journey, out, team, clocks(journey, as_of, pack) if found is None else found)
        _transition_cohorts(journey, out, team, pack)
        _waits_open(journey, out, pack)
    return out.build(journey)


def _open_assessments(journey: Journey, out: _Builder, team: str) -> None:
    """Requests whose 20 weeks are running on ``as_of``, by weeks since received (§2)."""
    issued = list(plans(journey))
    for r in requests(journey):
        if r.received_on > out.as_of or pathway_closed(r, issued, out.as_of):
            continue
        band = out.band(ASSESSMENT_BANDS, r.received_on, (out.as_of - r.received_on).days)
        exception = r.assessment is not None and r.assessment.exception
        out.count(ASSESSMENTS_OPEN, team, band, _yes(exception))


def _timeliness(journey: Journey, out: _Builder, team: str, pack: RulePack) -> None:
    """R-ISSUE-20W, R-DECIDE-6W and R-AR-DECISION-4W outcomes of the last 12 months."""
    by_id = {r.request_id: r for r in requests(journey)}
    for p in plans(journey):
        r = by_id.get(p.request_id) if p.request_id is not None else None
        if r is not None and p.issued_on is not None and out.in_window(p.issued_on):
            due = r.received_on + timedelta(days=pack.assessment.issue_days)
            exception = r.assessment is not None and r.assessment.exception
            out.count(PLANS_ISSUED, team, _yes(p.issued_on <= due), _yes(exception))
    for r in by_id.values():
        d = r.decision
        if d is not None and d.outcome in ("Y", "N") and out.in_window(d.decided_on):
            assert d.decided_on is not None
            due = r.received_on + timedelta(days=pack.assessment.decide_days)
            out.count(DECISIONS, team, _yes(d.decided_on <= due))
    for p in plans(journey):
        for decision in p.review_decisions:
            if not out.in_window(decision.decided_on):
                continue
            meeting = decision.meeting_on or _meeting_before(p, decision.decided_on)
            if meeting is None:
                continue  # DfE measures decisions against the meeting: none known
            due = meeting + timedelta(days=pack.review.decision_days)
            out.count(REVIEW_DECISIONS, team, _yes(decision.decided_on <= due))


def _sen2(journey: Journey, out: _Builder, team: str, pack: RulePack) -> None:
    """The DfE's SEN2 figures for the board's periods (sen2_figures.journey_figures): the
    last calendar year, the year to date and the rolling 12 months."""
    dated = sen2.relevant_dates(journey)
    if not dated:
        return
    as_of = out.as_of
    if any(d >= date(as_of.year - 1, 1, 1) for d in dated):  # counted in a calendar period:
        out.change_on(date(as_of.year + 1, 1, 1))  # the years move on 1 January
    out.change_on(*(d + timedelta(days=sen2.WINDOW_DAYS) for d in dated if d <= as_of))
    for period in sen2.board_periods(as_of):
        found = sen2.journey_figures(journey, period.start, period.end, as_of, pack)
        for figure, f in found.items():  # a zero numerator too, so the ratio shows 0%
            out.count(SEN2_NUMERATOR, team, figure, period.name, n=f.numerator)
            out.count(SEN2_DENOMINATOR, team, figure, period.name, n=f.denominator)


def sen2_totals(t: Totals, period: str) -> dict[str, sen2.Figure]:
    """The authority's SEN2 figures for one of the board's periods, from summed measures."""
    return {
        figure: sen2.Figure(
            t.sum(SEN2_NUMERATOR, figure=figure, period=period),
            t.sum(SEN2_DENOMINATOR, figure=figure, period=period),
        )
        for figure in sen2.FIGURES
    }


def _meeting_before(plan: PlanView, decided_on: date) -> date | None:
    """The latest review meeting held on or before a decision."""
    held = [m.meeting_on for m in plan.review_meetings if m.meeting_on <= decided_on]
    return max(held, default=None)


def _plans_in_force(journey: Journey, out: _Builder, team: str) -> None:
    who = person(journey)
    need = str(getattr(who, "primary_need", None) or UNKNOWN_NEED)  # SEN2 codes: bounded
    for p in plans(journey):
        out.change_on(p.start_on, p.ceased.ceased_on if p.ceased else None)
        if p.in_force_on(out.as_of):
            out.count(PLANS_IN_FORCE, team, need)


def _open_flags(journey: Journey, out: _Builder, team: str, found: Sequence[Clock]) -> None:
    """Open flags by rule (as ``rules.evaluate`` finds them), and overdue reviews (R-AR-DUE,
    R-TRANSFER-IN review) by days overdue."""
    as_of = out.as_of
    opened: dict[tuple[str, str, date], Clock] = {}  # one per flag id, the last one kept
    for c in found:  # a flag opens or closes on these dates with no new event
        out.change_on(c.opens_on, c.closes_on)
        if c.open_on(as_of):
            # a flag's id is a digest of these three (and the person key): one entry per id,
            # the last clock's value in the first one's place, as ``rules.evaluate`` keeps them
            opened[(c.rule_id, c.subject, c.due_on)] = c
    for c in opened.values():
        out.count(FLAGS_OPEN, team, c.rule_id, c.severity)
        if _overdue_review(c):
            days = (as_of - c.due_on).days
            band = out.band(OVERDUE_BANDS, c.due_on, days)
            out.count(REVIEWS_OVERDUE, team, c.rule_id, band)


def _overdue_review(flag: Flag | Clock) -> bool:
    if flag.rule_id == "R-AR-DUE":
        return True
    return flag.rule_id == "R-TRANSFER-IN" and flag.subject.endswith(":review")


def _transition_cohorts(journey: Journey, out: _Builder, team: str, pack: RulePack) -> None:
    """R-PHASE: plans of children within 12 months of a transfer between phases; R-PFA-Y9:
    plans of children in Year 9. Done (the plan names the next setting / a PfA review was
    held this year), due (not yet, deadline not passed: on track) or overdue."""
    as_of = out.as_of
    for move in phase_moves(pack):
        for year in academic_years_in_ncy(journey, move.ncy):
            cohort_from, moves_on = academic_year_start(year), academic_year_start(year + 1)
            due = date(year + 1, move.due_month, move.due_day)
            out.change_on(cohort_from, due + DAY, moves_on)
            if not cohort_from <= as_of < moves_on:
                continue
            for p in plans_in_force(journey, as_of):
                if p.start_on >= cohort_from:
                    continue
                t = Transfer(p, cohort_from, due, moves_on)
                status = _status(final_names_next_setting(journey, t, as_of), as_of, due)
                out.count(TRANSITION_COHORT, team, PHASE_NAMES.get(move.ncy, "other"), status)
    for year in academic_years_in_ncy(journey, pack.transition.pfa_from_ncy):
        starts, ends = academic_year_start(year), academic_year_start(year + 1)
        out.change_on(starts, ends)
        if not starts <= as_of < ends:
            continue
        for p in plans_in_force(journey, as_of):
            if p.start_on >= starts:
                continue
            due = pfa_review_due(p, year, as_of, pack)
            out.change_on(due + DAY)
            held = any(
                m.pfa_focus is True
                and m.meeting_on <= as_of
                and academic_year(m.meeting_on) == year
                for m in p.review_meetings
            )
            out.count(TRANSITION_COHORT, team, PFA_PHASE, _status(held, as_of, due))


def _status(done: bool, as_of: date, due: date) -> str:
    return "done" if done else "due" if as_of <= due else "overdue"


def _service(code: str, pack: RulePack) -> str:
    return code if code in pack.waits else OTHER_SERVICE


def open_waits(journey: Journey, as_of: date, pack: RulePack) -> Iterator[tuple[ReferralView, str]]:
    """R-WAIT: referrals received and not yet ended by a first contact or closure on
    ``as_of`` (§5), each with its service as the measures label it (unknown → ``other``)."""
    for r in referrals(journey):
        stopped = any(d is not None and d <= as_of for d in (r.first_contact_on, r.closed_on))
        if r.received_on <= as_of and not stopped:
            yield r, _service(r.service, pack)


def _waits_open(journey: Journey, out: _Builder, pack: RulePack) -> None:
    for r in referrals(journey):
        out.change_on(r.received_on, r.first_contact_on, r.closed_on)
    for r, service in open_waits(journey, out.as_of, pack):
        band = out.band(WAIT_BANDS, r.received_on, (out.as_of - r.received_on).days)
        out.count(WAITS_OPEN, service, band)


def _unallocated(journey: Journey, out: _Builder, team: str) -> None:
    """A child with an open request or a plan in force and no caseworker: one count."""
    who = person(journey)
    if who is not None and (who.caseworker_id or "").strip():
        return
    issued = list(plans(journey))
    open_request = any(
        r.received_on <= out.as_of and not pathway_closed(r, issued, out.as_of)
        for r in requests(journey)
    )
    if open_request or any(p.in_force_on(out.as_of) for p in issued):
        out.count(UNALLOCATED, team)


def _waits_completed(journey: Journey, out: _Builder, pack: RulePack) -> None:
    """Waits ended by the first contact the standard names, in the last 12 months."""
    for r in referrals(journey):
        contact = r.first_contact_on
        if contact is None or contact < r.received_on or not out.in_window(contact):
            continue
        service = _service(r.service, pack)
        out.observe(WAIT_DAYS, float((contact - r.received_on).days), service)
        wait = pack.waits.get(r.service)
        if wait is not None:
            within = contact <= wait_due(r.received_on, wait.thresholds[0])
            out.count(WAITS_COMPLETED, service, _yes(within))


# --- sums ----------------------------------------------------------------------------------


@dataclass
class HistogramTotal:
    """Observations per bucket (not cumulative; the last is +Inf), their sum and count."""

    buckets: list[int]
    total: float = 0.0
    count: int = 0


@dataclass
class Totals:
    """Contributions added up. Keys seen once stay (at zero) so series never vanish."""

    counts: dict[Key, int] = field(default_factory=dict)
    histograms: dict[Key, HistogramTotal] = field(default_factory=dict)

    def add(self, c: Contribution, sign: int = 1) -> None:
        for key, n in c.counts.items():
            self.counts[key] = self.counts.get(key, 0) + sign * n
        for key, value in c.observations:
            h = self.histograms.get(key)
            if h is None:
                h = self.histograms[key] = HistogramTotal([0] * (len(_BUCKETS[key[0]]) + 1))
            h.buckets[_bucket_index(_BUCKETS[key[0]], value)] += sign
            h.total += sign * value
            h.count += sign

    def subtract(self, c: Contribution) -> None:
        self.add(c, -1)

    def merge(self, other: Totals) -> None:
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        for key, h in other.histograms.items():
            mine = self.histograms.setdefault(key, HistogramTotal([0] * len(h.buckets)))
            mine.buckets = [a + b for a, b in zip(mine.buckets, h.buckets, strict=True)]
            mine.total += h.total
            mine.count += h.count

    def sum(self, measure: Measure, **labels: str) -> int:
        """The sum of a count measure over the label sets that carry ``labels``."""
        index = {name: i for i, name in enumerate(measure.labels)}
        return sum(
            n
            for (name, values), n in self.counts.items()
            if name == measure.name and all(values[index[k]] == v for k, v in labels.items())
        )


_BUCKETS = {m.name: m.buckets for m in MEASURES if m.buckets}


def _bucket_index(bounds: tuple[float, ...], value: float) -> int:
    for i, upper in enumerate(bounds):
        if value <= upper:
            return i
    return len(bounds)


def totals(contributions: Iterable[Contribution]) -> Totals:
    result = Totals()
    for c in contributions:
        result.add(c)
    return result


# --- the partnership board's headline figures --------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The board's headline numbers; a ratio is None when nothing was decided or issued."""

    overdue_reviews: int
    open_20w_breaches: int
    plans_issued_12m: int
    issued_within_20w: float | None  # including exceptions
    issued_within_20w_excluding_exceptions: float | None  # the DfE headline
    decisions_within_6w: float | None
    review_decisions_within_4w: float | None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def headline(t: Totals) -> Headline:
    """The same ratios as the recording rules in deploy/prometheus/rules/casewatch.yml."""
    no_exception = t.sum(PLANS_ISSUED, exception="false")
    return Headline(
        overdue_reviews=t.sum(REVIEWS_OVERDUE),
        open_20w_breaches=t.sum(ASSESSMENTS_OPEN, band="20-52w")
        + t.sum(ASSESSMENTS_OPEN, band="52w+"),
        plans_issued_12m=t.sum(PLANS_ISSUED),
        issued_within_20w=_ratio(t.sum(PLANS_ISSUED, on_time="true"), t.sum(PLANS_ISSUED)),
        issued_within_20w_excluding_exceptions=_ratio(
            t.sum(PLANS_ISSUED, on_time="true", exception="false"), no_exception
        ),
        decisions_within_6w=_ratio(t.sum(DECISIONS, on_time="true"), t.sum(DECISIONS)),
        review_decisions_within_4w=_ratio(
            t.sum(REVIEW_DECISIONS, on_time="true"), t.sum(REVIEW_DECISIONS)
        ),
    )
